/**
 * The drbdmeta compatibility corpus: device sizes, formats, peer counts, placements, options,
 * UUID and bitmap contents, activity-log transactions, broken inputs and usage errors. Each case
 * is run by the real drbdmeta 9.22 and by ours (see harness.ts).
 *
 * @module
 */
import type { Case, Deviation, FileSpec } from "./harness.ts";
import {
  alInitBlock,
  alPos,
  type AlTransaction,
  bmBytes,
  bmPos,
  type DumpSpec,
  fill,
  h16,
  indexMdOffset,
  internalMaxSectors,
  internalMdOffset,
  literalWords,
  makeDump,
  MDF_AL_CLEAN,
  MDF_CONNECTED_IND,
  MDF_CONSISTENT,
  MDF_CRASHED_PRIMARY,
  MDF_FULL_SYNC,
  MDF_PEER_OUT_DATED,
  MDF_PRIMARY_IND,
  MDF_WAS_UP_TO_DATE,
  patchU32,
  patchU64,
  readSuperblock,
  type Superblock,
  writeAl,
  writeWords,
} from "./md_format.ts";
import {
  clearLkbd,
  filterNoise,
  GiB,
  hashFile,
  KiB,
  makeSparse,
  MiB,
  MINOR,
  prng,
  runReal,
  TiB,
  writeAt,
} from "./util.ts";

// ---------------------------------------------------------------------------------------------
// where udrbd deliberately differs from drbdmeta 9.22 (the README lists these)

const REGULAR_FILE_NOTE = /is a regular file, not a block device; using it as one/g;

/** restore-md writes bitmaps past the first 32 MiB window, which 9.22 silently drops. */
const WHOLE_BITMAP: Deviation = {
  why: "restore-md restores bitmaps larger than 32 MiB completely",
  expected: [/^file dev2 bytes differ/, /^step 3 .*stdout differs/],
  check: ({ ours }) => {
    // the bitmap text only: a v08 dump's flags read back as "unclean" (a 9.22 quirk)
    const bitmap = (dump: string) => dump.slice(dump.search(/^(bm|bitmap\[0\]) \{/m));
    return ours[1].code === 0 && bitmap(ours[2].stdout) === bitmap(ours[0].stdout) &&
        /^# bits-set [1-9]/m.test(ours[0].stdout)
      ? []
      : ["dump-md -> restore-md -> dump-md does not give back the same bitmap"];
  },
};

/** A dump that fails to parse writes nothing; 9.22 has written the bitmap by then. */
function nothingWrittenOnError(label: string): Deviation {
  const expected = [/^file dev bytes differ/, /^step 3 .*stdout differs/];
  // 9.22 echoes the raw byte; udrbd's console is text
  if (label.startsWith("non-ASCII")) expected.push(/stderr differs:[\s\S]*invalid input character/);
  // 9.22 computes a layout for 2^32-1 slots; udrbd stops at "Bitmap ... too large" (both exit 10)
  if (label === "max-peers -1") expected.push(/^step [12] .*(stdout|stderr) differs/);
  return {
    why: "a dump is validated completely before anything is written",
    expected,
    check: ({ dir, pristine, real, ours }) => {
      const problems: string[] = [];
      const changed = hashFile(`${dir}/dev`) !== hashFile(`${pristine}/dev`);
      if (ours[1].code !== 0 && changed) problems.push("a refused restore-md changed the device");
      if (ours[1].code !== real[1].code) problems.push("restore-md exit codes differ");
      return problems;
    },
  };
}

/** Regular files are valid disks for udrbd: no --force needed, one note on stderr. */
function regularFileAccepted(step: number): Deviation {
  return {
    why: "a regular file needs no --force",
    expected: [new RegExp(`^step ${step + 1} `)],
    check: ({ ours }) =>
      ours[step].code === 0 && (ours[step].stderr.match(REGULAR_FILE_NOTE)?.length ?? 0) === 1
        ? []
        : [`step ${step + 1} did not accept the regular file with one note`],
  };
}

/** drbdmeta -v x10 prints the raw AL and hex dumps; udrbd prints the dump and -v -v traces. */
const NO_DEBUG_HEXDUMPS: Deviation = {
  why: "verbosity 10 adds no AL printout or hex dumps",
  expected: [/^step 1 .*(stdout|stderr) differs/],
  check: ({ ours }) =>
    ours[0].code === 0 && ours[0].stdout.includes('version "v09";') ? [] : ["dump-md failed"],
};

/** The environment notes 9.22 prints for regular files are the only difference in stderr. */
export const NO_IOCTL_NOTES: Deviation = {
  why: "no BLKSSZGET/BLKZEROOUT notes for regular files",
  expected: [/stderr differs/],
  check: ({ real, ours }) =>
    real.flatMap((r, i) =>
      filterNoise(r.stderr) === ours[i].stderr
        ? []
        : [`step ${i + 1}: stderr differs beyond the notes`]
    ),
};

export type Format = "v08" | "v09";

const SAMPLES = new URL("../../../shared/reference/metadata-samples/", import.meta.url).pathname;
/** The shared reference samples (real drbdmeta output). */
export const SAMPLES_DIR = Deno.env.get("UDRBD_MD_SAMPLES") ??
  (SAMPLES.startsWith("/work/main") ? "/work/shared/reference/metadata-samples/" : SAMPLES);

const dev = (dir: string) => `${dir}/dev`;

/** `--force MINOR FMT DIR/dev INDEX CMD...` */
export function md(dir: string, fmt: Format, ...rest: string[]): string[] {
  return ["--force", MINOR, fmt, dev(dir), "internal", ...rest];
}

function mdAt(path: string, fmt: Format, index: string, ...rest: string[]): string[] {
  return ["--force", MINOR, fmt, path, index, ...rest];
}

/** The get-gi/show-gi command line for a format (v09 needs a node id). */
function gi(dir: string, fmt: Format, cmd: string, nodeId = 0): string[] {
  return fmt === "v09" ? md(dir, fmt, cmd, "--node-id", String(nodeId)) : md(dir, fmt, cmd);
}

async function mustReal(args: string[]): Promise<void> {
  const r = await runReal(args);
  if (r.code !== 0) {
    throw new Error(`setup: drbdmeta ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  }
}

/** Setup: a sparse device file of `size` bytes with metadata made by the real create-md. */
export async function created(
  dir: string,
  size: number,
  fmt: Format,
  peers = 1,
  options: string[] = [],
): Promise<Superblock> {
  makeSparse(dev(dir), size);
  await mustReal([
    ...options,
    ...md(dir, fmt, "create-md", ...(fmt === "v09" ? [String(peers)] : [])),
  ]);
  const sb = readSuperblock(dev(dir), internalMdOffset(size));
  if (!sb) throw new Error("setup: no superblock after create-md");
  return sb;
}

function peersArg(fmt: Format, peers: number): string[] {
  return fmt === "v09" ? [String(peers)] : [];
}

/** Standard read-only inspection steps. */
function inspect(dir: string, fmt: Format): string[][] {
  return [
    md(dir, fmt, "dump-md"),
    gi(dir, fmt, "get-gi"),
    gi(dir, fmt, "show-gi"),
    md(dir, fmt, "dstate"),
    md(dir, fmt, "read-dev-uuid"),
  ];
}

// ---------------------------------------------------------------------------------------------
// create-md over sizes, formats, peer counts

/** Device sizes from just below the minimum to 2 TiB. */
export const SIZES: [string, number][] = [
  ["68KiB-1", 69631],
  ["68KiB", 69632],
  ["68KiB+512", 69632 + 512],
  ["72KiB", 72 * KiB],
  ["1MiB", MiB],
  ["3MiB+512", 3 * MiB + 512],
  ["4MiB", 4 * MiB],
  ["128MiB", 128 * MiB],
  ["1GiB", GiB],
  ["10^9", 1e9],
  ["300MiB+4096+512", 300 * MiB + 4096 + 512],
  ["1TiB+12800", TiB + 12800],
  ["2TiB", 2 * TiB],
];

/** create-md, then every read-only command, per size × format × peers. */
export function createCases(): Case[] {
  const cases: Case[] = [];
  for (const [label, size] of SIZES) {
    const variants: [Format, number][] = [["v08", 1], ["v09", 1]];
    if (size < TiB) variants.push(["v09", 2]);
    if (size === GiB) variants.push(["v09", 3], ["v09", 7]);
    if (size === 128 * MiB) variants.push(["v09", 31]);
    if (size === TiB + 12800) variants.push(["v09", 2]);
    for (const [fmt, peers] of variants) {
      cases.push({
        name: `create-md ${fmt}${fmt === "v09" ? `/${peers} peers` : ""} on ${label}`,
        setup: (dir) => makeSparse(dev(dir), size),
        steps: (dir) => [
          md(dir, fmt, "create-md", ...peersArg(fmt, peers)),
          ...inspect(dir, fmt),
          md(dir, fmt, "apply-al"),
          md(dir, fmt, "check-resize"),
        ],
        cross: (dir) => [md(dir, fmt, "dump-md"), gi(dir, fmt, "get-gi")],
        lkbd: true,
      });
    }
  }
  return cases;
}

/** create-md with every max-peers value 1..31 and the invalid ones, on a small device. */
export function peerCountCases(): Case[] {
  const cases: Case[] = [];
  for (let p = 1; p <= 31; p++) {
    cases.push({
      name: `create-md v09 with ${p} peers on 4MiB`,
      setup: (dir) => makeSparse(dev(dir), 4 * MiB),
      steps: (dir) => [md(dir, "v09", "create-md", String(p)), md(dir, "v09", "dump-md")],
    });
  }
  for (const arg of ["0", "32", "1k", "abc", "-1", "2x", "0x3"]) {
    cases.push({
      name: `create-md v09 refuses max-peers '${arg}'`,
      setup: (dir) => makeSparse(dev(dir), 4 * MiB),
      steps: (dir) => [md(dir, "v09", "create-md", arg)],
      unchanged: true,
    });
  }
  cases.push({
    name: "create-md v09 without max-peers is a usage error",
    setup: (dir) => makeSparse(dev(dir), 4 * MiB),
    steps: (dir) => [md(dir, "v09", "create-md")],
    unchanged: true,
  });
  cases.push({
    name: "create-md v08 ignores a max-peers argument",
    setup: (dir) => makeSparse(dev(dir), 4 * MiB),
    steps: (dir) => [md(dir, "v08", "create-md", "3"), md(dir, "v08", "dump-md")],
  });
  return cases;
}

/** --peer-max-bio-size and --al-stripes/--al-stripe-size-kB, valid and invalid. */
export function optionCases(): Case[] {
  const cases: Case[] = [];
  const opts: string[][] = [
    ["--peer-max-bio-size", "4096"],
    ["--peer-max-bio-size", "128k"],
    ["--peer-max-bio-size=1M"],
    ["--peer-max-bio-size", "0"],
    ["--peer-max-bio-size", "1048577"],
    ["--peer-max-bio-size", "2M"],
    ["--peer-max-bio-size", "x"],
    ["--al-stripes", "2"],
    ["--al-stripes", "4", "--al-stripe-size-kB", "64"],
    ["--al-stripe-size-kB", "16"],
    ["--al-stripes", "3", "--al-stripe-size-kB", "12"],
    ["--al-stripe-size-kB", "32M"],
    ["--al-stripes", "2", "--al-stripe-size-kB", "32M"],
    ["--al-stripe-size", "1M"],
    ["--al-stripes", "0"],
    ["--al-stripe-size-kB", "6"],
    ["--al-stripes=8", "--al-stripe-size-kB=4"],
    ["--al-stripes", "1024", "--al-stripe-size-kB", "32"],
  ];
  for (const fmt of ["v08", "v09"] as Format[]) {
    for (const o of opts) {
      const peers = fmt === "v09" ? 2 : 1;
      cases.push({
        name: `create-md ${fmt} ${o.join(" ")} on 1GiB`,
        setup: (dir) => makeSparse(dev(dir), GiB),
        steps: (dir) => [
          [...o, ...md(dir, fmt, "create-md", ...peersArg(fmt, peers))],
          md(dir, fmt, "dump-md"),
          md(dir, fmt, "apply-al"),
          gi(dir, fmt, "show-gi"),
        ],
        cross: (dir) => [md(dir, fmt, "dump-md")],
      });
    }
  }
  for (
    const [label, size, o] of [
      ["68KiB", 69632, ["--al-stripes", "2"]],
      ["68KiB", 69632, ["--al-stripe-size-kB", "36"]],
      ["1MiB", MiB, ["--al-stripe-size-kB", "1M"]],
      ["1MiB", MiB, ["--al-stripes", "31", "--al-stripe-size-kB", "32"]],
    ] as [string, number, string[]][]
  ) {
    cases.push({
      name: `create-md v09 with an activity log too big for ${label} (${o.join(" ")})`,
      setup: (dir) => makeSparse(dev(dir), size),
      steps: (dir) => [[...o, ...md(dir, "v09", "create-md", "1")], md(dir, "v09", "dump-md")],
    });
  }
  cases.push({
    name: "options that only create-md/restore-md accept are refused elsewhere",
    setup: (dir) => created(dir, 64 * MiB, "v09").then(() => {}),
    steps: (dir) => [
      ["--peer-max-bio-size", "4096", ...md(dir, "v09", "dump-md")],
      ["--al-stripes", "2", ...md(dir, "v09", "apply-al")],
      ["--al-stripe-size-kB", "64", ...md(dir, "v09", "dump-md")],
      ["--peer-max-bio-size", "4096", ...md(dir, "v09", "restore-md", `${dir}/none`)],
    ],
    unchanged: true,
  });
  cases.push({
    name: "create-md --initialize-bitmap=skip leaves the bitmap area as it was",
    setup: (dir) => {
      makeSparse(dev(dir), 64 * MiB);
      fill(dev(dir), 64 * MiB - 256 * KiB, 256 * KiB, 0x5A);
    },
    steps: (dir) => [
      ["--initialize-bitmap=skip", ...md(dir, "v09", "create-md", "2")],
      md(dir, "v09", "dump-md"),
    ],
  });
  for (const mode of ["pwrite", "zeroout", "automatic", "bogus"]) {
    cases.push({
      name: `create-md --initialize-bitmap ${mode}`,
      setup: (dir) => {
        makeSparse(dev(dir), 64 * MiB);
        fill(dev(dir), 64 * MiB - 256 * KiB, 256 * KiB, 0x5A);
      },
      steps: (dir) => [
        ["--initialize-bitmap", mode, ...md(dir, "v09", "create-md", "1")],
        md(dir, "v09", "dump-md"),
      ],
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// external metadata

/** Index 0, 1, 3 and flex-external metadata on a separate md file. */
export function externalCases(): Case[] {
  const cases: Case[] = [];
  const specs: [string, string, number][] = [
    ["index 0 on 128MiB", "0", 128 * MiB],
    ["index 1 on 129MiB (slot runs past the end)", "1", 129 * MiB],
    ["index 3 on 512MiB", "3", 512 * MiB],
    ["index 3 on 256MiB (too small)", "3", 256 * MiB],
    ["index 0 on 68KiB", "0", 69632],
    ["index 0 on 64KiB", "0", 64 * KiB],
    ["flex-external on 1GiB", "flex-external", GiB],
    ["flex-external on 68KiB", "flex-external", 69632],
    ["flex-external on 300MiB+4096+512", "flex-external", 300 * MiB + 4608],
    ["flex-external on 2TiB", "flex-external", 2 * TiB],
  ];
  for (const [label, index, size] of specs) {
    for (const [fmt, peers] of [["v08", 1], ["v09", 1], ["v09", 3]] as [Format, number][]) {
      if (size === 2 * TiB && peers === 3) continue;
      const mdOffset = index === "flex-external" ? 0 : indexMdOffset(Number(index));
      const regions: [number, number][] = [[0, 256 * KiB]];
      if (index === "flex-external") regions.push([0, Math.min(size, 80 * MiB)]);
      else regions.push([mdOffset, mdOffset + 4 * MiB]);
      const m = (dir: string, ...rest: string[]) => mdAt(`${dir}/md`, fmt, index, ...rest);
      const g = (dir: string, cmd: string) =>
        fmt === "v09" ? m(dir, cmd, "--node-id", "0") : m(dir, cmd);
      cases.push({
        name: `${fmt}${fmt === "v09" ? `/${peers}` : ""} ${label}`,
        setup: (dir) => makeSparse(`${dir}/md`, size),
        steps: (dir) => [
          m(dir, "create-md", ...peersArg(fmt, peers)),
          m(dir, "dump-md"),
          g(dir, "get-gi"),
          g(dir, "show-gi"),
          m(dir, "apply-al"),
          m(dir, "check-resize"),
          m(dir, "create-md", ...peersArg(fmt, peers)),
          m(dir, "wipe-md"),
          m(dir, "dump-md"),
        ],
        files: (): FileSpec[] => [{ name: "md", regions, mdOffset }],
        lkbd: true,
      });
    }
  }
  cases.push({
    name: "external index 1 next to existing index 0 metadata",
    setup: async (dir) => {
      makeSparse(`${dir}/md`, 256 * MiB);
      await mustReal(mdAt(`${dir}/md`, "v09", "0", "create-md", "2"));
    },
    steps: (dir) => [
      mdAt(`${dir}/md`, "v09", "1", "create-md", "1"),
      mdAt(`${dir}/md`, "v09", "0", "dump-md"),
      mdAt(`${dir}/md`, "v09", "1", "dump-md"),
      mdAt(`${dir}/md`, "v09", "internal", "dump-md"),
      mdAt(`${dir}/md`, "v09", "flex-external", "dump-md"),
    ],
    files: () => [{ name: "md", regions: [[0, 4 * MiB], [128 * MiB, 132 * MiB]], mdOffset: 0 }],
  });
  return cases;
}

// ---------------------------------------------------------------------------------------------
// restore-md of edited dumps: UUIDs, flags, peers, sizes, bitmaps

function slotValueCounts(laSect: number, peers: number): number[] {
  const n = bmBytes(laSect, peers) / 4;
  const counts: number[] = [];
  for (let s = 0; s < peers; s++) {
    let c = 0;
    for (let k = 0; k * peers + s < n; k++) c++;
    counts.push(Math.floor(c / 2));
  }
  return counts;
}

function randomValues(rand: () => number, n: number, density = 1): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    if ((rand() % 1000) / 1000 >= density) out.push(0n);
    else out.push((BigInt(rand()) << 32n) | BigInt(rand()));
  }
  return out;
}

const UUIDS = {
  current: 0x1A2B3C4D5E6F7081n,
  bitmap: 0x0F0E0D0C0B0A0908n,
  h0: 0x1111111111111110n,
  h1: 0x2222222222222220n,
  dev: 0x0123456789ABCDEFn,
};

/** A fully populated dump for `fmt`/`peers` on internal md of `size` bytes. */
export function richDump(
  fmt: Format,
  size: number,
  peers: number,
  options: { seed?: number; la?: number | bigint; density?: number; flags?: number } = {},
): DumpSpec {
  const maxSect = internalMaxSectorsFor(size, fmt === "v08" ? 1 : peers);
  const la = options.la ?? maxSect;
  const rand = prng(options.seed ?? 1);
  const counts = slotValueCounts(Number(la), fmt === "v08" ? 1 : peers);
  const bitmaps = counts.map((n) => literalWords(randomValues(rand, n, options.density ?? 0.3)));
  if (fmt === "v08") {
    return {
      version: "v08",
      current: UUIDS.current,
      bitmapUuid: UUIDS.bitmap,
      history: [UUIDS.h0, UUIDS.h1],
      flags: options.flags ?? 0x91,
      laSizeSect: la,
      deviceUuid: UUIDS.dev,
      maxBio: 1048576,
      bitmaps,
    };
  }
  const p: Record<number, { bitmapIndex: number; bitmapUuid: bigint; flags: number }> = {};
  for (let s = 0; s < peers; s++) {
    p[s + 1] = {
      bitmapIndex: s,
      bitmapUuid: 0x7081A2B3C4D5E6F6n + BigInt(s) * 0x10n,
      flags: [0x00010013, 0x00010019, 0x00010000, 0x1F, 0xFFFFFFFF][s % 5],
    };
  }
  return {
    version: "v09",
    maxPeers: peers,
    nodeId: 0,
    current: UUIDS.current,
    flags: options.flags ?? 0x91,
    peers: p,
    history: Array.from(
      { length: 32 },
      (_, i) => (i % 3 === 0 ? BigInt(i) * 0x1111n + 0xCAFEn : 0n),
    ),
    laSizeSect: la,
    deviceUuid: UUIDS.dev,
    maxBio: 1048576,
    bitmaps,
  };
}

/** Max usable sectors of internal md with the default AL (§2.2). */
export function internalMaxSectorsFor(size: number, peers: number): number {
  const mdOffset = internalMdOffset(size);
  const bm = bmBytes(Math.floor(size / 512), peers);
  return (mdOffset - 32 * KiB - bm) / 512;
}

async function withDump(dir: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/dump`, text);
}

/** restore-md cases: a prepared dump restored onto existing metadata, then inspected. */
export function restoreCases(): Case[] {
  const cases: Case[] = [];
  const add = (
    name: string,
    size: number,
    fmt: Format,
    devPeers: number,
    text: (size: number) => string,
    options: { pre?: string[]; nodeIds?: number[]; noMd?: boolean } = {},
  ) => {
    cases.push({
      name,
      setup: async (dir) => {
        if (options.noMd) {
          makeSparse(dev(dir), size);
        } else {
          const sb = await created(dir, size, fmt, devPeers);
          fill(dev(dir), bmPos(sb), bmBytes(size / 512, devPeers), 0x5A);
        }
        await withDump(dir, text(size));
      },
      steps: (dir) => [
        [...(options.pre ?? []), ...md(dir, fmt, "restore-md", `${dir}/dump`)],
        ...inspect(dir, fmt),
        ...(options.nodeIds ?? []).map((n) => gi(dir, fmt, "get-gi", n)),
        md(dir, fmt, "verify-dump", `${dir}/dump`),
      ],
      cross: (dir) => [md(dir, fmt, "dump-md")],
    });
  };
  add(
    "restore-md v08 with UUIDs, flags and random bits",
    128 * MiB,
    "v08",
    1,
    (s) => makeDump(richDump("v08", s, 1)),
  );
  add(
    "restore-md v09/1 with UUIDs, peers and random bits",
    128 * MiB,
    "v09",
    1,
    (s) => makeDump(richDump("v09", s, 1)),
    { nodeIds: [1, 2, 31] },
  );
  add(
    "restore-md v09/2 with UUIDs, peers and random bits",
    256 * MiB,
    "v09",
    2,
    (s) => makeDump(richDump("v09", s, 2, { seed: 2 })),
    { nodeIds: [1, 2, 3] },
  );
  add(
    "restore-md v09/3 with half the size in use",
    256 * MiB,
    "v09",
    3,
    (s) => makeDump(richDump("v09", s, 3, { seed: 3, la: 262084 })),
    { nodeIds: [1, 3] },
  );
  add(
    "restore-md v09/7 on 300MiB+4096+512",
    300 * MiB + 4608,
    "v09",
    7,
    (s) => makeDump(richDump("v09", s, 7, { seed: 7 })),
  );
  add(
    "restore-md v09/3 dump onto v09/1 metadata (more peers)",
    256 * MiB,
    "v09",
    1,
    (s) => makeDump(richDump("v09", s, 3, { seed: 4 })),
  );
  add(
    "restore-md v09/1 dump onto v09/3 metadata (fewer peers)",
    256 * MiB,
    "v09",
    3,
    (s) => makeDump(richDump("v09", s, 1, { seed: 5 })),
  );
  add("restore-md v09/2 on 1GiB, all bits set", GiB, "v09", 2, (s) => {
    const d = richDump("v09", s, 2);
    d.bitmaps = slotValueCounts(Number(d.laSizeSect), 2).map((n) =>
      `    ${n} times 0xFFFFFFFFFFFFFFFF;`
    );
    return makeDump(d);
  });
  for (const fmt of ["v08", "v09"] as Format[]) {
    const base = (s: number) => richDump(fmt, s, 1, { density: 0 });
    add(
      `restore-md ${fmt} with a partial bitmap leaves the rest as it was`,
      64 * MiB,
      fmt,
      1,
      (s) =>
        makeDump({ ...base(s), bitmaps: [literalWords([1n, 2n, 3n, 0xFFFFFFFF00000000n, 5n])] }),
    );
    add(`restore-md ${fmt} with a bitmap longer than the device`, 64 * MiB, fmt, 1, (s) => {
      const n = slotValueCounts(Number(base(s).laSizeSect), 1)[0];
      return makeDump({ ...base(s), bitmaps: [`    ${n + 100} times 0x00000000000000FF;`] });
    });
    add(`restore-md ${fmt} with non-canonical runs`, 64 * MiB, fmt, 1, (s) =>
      makeDump({
        ...base(s),
        bitmaps: [
          [
            "    3 times 0x0000000100000002;",
            "    0x00000000000000FF;",
            "    100 times 0xFFFFFFFFFFFFFFFF; 0x8000000000000001;",
            "    1 times 0x0000000000000000; 0 times 0x1111111111111111;",
            "    17 times 0xAAAAAAAA55555555;",
          ].join("\n"),
        ],
      }));
    add(
      `restore-md ${fmt} with la-size-sect too big`,
      64 * MiB,
      fmt,
      1,
      (s) => makeDump({ ...base(s), laSizeSect: 1n << 40n }),
    );
    add(
      `restore-md ${fmt} with la-size-sect 0 and bits`,
      64 * MiB,
      fmt,
      1,
      (s) => makeDump({ ...base(s), laSizeSect: 0, bitmaps: [literalWords([7n, 8n])] }),
    );
    add(
      `restore-md ${fmt} with bm-byte-per-bit 8192`,
      64 * MiB,
      fmt,
      1,
      (s) => makeDump({ ...base(s), bmBytePerBit: 8192 }),
    );
    add(
      `restore-md ${fmt} with al-stripes 2 in the dump`,
      64 * MiB,
      fmt,
      1,
      (s) => makeDump({ ...base(s), alStripes: 2, alStripeSize4k: 8 }),
    );
    add(`restore-md ${fmt} striping from the command line overrides the dump`, 64 * MiB, fmt, 1, (
      s,
    ) => makeDump({ ...base(s), alStripes: 2, alStripeSize4k: 8 }), {
      pre: ["--al-stripes", "4", "--al-stripe-size-kB", "64"],
    });
    add(
      `restore-md ${fmt} --al-stripes 1 equal to the default`,
      64 * MiB,
      fmt,
      1,
      (s) => makeDump({ ...base(s), alStripes: 2, alStripeSize4k: 8 }),
      { pre: ["--al-stripes", "1"] },
    );
    add(
      `restore-md ${fmt} onto a device without metadata`,
      64 * MiB,
      fmt,
      1,
      (s) => makeDump(richDump(fmt, s, 1, { seed: 9 })),
      { noMd: true },
    );
    add(
      `restore-md ${fmt} of a fresh dump (flags 0, nothing set)`,
      64 * MiB,
      fmt,
      1,
      () => makeDump({ version: fmt }),
    );
  }
  add("restore-md v09 with the 32 peers in shuffled order", 64 * MiB, "v09", 2, (s) => {
    const d = richDump("v09", s, 2);
    const order = [...Array(32).keys()].reverse();
    [order[3], order[17]] = [order[17], order[3]];
    return makeDump({ ...d, peerOrder: order });
  });
  add("restore-md v09 with node-id 31 and max-peers 31", 64 * MiB, "v09", 31, (s) => {
    const d = richDump("v09", s, 31, { density: 0.05 });
    return makeDump({ ...d, nodeId: 31, peers: { ...d.peers, 0: { bitmapIndex: 30 } } });
  }, { nodeIds: [0, 30, 31] });
  add("restore-md v09 with every flag bit set", 64 * MiB, "v09", 1, (s) => {
    const d = richDump("v09", s, 1, { flags: 0xFFFFFFFF });
    return makeDump({ ...d, peers: { 0: { bitmapIndex: 0, flags: 0xFFFFFFFF } } });
  }, { nodeIds: [0, 1] });
  add(
    "restore-md v08 with every flag bit set",
    64 * MiB,
    "v08",
    1,
    (s) => makeDump(richDump("v08", s, 1, { flags: 0xFFFFFFFF })),
  );
  // the reference samples, made by the real tool
  const samples: [string, number, Format, number][] = [
    ["v09-128M-p1-set.dump", 128 * MiB, "v09", 1],
    ["v09-256M-p3-set.dump", 256 * MiB, "v09", 3],
    ["v09-512M-p2-fresh.dump", 512 * MiB, "v09", 2],
    ["v08-128M-set.restore-input", 128 * MiB, "v08", 1],
    ["v08-128M-set.dump", 128 * MiB, "v08", 1],
    ["v08-128M-roundtrip-unclean.dump", 128 * MiB, "v08", 1],
  ];
  for (const [file, size, fmt, peers] of samples) {
    add(
      `restore-md of the reference sample ${file}`,
      size,
      fmt,
      peers,
      () => Deno.readTextFileSync(`${SAMPLES_DIR}${file}`),
      { nodeIds: fmt === "v09" ? [1, 5] : [] },
    );
  }
  add(
    "restore-md v08 round trip turns the metadata unclean",
    128 * MiB,
    "v08",
    1,
    () => Deno.readTextFileSync(`${SAMPLES_DIR}v08-128M-set.dump`),
  );
  return cases;
}

// ---------------------------------------------------------------------------------------------
// bitmap patterns: dump-md text and restore-md of that text

type Pattern = (words: number, peers: number) => Map<number, number> | Uint32Array;

function u32(v: bigint): [number, number] {
  return [Number(v & 0xFFFFFFFFn), Number(v >> 32n)];
}

/** Runs of equal 64-bit values (lengths ≥8, exactly 4, 7, 9…) at line-aligned and odd starts. */
const runsPattern: Pattern = (words) => {
  const m = new Map<number, number>();
  const values = [
    0xFFFFFFFFFFFFFFFFn,
    0x0000000100000001n,
    0xDEADBEEFDEADBEEFn,
    0x0000000100000002n,
    0x8000000080000000n,
  ];
  const lengths = [8, 4, 7, 9, 16, 17, 3, 24, 5, 12, 32, 8];
  let pos = 8; // in u32 words
  let i = 0;
  while (pos + 80 < words) {
    const len = lengths[i % lengths.length];
    const [lo, hi] = u32(values[i % values.length]);
    for (let k = 0; k < len; k++) {
      m.set(pos + 2 * k, lo);
      m.set(pos + 2 * k + 1, hi);
    }
    pos += 2 * len + [0, 2, 4, 6, 8, 16, 14][i % 7] + 8;
    i++;
    if (i > 400) pos += Math.floor(words / 10);
  }
  return m;
};

const randomPattern = (seed: number, density: number): Pattern => (words) => {
  const rand = prng(seed);
  const a = new Uint32Array(words);
  for (let i = 0; i < words; i++) if ((rand() % 1000) / 1000 < density) a[i] = rand();
  return a;
};

const onesPattern: Pattern = (words) => new Uint32Array(words).fill(0xFFFFFFFF);

const edgesPattern: Pattern = (words) =>
  new Map([[0, 1], [1, 0x80000000], [words - 2, 0x00000001], [words - 1, 0x80000000]]);

/** Equal runs around every 32 MiB window boundary of the dump reader (§7.2). */
const windowPattern = (peers: number): Pattern => (words) => {
  const m = new Map<number, number>();
  const chunkBytes = Math.floor((32 * MiB) / (4096 * peers)) * 4096 * peers;
  const chunkWords = chunkBytes / 4;
  for (let b = chunkWords; b < words; b += chunkWords) {
    // a long run of ones crossing the boundary
    for (let k = b - 40 * peers; k < b + 40 * peers; k++) m.set(k, 0xFFFFFFFF);
    // a run that ends exactly at the boundary, then a short run after it
    const b2 = b + 200 * peers;
    for (let k = b2 - 16 * peers; k < b2 + 4 * peers; k++) m.set(k, 0x11111111);
    // a run of exactly 8 u32 per slot just after a boundary
    for (let k = b + 1000 * peers; k < b + 1008 * peers; k++) m.set(k, 0x0F0F0F0F);
    m.set(b - 1, 0x12345678);
  }
  m.set(words - 1, 0xFFFFFFFF);
  m.set(3, 0x00000001);
  return m;
};

/** A pattern that differs per slot: slot s gets values only at its own offsets. */
const perSlotPattern: Pattern = (words, peers) => {
  const m = new Map<number, number>();
  for (let s = 0; s < peers; s++) {
    for (let k = s * 16; k < s * 16 + 16 * (s + 1); k++) {
      const w = k * peers + s;
      if (w < words) m.set(w, 0xFFFFFFFF >>> s);
    }
    const last = words - peers + s;
    if (last >= 0) m.set(last, 1 << s);
  }
  return m;
};

function applyPattern(path: string, pos: number, words: number, p: Pattern, peers: number) {
  const w = p(words, peers);
  if (w instanceof Uint32Array) {
    writeWords(path, pos, w);
    return;
  }
  const keys = [...w.keys()].filter((k) => k >= 0 && k < words).sort((a, b) => a - b);
  // group contiguous words to keep writes few
  let i = 0;
  while (i < keys.length) {
    let j = i;
    while (j + 1 < keys.length && keys[j + 1] === keys[j] + 1) j++;
    writeWords(path, pos + keys[i] * 4, keys.slice(i, j + 1).map((k) => w.get(k)!));
    i = j + 1;
  }
}

/** dump-md of planted bitmap patterns, then restore-md of the real dump onto a second device. */
export function bitmapCases(): Case[] {
  const cases: Case[] = [];
  const add = (
    label: string,
    size: number,
    fmt: Format,
    peers: number,
    pattern: Pattern,
    options: { half?: boolean } = {},
  ) => {
    const big = size > 64 * MiB;
    const windows = bmBytes(size / 512, peers) > 32 * MiB;
    cases.push({
      name: `bitmap ${label}: ${fmt}${fmt === "v09" ? `/${peers}` : ""} on ${
        size >= TiB ? `${size / TiB}TiB` : `${size / MiB}MiB`
      }`,
      setup: async (dir) => {
        const sb = await created(dir, size, fmt, peers);
        const max = internalMaxSectors(sb);
        const la = options.half ? Math.floor(max / 2) : max;
        patchU64(dev(dir), sb, 0, BigInt(la));
        const words = bmBytes(size / 512, peers) / 4;
        applyPattern(dev(dir), bmPos(sb), words, pattern, peers);
        const r = await runReal(md(dir, fmt, "dump-md"));
        await Deno.writeTextFile(`${dir}/dump`, r.stdout);
        // the restore target: same size, fresh metadata, bitmap filled with 0x5A
        makeSparse(`${dir}/dev2`, size);
        await mustReal(mdAt(`${dir}/dev2`, fmt, "internal", "create-md", ...peersArg(fmt, peers)));
        const sb2 = readSuperblock(`${dir}/dev2`, internalMdOffset(size))!;
        fill(`${dir}/dev2`, bmPos(sb2), Math.min(words * 4, 64 * MiB), 0x5A);
      },
      steps: (dir) => [
        md(dir, fmt, "dump-md"),
        mdAt(`${dir}/dev2`, fmt, "internal", "restore-md", `${dir}/dump`),
        mdAt(`${dir}/dev2`, fmt, "internal", "dump-md"),
      ],
      files: () => [{ name: "dev" }, { name: "dev2" }],
      cross: big ? undefined : (dir) => [md(dir, fmt, "dump-md")],
      deviation: windows ? WHOLE_BITMAP : undefined,
    });
  };
  for (const fmt of ["v08", "v09"] as Format[]) {
    add("random words", 128 * MiB, fmt, 1, randomPattern(11, 0.5));
    add("runs of equal values", 128 * MiB, fmt, 1, runsPattern);
    add("all ones", 128 * MiB, fmt, 1, onesPattern);
    add("first and last bits", 128 * MiB, fmt, 1, edgesPattern);
    add("random words, half the size in use", 128 * MiB, fmt, 1, randomPattern(12, 0.2), {
      half: true,
    });
    add("first and last bits", 300 * MiB + 4608, fmt, 1, edgesPattern);
    add("runs crossing the 32 MiB bitmap window", 2 * TiB, fmt, 1, windowPattern(1));
  }
  add("random words", 256 * MiB, "v09", 2, randomPattern(21, 0.5));
  add("runs of equal values", 256 * MiB, "v09", 2, runsPattern);
  add("per-slot bits", 256 * MiB, "v09", 2, perSlotPattern);
  add("random words", GiB, "v09", 3, randomPattern(31, 0.3));
  add("runs of equal values", GiB, "v09", 3, runsPattern);
  add("per-slot bits", GiB, "v09", 3, perSlotPattern);
  add("all ones", GiB, "v09", 3, onesPattern);
  add("random words", 300 * MiB + 4608, "v09", 7, randomPattern(71, 0.4));
  add("per-slot bits", 300 * MiB + 4608, "v09", 7, perSlotPattern);
  add("runs of equal values, half in use", 300 * MiB + 4608, "v09", 7, runsPattern, {
    half: true,
  });
  add("runs crossing the 32 MiB bitmap window", TiB, "v09", 2, windowPattern(2));
  add("runs crossing the 32 MiB bitmap window", TiB, "v09", 3, windowPattern(3));
  return cases;
}

// ---------------------------------------------------------------------------------------------
// activity log: crafted transactions, apply-al

interface AlCase {
  label: string;
  fmt?: Format;
  peers?: number;
  size?: number;
  createOptions?: string[];
  flags?: (f: number) => number;
  magic?: number;
  la?: (max: number) => number;
  blocks: (AlTransaction | null)[];
  /** Set some bits before apply-al, so that only new bits are counted. */
  preBits?: boolean;
}

const PRIMARY_UNCLEAN = (f: number) => (f | MDF_PRIMARY_IND | MDF_CONSISTENT) & ~MDF_AL_CLEAN;
const SECONDARY_UNCLEAN = (f: number) => (f | MDF_CONSISTENT) & ~MDF_AL_CLEAN & ~MDF_PRIMARY_IND;

const INIT: AlTransaction = { tr: 0, type: 0xFFFF, contextSize: 0 };

function alCaseList(): AlCase[] {
  const upd = (tr: number, updates: [number, number][], extra: Partial<AlTransaction> = {}) => ({
    tr,
    updates,
    contextSize: 61,
    contextStart: 0,
    ...extra,
  });
  const basic = [INIT, upd(1, [[0, 0], [1, 5], [2, 31]]), upd(2, [[3, 7]])];
  return [
    { label: "two updates, primary", flags: PRIMARY_UNCLEAN, blocks: basic },
    { label: "two updates, secondary", flags: SECONDARY_UNCLEAN, blocks: basic },
    {
      label: "two updates, primary, AL already clean",
      flags: (f) => f | MDF_PRIMARY_IND,
      blocks: basic,
    },
    {
      label: "updates with pre-set bits (only new bits counted)",
      flags: PRIMARY_UNCLEAN,
      blocks: basic,
      preBits: true,
    },
    {
      label: "wrapping transaction numbers",
      flags: PRIMARY_UNCLEAN,
      blocks: [
        upd(0xFFFFFFFE, [[0, 1]]),
        upd(0xFFFFFFFF, [[0, 2], [1, 3]]),
        upd(0, [[0, 4]]),
        upd(1, [[2, 9], [1, 10]]),
      ],
    },
    {
      label: "wrapping transaction numbers, newest first in the ring",
      flags: PRIMARY_UNCLEAN,
      blocks: [upd(2, [[0, 20]]), upd(0x7FFFFFFF, [[0, 21]]), upd(0x80000001, [[1, 22]])],
    },
    {
      label: "context carries the active set",
      flags: PRIMARY_UNCLEAN,
      blocks: [
        upd(5, [[0, 3]], { contextSize: 8, contextStart: 0, context: [10, 11, 0xFFFFFFFF, 13] }),
        upd(6, [[4, 14]], { contextSize: 8, contextStart: 4, context: [14, 15, 16, 17, 18] }),
      ],
    },
    {
      label: "context longer than context_size",
      flags: PRIMARY_UNCLEAN,
      blocks: [upd(1, [], { contextSize: 3, contextStart: 0, context: [1, 2, 3, 4, 5, 6] })],
    },
    {
      label: "corrupt transaction among valid ones, primary",
      flags: PRIMARY_UNCLEAN,
      blocks: [INIT, upd(1, [[0, 1]]), { ...upd(2, [[1, 2]]), corrupt: true }, upd(3, [[2, 3]])],
    },
    {
      label: "corrupt transaction among valid ones, secondary",
      flags: SECONDARY_UNCLEAN,
      blocks: [INIT, upd(1, [[0, 1]]), { ...upd(2, [[1, 2]]), corrupt: true }, upd(3, [[2, 3]])],
    },
    {
      label: "every block corrupt, primary",
      flags: PRIMARY_UNCLEAN,
      blocks: Array.from({ length: 8 }, (_, i) => ({ ...upd(i, [[0, i]]), corrupt: true })),
    },
    {
      label: "every block corrupt, secondary",
      flags: SECONDARY_UNCLEAN,
      blocks: Array.from({ length: 8 }, (_, i) => ({ ...upd(i, [[0, i]]), magic: 0 })),
    },
    {
      label: "only block 0 corrupt",
      flags: PRIMARY_UNCLEAN,
      blocks: [{ ...INIT, corrupt: true }],
    },
    {
      label: "block 1 corrupt, no updates",
      flags: PRIMARY_UNCLEAN,
      blocks: [null, { ...INIT, corrupt: true }],
    },
    {
      label: "extent beyond the end of the bitmap",
      flags: PRIMARY_UNCLEAN,
      blocks: [INIT, upd(1, [[0, 1], [1, 100000], [2, 31], [3, 32]])],
    },
    {
      label: "extent beyond a small la-size-sect",
      flags: PRIMARY_UNCLEAN,
      la: () => 8192 * 3 + 8,
      blocks: [INIT, upd(1, [[0, 0], [1, 3], [2, 4], [3, 2]])],
    },
    {
      label: "slot number 65534 in an update",
      flags: PRIMARY_UNCLEAN,
      blocks: [INIT, upd(1, [[65534, 3], [1, 4]])],
    },
    {
      label: "64 updates in one transaction",
      flags: PRIMARY_UNCLEAN,
      blocks: [upd(1, Array.from({ length: 64 }, (_, i) => [i, (i * 7) % 32] as [number, number]))],
    },
    {
      label: "n_updates larger than 64",
      flags: PRIMARY_UNCLEAN,
      blocks: [upd(1, [[0, 1]], { nUpdates: 65 })],
    },
    {
      label: "initialized blocks with nonzero numbers",
      flags: PRIMARY_UNCLEAN,
      blocks: [{ tr: 7, type: 0xFFFF }, { tr: 8, type: 0xFFFF }],
    },
    {
      label: "unknown transaction type",
      flags: PRIMARY_UNCLEAN,
      blocks: [INIT, upd(1, [[0, 2]], { type: 3 })],
    },
    {
      label: "striped activity log (2 stripes of 32 KiB)",
      createOptions: ["--al-stripes", "2", "--al-stripe-size-kB", "32"],
      flags: PRIMARY_UNCLEAN,
      blocks: [
        INIT,
        upd(1, [[0, 1]]),
        upd(2, [[1, 2]]),
        upd(3, [[2, 3]]),
        upd(4, [[3, 4]]),
        null,
        upd(
          6,
          [[4, 5]],
        ),
      ],
    },
    {
      label: "striped activity log (3 stripes of 12 KiB)",
      createOptions: ["--al-stripes", "3", "--al-stripe-size-kB", "12"],
      flags: PRIMARY_UNCLEAN,
      blocks: [
        upd(10, [[0, 1]]),
        upd(11, [[1, 2]]),
        upd(12, [[2, 3]]),
        upd(13, [[3, 4]]),
        upd(
          14,
          [[0, 6]],
        ),
      ],
    },
    { label: "v08 with updates, primary", fmt: "v08", flags: PRIMARY_UNCLEAN, blocks: basic },
    { label: "v08 with updates, secondary", fmt: "v08", flags: SECONDARY_UNCLEAN, blocks: basic },
    {
      label: "v08 with the 8.4-unclean magic",
      fmt: "v08",
      magic: 0x8374026C,
      flags: (f) => f | MDF_PRIMARY_IND,
      blocks: basic,
    },
    { label: "v08 clean, no updates", fmt: "v08", blocks: [] },
    { label: "v09/3 with updates, primary", peers: 3, flags: PRIMARY_UNCLEAN, blocks: basic },
    {
      label: "v09/2 on 1GiB with many extents",
      peers: 2,
      size: GiB,
      flags: PRIMARY_UNCLEAN,
      blocks: [INIT, upd(1, Array.from({ length: 40 }, (_, i) => [i, i * 6] as [number, number]))],
    },
  ];
}

/** apply-al after planting transactions; dump before and after. */
export function alCases(): Case[] {
  const cases: Case[] = alCaseList().map((a) => {
    const fmt = a.fmt ?? "v09";
    const peers = a.peers ?? 1;
    const size = a.size ?? 128 * MiB;
    return {
      name: `apply-al: ${a.label}`,
      setup: async (dir) => {
        const sb = await created(dir, size, fmt, peers, a.createOptions);
        const max = internalMaxSectors(sb);
        patchU64(dev(dir), sb, 0, BigInt(a.la ? a.la(max) : max));
        patchU64(dev(dir), sb, 8, 0x5AB1E0000000000Fn);
        if (a.flags) patchU32(dev(dir), sb, 0x38, a.flags(sb.flags));
        if (a.magic) patchU32(dev(dir), sb, 0x3C, a.magic);
        if (a.preBits) fill(dev(dir), bmPos(sb) + 128 * peers * 5, 64, 0xFF);
        writeAl(dev(dir), sb, a.blocks);
      },
      steps: (dir) => [
        md(dir, fmt, "dump-md"),
        gi(dir, fmt, "get-gi"),
        md(dir, fmt, "apply-al"),
        md(dir, fmt, "dump-md"),
        gi(dir, fmt, "get-gi"),
        md(dir, fmt, "apply-al"),
      ],
    };
  });
  const external: [string, Format, string, number][] = [
    ["external index 0", "v09", "0", 128 * MiB],
    ["external index 1, v08", "v08", "1", 256 * MiB],
    ["flex-external, 2 peers", "v09", "flex-external", 64 * MiB],
  ];
  for (const [label, fmt, index, size] of external) {
    const peers = label.includes("2 peers") ? 2 : 1;
    const mdOffset = index === "flex-external" ? 0 : indexMdOffset(Number(index));
    const m = (dir: string, ...rest: string[]) => mdAt(`${dir}/md`, fmt, index, ...rest);
    cases.push({
      name: `apply-al: ${label}, primary, updates past the device's bitmap`,
      setup: async (dir) => {
        makeSparse(`${dir}/md`, size);
        await mustReal(m(dir, "create-md", ...peersArg(fmt, peers)));
        const sb = readSuperblock(`${dir}/md`, mdOffset)!;
        patchU64(`${dir}/md`, sb, 0, 1n << 20n); // 512 MiB of data: extents 0..127
        patchU32(`${dir}/md`, sb, 0x38, PRIMARY_UNCLEAN(sb.flags));
        writeAl(`${dir}/md`, sb, [
          INIT,
          { tr: 1, updates: [[0, 0], [1, 100], [2, 127], [3, 128]], contextSize: 61 },
          { tr: 2, updates: [[4, 64]], contextSize: 61, contextStart: 4, context: [64, 65] },
        ]);
      },
      steps: (dir) => [m(dir, "apply-al"), m(dir, "dump-md"), m(dir, "apply-al")],
      files:
        () => [{ name: "md", regions: [[0, 256 * KiB], [mdOffset, mdOffset + 2 * MiB]], mdOffset }],
    });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// the small commands

/** Restored metadata with chosen flags, for the flag-changing commands. */
function stateSetup(fmt: Format, peers: number, flags: number, size = 64 * MiB) {
  return async (dir: string) => {
    await created(dir, size, fmt, peers);
    const d = richDump(fmt, size, peers, { flags, density: 0.01 });
    await withDump(dir, makeDump(d));
    await mustReal(md(dir, fmt, "restore-md", `${dir}/dump`));
  };
}

/** dstate/outdate/invalidate/get-gi/show-gi, dev UUIDs, set-gi, forget-peer, wipe-md. */
export function commandCases(): Case[] {
  const cases: Case[] = [];
  const flagSets: [string, number][] = [
    ["up to date", MDF_AL_CLEAN | MDF_CONSISTENT | MDF_WAS_UP_TO_DATE],
    ["consistent", MDF_AL_CLEAN | MDF_CONSISTENT],
    ["inconsistent", MDF_AL_CLEAN],
    ["primary", MDF_AL_CLEAN | MDF_CONSISTENT | MDF_WAS_UP_TO_DATE | MDF_PRIMARY_IND],
    ["crashed primary", MDF_AL_CLEAN | MDF_CONSISTENT | MDF_CRASHED_PRIMARY | MDF_PRIMARY_IND],
    [
      "peer outdated, connected, full sync",
      MDF_AL_CLEAN | MDF_CONSISTENT | MDF_WAS_UP_TO_DATE | MDF_PEER_OUT_DATED | MDF_CONNECTED_IND |
      MDF_FULL_SYNC,
    ],
  ];
  for (const fmt of ["v08", "v09"] as Format[]) {
    for (const [label, flags] of flagSets) {
      const peers = fmt === "v09" ? 2 : 1;
      cases.push({
        name: `dstate/outdate/invalidate on ${fmt} metadata that is ${label}`,
        setup: stateSetup(fmt, peers, flags),
        steps: (dir) => [
          md(dir, fmt, "dstate"),
          gi(dir, fmt, "get-gi", 1),
          gi(dir, fmt, "show-gi", 1),
          md(dir, fmt, "outdate"),
          md(dir, fmt, "dstate"),
          gi(dir, fmt, "get-gi", 1),
          md(dir, fmt, "outdate"),
          md(dir, fmt, "invalidate"),
          md(dir, fmt, "dstate"),
          gi(dir, fmt, "get-gi", 1),
          gi(dir, fmt, "show-gi", 1),
          md(dir, fmt, "outdate"),
          md(dir, fmt, "dump-md"),
          md(dir, fmt, "dstate", "extra-arg"),
        ],
      });
    }
    cases.push({
      name: `read-dev-uuid/write-dev-uuid on ${fmt}`,
      setup: stateSetup(fmt, 1, 0x91),
      steps: (dir) => [
        md(dir, fmt, "read-dev-uuid"),
        md(dir, fmt, "write-dev-uuid", "0123456789abcdef"),
        md(dir, fmt, "read-dev-uuid"),
        md(dir, fmt, "write-dev-uuid", "0xFEDCBA9876543210"),
        md(dir, fmt, "read-dev-uuid"),
        md(dir, fmt, "write-dev-uuid", "banana"),
        md(dir, fmt, "read-dev-uuid"),
        md(dir, fmt, "write-dev-uuid", "123456789ABCDEF0123"),
        md(dir, fmt, "read-dev-uuid"),
        md(dir, fmt, "write-dev-uuid", "18446744073709551615"),
        md(dir, fmt, "read-dev-uuid"),
        md(dir, fmt, "write-dev-uuid", "-1"),
        md(dir, fmt, "read-dev-uuid"),
        md(dir, fmt, "write-dev-uuid"),
        md(dir, fmt, "read-dev-uuid", "extra"),
        md(dir, fmt, "dump-md"),
      ],
      lkbd: true,
    });
    const gis = fmt === "v08"
      ? [
        "1A2B3C4D5E6F7081:0F0E0D0C0B0A0908:1111111111111110:2222222222222220:1:1:0:0:0:0:0",
        "::::0:0:1:1:1:1:1",
        "0xAAAAAAAAAAAAAAAA",
        "aaaa:bbbb",
        ":::",
        "1:2:3:4:1:1:1:1:1:1:1:1:1:1",
        "::::2",
        "::::1:x",
        "zz",
        "12345678901234567:",
        "",
      ]
      : [
        "1A2B3C4D5E6F7081:7081A2B3C4D5E6F6:0123456789ABCDEE:00000000CAFEBABE:1:1:0:0:1:0:0:1:0:0:0:1",
        "::::0:0:1:1:0:1:1:0:1:1:1:0",
        "0xAAAAAAAAAAAAAAAA",
        "aaaa:bbbb",
        "1:2:3:4:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1",
        "::::1:1:1:1:1:1:1:2",
        "::::y",
        "G",
        "",
      ];
    for (const g of gis) {
      cases.push({
        name: `set-gi ${fmt} '${g}'`,
        setup: stateSetup(fmt, 2, 0x91),
        steps: (dir) => [
          fmt === "v09" ? md(dir, fmt, "set-gi", g, "--node-id", "1") : md(dir, fmt, "set-gi", g),
          gi(dir, fmt, "get-gi", 1),
          gi(dir, fmt, "show-gi", 1),
          md(dir, fmt, "dump-md"),
        ],
      });
    }
    cases.push({
      name: `set-gi ${fmt} without a GI argument`,
      setup: stateSetup(fmt, 1, 0x91),
      steps: (
        dir,
      ) => [fmt === "v09" ? md(dir, fmt, "set-gi", "--node-id", "0") : md(dir, fmt, "set-gi")],
      unchanged: true,
    });
    cases.push({
      name: `wipe-md on ${fmt}`,
      setup: stateSetup(fmt, 1, 0x91),
      steps: (dir) => [
        md(dir, fmt, "wipe-md"),
        md(dir, fmt, "dump-md"),
        md(dir, fmt, "wipe-md"),
        md(dir, fmt, "get-gi", ...(fmt === "v09" ? ["--node-id", "0"] : [])),
        md(dir, fmt, "dstate"),
      ],
      lkbd: true,
    });
  }
  cases.push({
    name: "set-gi v09 on another peer's node id",
    setup: stateSetup("v09", 3, 0x91),
    steps: (dir) => [
      md(dir, "v09", "set-gi", "::ABCDEF0123456789:::1:1:1:1:1:1:1:1:1:1:1:1", "--node-id", "7"),
      md(dir, "v09", "get-gi", "--node-id", "7"),
      md(dir, "v09", "get-gi", "--node-id", "1"),
      md(dir, "v09", "dump-md"),
    ],
  });
  for (const n of ["0", "1", "2", "5", "31", "32"]) {
    cases.push({
      name: `forget-peer --node-id ${n}`,
      setup: stateSetup("v09", 3, 0x91),
      steps: (dir) => [
        md(dir, "v09", "forget-peer", "--node-id", n),
        md(dir, "v09", "dump-md"),
        md(dir, "v09", "forget-peer", "--node-id", n, "extra"),
      ],
    });
  }
  cases.push({
    name: "forget-peer needs --node-id, and v08 has no peers to forget",
    setup: stateSetup("v09", 2, 0x91),
    steps: (dir) => [
      md(dir, "v09", "forget-peer"),
      md(dir, "v08", "forget-peer", "--node-id", "1"),
      md(dir, "v08", "forget-peer"),
    ],
    unchanged: true,
  });
  return cases;
}

/** check-resize after growing the device, with and without the last-known-location file. */
export function resizeCases(): Case[] {
  const cases: Case[] = [];
  for (const fmt of ["v08", "v09"] as Format[]) {
    for (
      const [label, from, to] of [
        ["64MiB grown to 128MiB", 64 * MiB, 128 * MiB],
        ["64MiB grown by 4KiB", 64 * MiB, 64 * MiB + 4096],
        ["64MiB grown by 512 bytes", 64 * MiB, 64 * MiB + 512],
        ["1GiB grown to 3GiB", GiB, 3 * GiB],
      ] as [string, number, number][]
    ) {
      cases.push({
        name: `check-resize ${fmt}: ${label}`,
        setup: async (dir) => {
          await stateSetup(fmt, fmt === "v09" ? 2 : 1, 0x91, from)(dir);
          makeSparse(dev(dir), to);
        },
        steps: (dir) => [
          md(dir, fmt, "dump-md"),
          gi(dir, fmt, "get-gi"),
          md(dir, fmt, "check-resize"),
          md(dir, fmt, "dump-md"),
          md(dir, fmt, "check-resize"),
        ],
        lkbd: true,
        files: () => [{
          name: "dev",
          regions: [[0, MiB], [from - 2 * MiB, from + 64 * KiB], [to - 4 * MiB, to]],
        }],
      });
    }
    cases.push({
      name: `check-resize ${fmt} without a last-known-location file fails silently`,
      setup: async (dir) => {
        await stateSetup(fmt, 1, 0x91)(dir);
        clearLkbd();
      },
      steps: (dir) => [md(dir, fmt, "check-resize"), md(dir, fmt, "check-resize")],
      lkbd: true,
    });
    cases.push({
      name: `check-resize ${fmt} after the device shrank`,
      setup: async (dir) => {
        await stateSetup(fmt, 1, 0x91, 128 * MiB)(dir);
        makeSparse(dev(dir), 100 * MiB);
      },
      steps: (dir) => [md(dir, fmt, "check-resize"), md(dir, fmt, "dump-md")],
      lkbd: true,
    });
  }
  return cases;
}

/** create-md over metadata of the other format (conversion) or the same one. */
export function conversionCases(): Case[] {
  const cases: Case[] = [];
  const v08Flags = 0x91 | MDF_CONNECTED_IND | MDF_FULL_SYNC | MDF_PEER_OUT_DATED;
  const conv: [string, Format, number, number, string[]][] = [
    ["v08 to v09", "v08", 1, v08Flags, ["v09", "1"]],
    ["v08 to v09 with 3 peers", "v08", 1, v08Flags, ["v09", "3"]],
    ["v09/1 to v08", "v09", 1, 0x91, ["v08"]],
    ["v09/3 to v08", "v09", 3, 0x93, ["v08"]],
    ["v09/2 to v09/1 (re-create)", "v09", 2, 0x91, ["v09", "1"]],
    ["v08 to v08 (re-create)", "v08", 1, 0x91, ["v08"]],
  ];
  for (const [label, from, peers, flags, to] of conv) {
    const target = to[0] as Format;
    cases.push({
      name: `conversion ${label}`,
      setup: async (dir) => {
        await stateSetup(from, peers, flags)(dir);
        if (from === "v09") {
          // give peer slot 0 its own bitmap UUID and flags, which v08 takes over
          const sb = readSuperblock(dev(dir), internalMdOffset(64 * MiB))!;
          patchU64(dev(dir), sb, 0x70, 0x0F0E0D0C0B0A0908n);
          patchU32(dev(dir), sb, 0x70 + 16, 0x0001001B);
        }
      },
      steps: (dir) => [
        md(dir, target, "create-md", ...to.slice(1)),
        md(dir, target, "dump-md"),
        gi(dir, target, "get-gi"),
        md(dir, from, "dump-md"),
        ["--peer-max-bio-size", "4096", ...md(dir, from, "create-md", ...peersArg(from, 1))],
        md(dir, from, "dump-md"),
      ],
      lkbd: true,
    });
  }
  cases.push({
    name: "create-md with different AL striping over existing metadata",
    setup: stateSetup("v09", 1, 0x91),
    steps: (dir) => [
      ["--al-stripes", "2", ...md(dir, "v09", "create-md", "1")],
      md(dir, "v09", "dump-md"),
    ],
  });
  return cases;
}

// ---------------------------------------------------------------------------------------------
// bad input

const ALL_COMMANDS = (dir: string, fmt: Format): string[][] => [
  md(dir, fmt, "dump-md"),
  md(dir, fmt, "apply-al"),
  gi(dir, fmt, "get-gi"),
  gi(dir, fmt, "show-gi"),
  md(dir, fmt, "dstate"),
  md(dir, fmt, "outdate"),
  md(dir, fmt, "invalidate"),
  md(dir, fmt, "read-dev-uuid"),
  md(dir, fmt, "write-dev-uuid", "1"),
  fmt === "v09"
    ? md(dir, fmt, "set-gi", "::::1", "--node-id", "0")
    : md(dir, fmt, "set-gi", "::::1"),
  ...(fmt === "v09" ? [md(dir, fmt, "forget-peer", "--node-id", "1")] : []),
  md(dir, fmt, "check-resize"),
  md(dir, fmt, "wipe-md"),
];

/** Devices without metadata, with broken superblocks, or shorter than they were. */
export function badDeviceCases(): Case[] {
  const cases: Case[] = [];
  const broken: [string, Format, (dir: string) => Promise<void> | void][] = [];
  for (const fmt of ["v08", "v09"] as Format[]) {
    const other: Format = fmt === "v08" ? "v09" : "v08";
    broken.push([`no metadata (${fmt})`, fmt, (dir) => makeSparse(dev(dir), 4 * MiB)]);
    broken.push([`random data, no metadata (${fmt})`, fmt, (dir) => {
      makeSparse(dev(dir), 4 * MiB);
      const rand = prng(5);
      const b = new Uint8Array(4 * MiB);
      for (let i = 0; i < b.length; i += 4) new DataView(b.buffer).setUint32(i, rand());
      writeAt(dev(dir), 0, b);
    }]);
    broken.push([`${other} metadata read as ${fmt}`, fmt, async (dir) => {
      await stateSetup(other, 1, 0x91)(dir);
    }]);
    broken.push([`corrupt magic (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      patchU32(dev(dir), sb, 0x3C, 0x8374026A);
    }]);
    broken.push([`truncated device, shorter than it was (${fmt})`, fmt, async (dir) => {
      await stateSetup(fmt, 1, 0x91, 8 * MiB)(dir);
      makeSparse(dev(dir), 6 * MiB);
    }]);
    broken.push([`truncated by 4096 bytes (${fmt})`, fmt, async (dir) => {
      await stateSetup(fmt, 1, 0x91, 8 * MiB)(dir);
      makeSparse(dev(dir), 8 * MiB - 4096);
    }]);
    broken.push([`unclean metadata (AL_CLEAN unset) (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      patchU32(dev(dir), sb, 0x38, MDF_CONSISTENT);
    }]);
    broken.push([`la-size-sect larger than the device (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      patchU64(dev(dir), sb, 0, 1n << 33n);
      patchU32(dev(dir), sb, 0x38, 0x91);
    }]);
    broken.push([`wrong al_offset (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      patchU32(dev(dir), sb, 0x44, -72 >>> 0);
    }]);
    broken.push([`wrong bm_offset (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      patchU32(dev(dir), sb, 0x4C, (sb.bmOffset - 8) >>> 0);
    }]);
    broken.push([`wrong md_size_sect (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      patchU32(dev(dir), sb, 0x40, sb.mdSizeSect + 8);
    }]);
    broken.push([`bm_bytes_per_bit 0 (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      patchU32(dev(dir), sb, 0x50, 0);
    }]);
    broken.push([`AL striping fields zero (pre-8.4 md) (${fmt})`, fmt, async (dir) => {
      const sb = await created(dir, 4 * MiB, fmt);
      const off = fmt === "v09" ? 0x60 : 0x58;
      patchU32(dev(dir), sb, off, 0);
      patchU32(dev(dir), sb, off + 4, 0);
    }]);
  }
  const v09Fields: [string, number, number][] = [
    ["max_peers 0", 0x58, 0],
    ["max_peers 32", 0x58, 32],
    ["max_peers 40", 0x58, 40],
    ["node_id 32", 0x5C, 32],
    ["node_id -2", 0x5C, -2 >>> 0],
    ["bitmap_index 40 in peer 0", 0x70 + 20, 40],
    ["bitmap_index -2 in peer 0", 0x70 + 20, -2 >>> 0],
  ];
  for (const [label, off, v] of v09Fields) {
    broken.push([`v09 superblock with ${label}`, "v09", async (dir) => {
      const sb = await created(dir, 4 * MiB, "v09");
      patchU32(dev(dir), sb, off, v);
    }]);
  }
  for (const [label, fmt, setup] of broken) {
    cases.push({
      name: `every command on ${label}`,
      setup,
      steps: (dir) => ALL_COMMANDS(dir, fmt),
      lkbd: true,
    });
  }
  return cases;
}

/** A canonical v09/1 dump for 64 MiB, as text, to break in many ways. */
function baseDump(fmt: Format): string {
  return makeDump(richDump(fmt, 2 * MiB, 1, { density: 0.02 }));
}

/** Broken dump texts: [label, format, text]. */
export function brokenDumps(): [string, Format, string][] {
  const v9 = baseDump("v09");
  const v8 = baseDump("v08");
  const out: [string, Format, string][] = [];
  const both = (label: string, f: (t: string, fmt: Format) => string) => {
    out.push([label, "v09", f(v9, "v09")]);
    out.push([label, "v08", f(v8, "v08")]);
  };
  const bytes = new Uint8Array(256).map((_, i) => i);
  both("empty file", () => "");
  both("binary garbage", () => new TextDecoder("latin1").decode(bytes));
  both("version v07", (t) => t.replace(/version "v0\d"/, 'version "v07"'));
  both(
    "other version than requested",
    (t, f) => t.replace(/version "v0\d"/, `version "${f === "v09" ? "v08" : "v09"}"`),
  );
  both("version without quotes", (t) => t.replace(/version "(v0\d)"/, "version $1"));
  both("empty version string", (t) => t.replace(/version "v0\d"/, 'version ""'));
  both(
    "version string longer than 20 characters",
    (t) => t.replace(/version "v0\d"/, 'version "v09_is_a_very_long_string"'),
  );
  both("missing semicolon after la-size-sect", (t) => t.replace(/(la-size-sect \d+);/, "$1"));
  both(
    "missing semicolon in the bitmap",
    (t) => t.replace(/(0x[0-9A-F]{16});(?![^]*0x[0-9A-F]{16};)/, "$1"),
  );
  both(
    "15 hex digits in the device uuid",
    (t) => t.replace(/device-uuid 0x[0-9A-F]{16}/, "device-uuid 0x123456789ABCDEF"),
  );
  both(
    "17 hex digits in the device uuid",
    (t) => t.replace(/device-uuid 0x[0-9A-F]{16}/, "device-uuid 0x123456789ABCDEF01"),
  );
  both(
    "8 hex digits where 16 are expected",
    (t) => t.replace(/device-uuid 0x[0-9A-F]{16}/, "device-uuid 0x12345678"),
  );
  both("16 hex digits in flags", (t) => t.replace(/flags 0x([0-9A-F]{8});/, "flags 0x00000000$1;"));
  both(
    "lowercase hex",
    (t) => t.replace(/0x([0-9A-F]{16})/g, (_m, h: string) => `0x${h.toLowerCase()}`),
  );
  both(
    "decimal number where hex is expected",
    (t) => t.replace(/device-uuid 0x[0-9A-F]{16}/, "device-uuid 12345"),
  );
  both(
    "hex number where a decimal is expected",
    (t) => t.replace(/la-size-sect \d+/, "la-size-sect 0x0000000000001000"),
  );
  both(
    "number with 20 digits",
    (t) => t.replace(/la-size-sect \d+/, "la-size-sect 99999999999999999999"),
  );
  both("negative la-size-sect", (t) => t.replace(/la-size-sect \d+/, "la-size-sect -1"));
  both("bm-byte-per-bit 4097", (t) => t.replace(/bm-byte-per-bit \d+/, "bm-byte-per-bit 4097"));
  both("bm-byte-per-bit 0", (t) => t.replace(/bm-byte-per-bit \d+/, "bm-byte-per-bit 0"));
  both("bm-byte-per-bit 12288", (t) => t.replace(/bm-byte-per-bit \d+/, "bm-byte-per-bit 12288"));
  both("unknown keyword", (t) => t.replace(/la-size-sect/, "colour 3;\nla-size-sect"));
  both("misspelled keyword", (t) => t.replace(/device-uuid/, "device_uuid"));
  both(
    "times without count",
    (t) => t.replace(/(bm|bitmap\[0\]) \{\n/, "$1 {\n times 0x0000000000000000;\n"),
  );
  both(
    "negative times count",
    (t) => t.replace(/(bm|bitmap\[0\]) \{\n/, "$1 {\n -5 times 0x0000000000000000;\n"),
  );
  both(
    "times with a short hex number",
    (t) => t.replace(/(bm|bitmap\[0\]) \{\n/, "$1 {\n 5 times 0x1;\n"),
  );
  both("trailing garbage after the bitmap", (t) => t + "garbage;\n");
  both("trailing closing brace", (t) => t + "}\n");
  both("poison line of an unclean dump", (t) =>
    t.replace(
      /\n\n/,
      '\n\nThis_is_an_unclean_meta_data_dump._Don\'t_trust_the_bitmap.\n# You should "apply-al" first, if you plan to restore this.\n\n',
    ));
  both("truncated in the middle", (t) => t.slice(0, Math.floor(t.length / 2)));
  both("truncated inside the bitmap block", (t) => t.replace(/\}\n$/, ""));
  both("truncated inside a hex number", (t) => t.slice(0, t.lastIndexOf("0x") + 7));
  both("CRLF line endings", (t) => t.replaceAll("\n", "\r\n"));
  both("tabs instead of spaces", (t) => t.replaceAll("    ", "\t"));
  both("non-ASCII character", (t) => t.replace(/la-size-sect/, "ä la-size-sect"));
  both("non-ASCII character in a comment", (t) => t.replace(/la-size-sect/, "# ähm\nla-size-sect"));
  both("no newline at the end", (t) => t.replace(/\n$/, ""));
  both("everything on one line", (t) => t.replaceAll("\n", " "));
  out.push(["node-id banana", "v09", v9.replace(/node-id -?\d+/, "node-id banana")]);
  out.push(["node-id 32", "v09", v9.replace(/node-id -?\d+/, "node-id 32")]);
  out.push(["max-peers 0", "v09", v9.replace(/max-peers \d+/, "max-peers 0")]);
  out.push(["max-peers 32", "v09", v9.replace(/max-peers \d+/, "max-peers 32")]);
  out.push(["max-peers -1", "v09", v9.replace(/max-peers \d+/, "max-peers -1")]);
  out.push(["missing max-peers", "v09", v9.replace(/max-peers \d+;/, "")]);
  out.push(["peer slot 32", "v09", v9.replace("peer[31]", "peer[32]")]);
  out.push(["peer slot -1", "v09", v9.replace("peer[0]", "peer[-1]")]);
  out.push(["duplicate peer slot", "v09", v9.replace("peer[31]", "peer[3]")]);
  out.push(["only 31 peer slots", "v09", v9.replace(/peer\[31\] \{[^}]*\}\n/, "")]);
  out.push(["33 peer slots", "v09", v9.replace(/(peer\[31\] \{[^}]*\}\n)/, "$1$1")]);
  out.push([
    "bitmap-index out of range",
    "v09",
    v9.replace(/bitmap-index -1;/, "bitmap-index 99;"),
  ]);
  out.push([
    "peer block without bitmap-dagtag",
    "v09",
    v9.replace(/\n {4}bitmap-dagtag 0x[0-9A-F]{16};/, ""),
  ]);
  out.push(["31 history uuids", "v09", v9.replace(/0x[0-9A-F]{16};\n\}\nla-size/, "\n}\nla-size")]);
  out.push(["missing history-uuids", "v09", v9.replace(/history-uuids \{[^}]*\}\n/, "")]);
  out.push(["bitmap[1] with max-peers 1", "v09", v9.replace(/\}\n$/, "}\nbitmap[1] {\n}\n")]);
  out.push(["bitmap[0] missing", "v09", v9.replace(/bitmap\[0\] \{[^}]*\}\n/, "")]);
  out.push(["bitmap[1] instead of bitmap[0]", "v09", v9.replace("bitmap[0]", "bitmap[1]")]);
  out.push(["bm block in a v09 dump", "v09", v9.replace("bitmap[0]", "bm")]);
  out.push(["bitmap[0] block in a v08 dump", "v08", v8.replace("bm {", "bitmap[0] {")]);
  out.push(["three UUIDs in a v08 dump", "v08", v8.replace(/(0x[0-9A-F]{16}; ){3}/, "$1$1")]);
  out.push(["v08 uuid block without flags", "v08", v8.replace(/\n {4}flags 0x[0-9A-F]{8};/, "")]);
  out.push(["v09 current-uuid missing", "v09", v9.replace(/current-uuid 0x[0-9A-F]{16};\n/, "")]);
  return out;
}

/** restore-md and verify-dump of broken dumps: same message, exit code, and bytes. */
export function brokenDumpCases(): Case[] {
  return brokenDumps().map(([label, fmt, text]) => ({
    name: `broken dump (${fmt}): ${label}`,
    setup: async (dir) => {
      await created(dir, 2 * MiB, fmt);
      await Deno.writeTextFile(`${dir}/dump`, text);
    },
    steps: (dir) => [
      md(dir, fmt, "verify-dump", `${dir}/dump`),
      md(dir, fmt, "restore-md", `${dir}/dump`),
      md(dir, fmt, "dump-md"),
    ],
    unchanged: true,
    deviation: nothingWrittenOnError(label),
  }));
}

/** Usage errors: argument counts, formats, indices, commands, options, files. */
export function usageCases(): Case[] {
  const lines: [string, (dir: string) => string[]][] = [
    ["no arguments", () => []],
    ["one argument", () => [MINOR]],
    ["two arguments", () => [MINOR, "v09"]],
    ["format without index", (d) => ["--force", MINOR, "v09", dev(d)]],
    ["unknown format v10", (d) => ["--force", MINOR, "v10", dev(d), "internal", "dump-md"]],
    ["unknown format v07 with too few args", (d) => ["--force", MINOR, "v07", dev(d)]],
    ["index 256", (d) => ["--force", MINOR, "v09", dev(d), "256", "dump-md"]],
    ["index -1", (d) => ["--force", MINOR, "v09", dev(d), "-1", "dump-md"]],
    ["index abc", (d) => ["--force", MINOR, "v09", dev(d), "abc", "dump-md"]],
    ["index flex", (d) => ["--force", MINOR, "v09", dev(d), "flex", "dump-md"]],
    ["index 1k", (d) => ["--force", MINOR, "v09", dev(d), "1k", "dump-md"]],
    ["command missing", (d) => ["--force", MINOR, "v09", dev(d), "internal"]],
    ["unknown command", (d) => md(d, "v09", "frobnicate")],
    ["command in upper case", (d) => md(d, "v09", "DUMP-MD")],
    ["dump-md with --node-id", (d) => md(d, "v09", "dump-md", "--node-id", "1")],
    ["get-gi without --node-id", (d) => md(d, "v09", "get-gi")],
    ["show-gi without --node-id", (d) => md(d, "v09", "show-gi")],
    ["get-gi --node-id 32", (d) => md(d, "v09", "get-gi", "--node-id", "32")],
    ["get-gi --node-id -1", (d) => md(d, "v09", "get-gi", "--node-id", "-1")],
    ["get-gi --node-id x", (d) => md(d, "v09", "get-gi", "--node-id", "x")],
    ["get-gi --node-id= empty", (d) => md(d, "v09", "get-gi", "--node-id=")],
    ["v08 get-gi --node-id 3", (d) => md(d, "v08", "get-gi", "--node-id", "3")],
    ["v08 get-gi --node-id 0", (d) => md(d, "v08", "get-gi", "--node-id", "0")],
    ["create-md with --node-id", (d) => md(d, "v09", "create-md", "1", "--node-id", "1")],
    ["apply-al with --node-id", (d) => md(d, "v09", "apply-al", "--node-id", "1")],
    ["unknown option", (d) => ["--bogus", ...md(d, "v09", "dump-md")]],
    ["man page's --initialize-bitmap-mode", (d) => [
      "--initialize-bitmap-mode=skip",
      ...md(d, "v09", "dump-md"),
    ]],
    ["option prefix --forc", (d) => ["--forc", MINOR, "v09", dev(d), "internal", "dstate"]],
    ["short option -f", (d) => ["-f", MINOR, "v09", dev(d), "internal", "dstate"]],
    ["options after the command", (d) => [MINOR, "v09", dev(d), "internal", "dstate", "--force"]],
    ["--verbose", (d) => ["-v", ...md(d, "v09", "dump-md")]],
    ["-vvvvvvvvvv", (d) => ["-vvvvvvvvvv", ...md(d, "v09", "dump-md")]],
    ["--dry-run create-md", (d) => ["--dry-run", ...md(d, "v09", "create-md", "2")]],
    ["--dry-run wipe-md", (d) => ["--dry-run", ...md(d, "v09", "wipe-md")]],
    ["regular file without --force", (d) => [MINOR, "v09", dev(d), "internal", "dump-md"]],
    ["device that does not exist", (d) => md(d + "/nonexistent", "v09", "dump-md")],
    ["device is a directory", (d) => ["--force", MINOR, "v09", d, "internal", "dump-md"]],
    ["restore-md without a file", (d) => md(d, "v09", "restore-md")],
    ["restore-md of a missing file", (d) => md(d, "v09", "restore-md", `${d}/missing`)],
    ["verify-dump without a file", (d) => md(d, "v09", "verify-dump")],
    ["verify-dump of a missing file", (d) => md(d, "v09", "verify-dump", `${d}/missing`)],
    [
      "minor as /dev/drbd77",
      (d) => ["--force", "/dev/drbd77", "v09", dev(d), "internal", "dstate"],
    ],
    ["minor -", (d) => ["--force", "-", "v09", dev(d), "internal", "dstate"]],
    ["minor text", (d) => ["--force", "abc", "v09", dev(d), "internal", "dstate"]],
    ["v06 format", () => ["--force", MINOR, "v06", "0", "dump-md"]],
    ["help command", (d) => md(d, "v09", "help")],
    ["--help", () => ["--help"]],
  ];
  return lines.map(([label, argv]) => ({
    name: `usage: ${label}`,
    setup: (dir) => created(dir, 2 * MiB, "v09", 2).then(() => {}),
    steps: (dir) => [argv(dir)],
    unchanged: true,
    deviation: label === "regular file without --force"
      ? regularFileAccepted(0)
      : label === "-vvvvvvvvvv"
      ? NO_DEBUG_HEXDUMPS
      : undefined,
  }));
}

/** Initial AL block bytes, exported for the header test. */
export const INIT_AL_BLOCK = alInitBlock();
export { alPos, h16, regularFileAccepted };
