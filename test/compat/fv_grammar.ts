/**
 * A deterministic generator of VALID, structure-rich drbd.conf files for differential testing
 * against drbd-utils 9.22: global and common sections, every option keyword of every section
 * with random valid values (unit suffixes, quoting, yes/no/bare booleans), options at common,
 * resource, host, volume, connection, mesh and peer-device level, 1–4 hosts with explicit or
 * implied node-ids, several volumes in every device form, internal/external/flexible meta-data,
 * diskless volumes, connection-mesh, explicit connections and paths, floating peers,
 * ipv4/ipv6/ssocks/sdp addresses, 8.4-style resources, `on` with several names,
 * `stacked-on-top-of` and proxy sections.
 *
 * The option keywords and their ranges come from our option table; that is deliberate: the
 * generator asks the real drbdadm whether OUR idea of every keyword and range is right.
 *
 * @module
 */
import { OPTIONS } from "../../lib/options/mod.ts";
import type { OptionDef, Section } from "../../lib/options/mod.ts";

/** A small seeded PRNG (mulberry32): same seed, same sequence, on every run. */
export class Rng {
  #state: number;

  /** Starts the sequence of `seed`. */
  constructor(seed: number) {
    this.#state = (seed * 0x9e3779b1 + 0x6d2b79f5) >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A random subset of `items`, each kept with probability `p`, in a shuffled order. */
  some<T>(items: readonly T[], p: number): T[] {
    const kept = items.filter(() => this.chance(p));
    for (let i = kept.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [kept[i], kept[j]] = [kept[j], kept[i]];
    }
    return kept;
  }
}

const BASE_BYTES: Record<string, number> = { "1": 1, s: 512, k: 1024 };
const SUFFIX_BYTES: Record<string, number> = {
  s: 512,
  K: 1024,
  k: 1024,
  M: 1 << 20,
  m: 1 << 20,
  G: 1 << 30,
  g: 1 << 30,
};

const STRING_VALUES: Record<string, readonly string[]> = {
  "cpu-mask": ["0", "1", "3", "ff", "f0f0", "deadbeef"],
  transport: ["tcp", "rdma", "lb-tcp"],
  "cram-hmac-alg": ["sha1", "sha256", "md5", "hmac(sha256)"],
  "shared-secret": ["secret", "Some0ne", "x", "a-b_c.d"],
  "data-integrity-alg": ["crc32c", "md5", "sha1", "sha256"],
  "csums-alg": ["crc32c", "md5", "sha1", "sha256"],
  "verify-alg": ["crc32c", "md5", "sha1", "sha256"],
  "become-primary-on": ["both", "@HOST@", "alpha"],
};

const HANDLER_VALUES = [
  "/usr/lib/drbd/notify-split-brain.sh root",
  "/usr/lib/drbd/crm-fence-peer.9.sh",
  "/usr/lib/drbd/notify-pri-lost.sh; /usr/lib/drbd/notify-emergency-reboot.sh",
  "echo hi",
  "/bin/true",
  "logger drbd",
  "/usr/lib/drbd/snapshot-resync-target-lvm.sh -p 15 -- -c 16k",
];

/** A numeric value in range, written with or without a unit suffix. */
function numeric(rng: Rng, o: OptionDef, plain = false): string {
  const min = o.min ?? 0;
  const max = Math.min(o.max ?? 1 << 20, 2 ** 40);
  const pick = () => {
    const r = rng.next();
    if (r < 0.15) return min;
    if (r < 0.25) return max;
    if (r < 0.6) return rng.int(min, Math.min(max, min + 100));
    return rng.int(min, max);
  };
  const base = BASE_BYTES[o.unitPrefix ?? "1"];
  if (plain) return String(pick());
  if (rng.chance(0.4)) {
    // a suffixed value: choose the suffix, then a count that lands inside the range
    const suffix = rng.pick(["s", "K", "k", "M", "m", "G", "g"]);
    const per = SUFFIX_BYTES[suffix] / base;
    const lo = Math.max(1, Math.ceil(min / per));
    const hi = Math.floor(max / per);
    if (hi >= lo) return `${rng.int(lo, Math.min(hi, lo + 64))}${suffix}`;
  }
  const n = pick();
  // other spellings of the same number: leading zeros, a plus sign
  if (rng.chance(0.05)) return `00${n}`;
  if (rng.chance(0.03)) return `"+${n}"`;
  // drbdadm reads numbers as %llu does: a negative one wraps around 2^64 into the same value
  if (rng.chance(0.03) && n > 0) return `-${(1n << 64n) - BigInt(n)}`;
  return String(n);
}

/** A valid value for option `o` (without the keyword), or "" for a bare keyword. */
export function optionValue(
  rng: Rng,
  o: OptionDef,
  ctx: { resources: string[] },
  plain = false,
): string {
  switch (o.type) {
    case "flag":
      return "";
    case "boolean":
      return rng.pick(["", "yes", "no"]);
    case "enum":
      return rng.pick(o.values ?? []);
    case "numeric-or-enum":
      return rng.chance(0.5) ? rng.pick(o.values ?? []) : numeric(rng, o);
    case "numeric":
      if (o.name === "resync-after") return ctx.resources.length ? rng.pick(ctx.resources) : "-1";
      return numeric(rng, o, plain);
    case "string":
      if (o.sections.includes("handlers")) return rng.pick(HANDLER_VALUES);
      return rng.pick(STRING_VALUES[o.name] ?? ["x"]);
  }
}

function quote(rng: Rng, value: string): string {
  if (value === "" || value.startsWith('"')) return value;
  if (/[\s;{}#"()]/.test(value) || rng.chance(0.15)) return `"${value}"`;
  return value;
}

/** The options of one or more sections usable in drbd.conf (not `_name`). */
function optionsOf(...sections: Section[]): OptionDef[] {
  return OPTIONS.filter((o) =>
    o.sections.some((s) => sections.includes(s)) && !o.name.startsWith("_") &&
    !(o.name === "resync-after" && !sections.includes("disk"))
  );
}

/**
 * The options for a section above the volumes (common, resource): without `size`, which makes
 * drbd-utils 9.22 abort ("Internal error: option 'size' not known in this context") when a
 * volume sets it too; a crash is nothing to compare with.
 */
function aboveVolumes(defs: OptionDef[]): OptionDef[] {
  return defs.filter((o) => o.name !== "size");
}

/** Lines `keyword value;` for a random choice of options. */
function optionLines(
  rng: Rng,
  defs: OptionDef[],
  p: number,
  ctx: { resources: string[] },
  how: { aliases?: boolean; bare?: boolean } = {},
): string[] {
  return rng.some(defs, p).map((o) => {
    let name = o.name;
    // drbdadm knows the old names (rate, after) only in the 8.4 syncer section
    if (o.aliases && how.aliases && rng.chance(0.5)) name = rng.pick(o.aliases);
    if (o.type === "boolean" && rng.chance(0.1)) {
      // disk-barrier → no-disk-barrier style negation
      return `no-${name};`;
    }
    const v = optionValue(rng, o, ctx, how.bare);
    // the global section takes plain integers only
    return v === "" ? `${name};` : `${name} ${how.bare ? v : quote(rng, v)};`;
  });
}

function section(name: string, lines: string[], indent: string): string[] {
  if (!lines.length) return [];
  return [`${indent}${name} {`, ...lines.map((l) => `${indent}  ${l}`), `${indent}}`];
}

/** Address kinds and the text of one address with that family. */
function address(rng: Rng, family: string, n: number, port: number, local: boolean): string {
  switch (family) {
    case "ipv6":
      return `ipv6 [${local ? "::1" : `fd00:${n}::${n + 1}`}]:${port}`;
    case "ssocks":
    case "sdp":
      return `${family} ${local ? "127.0.0.1" : `10.${n}.0.${n + 1}`}:${port}`;
    default: {
      const addr = local ? "127.0.0.1" : `10.${rng.int(0, 3)}.${n}.${n + 1}`;
      return family === "ipv4" ? `ipv4 ${addr}:${port}` : `${addr}:${port}`;
    }
  }
}

interface Gen {
  rng: Rng;
  host: string;
  resources: string[];
  minors: number;
  ports: number;
  diskless: boolean;
}

/** device statement in one of its forms for minor `m`. */
function device(rng: Rng, m: number): string {
  switch (rng.int(0, 4)) {
    case 0:
      return `device minor ${m};`;
    case 1:
      return `device /dev/drbd${m} minor ${m};`;
    case 2:
      return `device /dev/drbd_v${m} minor ${m};`;
    case 3:
      return `device drbd${m};`;
    default:
      return `device /dev/drbd${m};`;
  }
}

function metaDisk(rng: Rng, idx: number): string {
  switch (rng.int(0, 5)) {
    case 0:
      return `meta-disk /dev/vg/md${idx};`;
    case 1:
      return `meta-disk /dev/vg/md [${idx}];`;
    case 2:
      return `flexible-meta-disk /dev/vg/fmd${idx};`;
    case 3:
      return `flexible-meta-disk internal;`;
    default:
      return `meta-disk internal;`;
  }
}

/** The statements of one volume (device, disk, meta-disk and maybe disk options). */
function volumeBody(g: Gen, minor: number, opts: boolean): string[] {
  const { rng } = g;
  const blocks = [[device(rng, minor)]];
  if (!g.diskless && rng.chance(0.12)) {
    // drbdadm counts two `disk none` of one host as a conflicting use of one disk
    g.diskless = true;
    blocks.push(["disk none;"]);
  } else {
    blocks.push([`disk ${quote(rng, `/dev/vg/lv${minor}`)};`], [metaDisk(rng, minor)]);
  }
  if (opts && rng.chance(0.3)) {
    // (no resync-after here: set on the resource too, drbd-utils 9.22 fails comparing the two
    // as numbers, "data0 is not a valid number")
    const defs = optionsOf("disk", "peer-device").filter((o) => o.name !== "resync-after");
    blocks.push(section("disk", optionLines(rng, defs, 0.12, g), ""));
  }
  // statement order inside a volume is free
  if (rng.chance(0.3)) blocks.reverse();
  return blocks.flat();
}

/** A resource's (or common's) proxy section: options and maybe plugins. */
function proxySection(g: Gen): string[] {
  const { rng } = g;
  const lines = optionLines(rng, optionsOf("proxy"), 0.4, g);
  if (rng.chance(0.5)) {
    lines.push(
      ...section("plugin", rng.some(["zstd level 3;", "lz4;", "zlib level 9;", "debug;"], 0.5), ""),
    );
  }
  return section("proxy", lines.length ? lines : ["memlimit 16M;"], "");
}

/** `proxy on NAME { inside …; outside …; }` for host `name`, the proxy host itself chosen. */
function proxyOn(g: Gen, name: string, n: number): string[] {
  const { rng, host } = g;
  const on = rng.chance(0.7) ? name : rng.chance(0.5) ? host : `${name}-px`;
  const lines = [
    `inside 127.0.0.${2 + n}:${7700 + g.ports * 10 + n};`,
    `outside 192.0.2.${2 + n}:${7800 + g.ports * 10 + n};`,
  ];
  if (rng.chance(0.3)) {
    lines.push(...section("options", optionLines(rng, optionsOf("proxy"), 0.4, g), ""));
  }
  return [`proxy on ${on} {`, ...lines.map((l) => `  ${l}`), "}"];
}

/** One resource section: hosts, volumes, options, connections. */
function resource(g: Gen, name: string, stackOn?: string, lower = false): string[] {
  const { rng, host } = g;
  const out: string[] = [`resource ${name} {`];
  const nHosts = stackOn ? 1 : rng.pick([1, 2, 2, 2, 3, 3, 4]);
  const nVols = rng.pick([1, 1, 1, 2, 3]);
  // a stacked resource's lower side has one implicit volume: its peer must match
  const volNumbers = stackOn || lower || nVols === 1 && rng.chance(0.6)
    ? [-1] // implicit volume 0
    : Array.from({ length: nVols }, (_, i) => i).map((i) => i * rng.pick([1, 1, 2, 5]))
      // drbd-utils 9.22 crashes on volumes out of order ("unsorted volumes list")
      .sort((a, b) => a - b).filter((v, i, all) => i === 0 || all[i - 1] !== v);
  const ids = rng.some([0, 1, 2, 3, 4, 5, 6, 7, 31], 1).slice(0, nHosts);
  if (rng.chance(0.5)) ids.sort((a, b) => a - b);
  const peers = ["alpha", "bravo", "charlie", "delta", "echo"];
  // a stacked resource's only `on` host is the peer: this host is the stacked-on-top-of one
  const names = stackOn ? [rng.pick(peers)] : [host, ...rng.some(peers, 1).slice(0, nHosts - 1)];
  if (rng.chance(0.3)) names.reverse();
  const floating = !stackOn && nHosts === 2 && rng.chance(0.15);
  // drbdadm takes every ssocks/sdp floating address for its own
  const family = rng.pick(
    floating ? ["", "ipv4", "ipv6"] : ["", "", "", "ipv4", "ipv6", "ssocks", "sdp"],
  );
  // true: connection-mesh; false: explicit connections; undefined: the implied one
  const mesh = nHosts > 2 || (nHosts === 2 && !floating && rng.chance(0.3))
    ? rng.chance(0.5)
    : undefined;
  // 8.4 style (no node-id) only for two hosts with the implied connection
  const nodeIds = !stackOn && (nHosts !== 2 || mesh !== undefined || rng.chance(0.7));
  const port = 7000 + g.ports++ * 10;

  // resource-level option sections
  const body: string[] = [];
  const sec = (s: string, defs: OptionDef[], p: number) =>
    body.push(...section(s, optionLines(rng, defs, p, g), ""));
  if (rng.chance(0.4)) sec("options", optionsOf("options"), 0.2);
  if (rng.chance(0.5)) sec("net", optionsOf("net"), 0.12);
  if (rng.chance(0.4)) sec("disk", aboveVolumes(optionsOf("disk", "peer-device")), 0.12);
  if (rng.chance(0.25)) sec("startup", optionsOf("startup"), 0.3);
  if (rng.chance(0.25)) sec("handlers", optionsOf("handlers"), 0.15);
  const proxied = !stackOn && !floating && rng.chance(0.12);
  // drbdadm wants a proxy in every `on` section or in none, and none with connection-mesh
  // (drbd-utils 9.22 crashes after saying so)
  const proxyHosts = proxied && mesh !== true && rng.chance(0.5);
  if (proxied && rng.chance(0.6)) body.push(...proxySection(g));
  if (rng.chance(0.08)) body.push(`protocol ${rng.pick(["A", "B", "C"])};`);
  if (rng.chance(0.06)) {
    body.push(
      ...section(
        "syncer",
        optionLines(rng, aboveVolumes(optionsOf("net", "disk", "options")), 0.05, g, {
          aliases: true,
        }),
        "",
      ),
    );
  }

  // volumes: shared at resource level, or per host
  const minors = volNumbers.map(() => g.minors++);
  const perHostVolumes = !floating && rng.chance(0.35);
  const volumeSection = (indent: string, withOpts: boolean): string[] => {
    // an implicit volume's disk options would be the resource's disk section
    if (volNumbers[0] === -1) return volumeBody(g, minors[0], false);
    return volNumbers.flatMap((vnr, i) =>
      [
        `volume ${vnr} {`,
        ...volumeBody(g, minors[i], withOpts).map((l) => `  ${l}`),
        "}",
      ].map((l) => indent + l)
    );
  };
  if (!perHostVolumes && !stackOn) body.push(...volumeSection("", true));

  // hosts
  const addressless = new Set<string>();
  for (let i = 0; i < nHosts; i++) {
    const n = names[i];
    const local = n === host;
    const lines: string[] = [];
    if (nodeIds) lines.push(`node-id ${ids[i]};`);
    const addr = address(rng, family, i, port, local);
    const withAddress = nHosts <= 2 || mesh || proxyHosts || rng.chance(0.7);
    if (!withAddress) addressless.add(n);
    if (withAddress && !floating) lines.push(`address ${addr};`);
    if (proxyHosts) lines.push(...proxyOn(g, n, i));
    if (perHostVolumes || stackOn) lines.push(...volumeSection("", !stackOn && rng.chance(0.3)));
    if (rng.chance(0.05)) lines.push("skip { anything goes { here; } }");
    if (rng.chance(0.1)) {
      lines.push(...section("options", optionLines(rng, optionsOf("options"), 0.15, g), ""));
    }
    if (floating) {
      out.push(`  floating ${addr} {`, ...lines.map((l) => `    ${l}`), "  }");
      continue;
    }
    const extra = rng.chance(0.1) ? ` ${n}-alias` : "";
    out.push(`  on ${n}${extra} {`, ...lines.map((l) => `    ${l}`), "  }");
  }
  if (stackOn) {
    out.push(
      `  stacked-on-top-of ${stackOn} {`,
      `    ${device(rng, g.minors++)}`,
      `    address ${address(rng, family === "ipv6" ? "ipv6" : "", 7, port + 1, false)};`,
      "  }",
    );
  }

  // topology
  if (mesh !== undefined) {
    if (mesh) {
      const net = rng.chance(0.4)
        ? section("net", optionLines(rng, optionsOf("net"), 0.1, g), "  ")
        : [];
      out.push(`  connection-mesh {`, `    hosts ${names.join(" ")};`, ...net, "  }");
    } else {
      for (let a = 0; a < nHosts; a++) {
        for (let b = a + 1; b < nHosts; b++) {
          out.push("  connection {");
          const paths = rng.pick([0, 1, 1, 2]);
          const cport = port + 2 + a * 4 + b;
          // both hosts of a connection go through a proxy, or neither
          const via = proxied && !proxyHosts && rng.chance(0.6);
          if (paths === 0) {
            for (const h of [a, b]) {
              const form = addressless.has(names[h]) || via ? 2 : rng.int(0, 2);
              if (form === 0) out.push(`    host ${names[h]};`);
              else if (form === 1) out.push(`    host ${names[h]} port ${cport};`);
              else {
                const addr = address(rng, family, h, cport, names[h] === host);
                if (via) {
                  const [first, ...rest] = proxyOn(g, names[h], 10 + h);
                  out.push(`    host ${names[h]} address ${addr} via ${first}`);
                  out.push(...rest.map((l) => `    ${l}`));
                } else {
                  out.push(`    host ${names[h]} address ${addr};`);
                }
              }
            }
          } else {
            for (let p = 0; p < paths; p++) {
              out.push("    path {");
              for (const h of [a, b]) {
                // (_this_host/_remote_host belong to drbdsetup show's format, not to drbd.conf)
                const kw = `host ${names[h]} address`;
                out.push(
                  `      ${kw} ${
                    address(rng, family, h + 4 * p, cport + 100 * p, names[h] === host)
                  };`,
                );
              }
              out.push("    }");
            }
          }
          if (rng.chance(0.3)) {
            out.push(...section("net", optionLines(rng, optionsOf("net"), 0.1, g), "    "));
          }
          if (rng.chance(0.2)) {
            out.push(
              ...section("disk", optionLines(rng, optionsOf("peer-device"), 0.3, g), "    "),
            );
          }
          if (rng.chance(0.15) && volNumbers[0] !== -1) {
            const pdLines = optionLines(rng, optionsOf("peer-device"), 0.3, g);
            out.push(
              `    volume ${rng.pick(volNumbers)} {`,
              // a connection's volume section must hold a disk section
              ...section("disk", pdLines.length ? pdLines : ["c-plan-ahead 0;"], "      "),
              "    }",
            );
          }
          out.push("  }");
        }
      }
    }
  }
  out.push(...body.map((l) => `  ${l}`));
  out.push("}");
  return out;
}

/** The text of configuration number `seed`; `host` is this machine's node name. */
export function generateConfig(seed: number, host: string): string {
  const rng = new Rng(seed);
  const g: Gen = { rng, host, resources: [], minors: rng.int(0, 20), ports: 0, diskless: false };
  const out: string[] = [];
  if (rng.chance(0.4)) {
    out.push(
      ...section("global", optionLines(rng, optionsOf("global"), 0.4, g, { bare: true }), ""),
    );
  }
  if (rng.chance(0.5)) {
    const lines: string[] = [];
    const sec = (s: string, defs: OptionDef[], p: number) =>
      lines.push(...section(s, optionLines(rng, defs, p, g), ""));
    if (rng.chance(0.5)) sec("options", optionsOf("options"), 0.2);
    if (rng.chance(0.6)) sec("net", optionsOf("net"), 0.12);
    if (rng.chance(0.5)) sec("disk", aboveVolumes(optionsOf("disk", "peer-device")), 0.12);
    if (rng.chance(0.3)) sec("startup", optionsOf("startup"), 0.3);
    if (rng.chance(0.3)) sec("handlers", optionsOf("handlers"), 0.2);
    out.push(...section("common", lines, ""));
  }
  const nRes = rng.pick([1, 1, 2, 2, 3]);
  const stacked = rng.chance(0.12);
  for (let r = 0; r < nRes; r++) {
    const name = rng.pick(["r", "res", "data", "web_", "db-"]) + r;
    out.push(...resource(g, name, undefined, stacked && r === 0));
    g.resources.push(name);
  }
  if (stacked) {
    const lower = g.resources[0];
    out.push(...resource(g, `${lower}-U`, lower));
  }
  return out.join("\n") + "\n";
}
