/**
 * The Primary's transfer log (lib/engine/epochs.ts): which writes a Barrier closes, what a
 * BarrierAck releases, what a lost connection leaves out of sync, and how a slow peer holds
 * writers back.
 */
import assert from "node:assert/strict";
import { type TlWrite, TransferLog } from "../../lib/engine/epochs.ts";

const w = (sector: number): TlWrite => ({ volume: 0, sector, length: 4096 });

Deno.test("max-epoch-size writes fill an epoch: its Barrier carries the count the ack must match", () => {
  const tl = new TransferLog({ maxEpochSize: 3, maxWrites: 100 });
  assert.deepEqual(tl.add(w(0)), { epoch: 1, full: undefined });
  assert.deepEqual(tl.add(w(8)), { epoch: 1, full: undefined });
  assert.deepEqual(tl.add(w(16)), { epoch: 1, full: { barrier: 1, size: 3, flush: false } });
  assert.equal(tl.add(w(24)).epoch, 2, "the next write opens epoch 2");
  assert.equal(tl.unacked, 1);
  assert.equal(tl.ack(1, 3), undefined);
  assert.equal(tl.writes, 1, "epoch 1 left the log, epoch 2's write stays");
});

Deno.test("closing an empty epoch sends nothing, unless a flush asks the peer to flush", () => {
  const tl = new TransferLog({ maxEpochSize: 10, maxWrites: 100 });
  assert.equal(tl.close(), undefined);
  assert.deepEqual(tl.close(true), { barrier: 1, size: 0, flush: true });
  tl.add(w(0));
  assert.deepEqual(tl.close(true), { barrier: 2, size: 1, flush: true });
  assert.equal(tl.ack(1, 0), undefined);
  assert.equal(tl.ack(2, 1), undefined);
  assert.equal(tl.writes, 0);
});

Deno.test("a BarrierAck out of order, with a wrong count or for nothing is DRBD's protocol error", () => {
  const tl = new TransferLog({ maxEpochSize: 10, maxWrites: 100 });
  assert.equal(tl.ack(1, 0), "BAD! BarrierAck #1 received, but no epoch in tl!?");
  tl.add(w(0));
  assert.equal(tl.ack(1, 1), "BAD! BarrierAck #1 received, but no epoch in tl!?", "still open");
  tl.close();
  tl.add(w(8));
  tl.add(w(16));
  tl.close();
  assert.equal(tl.ack(2, 2), "BAD! BarrierAck #2 received, expected #1!");
  assert.equal(tl.ack(1, 5), "BAD! BarrierAck #1 received with n_writes=5, expected n_writes=1!");
  assert.equal(tl.writes, 3, "a bad ack releases nothing");
});

Deno.test("a lost connection leaves every write of every unacked epoch out of sync, acked epochs not", () => {
  const tl = new TransferLog({ maxEpochSize: 2, maxWrites: 100 });
  tl.add(w(0));
  tl.add(w(8)); // epoch 1 full
  tl.add(w(16));
  tl.add(w(24)); // epoch 2 full
  tl.add(w(32)); // epoch 3 open
  assert.equal(tl.ack(1, 2), undefined);
  assert.deepEqual(tl.clear().map((x) => x.sector), [16, 24, 32]);
  assert.equal(tl.writes, 0);
  assert.deepEqual(tl.clear(), []);
});

Deno.test("a full log makes writers wait, in order, until a BarrierAck makes room", async () => {
  const tl = new TransferLog({ maxEpochSize: 2, maxWrites: 2 });
  const order: number[] = [];
  const writer = async (sector: number) => {
    const wait = tl.room();
    if (wait) await wait;
    order.push(sector);
    tl.add(w(sector));
  };
  await writer(0);
  await writer(8); // epoch 1 full, log full
  const third = writer(16);
  const fourth = writer(24);
  await Promise.resolve();
  assert.deepEqual(order, [0, 8], "no room: the third and fourth writers wait");
  assert.equal(tl.ack(1, 2), undefined);
  await Promise.all([third, fourth]);
  assert.deepEqual(order, [0, 8, 16, 24]);
  assert.equal(tl.writes, 2);
  assert.equal(tl.room() instanceof Promise, true, "full again");
});

Deno.test("writers waiting for room are released when the connection is lost", async () => {
  const tl = new TransferLog({ maxEpochSize: 1, maxWrites: 1 });
  assert.equal(tl.room(), undefined);
  tl.add(w(0));
  const wait = tl.room();
  assert.ok(wait);
  tl.clear();
  await wait;
});
