/**
 * Large Data blocks framed in their own headroom (lib/wire/frame.ts) travel over real TCP
 * sockets: the peer gets the block and the header it belongs to, small packets around it keep
 * their order, and one block sent to two peers at once arrives right at both.
 */
import assert from "node:assert/strict";
import {
  type DataPacket,
  MAX_PAYLOAD,
  type Packet,
  PacketReader,
  PacketWriter,
} from "../../lib/wire/mod.ts";
import { socketPair } from "./helpers.ts";

const HEADROOM = 64;

/** A block of `size` random bytes behind HEADROOM bytes of scratch space (as the NBD server reads it). */
function blockWithHeadroom(size: number): Uint8Array {
  const buf = new Uint8Array(HEADROOM + size);
  for (let o = HEADROOM; o < buf.length; o += 65536) {
    crypto.getRandomValues(buf.subarray(o, Math.min(buf.length, o + 65536)));
  }
  return buf.subarray(HEADROOM);
}

function data(blockId: number, payload: Uint8Array): DataPacket {
  return {
    type: "Data",
    volume: 0,
    sector: 8 * blockId,
    blockId,
    seq: 0,
    flags: 0,
    payload,
    headroom: HEADROOM,
  };
}

/** Reads `n` packets, copying payloads (their views die with the next packet). */
async function readPackets(reader: PacketReader, n: number): Promise<Packet[]> {
  const out: Packet[] = [];
  for (let i = 0; i < n; i++) {
    const p = await reader.next();
    if (!p) throw new Error(`the stream ended after ${i} of ${n} packets`);
    out.push(p.type === "Data" ? { ...p, payload: p.payload.slice() } : p);
  }
  return out;
}

Deno.test("a 1 MiB block sent with headroom reaches the peer intact, between its barriers, and stays unchanged at the sender", async () => {
  const s = await socketPair();
  try {
    const writer = new PacketWriter(s.a, 16, (e) => {
      throw e;
    });
    const reader = new PacketReader(s.b, MAX_PAYLOAD);
    const block = blockWithHeadroom(1 << 20);
    const before = block.slice();
    const small = blockWithHeadroom(4096);
    const sent = Promise.all([
      writer.send({ type: "Barrier", barrier: 1, flags: 0 }),
      writer.send(data(7, block)),
      writer.send(data(8, small)),
      writer.send({ type: "Barrier", barrier: 2, flags: 0 }),
      writer.send(data(9, block)),
    ]);
    const got = await readPackets(reader, 5);
    await sent;
    assert.deepEqual(got.map((p) => p.type), ["Barrier", "Data", "Data", "Barrier", "Data"]);
    const [, first, second, , third] = got as DataPacket[];
    assert.equal(first.blockId, 7);
    assert.equal(first.sector, 56);
    assert.deepEqual(first.payload, before);
    assert.equal(second.blockId, 8);
    assert.deepEqual(second.payload, small);
    assert.equal(third.blockId, 9);
    assert.deepEqual(third.payload, before);
    assert.deepEqual(block, before);
  } finally {
    s.close();
  }
});

Deno.test("one block sent to two peers at once arrives intact at both, each with its own block id", async () => {
  const [s1, s2] = await Promise.all([socketPair(), socketPair()]);
  try {
    const fail = (e: unknown) => {
      throw e;
    };
    const w1 = new PacketWriter(s1.a, 16, fail), w2 = new PacketWriter(s2.a, 16, fail);
    const r1 = new PacketReader(s1.b, MAX_PAYLOAD), r2 = new PacketReader(s2.b, MAX_PAYLOAD);
    const blocks = [blockWithHeadroom(1 << 20), blockWithHeadroom(1 << 20)];
    const copies = blocks.map((b) => b.slice());
    // Both writers frame the same buffers in the same ticks; neither reader reads until all
    // packets are queued, so some writes wait for socket space with their headers in place.
    const sent = Promise.all([
      ...blocks.map((b, i) => w1.send(data(100 + i, b))),
      ...blocks.map((b, i) => w2.send(data(200 + i, b))),
    ]);
    const [got1, got2] = await Promise.all([readPackets(r1, 2), readPackets(r2, 2)]);
    await sent;
    for (const [got, base] of [[got1, 100], [got2, 200]] as const) {
      (got as DataPacket[]).forEach((p, i) => {
        assert.equal(p.blockId, base + i);
        assert.deepEqual(p.payload, copies[i]);
      });
    }
  } finally {
    s1.close();
    s2.close();
  }
});
