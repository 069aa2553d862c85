/**
 * resync-after chains (lib/engine/resync_after.ts): which minors may resync while others
 * resync or are paused, and how the dependency flags settle, as DRBD's __drbd_may_sync_now,
 * drbd_pause_after and drbd_resume_next decide.
 */
import assert from "node:assert/strict";
import { ERR } from "../../lib/engine/errors.ts";
import { Connection, type PeerDevice } from "../../lib/engine/resource.ts";
import {
  dependencyChangeText,
  type DependencyMinor,
  maySyncNow,
  resyncAfterRefusal,
  updateDependencies,
} from "../../lib/engine/resync_after.ts";
import type { ReplicationState } from "../../lib/engine/states.ts";

function peer(replication: ReplicationState): PeerDevice {
  const pd = new Connection(1, "peer", {}).peerDevice(0);
  pd.replication = replication;
  return pd;
}

/** Minors 0..n-1, minor i resyncing after `after[i]`, each with one peer device. */
function chain(after: number[], states: ReplicationState[]): Map<number, DependencyMinor> {
  return new Map(
    after.map((a, i) => [i, { resyncAfter: a, hasDisk: true, peers: [peer(states[i])] }]),
  );
}

Deno.test("a volume whose resync-after volume resyncs or verifies may not resync; otherwise it may", () => {
  for (const busy of ["SyncSource", "SyncTarget", "PausedSyncT", "VerifyS"] as const) {
    assert.equal(maySyncNow(1, chain([-1, 0], [busy, "Established"])), false, busy);
  }
  assert.equal(maySyncNow(1, chain([-1, 0], ["Established", "Established"])), true);
  assert.equal(maySyncNow(0, chain([-1, 0], ["SyncSource", "Established"])), true);
});

Deno.test("the whole resync-after chain counts, and a loop in it does not hang", () => {
  // 2 after 1 after 0: 0 resyncing holds 2 too.
  assert.equal(maySyncNow(2, chain([-1, 0, 1], ["SyncSource", "Established", "Off"])), false);
  assert.equal(maySyncNow(0, chain([1, 0], ["Established", "Established"])), true);
});

Deno.test("starting a resync pauses the volumes after it, its end frees them again", () => {
  const minors = chain([-1, 0, 1], ["SyncSource", "SyncSource", "Established"]);
  const [p0, p1, p2] = [...minors.values()].map((m) => m.peers[0]);
  assert.deepEqual(updateDependencies(minors), new Set([p1, p2]));
  assert.deepEqual([p0, p1, p2].map((p) => p.resyncSuspDependency), [false, true, true]);
  assert.equal(dependencyChangeText(p1), "resync-susp( no -> after dependency )");
  assert.equal(updateDependencies(minors).size, 0);
  p0.replication = "Established";
  // p1's own resync may run now, and that holds p2.
  assert.deepEqual(updateDependencies(minors), new Set([p1]));
  assert.deepEqual([p0, p1, p2].map((p) => p.resyncSuspDependency), [false, false, true]);
  assert.equal(dependencyChangeText(p1), "resync-susp( after dependency -> no )");
  // A peer device that is not connected keeps its flag; the user's pause holds others too.
  p1.replication = "Established";
  p1.resyncSuspUser = true;
  assert.equal(updateDependencies(minors).size, 0);
  assert.equal(p2.resyncSuspDependency, true);
  // Suspended by the user already: the flag changes no overall suspension, nothing to log.
  p1.resyncSuspDependency = true;
  assert.equal(dependencyChangeText(p1), undefined);
});

Deno.test("a resync-after that leads back to the volume is refused as a cycle (133), below -1 as invalid (132); unknown minors are allowed", () => {
  // 0 -> 1 -> 2 -> -1; minor 3 has no disk and after 0
  const minors = chain([1, 2, -1], ["Established", "Established", "Established"]);
  minors.set(3, { resyncAfter: 0, hasDisk: false, peers: [] });
  assert.equal(resyncAfterRefusal(2, 0, minors), ERR.RESYNC_AFTER_CYCLE);
  assert.equal(resyncAfterRefusal(2, 1, minors), ERR.RESYNC_AFTER_CYCLE);
  assert.equal(resyncAfterRefusal(1, 1, minors), ERR.RESYNC_AFTER_CYCLE);
  assert.equal(resyncAfterRefusal(0, -2, minors), ERR.RESYNC_AFTER);
  assert.equal(resyncAfterRefusal(0, -1, minors), undefined);
  // a chain ends at a minor that does not exist or has no disk
  assert.equal(resyncAfterRefusal(2, 99, minors), undefined);
  assert.equal(resyncAfterRefusal(0, 3, minors), undefined);
  // a different target in the chain is no cycle
  assert.equal(resyncAfterRefusal(2, 1, chain([-1, 0, -1], ["Off", "Off", "Off"])), undefined);
  // a loop elsewhere (not through the volume) ends the walk instead of hanging
  assert.equal(resyncAfterRefusal(2, 0, chain([1, 0, -1], ["Off", "Off", "Off"])), undefined);
});
