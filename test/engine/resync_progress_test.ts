/**
 * Resync progress marks (speed, ETA inputs, paused time), online verify bookkeeping (the
 * kernel's "Out of sync" runs and "Online verify done" line), and the pause-sync rules, each fed
 * events and times by hand.
 */
import assert from "node:assert/strict";
import { SyncProgress } from "../../lib/engine/resync_progress.ts";
import { digestFor, VerifyRun } from "../../lib/engine/verify.ts";
import { pausedReplication, setUserPause } from "../../lib/engine/resync_pause.ts";
import { Connection } from "../../lib/engine/resource.ts";
import { DrbdError } from "../../lib/engine/errors.ts";

Deno.test("resync speed in status comes from marks set every 3 seconds of progress", () => {
  const q = new SyncProgress(100_000, 0);
  // 1000 blocks per second for 12 s, reported every second; a mark at most every 3 s.
  for (let s = 1; s <= 12; s++) q.advance(100_000 - s * 1000, s * 1000);
  const stats = q.stats(88_000, 12_500);
  assert.equal(stats["rs-total"], 800_000);
  assert.equal(stats["rs-dt-start-ms"], 12_500);
  assert.equal(stats["rs-paused-ms"], 0);
  // Newest mark at 12 s (88 000 left), the one before at 9 s (91 000 left).
  assert.equal(stats["rs-dt1-ms"], 3_500);
  assert.equal(stats["rs-db1-sectors"], 3_000 * 8);
  // 1000 blocks/s = 4000 KiB/s over the last marks: what c-min-rate compares against.
  assert.equal(q.recentKiBs(88_000, 12_000), 4000);
  // The older mark (drbdsetup's dt0/db0) lies six marks back: with four marks set so far,
  // that is still the start.
  assert.equal(stats["rs-dt0-ms"], 12_500);
  assert.equal(stats["rs-db0-sectors"], 12_000 * 8);
});

Deno.test("time spent paused is counted apart and the marks restart on resume", () => {
  const p = new SyncProgress(1000, 0);
  p.advance(900, 3_000);
  p.pause(4_000);
  assert.ok(p.paused);
  // No marks while paused, however long.
  p.advance(900, 20_000);
  p.resume(900, 24_000);
  assert.equal(p.paused, false);
  assert.equal(p.pausedMs, 20_000);
  const st = p.stats(900, 25_000);
  assert.equal(st["rs-paused-ms"], 20_000);
  assert.equal(st["rs-dt1-ms"], 1_000);
  assert.equal(st["rs-db1-sectors"], 0);
  assert.equal(p.activeSeconds(25_000), 5);
});

Deno.test("online verify logs out-of-sync blocks as runs of sectors, as the kernel does", () => {
  const run = new VerifyRun({ startSector: 0, bitCount: 100, now: 0 });
  assert.equal(run.leftBits, 100);
  assert.equal(run.outOfSync(80, 4096), undefined);
  assert.equal(run.outOfSync(88, 4096), undefined);
  assert.equal(run.outOfSync(96, 4096), undefined);
  // A gap closes the run of 3 blocks.
  assert.equal(run.outOfSync(200, 4096), "Out of sync: start=80, size=24 (sectors)");
  assert.equal(run.flushOutOfSync(), "Out of sync: start=200, size=8 (sectors)");
  assert.equal(run.flushOutOfSync(), undefined);
  assert.equal(run.found, 4);
  let done = false;
  for (let b = 0; b < 100; b++) done = run.compared(b * 8, 4096, 2_000, true);
  assert.ok(done);
  assert.equal(run.doneLine(2_000), "Online verify done (total 2 sec; paused 0 sec; 200 K/sec)");
});

Deno.test("online verify starts where asked and stops at the stop sector", () => {
  const run = new VerifyRun({ startSector: 83, stopSector: 160, bitCount: 100, now: 0 });
  // Rounded down to a 4 KiB block.
  assert.equal(run.startSector, 80);
  assert.equal(run.leftBits, 90);
  run.position = 152;
  assert.equal(run.requestsDone, false);
  run.position = 160;
  assert.equal(run.requestsDone, true);
  assert.equal(run.compared(144, 4096, 0, true), false);
  assert.equal(run.compared(152, 4096, 0, true), true);
  // Past the end: the last block only.
  const end = new VerifyRun({ startSector: 10_000, bitCount: 100, now: 0 });
  assert.equal(end.startSector, 99 * 8);
  assert.equal(end.leftBits, 1);
});

Deno.test("verify-alg names the kernel's digests; unknown names are refused", () => {
  const block = new Uint8Array(4096).fill(7);
  assert.equal(digestFor("sha1")!(block).length, 20);
  assert.equal(digestFor("sha256")!(block).length, 32);
  assert.equal(digestFor("md5")!(block).length, 16);
  assert.equal(digestFor("crc32c")!(block).length, 4);
  // The kernel's crc32c of "123456789" is 0xe3069283, stored little endian.
  assert.deepEqual(
    digestFor("crc32c")!(new TextEncoder().encode("123456789")),
    new Uint8Array([0x83, 0x92, 0x06, 0xe3]),
  );
  const other = new Uint8Array(4096).fill(7);
  other[4095] = 8;
  assert.notDeepEqual(digestFor("sha1")!(block), digestFor("sha1")!(other));
  assert.equal(digestFor("whirlpool-9000"), undefined);
});

Deno.test("pause-sync turns SyncSource/SyncTarget into PausedSyncS/PausedSyncT and back", () => {
  assert.equal(pausedReplication("SyncSource", true), "PausedSyncS");
  assert.equal(pausedReplication("SyncTarget", true), "PausedSyncT");
  assert.equal(pausedReplication("PausedSyncS", false), "SyncSource");
  assert.equal(pausedReplication("PausedSyncT", false), "SyncTarget");
  assert.equal(pausedReplication("Established", true), "Established");
  assert.equal(pausedReplication("VerifyS", true), "VerifyS");
});

Deno.test("pausing twice or resuming an unpaused resync fails as drbdsetup reports it", () => {
  const pd = new Connection(1, "beta", {}).peerDevice(0);
  // Nothing syncs: the flag is still set, and a later resync starts paused.
  setUserPause(pd, true, "r0");
  assert.equal(pd.resyncSuspUser, true);
  assert.throws(() => setUserPause(pd, true, "r0"), (e: DrbdError) => {
    assert.equal(e.text, "r0: Failure: (134) Sync-pause flag is already set\n");
    assert.equal(e.exitCode, 10);
    return true;
  });
  setUserPause(pd, false, "r0");
  assert.throws(
    () => setUserPause(pd, false, "r0"),
    (e: DrbdError) => e.retcode === 135 && /already cleared/.test(e.text),
  );
  // Paused by the peer only: resume here says so.
  pd.resyncSuspPeer = true;
  pd.replication = "PausedSyncT";
  assert.throws(() => setUserPause(pd, false, "r0"), (e: DrbdError) => {
    assert.equal(
      e.text,
      "r0: Failure: (157) Sync-pause flag is already cleared.\n" +
        "Note: Resync pause caused by the peer node.\n",
    );
    return true;
  });
});
