/**
 * The sync decision on connect (lib/engine/sync.ts), on UUID sets as two nodes hold them after
 * the situations a user creates: fresh disks, a forced primary, a disconnect with writes, and
 * writes on both sides (split brain). Both sides must reach mirrored answers.
 */
import assert from "node:assert/strict";
import { decideSync, type SyncSide } from "../../lib/engine/sync.ts";

const side = (current: bigint, bitmap = 0n, history: bigint[] = []): SyncSide => ({
  current,
  bitmap,
  history,
  usable: current !== 4n,
});

Deno.test("two fresh disks connect without a sync", () => {
  assert.deepEqual(decideSync(side(4n), side(4n)), { kind: "none" });
});

Deno.test("a forced primary fully syncs a fresh peer, seen the same from both sides", () => {
  const a = side(0xaaa0n), b = side(4n);
  assert.deepEqual(decideSync(a, b), {
    kind: "full",
    role: "source",
    rule: "peer disk just created",
  });
  assert.deepEqual(decideSync(b, a), {
    kind: "full",
    role: "target",
    rule: "local disk just created",
  });
});

Deno.test("equal data (ignoring the primary bit) needs no sync", () => {
  assert.deepEqual(decideSync(side(0xaaa1n), side(0xaaa0n)), { kind: "none" });
});

Deno.test("a primary that wrote while the peer was away resyncs only its bitmap", () => {
  const a = side(0xbbb1n, 0xaaa0n, [0xaaa0n]), b = side(0xaaa0n);
  assert.equal(decideSync(a, b).kind, "bitmap");
  assert.deepEqual(
    [decideSync(a, b), decideSync(b, a)].map((d) => "role" in d ? d.role : d.kind),
    ["source", "target"],
  );
});

Deno.test("writes on both sides after parting are split brain; strangers are unrelated", () => {
  const a = side(0xbbb0n, 0xaaa0n, [0xaaa0n]), b = side(0xccc0n, 0xaaa0n, [0xaaa0n]);
  assert.equal(decideSync(a, b).kind, "split-brain");
  assert.equal(decideSync(b, a).kind, "split-brain");
  assert.equal(decideSync(side(0xddd0n), side(0xeee0n)).kind, "unrelated");
});
