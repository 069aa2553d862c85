import assert from "node:assert/strict";
import {
  alBlockOfTransaction,
  alCrc,
  decodeAlTransaction,
  encodeAlTransaction,
  initializedAl,
  replayAl84,
} from "../../lib/meta/activity_log.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";

Deno.test("create-md's activity-log block carries DRBD's checksum 0x709CC651 (seed 0, no final xor)", () => {
  const area = initializedAl(8);
  const v = new DataView(area.buffer);
  for (let i = 0; i < 8; i++) {
    assert.equal(v.getUint32(i * 4096), 0x69cb65a2);
    assert.equal(v.getUint32(i * 4096 + 8), 0x709cc651);
    assert.equal(v.getUint16(i * 4096 + 12), 0xffff);
  }
  const copy = area.slice(0, 4096);
  new DataView(copy.buffer).setUint32(8, 0);
  assert.equal(alCrc(copy), 0x709cc651);
});

Deno.test("a corrupted transaction is recognized as invalid, so apply-al skips it", () => {
  const block = encodeAlTransaction({
    trNumber: 7,
    type: 0,
    nUpdates: 1,
    contextSize: 257,
    contextStartSlot: 0,
    updateSlots: [3],
    updateExtents: [42],
    context: [],
  });
  assert.equal(decodeAlTransaction(block).valid, true);
  block[500] ^= 1;
  assert.equal(decodeAlTransaction(block).valid, false);
});

Deno.test("transactions map onto striped blocks the way the kernel writes them", () => {
  // 2 stripes of 4 blocks: t0->0, t1->4, t2->1, t3->5 ...
  assert.deepEqual([0, 1, 2, 3, 4, 8, 9].map((t) => alBlockOfTransaction(t, 2, 4)), [
    0,
    4,
    1,
    5,
    2,
    0,
    4,
  ]);
});

Deno.test("replay takes the newest transaction's slots across a tr_number wrap", () => {
  const stripes = 1, size = 8;
  const area = initializedAl(stripes * size);
  const put = (tr: number, slot: number, extent: number) => {
    const o = alBlockOfTransaction(tr >>> 0, stripes, size) * 4096;
    area.set(
      encodeAlTransaction({
        trNumber: tr >>> 0,
        type: 0,
        nUpdates: 1,
        contextSize: 257,
        contextStartSlot: 0,
        updateSlots: [slot],
        updateExtents: [extent],
        context: [],
      }),
      o,
    );
  };
  put(0xfffffffe, 1, 10);
  put(0xffffffff, 1, 11);
  put(0, 1, 12); // newest despite the smaller number
  const io = new MemoryConsole();
  const r = replayAl84(area, stripes, size, io);
  assert.equal(r.code, 3);
  assert.equal(r.hot[1], 12);
});
