/**
 * udrbd's drbdmeta against the real drbdmeta of drbd-utils 9.22: every case runs both tools on
 * identical inputs and compares metadata bytes, dump-md text, exit codes and messages.
 * Cases are in drbdmeta_cases.ts and loop_cases.ts; the comparison is in harness.ts.
 *
 * A failing case lists every difference: exit codes, unified diffs of stdout (dump headers
 * dropped) and stderr (ioctl noise of regular files dropped, except in the one test about it),
 * and the first differing metadata byte with the part of the metadata it belongs to.
 * One group or case: `deno test -A test/compat/drbdmeta_test.ts --filter "apply-al"`.
 */
import assert from "node:assert/strict";
import { type Case, report, runCase } from "./harness.ts";
import {
  alCases,
  badDeviceCases,
  bitmapCases,
  brokenDumpCases,
  commandCases,
  conversionCases,
  createCases,
  created,
  externalCases,
  md,
  NO_IOCTL_NOTES,
  optionCases,
  peerCountCases,
  regularFileAccepted,
  resizeCases,
  restoreCases,
  usageCases,
} from "./drbdmeta_cases.ts";
import { type LoopCase, loopCases, runLoopCase } from "./loop_cases.ts";
import {
  clearLkbd,
  have,
  HAVE_LOOP,
  HAVE_REAL,
  makeSparse,
  MiB,
  MINOR,
  runOurs,
  runReal,
} from "./util.ts";

const ignore = !HAVE_REAL;

/**
 * One test per group of cases, one step per case. `minor: "-"` runs the bulk of the cases without
 * drbdmeta's per-minor lock and attach check (which spawns drbdsetup and modprobe every time);
 * groups that look at the last-known-location file or at check-resize keep a real minor.
 */
function group(name: string, cases: () => Case[], options: { minor?: string } = {}): void {
  Deno.test({
    name,
    ignore,
    async fn(t) {
      for (const c of cases()) {
        if (options.minor && !c.minor) c.minor = options.minor;
        await t.step(c.name, async () => report(c.name, await runCase(c)));
      }
    },
  });
}

group("create-md writes the metadata drbdmeta 9.22 writes, at every device size", createCases);
group("create-md accepts exactly the max-peers values drbdmeta accepts (1..31)", peerCountCases, {
  minor: "-",
});
group(
  "--peer-max-bio-size and activity-log striping options give drbdmeta's metadata",
  optionCases,
  { minor: "-" },
);
group("external and flex-external metadata sit where drbdmeta puts them", externalCases);
group("restore-md of an edited dump yields drbdmeta's bytes and dump text", restoreCases, {
  minor: "-",
});
group("dump-md prints bitmaps (runs, windows, slots) exactly as drbdmeta does", bitmapCases, {
  minor: "-",
});
group("apply-al replays crafted activity-log transactions like drbdmeta", alCases, { minor: "-" });
group(
  "get-gi, show-gi, dstate, outdate, invalidate, set-gi, dev UUIDs, forget-peer, wipe-md",
  commandCases,
);
group("check-resize moves metadata of a grown device like drbdmeta", resizeCases);
group("create-md converts between v08 and v09 like drbdmeta", conversionCases);
group("missing, corrupt or truncated metadata is refused like drbdmeta does", badDeviceCases);
group(
  "broken dumps are rejected with drbdmeta's message and leave the device alone",
  brokenDumpCases,
  { minor: "-" },
);
group("usage errors give drbdmeta's message and exit code", usageCases);

Deno.test({
  name: "existing filesystems, swap, LVM and data on block devices are protected like drbdmeta",
  ignore: !HAVE_LOOP,
  async fn(t) {
    for (const c of loopCases()) {
      const missing = c.needs.filter((p: string) => !have(p));
      await t.step({
        name: c.name,
        ignore: missing.length > 0,
        fn: async () => report(c.name, await runLoopCase(c as LoopCase)),
      });
    }
  },
});

group("the drbdmeta command line (deno run mod.ts drbdmeta) behaves like drbdmeta", () => {
  const base = (dir: string) => created(dir, 128 * MiB, "v09", 2).then(() => {});
  return [
    {
      name: "create-md, dump-md, get-gi, show-gi as a subprocess",
      setup: (dir) => makeSparse(`${dir}/dev`, 128 * MiB),
      steps: (dir) => [
        md(dir, "v09", "create-md", "2"),
        md(dir, "v09", "dump-md"),
        md(dir, "v09", "get-gi", "--node-id", "0"),
        md(dir, "v09", "show-gi", "--node-id", "0"),
      ],
      cli: true,
      lkbd: true,
    },
    {
      name: "restore-md of its own dump as a subprocess",
      setup: async (dir) => {
        await base(dir);
        const r = await runReal(md(dir, "v09", "dump-md"));
        await Deno.writeTextFile(`${dir}/dump`, r.stdout);
      },
      steps: (dir) => [md(dir, "v09", "restore-md", `${dir}/dump`), md(dir, "v09", "dump-md")],
      cli: true,
    },
    {
      name: "usage and open errors as a subprocess",
      setup: base,
      steps: (dir) => [
        [],
        [MINOR, "v09", `${dir}/dev`, "internal", "dump-md"],
        md(dir, "v09", "frobnicate"),
        md(`${dir}/nonexistent`, "v09", "dump-md"),
      ],
      cli: true,
      unchanged: true,
      deviation: regularFileAccepted(1),
    },
  ];
});

group("stderr on regular files carries drbdmeta's notes on ioctls it cannot use", () => [{
  name: "create-md, dump-md, restore-md on a regular file, stderr unfiltered",
  setup: (dir) => makeSparse(`${dir}/dev`, 64 * MiB),
  steps: (dir) => [
    md(dir, "v09", "create-md", "1"),
    md(dir, "v09", "dump-md"),
    md(dir, "v09", "apply-al"),
    md(dir, "v09", "wipe-md"),
  ],
  rawStderr: true,
  deviation: NO_IOCTL_NOTES,
}]);

Deno.test({
  name: "the dump-md header names the date and the command line the way drbdmeta does",
  ignore,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "udrbd-compat-" });
    try {
      await created(dir, 64 * MiB, "v09");
      const args = [...md(dir, "v09", "dump-md"), "-v"];
      const real = (await runReal(args)).stdout.split("\n").slice(0, 5);
      const ours = (await runOurs(args)).stdout.split("\n").slice(0, 5);
      assert.equal(ours[0], real[0]);
      assert.match(real[1], /^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \[\d+\]$/);
      assert.match(ours[1], /^# \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \[\d+\]$/);
      assert.equal(ours[2], real[2]);
      assert.deepEqual(ours.slice(3), real.slice(3));
    } finally {
      clearLkbd();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
