/**
 * Existing data on real block devices (loop devices): filesystems, swap, LVM, random data, and
 * existing metadata. Both tools run on the same loop device; between them the device is put
 * back byte for byte.
 *
 * @module
 */
import { applyDeviation, compareOutcome, type Deviation } from "./harness.ts";
import { literalWords, makeDump, readSuperblock } from "./md_format.ts";
import { richDump } from "./drbdmeta_cases.ts";
import {
  clearLkbd,
  compareBytes,
  hashFile,
  makeSparse,
  MiB,
  MINOR,
  type Outcome,
  prng,
  runOurs,
  runReal,
  sh,
} from "./util.ts";

/** A loop-device case: build content on the device, then run drbdmeta command lines. */
export interface LoopCase {
  name: string;
  size: number;
  /** Tools that must exist for the build step. */
  needs: string[];
  build: (loop: string, dir: string) => Promise<void>;
  steps: (loop: string, dir: string) => string[][];
  unchanged?: boolean;
  /** Logical sector size of the loop device (default 512). */
  sectorSize?: number;
  /** Where udrbd deliberately differs from drbdmeta 9.22. */
  deviation?: Deviation;
}

/**
 * drbdmeta 9.22 does not know btrfs ("Found some data": it asks, and --force overwrites the
 * filesystem); udrbd recognizes it and refuses to truncate it like ext4 or xfs.
 */
const BTRFS_PROTECTED: Deviation = {
  why: "a btrfs filesystem is recognized and not truncated",
  expected: [/^step \d+ /, /^device bytes differ/, /real drbdmeta changed the device/],
  check: ({ ours, deviceChanged }) => {
    const problems: string[] = [];
    ours.forEach((o, i) => {
      const isCreate = o.stdout.includes("Found btrfs filesystem") || o.code === 40;
      if (!isCreate && o.code !== 1) problems.push(`step ${i + 1}: exit ${o.code}`);
      if (isCreate && !/Found btrfs filesystem[\s\S]*Operation refused/.test(o.stdout)) {
        problems.push(`step ${i + 1}: btrfs not refused`);
      }
    });
    if (deviceChanged) problems.push("the btrfs device was changed");
    return problems;
  },
};

function copy(src: string, dst: string): void {
  const a = Deno.openSync(src, { read: true });
  const b = Deno.openSync(dst, { write: true, create: true });
  try {
    const buf = new Uint8Array(4 * MiB);
    for (;;) {
      const n = a.readSync(buf);
      if (n === null || n === 0) break;
      let off = 0;
      while (off < n) off += b.writeSync(buf.subarray(off, n));
    }
    b.syncSync();
  } finally {
    a.close();
    b.close();
  }
}

/** Runs a loop case with both tools; resolves to the differences. */
export async function runLoopCase(c: LoopCase): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "udrbd-loop-" });
  const file = `${root}/disk.img`;
  makeSparse(file, c.size);
  let loop = "";
  const diffs: string[] = [];
  try {
    const sector = c.sectorSize ? ["--sector-size", String(c.sectorSize)] : [];
    loop = (await sh("losetup", ["-f", "--show", ...sector, file])).stdout.trim();
    clearLkbd();
    await c.build(loop, root);
    copy(loop, `${root}/pristine`);
    const before = hashFile(loop);
    const steps = c.steps(loop, root);
    const realOut: Outcome[] = [];
    for (const s of steps) realOut.push(await runReal(s));
    copy(loop, `${root}/real`);
    copy(`${root}/pristine`, loop);
    clearLkbd();
    const oursOut: Outcome[] = [];
    for (const s of steps) oursOut.push(await runOurs(s));
    for (let i = 0; i < steps.length; i++) {
      const label = `step ${i + 1} \`drbdmeta ${steps[i].join(" ").replaceAll(root, "$T")}\``;
      diffs.push(...await compareOutcome(label, realOut[i], oursOut[i]));
    }
    const msg = compareBytes(`${root}/real`, loop);
    if (msg) diffs.push(`device bytes differ: ${msg}`);
    const deviceChanged = hashFile(loop) !== before;
    if (c.unchanged) {
      const realAfter = hashFile(`${root}/real`);
      const oursAfter = hashFile(loop);
      if (realAfter === before && oursAfter !== before) {
        diffs.push("ours modified the device, the real drbdmeta leaves it unchanged");
      }
      if (realAfter !== before) {
        diffs.push("(test assumption) the real drbdmeta changed the device");
      }
    }
    diffs.splice(
      0,
      diffs.length,
      ...await applyDeviation(c.deviation, diffs, {
        dir: root,
        pristine: `${root}/pristine`,
        real: realOut,
        ours: oursOut,
        deviceChanged,
      }),
    );
  } finally {
    clearLkbd();
    if (loop) await sh("losetup", ["-d", loop], { ok: false });
    await Deno.remove(root, { recursive: true });
  }
  return diffs;
}

const create = (loop: string, fmt: string, index: string, ...pre: string[]) => [
  ...pre,
  MINOR,
  fmt,
  loop,
  index,
  "create-md",
  ...(fmt === "v09" ? ["1"] : []),
];

/** Commands that must be refused or declined without --force. */
function askingSteps(loop: string, dir: string): string[][] {
  return [
    create(loop, "v09", "internal"),
    create(loop, "v08", "internal"),
    create(loop, "v09", "flex-external"),
    create(loop, "v09", "0"),
    [MINOR, "v09", loop, "internal", "restore-md", `${dir}/dump`],
    [MINOR, "v09", loop, "internal", "dump-md"],
  ];
}

/** Commands that go ahead with --force / --ignore-sanity-checks where the real tool does. */
function forcedSteps(loop: string): string[][] {
  return [
    create(loop, "v09", "flex-external", "--force"),
    create(loop, "v09", "internal", "--force"),
    [MINOR, "v09", loop, "internal", "dump-md"],
    create(loop, "v08", "internal", "--ignore-sanity-checks"),
    create(loop, "v08", "internal", "--ignore-sanity-checks", "--force"),
    [MINOR, "v08", loop, "internal", "dump-md"],
  ];
}

async function writeDump(dir: string, size: number): Promise<void> {
  await Deno.writeTextFile(`${dir}/dump`, makeDump(richDump("v09", size, 1, { density: 0.01 })));
}

/** The existing-data corpus. */
export function loopCases(): LoopCase[] {
  const kinds: [string, number, string[], (loop: string) => Promise<void>][] = [
    ["ext4 filling the device", 64 * MiB, ["mkfs.ext4"], async (l) => {
      await sh("mkfs.ext4", ["-q", "-F", l]);
    }],
    ["ext4 that fits before the metadata", 64 * MiB, ["mkfs.ext4"], async (l) => {
      await sh("mkfs.ext4", ["-q", "-F", l, "32M"]);
    }],
    ["ext2 with 1 KiB blocks that fits", 64 * MiB, ["mkfs.ext2"], async (l) => {
      await sh("mkfs.ext2", ["-q", "-F", "-b", "1024", l, "60000"]);
    }],
    ["xfs filling the device", 320 * MiB, ["mkfs.xfs"], async (l) => {
      await sh("mkfs.xfs", ["-q", "-f", l]);
    }],
    ["xfs that fits before the metadata", 320 * MiB, ["mkfs.xfs"], async (l) => {
      await sh("mkfs.xfs", ["-q", "-f", "-d", "size=300m", l]);
    }],
    ["btrfs", 128 * MiB, ["mkfs.btrfs"], async (l) => {
      await sh("mkfs.btrfs", ["-q", "-f", l]);
    }],
    ["swap", 64 * MiB, ["mkswap"], async (l) => {
      await sh("mkswap", [l]);
    }],
    ["LVM physical volume", 64 * MiB, ["pvcreate", "pvs"], async (l) => {
      await sh("pvcreate", ["-ff", "-y", l]);
    }],
    ["random data", 64 * MiB, [], async (l) => {
      const rand = prng(99);
      const b = new Uint8Array(MiB);
      for (let i = 0; i < b.length; i += 4) new DataView(b.buffer).setUint32(i, rand());
      const f = await Deno.open(l, { write: true });
      try {
        await f.write(b);
        f.syncSync();
      } finally {
        f.close();
      }
    }],
  ];
  const cases: LoopCase[] = [];
  for (const [label, size, needs, build] of kinds) {
    cases.push({
      name: `existing ${label}: refused or declined without --force`,
      size,
      needs,
      build: async (l, dir) => {
        await build(l);
        await writeDump(dir, size);
      },
      steps: askingSteps,
      unchanged: true,
      deviation: label === "btrfs" ? BTRFS_PROTECTED : undefined,
    });
    cases.push({
      name: `existing ${label}: with --force and --ignore-sanity-checks`,
      size,
      needs,
      build: async (l) => await build(l),
      steps: (l) => forcedSteps(l),
      deviation: label === "btrfs" ? BTRFS_PROTECTED : undefined,
    });
  }
  cases.push({
    name: "existing metadata: every overwrite is declined without --force",
    size: 64 * MiB,
    needs: [],
    build: async (l, dir) => {
      const r = await runReal([MINOR, "v08", l, "internal", "create-md"]);
      if (r.code !== 0) throw new Error(`setup create-md: ${r.stderr}`);
      await writeDump(dir, 64 * MiB);
      if (!readSuperblock(l, 64 * MiB - 4096)) throw new Error("setup: no superblock");
    },
    steps: (l, dir) => [
      create(l, "v09", "internal"),
      create(l, "v08", "internal"),
      create(l, "v08", "internal", "--al-stripes", "2"),
      [MINOR, "v08", l, "internal", "wipe-md"],
      [MINOR, "v08", l, "internal", "restore-md", `${dir}/dump`],
      [MINOR, "v08", l, "internal", "set-gi", "::::1"],
      [MINOR, "v08", l, "internal", "apply-al"],
      [MINOR, "v08", l, "internal", "dump-md"],
      [MINOR, "v08", l, "internal", "get-gi"],
    ],
    unchanged: true,
  });
  cases.push({
    name: "existing metadata: create-md --al-stripes with --force asks to change striping only",
    size: 64 * MiB,
    needs: [],
    build: async (l) => {
      const r = await runReal([MINOR, "v09", l, "internal", "create-md", "1"]);
      if (r.code !== 0) throw new Error(`setup create-md: ${r.stderr}`);
    },
    steps: (l) => [
      create(l, "v09", "internal", "--force", "--al-stripes", "2"),
      [MINOR, "v09", l, "internal", "dump-md"],
    ],
  });
  cases.push({
    name: "4096-byte sectors: create-md, partial restore-md and apply-al pad I/O to 4 KiB",
    size: 64 * MiB,
    needs: [],
    sectorSize: 4096,
    build: async (_l, dir) => {
      const d = richDump("v09", 64 * MiB, 2, { density: 0.05 });
      d.bitmaps = [literalWords([1n, 2n, 3n]), literalWords([0xFFn, 0n, 0xF0F0n, 4n, 5n])];
      await Deno.writeTextFile(`${dir}/dump`, makeDump(d));
    },
    steps: (l, dir) => [
      create(l, "v09", "internal", "--force").slice(0, -1).concat(["2"]),
      [MINOR, "v09", l, "internal", "dump-md"],
      ["--force", MINOR, "v09", l, "internal", "restore-md", `${dir}/dump`],
      [MINOR, "v09", l, "internal", "dump-md"],
      [MINOR, "v09", l, "internal", "apply-al"],
      [MINOR, "v09", l, "internal", "get-gi", "--node-id", "1"],
      ["--force", MINOR, "v08", l, "flex-external", "create-md"],
      [MINOR, "v08", l, "flex-external", "dump-md"],
    ],
  });
  return cases;
}
