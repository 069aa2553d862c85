/**
 * When invalidate / invalidate-remote may start a resync (lib/engine/invalidate.ts): the volume's
 * and its peer's states in, DRBD's refusal code out.
 */
import assert from "node:assert/strict";
import { type ResyncStartFacts, resyncStartRefusal } from "../../lib/engine/invalidate.ts";
import { SS } from "../../lib/engine/errors.ts";

const ok: ResyncStartFacts = {
  as: "target",
  role: "Secondary",
  disk: "UpToDate",
  connection: "Connected",
  replication: "Established",
  peerRole: "Primary",
  peerDisk: "UpToDate",
};

Deno.test("a connected, Established Secondary may be invalidated and a Primary may invalidate it", () => {
  assert.equal(resyncStartRefusal(ok), undefined);
  assert.equal(
    resyncStartRefusal({ ...ok, as: "source", role: "Primary", peerRole: "Secondary" }),
    undefined,
  );
  assert.equal(resyncStartRefusal({ ...ok, disk: "Inconsistent" }), undefined, "target data goes");
});

Deno.test("without a connection invalidate-remote is refused with -15 (Need a connection)", () => {
  for (const connection of ["StandAlone", "Connecting", "Unconnected"] as const) {
    assert.equal(resyncStartRefusal({ ...ok, connection }), SS.NEED_CONNECTION);
  }
  assert.equal(resyncStartRefusal({ ...ok, replication: "Off" }), SS.NEED_CONNECTION);
});

Deno.test("a resync already running refuses another with -8", () => {
  for (const replication of ["SyncSource", "SyncTarget", "WFBitMapT", "StartingSyncS"] as const) {
    assert.equal(resyncStartRefusal({ ...ok, replication }), SS.RESYNC_RUNNING);
  }
});

Deno.test("no UpToDate source, a diskless side or a Primary target are refused as DRBD codes them", () => {
  assert.equal(resyncStartRefusal({ ...ok, peerDisk: "Outdated" }), SS.NO_UP_TO_DATE_DISK);
  assert.equal(resyncStartRefusal({ ...ok, role: "Primary" }), SS.NO_UP_TO_DATE_DISK);
  assert.equal(
    resyncStartRefusal({ ...ok, as: "source", disk: "Inconsistent" }),
    SS.NO_UP_TO_DATE_DISK,
  );
  assert.equal(
    resyncStartRefusal({ ...ok, as: "source", peerRole: "Primary" }),
    SS.NO_UP_TO_DATE_DISK,
  );
  assert.equal(resyncStartRefusal({ ...ok, peerDisk: "Diskless" }), SS.NO_REMOTE_DISK);
  assert.equal(resyncStartRefusal({ ...ok, disk: "Diskless" }), SS.NO_LOCAL_DISK);
});
