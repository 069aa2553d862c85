/**
 * The sync decision for equal current UUIDs after a Primary crashed (DRBD 9's rules): the side
 * that survived is the source for the crashed primary's hot extents; after a common power
 * failure the crashed primary is; a plain reconnect syncs nothing.
 */
import assert from "node:assert/strict";
import { decideSync, type SyncSide } from "../../lib/engine/sync.ts";

function side(flags: { crashedPrimary?: boolean; reconnected?: boolean } = {}): SyncSide {
  return { current: 0xabc0n, bitmap: 0n, history: [], usable: true, ...flags };
}

Deno.test("a crashed primary meeting the peer that survived it gets its hot extents from it", () => {
  const crashed = side({ crashedPrimary: true }), survivor = side({ reconnected: true });
  assert.deepEqual(decideSync(crashed, survivor), {
    kind: "bitmap",
    role: "target",
    rule: "we crashed as primary, the peer survived",
  });
  assert.deepEqual(decideSync(survivor, crashed), {
    kind: "bitmap",
    role: "source",
    rule: "the peer crashed as primary, we survived",
  });
});

Deno.test("after a common power failure the crashed primary is the sync source", () => {
  const crashed = side({ crashedPrimary: true }), rebooted = side();
  assert.equal(decideSync(crashed, rebooted).kind, "bitmap");
  assert.deepEqual(
    [decideSync(crashed, rebooted), decideSync(rebooted, crashed)].map((d) =>
      "role" in d ? d.role : d.kind
    ),
    ["source", "target"],
  );
});

Deno.test("equal UUIDs without a crashed primary (a link hiccup) sync nothing", () => {
  assert.deepEqual(decideSync(side({ reconnected: true }), side({ reconnected: true })), {
    kind: "none",
  });
  assert.deepEqual(decideSync(side(), side()), { kind: "none" });
});
