/**
 * Split brain over a multi-volume handshake (lib/engine/handshake_split_brain.ts): every volume
 * reports its own split brain once, and an unresolved one ends the connection only after every
 * volume had its handshake, as DRBD's CONN_HANDSHAKE_DISCONNECT does.
 */
import assert from "node:assert/strict";
import { HandshakeSplitBrain } from "../../lib/engine/handshake_split_brain.ts";

const NEVER = 3_600_000;

Deno.test("each volume's split brain is reported once per connection, again after a reconnect", () => {
  const h = new HandshakeSplitBrain();
  assert.equal(h.report(0), true);
  assert.equal(h.report(1), true);
  assert.equal(h.report(0), false);
  h.reset();
  assert.equal(h.report(0), true);
});

Deno.test("an unresolved split brain on volume 0 ends the connection only once volume 1 had its handshake too", () => {
  const h = new HandshakeSplitBrain();
  let expired = 0;
  h.fail("Split-Brain detected but unresolved, dropping connection!", NEVER, () => expired++);
  assert.equal(h.failing, true);
  assert.equal(h.decided(0, [0, 1]), undefined);
  h.fail("a second reason is not the one given", NEVER, () => expired++);
  assert.equal(h.decided(1, [0, 1]), "Split-Brain detected but unresolved, dropping connection!");
  // once only
  assert.equal(h.decided(1, [0, 1]), undefined);
  assert.equal(expired, 0);
  h.reset();
  assert.equal(h.failing, false);
});

Deno.test("without split brain the handshakes never end the connection", () => {
  const h = new HandshakeSplitBrain();
  assert.equal(h.decided(0, [0, 1]), undefined);
  assert.equal(h.decided(1, [0, 1]), undefined);
  assert.equal(h.decided(undefined, [], true), undefined);
  assert.equal(h.failing, false);
});

Deno.test("a volume that never has its handshake does not keep a split-brain connection up", async () => {
  const h = new HandshakeSplitBrain();
  const expired = Promise.withResolvers<void>();
  h.fail("unresolved", 1, () => expired.resolve());
  assert.equal(h.decided(0, [0, 1]), undefined);
  await expired.promise;
  assert.equal(h.decided(undefined, [], true), "unresolved");
  assert.equal(h.decided(1, [0, 1]), undefined);
});
