/**
 * A deterministic generator of drbd.conf layouts in the style of real-world files: distribution
 * seeds (Debian's `drbd.conf` that includes `drbd.d/global_common.conf` and `drbd.d/*.res`), the
 * DRBD users' guide examples of the 8.3, 8.4 and 9 eras, Pacemaker fencing setups. Heavy `#`
 * comments (own lines, after values, inside sections, between a keyword and its value), 8.4
 * `syncer` sections, `startup` and long quoted `handlers`, `global` with its classic options,
 * `common { protocol C; }`, cram-hmac authentication and split-brain policies, IPv6 and floating
 * peers, host names with dots and dashes, per-host device/disk statements, template files,
 * 3-node meshes with quorum and explicit connections.
 *
 * A layout is several files: the main configuration and what it includes, written into one
 * folder; `@DIR@`-free, all include paths are relative to the main file or absolute.
 *
 * @module
 */
import { optionValue, Rng } from "./fv_grammar.ts";
import { OPTIONS } from "../../lib/options/mod.ts";
import type { OptionDef } from "../../lib/options/mod.ts";

/** The files of one generated layout, by path relative to the folder; `main` is the -c file. */
export interface Layout {
  main: string;
  files: Record<string, string>;
}

const COMMENTS = [
  "# seconds",
  "# was 8.3's syncer rate",
  "#default is C",
  "# see man drbd.conf-9.0",
  '# { braces; and "quotes" in a comment }',
  "## TODO: tune for 10GbE",
  "#",
  "# RECOMMENDED for three or more storage nodes with DRBD 9:",
  "# quorum majority; on-no-quorum suspend-io | io-error;",
  '# fence-peer "/usr/lib/drbd/crm-fence-peer.sh";',
  "# disk-barrier no; disk-flushes no;",
  '#include "/etc/drbd.d/old.res";',
];

/** Long shell commands as distributions and guides put them into handlers. */
const HANDLERS = [
  `"/usr/lib/drbd/notify-pri-on-incon-degr.sh; /usr/lib/drbd/notify-emergency-reboot.sh; echo b > /proc/sysrq-trigger ; reboot -f"`,
  `"/usr/lib/drbd/notify-pri-lost-after-sb.sh; /usr/lib/drbd/notify-emergency-reboot.sh; echo b > /proc/sysrq-trigger ; reboot -f"`,
  `"/usr/lib/drbd/notify-io-error.sh; /usr/lib/drbd/notify-emergency-shutdown.sh; echo o > /proc/sysrq-trigger ; halt -f"`,
  `"/usr/lib/drbd/crm-fence-peer.sh"`,
  `"/usr/lib/drbd/crm-fence-peer.9.sh --timeout 30"`,
  `"/usr/lib/drbd/crm-unfence-peer.sh"`,
  `"/usr/lib/drbd/notify-split-brain.sh root"`,
  `"/usr/lib/drbd/snapshot-resync-target-lvm.sh -p 15 -- -c 16k"`,
  `/usr/lib/drbd/unsnapshot-resync-target-lvm.sh`,
  `"logger -t drbd \\"$DRBD_RESOURCE: minor $DRBD_MINOR lost\\"; exit 0"`,
  `"echo 'split brain on ${"$"}{DRBD_RESOURCE}' | mail -s \\"DRBD alert\\" root@localhost"`,
  `"/usr/lib/drbd/stonith_admin-fence-peer.sh --timeout=90 --tag=drbd\\\\0"`,
  `"/bin/sh -c 'test -e /run/drbd-$DRBD_RESOURCE && rm -f /run/drbd-$DRBD_RESOURCE'"`,
  `"/usr/local/sbin/drbd-hook --event=%e --resource $DRBD_RESOURCE --peer=$DRBD_PEER_NODE_ID"`,
];

const PEERS = [
  "bob",
  "node-b",
  "drbd02",
  "db-node2.example.org",
  "pve-2",
  "storage-3.lab.local",
  "san_b",
  "ha-node-2.dc1.example.net",
];

/** The option definition named `name` for a section among `sections`. */
function opt(name: string): OptionDef {
  const o = OPTIONS.find((d) => d.name === name);
  if (!o) throw new Error(`no option ${name}`);
  return o;
}

interface Gen {
  rng: Rng;
  host: string;
  minor: number;
  port: number;
  resources: string[];
  /** `become-primary-on` candidates. */
  hosts: string[];
}

/** A trailing comment, sometimes. */
function tail(g: Gen): string {
  return g.rng.chance(0.2) ? ` ${g.rng.pick(COMMENTS)}` : "";
}

/** `keyword value;` with the realistic spelling variants (quotes, comments in between). */
function stmt(g: Gen, keyword: string, value: string): string {
  const { rng } = g;
  if (value === "") return `${keyword};${tail(g)}`;
  let v = value;
  // (numbers in quotes are strings to drbdadm: only where a string or number may stand)
  if (!v.startsWith('"') && !/^\d/.test(v) && rng.chance(0.1) && !/["\\]/.test(v)) v = `"${v}"`;
  const gap = rng.chance(0.05) ? ` ${rng.pick(COMMENTS)}\n\t\t` : rng.pick([" ", "\t", "   "]);
  return `${keyword}${gap}${v};${tail(g)}`;
}

/** A realistic value for `name`, falling back on a valid random one from the table. */
function value(g: Gen, name: string): string {
  const { rng } = g;
  const pickFrom: Record<string, string[]> = {
    "usage-count": ["yes", "no", "ask"],
    "minor-count": ["16", "32", "64", "255"],
    "dialog-refresh": ["1", "5", "0"],
    protocol: ["A", "B", "C"],
    "cram-hmac-alg": ["sha1", "sha256", "md5"],
    "shared-secret": ['"FooFunFactory"', '"Fy8aHQ#r4k!x"', '"p@ss w0rd; with spaces"', "secret"],
    "verify-alg": ["sha1", "md5", "crc32c"],
    "csums-alg": ["sha1", "md5", "crc32c"],
    "data-integrity-alg": ["crc32c", "sha1"],
    "al-extents": ["257", "1237", "3389", "3833", "6007", "65534"],
    "resync-rate": ["10M", "33M", "40M", "100M", "110M", "1G", "4096", "250k"],
    "c-plan-ahead": ["0", "20", "10"],
    "c-max-rate": ["100M", "750M", "4G"],
    "c-fill-target": ["10M", "1M", "0"],
    "c-min-rate": ["0", "250k", "4M"],
    "wfc-timeout": ["0", "15", "30", "120"],
    "degr-wfc-timeout": ["0", "60", "120"],
    "outdated-wfc-timeout": ["0", "30"],
    "max-buffers": ["2048", "8000", "36k"],
    "max-epoch-size": ["2048", "8000", "20000"],
    "sndbuf-size": ["0", "512k", "10M"],
    "rcvbuf-size": ["0", "2M"],
    timeout: ["60", "90"],
    "ping-timeout": ["5", "10"],
    "connect-int": ["10", "20"],
    "ko-count": ["0", "4", "7"],
  };
  if (pickFrom[name]) return rng.pick(pickFrom[name]);
  if (name === "become-primary-on") return rng.pick(["both", ...g.hosts]);
  if (name === "resync-after") return g.resources.length ? rng.pick(g.resources) : "-1";
  const o = opt(name);
  if (o.sections.includes("handlers")) return rng.pick(HANDLERS);
  return optionValue(rng, o, { resources: g.resources });
}

/** A section `name { … }` with `lines`, comments sprinkled in, at `indent`. */
function section(g: Gen, name: string, lines: string[], indent: string): string[] {
  const { rng } = g;
  const inner = indent + rng.pick(["\t", "  ", "    "]);
  const out: string[] = [];
  for (const l of lines) {
    if (rng.chance(0.15)) out.push(`${inner}${rng.pick(COMMENTS)}`);
    out.push(...l.split("\n").map((x) => inner + x));
  }
  if (rng.chance(0.1)) out.push(`${inner}${rng.pick(COMMENTS)}`);
  if (!out.length && rng.chance(0.5)) return [];
  if (rng.chance(0.15) && out.length <= 3) {
    // the one-line form: `disk { on-io-error detach; }` (a # would comment out the brace)
    const flat = lines.filter((l) => !l.includes("#") && !l.includes("\n"));
    if (flat.length === lines.length) return [`${indent}${name} { ${flat.join(" ")} }${tail(g)}`];
  }
  return [`${indent}${name} {${tail(g)}`, ...out, `${indent}}`];
}

/** Option statements from `names`, each kept with probability `p`. */
function options(g: Gen, names: string[], p: number): string[] {
  return g.rng.some(names, p).map((n) => {
    const o = opt(n);
    if (o.type === "flag") return stmt(g, n, "");
    if (o.type === "boolean") return stmt(g, n, g.rng.pick(["", "yes", "no"]));
    return stmt(g, n, value(g, n));
  });
}

const GLOBAL = [
  "usage-count",
  "minor-count",
  "dialog-refresh",
  "disable-ip-verification",
  "udev-always-use-vnr",
  "cmd-timeout-short",
  "cmd-timeout-medium",
  "cmd-timeout-long",
];
const STARTUP = [
  "wfc-timeout",
  "degr-wfc-timeout",
  "outdated-wfc-timeout",
  "wait-after-sb",
  "become-primary-on",
  "stacked-timeouts",
];
const HANDLER_NAMES = [
  "pri-on-incon-degr",
  "pri-lost-after-sb",
  "pri-lost",
  "local-io-error",
  "fence-peer",
  "unfence-peer",
  "split-brain",
  "out-of-sync",
  "before-resync-target",
  "after-resync-target",
  "initial-split-brain",
  "quorum-lost",
];
const DISK = [
  "on-io-error",
  "resync-rate",
  "c-plan-ahead",
  "c-max-rate",
  "c-fill-target",
  "c-min-rate",
  "al-extents",
  "disk-barrier",
  "disk-flushes",
  "md-flushes",
  "disk-drain",
  "resync-after",
];
const NET = [
  "protocol",
  "cram-hmac-alg",
  "shared-secret",
  "after-sb-0pri",
  "after-sb-1pri",
  "after-sb-2pri",
  "rr-conflict",
  "fencing",
  "allow-two-primaries",
  "max-buffers",
  "max-epoch-size",
  "sndbuf-size",
  "verify-alg",
  "csums-alg",
  "data-integrity-alg",
  "timeout",
  "ping-timeout",
  "connect-int",
  "ko-count",
  "use-rle",
];
const OPTS = ["quorum", "on-no-quorum", "auto-promote", "cpu-mask", "on-no-data-accessible"];
/** What 8.4 configurations put into `syncer`; (`rate` is rare: drbdadm 9.22 refuses it). */
const SYNCER = ["al-extents", "verify-alg", "csums-alg", "after", "cpu-mask", "on-io-error"];

/** The option sections of a resource or of common. */
function optionSections(g: Gen, indent: string, isCommon: boolean): string[] {
  const { rng } = g;
  // blocks of lines: a section stays together when the order of sections changes
  const out: string[][] = [];
  if (rng.chance(0.25)) out.push([`${indent}${stmt(g, "protocol", value(g, "protocol"))}`]);
  const add = (name: string, lines: string[]) => out.push(section(g, name, lines, indent));
  if (rng.chance(0.4)) add("startup", options(g, STARTUP, 0.35));
  if (rng.chance(0.35)) add("handlers", options(g, HANDLER_NAMES, 0.25));
  if (rng.chance(0.2)) add("options", options(g, OPTS, 0.4));
  // (resync-after in common names a resource; leave it to resources)
  if (rng.chance(0.5)) {
    add(
      "disk",
      options(g, DISK.filter((d) => !isCommon || d !== "resync-after"), 0.2),
    );
  }
  if (rng.chance(0.5)) add("net", options(g, NET, 0.2));
  if (rng.chance(0.2)) {
    const lines = rng.some(SYNCER.filter((s) => !isCommon || s !== "after"), 0.4).map((n) =>
      stmt(g, n, value(g, n === "after" ? "resync-after" : n))
    );
    if (rng.chance(0.04)) lines.push(stmt(g, "rate", value(g, "resync-rate")));
    add("syncer", lines);
  }
  return (rng.chance(0.2) ? out.reverse() : out).flat();
}

/** `device …` in one of its real-world forms. */
function device(g: Gen, minor: number): string {
  switch (g.rng.int(0, 5)) {
    case 0:
      return `device /dev/drbd${minor} minor ${minor};`;
    case 1:
      return `device minor ${minor};`;
    case 2:
      return `device "/dev/drbd${minor}";`;
    default:
      return `device /dev/drbd${minor};`;
  }
}

function disk(g: Gen, n: number): string {
  return `disk ${
    g.rng.pick([
      `/dev/sdb${n + 1}`,
      `/dev/vg0/lv_r${n}`,
      `/dev/mapper/vg_data-lv${n}`,
      `"/dev/disk/by-id/ata-disk${n}-part1"`,
    ])
  };`;
}

function metaDisk(g: Gen, n: number): string {
  return g.rng.pick([
    "meta-disk internal;",
    "meta-disk internal;",
    `meta-disk /dev/vg0/lv_meta [${n}];`,
    `meta-disk /dev/vg0/lv_meta[ ${n} ];`,
    `meta-disk "/dev/vg0/lv_meta" [ ${n} ];`,
    `flexible-meta-disk /dev/vg0/md${n};`,
  ]);
}

/** One address statement for host number `i` on `port`. */
function address(g: Gen, family: string, i: number, port: number, local: boolean): string {
  if (family === "ipv6") {
    const a = local ? "::1" : g.rng.pick([`fd00::${i + 1}`, `fd00:1234::${i + 11}`]);
    return `ipv6 [${a}]:${port}`;
  }
  const a = local && g.rng.chance(0.5)
    ? "127.0.0.1"
    : `${g.rng.pick(["10.1.1", "192.168.10"])}.${i + 31}`;
  return family === "ipv4" ? `ipv4 ${a}:${port}` : `${a}:${port}`;
}

/** One resource in the style of one era. */
function resource(g: Gen, name: string): string[] {
  const { rng, host } = g;
  const era = rng.pick(["8.3", "8.4", "9", "9", "9-conn"]);
  const nHosts = era.startsWith("9") ? rng.pick([2, 3, 3, 4]) : 2;
  const peers = rng.some(PEERS, 1).slice(0, nHosts - 1);
  const names = rng.chance(0.3) ? [...peers, host] : [host, ...peers];
  g.hosts = names;
  const floating = era !== "9-conn" && nHosts === 2 && rng.chance(0.1);
  const family = rng.pick(["", "", "ipv6", "ipv4"]);
  const port = 7788 + g.port++;
  const nVols = era === "8.3" ? 1 : rng.pick([1, 1, 2]);
  const minors = Array.from({ length: nVols }, () => g.minor++);
  // where device/disk/meta-disk go: each host (8.3 style) or the resource
  const perHost = !floating && rng.chance(era === "8.3" ? 0.7 : 0.25);
  const ind = "\t";

  // every host names its volumes the same way (drbdadm insists)
  const implicit = nVols === 1 && rng.chance(0.7);
  const volume = (indent: string, withDisk: boolean): string[] => {
    const body = (i: number) => {
      const lines = [
        device(g, minors[i]),
        ...(withDisk ? [disk(g, i), metaDisk(g, minors[i])] : []),
      ]
        .map((l) => l + tail(g));
      return rng.chance(0.3) ? lines.reverse() : lines;
    };
    if (implicit) return body(0).map((l) => indent + l);
    return minors.flatMap((_, i) => [
      `${indent}volume ${i} {`,
      ...body(i).map((l) => `${indent}\t${l}`),
      `${indent}}`,
    ]);
  };

  const out: string[] = [];
  if (rng.chance(0.3)) {
    out.push(`# resource ${name}: ${rng.pick(["DRBD " + era, "database", "NFS export"])}`);
  }
  out.push(`resource ${name} {${tail(g)}`);
  const opts = optionSections(g, ind, false);
  if (rng.chance(0.5)) out.push(...opts);
  if (rng.chance(0.05)) out.push(`${ind}template-file "tpl";`);
  if (!perHost) out.push(...volume(ind, true));
  const nodeIds = era.startsWith("9") && (nHosts > 2 || rng.chance(0.6));
  for (let i = 0; i < nHosts; i++) {
    const h = names[i];
    const lines: string[][] = [];
    if (nodeIds) lines.push([`node-id ${i};${tail(g)}`]);
    const addr = `address ${address(g, family, i, port, h === host)};${tail(g)}`;
    if (!floating) lines.push([addr]);
    if (perHost) lines.push(volume("", true));
    const ordered = (rng.chance(0.3) ? lines.reverse() : lines).flat();
    const shown = rng.chance(0.1) ? `"${h}"` : h;
    const head = floating ? `floating ${address(g, family, i, port, h === host)}` : `on ${shown}`;
    out.push(`${ind}${head} {${tail(g)}`, ...ordered.map((l) => `${ind}\t${l}`), `${ind}}`);
  }
  if (era === "9" && nHosts > 2 && rng.chance(0.95)) {
    const net = rng.chance(0.3) ? section(g, "net", options(g, NET, 0.1), `${ind}\t`) : [];
    out.push(`${ind}connection-mesh {`, `${ind}\thosts ${names.join(" ")};`, ...net, `${ind}}`);
  } else if (era === "9-conn") {
    for (let a = 0; a < nHosts; a++) {
      for (let b = a + 1; b < nHosts; b++) {
        if (nHosts > 2 && rng.chance(0.2)) continue;
        out.push(`${ind}connection {${tail(g)}`);
        const cport = port + 100 + a * 10 + b;
        const form = rng.int(0, 2);
        for (const h of [a, b]) {
          if (form === 0) out.push(`${ind}\thost ${names[h]} port ${cport};`);
          else if (form === 1) {
            out.push(
              `${ind}\thost ${names[h]} address ${
                address(g, family, h, cport, names[h] === host)
              };`,
            );
          }
        }
        if (form === 2) {
          out.push(`${ind}\tpath {`);
          for (const h of [a, b]) {
            out.push(
              `${ind}\t\thost ${names[h]} address ${
                address(g, family, h, cport, names[h] === host)
              };`,
            );
          }
          out.push(`${ind}\t}`);
        }
        if (rng.chance(0.3)) out.push(...section(g, "net", options(g, NET, 0.15), `${ind}\t`));
        out.push(`${ind}}`);
      }
    }
  }
  if (!out.includes(opts[0] ?? "\0")) out.push(...opts);
  out.push(`}${tail(g)}`);
  return out;
}

/** The layout number `seed`; `host` is this machine's node name. */
export function generateLayout(seed: number, host: string): Layout {
  const rng = new Rng(seed);
  const g: Gen = {
    rng,
    host,
    minor: rng.pick([0, 0, 1, 10, 100]),
    port: 0,
    resources: [],
    hosts: [],
  };
  const files: Record<string, string> = {};
  const head: string[] = [];
  if (rng.chance(0.5)) {
    head.push(
      "# You can find an example in  /usr/share/doc/drbd.../drbd.conf.example",
      "",
    );
  }
  const global = rng.chance(0.7)
    ? section(g, "global", [
      ...options(g, GLOBAL, 0.3),
      ...(rng.chance(0.5) ? ["usage-count no;"] : []),
    ], "")
    : [];
  const commonLines = optionSections(g, "\t", true);
  const common = commonLines.length || rng.chance(0.3) ? ["common {", ...commonLines, "}"] : [];
  const nRes = rng.pick([1, 1, 2, 3]);
  const res: string[][] = [];
  for (let r = 0; r < nRes; r++) {
    const name = rng.pick(["r", "data", "mysql", "nfs-", "vm-10", "web_"]) + r;
    res.push(resource(g, name));
    g.resources.push(name);
  }
  if (rng.chance(0.15)) {
    // a resource parked in a skip section, as people comment out whole blocks
    res.push([
      `skip resource old {`,
      `\ton nowhere { address 10.9.9.9:7000; }`,
      `\t# ${rng.pick(COMMENTS)}`,
      "}",
    ]);
  }
  if (rng.chance(0.15)) {
    // the users' guide's three-node 8.4 setup: a resource stacked on the first one
    const lower = g.resources[0];
    const name = `${lower}-U`;
    res.push([
      `resource ${name} {`,
      ...optionSections(g, "\t", false),
      `\tstacked-on-top-of ${lower} {`,
      `\t\tdevice /dev/drbd${g.minor + 20};`,
      `\t\taddress ${rng.chance(0.2) ? "ipv6 [fd01::1]" : "192.168.42.1"}:${7900 + seed % 50};`,
      `\t}`,
      `\ton ${rng.pick(["charlie", "backup-1.example.com"])} {`,
      `\t\tdevice /dev/drbd${g.minor + 20};`,
      `\t\tdisk /dev/hda6;`,
      `\t\taddress ${rng.chance(0.2) ? "ipv6 [fd01::2]" : "192.168.42.2"}:${7900 + seed % 50};`,
      `\t\tmeta-disk internal;`,
      `\t}`,
      "}",
    ]);
    g.resources.push(name);
  }
  const main = `fs-${seed}.conf`;
  if (rng.chance(0.5)) {
    // the Debian layout: drbd.conf includes drbd.d/global_common.conf and drbd.d/*.res
    const dir = `fs-${seed}.d`;
    files[`${dir}/global_common.conf`] = [...global, "", ...common].join("\n") + "\n";
    res.forEach((r, i) => files[`${dir}/${g.resources[i] ?? "old"}.res`] = r.join("\n") + "\n");
    head.push(
      `include "${dir}/global_common.conf";`,
      rng.chance(0.8) ? `include "${dir}/*.res";` : `include "${dir}/*.res"; # all resources`,
    );
    files[main] = head.join("\n") + "\n";
  } else {
    // (a last comment without a newline after it, as editors leave files)
    files[main] = [...head, ...global, ...common, ...res.flat()].join("\n") +
      (rng.chance(0.1) ? "\n# end of file" : "\n");
  }
  if (Object.values(files).some((t) => t.includes("template-file"))) {
    // drbdadm opens a template file relative to the file that names it
    files[`fs-${seed}.d/tpl`] =
      files["tpl"] =
        ["# shared defaults", "common {", ...optionSections(g, "\t", true), "}"].join("\n") +
        "\n";
  }
  return { main, files };
}
