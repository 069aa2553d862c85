/**
 * Resync control on two loopback daemons, through the real CLI: pause-sync/resume-sync in the
 * middle of a full sync (both sides paused, nothing moves, then it finishes where it stopped),
 * progress in status and the proc file, resync options changed on a running resync, and a
 * resync paused before it began, which starts as PausedSyncS/T (events2, logs).
 */
import assert from "node:assert/strict";
import { runFiles } from "../../lib/control/paths.ts";
import { Cluster, type ClusterNode, peerDevice, sha256Prefix, synced, until } from "./helpers.ts";

/** Fills the data area of `node`'s backing file with pseudo-random bytes (the sync carries them). */
async function seed(node: ClusterNode, bytes: number): Promise<void> {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const f = await Deno.open(node.disk, { write: true });
  try {
    await f.write(data);
  } finally {
    f.close();
  }
}

/** KiB alpha still has to send to beta. */
async function left(c: Cluster): Promise<number> {
  return peerDevice(await c.alpha.status())["out-of-sync"];
}

Deno.test("pause-sync stops a running resync on both nodes and resume-sync finishes it with identical disks", async () => {
  // 2 MiB/s fixed rate over 12 MiB of data: the sync lasts long enough to pause it.
  const c = await Cluster.create({ disk: "resync-rate 2M; c-plan-ahead 0;" });
  try {
    await seed(c.alpha, 12 << 20);
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await c.alpha.adm("primary", "--force", "r0");
    await until(async () => {
      const a = peerDevice(await c.alpha.status());
      return a["replication-state"] === "SyncSource" && a["out-of-sync"] < a["rs-total"]! / 2 - 512;
    }, "the resync to make progress");

    // Progress while it runs: drbdsetup's statistics and the proc file show real numbers.
    const b = peerDevice(await c.beta.status());
    assert.equal(b["replication-state"], "SyncTarget");
    assert.ok(b["rs-total"]! > 0 && b["rs-dt-start-ms"]! > 0, JSON.stringify(b));
    const verbose = (await c.beta.udrbd(["drbdsetup", "status", "--verbose", "--statistics"]))
      .stdout;
    // (drbdsetup wraps long lines: fields are separated by any white space)
    assert.match(verbose, /replication:SyncTarget\s+peer-disk:UpToDate\s+done:\d+\.\d\d/);
    assert.match(verbose, /resync-suspended:no/);
    assert.match(verbose, /dbdt1:\d+\.\d\d\s+eta:\d+/);
    const proc = await Deno.readTextFile(runFiles(c.alpha.runDir).proc);
    assert.match(proc, /sync'ed:\s*\d+\.\d% \(\d+\/\d+\)K/);
    assert.match(proc, /finish: \d+:\d\d:\d\d speed: [\d,]+ \([\d,]+\) K\/sec/);

    // Paused on the target: the target shows its own flag, the source the peer's.
    await c.beta.adm("pause-sync", "r0");
    await until(async () => {
      const [a, t] = [peerDevice(await c.alpha.status()), peerDevice(await c.beta.status())];
      return a["replication-state"] === "PausedSyncS" && a["resync-suspended"] === "peer" &&
        t["replication-state"] === "PausedSyncT" && t["resync-suspended"] === "user";
    }, "both sides to show the pause");
    const text = (await c.beta.udrbd(["drbdsetup", "status", "r0"])).stdout;
    assert.match(
      text,
      /replication:PausedSyncT peer-disk:UpToDate done:[\d.]+ resync-suspended:user/,
    );
    // What was in flight lands; after that nothing moves while paused.
    await new Promise((r) => setTimeout(r, 300));
    const frozen = await left(c);
    const received = peerDevice(await c.beta.status()).received;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await left(c), frozen);
    assert.equal(peerDevice(await c.beta.status()).received, received);
    assert.ok(frozen > 0, "the resync ended before it could be paused");

    // Pausing again is refused as drbdsetup refuses it.
    const again = await c.beta.udrbd(["drbdsetup", "pause-sync", "r0", "0", "0"]);
    assert.equal(again.code, 10, again.stderr);
    assert.equal(again.stderr, "r0: Failure: (134) Sync-pause flag is already set\n");
    // The source did not pause itself: resuming there is refused, naming the peer.
    const notMine = await c.alpha.udrbd(["drbdsetup", "resume-sync", "r0", "1", "0"]);
    assert.equal(notMine.code, 10, notMine.stderr);
    assert.match(notMine.stderr, /\(157\) Sync-pause flag is already cleared\.\nNote: .*peer node/);

    await c.beta.adm("resume-sync", "r0");
    await until(() => synced(c), "the resync to finish after resume-sync");
    for (const n of [c.alpha, c.beta]) {
      assert.match(n.log(), /Resync suspended/);
      assert.match(n.log(), /Syncer continues\./);
      // The pause (over a second) is reported apart from the transfer time.
      assert.match(n.log(), /Resync done \(total \d+ sec; paused [1-9]\d* sec; \d+ K\/sec\)/);
    }
    // Resumed where it stopped: every block crossed once, none again after the pause.
    const size = (await c.beta.status()).devices[0].size;
    assert.equal(peerDevice(await c.beta.status()).received, size);
    await c.beta.adm("down", "r0");
    const bytes = 12 << 20;
    assert.equal(await sha256Prefix(c.beta.disk, bytes), await sha256Prefix(c.alpha.disk, bytes));
  } finally {
    await c.close();
  }
});

Deno.test("resync options changed with peer-device-options apply to the running resync", async () => {
  const c = await Cluster.create({ disk: "resync-rate 1M; c-plan-ahead 0;" });
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await c.alpha.adm("primary", "--force", "r0");
    await until(
      async () => peerDevice(await c.alpha.status())["rs-c-sync-rate"] === 1024,
      "the resync to run at the fixed 1 MiB/s",
    );
    // Switch the running resync to the dynamic controller, capped at 40 MiB/s.
    const r = await c.alpha.udrbd([
      "drbdsetup",
      "peer-device-options",
      "r0",
      "1",
      "0",
      "--c-plan-ahead=20",
      "--c-max-rate=40M",
    ]);
    assert.equal(r.code, 0, r.stderr);
    await until(async () => {
      const a = peerDevice(await c.alpha.status());
      return a["replication-state"] === "Established" ||
        (a["rs-c-sync-rate"] ?? 0) > 1024;
    }, "the controller to take over");
    await until(() => synced(c), "the resync to finish at the new rate");
    const show = (await c.alpha.udrbd(["drbdsetup", "show", "r0"])).stdout;
    assert.doesNotMatch(show, /c-plan-ahead/, "20 is the default again");
    assert.match(show, /c-max-rate\s+40960k;/);
  } finally {
    await c.close();
  }
});

/** The replication states events2 reported for r0's volume 0 towards the peer, in order. */
function replStates(lines: string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const m = /^(?:exists|change) peer-device .*\breplication:(\w+)/.exec(l);
    if (m && out.at(-1) !== m[1]) out.push(m[1]);
  }
  return out;
}

Deno.test("a resync paused before the nodes connect shows PausedSyncS/PausedSyncT from its start in events2, never SyncSource/SyncTarget", async () => {
  const c = await Cluster.create({ disk: "resync-rate 100M;" });
  const watches: { lines: () => string[]; stop: () => Promise<void> }[] = [];
  try {
    // alpha: Primary with data beta lacks, paused and StandAlone; beta waits for it.
    await c.alpha.adm("up", "r0");
    await c.alpha.adm("primary", "--force", "r0");
    await c.alpha.adm("pause-sync", "r0");
    await c.alpha.adm("disconnect", "r0");
    await c.beta.adm("up", "r0");
    const ea = c.alpha.events2();
    const eb = c.beta.events2();
    watches.push(ea, eb);
    await until(
      () => ea.lines().includes("exists -") && eb.lines().includes("exists -"),
      "events2",
    );
    await c.alpha.adm("connect", "r0");
    await until(async () => {
      const [a, b] = [peerDevice(await c.alpha.status()), peerDevice(await c.beta.status())];
      return a["replication-state"] === "PausedSyncS" && b["replication-state"] === "PausedSyncT";
    }, "both sides to resync paused");
    await c.alpha.adm("resume-sync", "r0");
    await until(() => synced(c), "the resync to finish after resume-sync");
    await until(
      () =>
        replStates(ea.lines()).at(-1) === "Established" &&
        replStates(eb.lines()).at(-1) === "Established",
      "events2 to report the end of the resync",
    );
    const lines = `alpha:\n${ea.lines().join("\n")}\nbeta:\n${eb.lines().join("\n")}`;
    const tail = (states: string[]) => states.slice(states.lastIndexOf("Off") + 1);
    assert.deepEqual(
      tail(replStates(ea.lines())),
      ["WFBitMapS", "PausedSyncS", "SyncSource", "Established"],
      lines,
    );
    assert.deepEqual(
      tail(replStates(eb.lines())),
      ["WFBitMapT", "PausedSyncT", "SyncTarget", "Established"],
      lines,
    );
    for (const [n, state] of [[c.alpha, "PausedSyncS"], [c.beta, "PausedSyncT"]] as const) {
      const log = n.log();
      assert.match(
        log,
        new RegExp(`Began resync as ${state} \\(will sync \\d+ KB \\[\\d+ bits set\\]\\)\\.`),
      );
      // Nothing was running that could be suspended.
      assert.doesNotMatch(log, /Resync suspended/);
      assert.match(log, /Syncer continues\./);
    }
  } finally {
    for (const w of watches) await w.stop();
    await c.close();
  }
});
