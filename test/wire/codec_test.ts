import assert from "node:assert/strict";
import {
  AFTER_SB_0PRI,
  AFTER_SB_1PRI,
  AFTER_SB_2PRI,
  COMMANDS,
  decodePacket,
  encodePacket,
  encodePacketBytes,
  encodeRuns,
  forEachSetRun,
  HEADER_SIZE,
  MAGIC,
  MAX_PAYLOAD,
  mergeBitmapChunk,
  type Packet,
  packetSize,
  type PacketType,
  ProtocolError,
} from "../../lib/wire/mod.ts";
import { OPTIONS } from "../../lib/options/mod.ts";
import { SAMPLED_TYPES, SAMPLES } from "./samples.ts";

Deno.test("every packet type survives encoding and decoding unchanged", () => {
  const missing = (Object.keys(COMMANDS) as PacketType[]).filter((t) => !SAMPLED_TYPES.has(t));
  assert.deepEqual(missing, [], "packet types without a sample");
  for (const sample of SAMPLES) {
    const bytes = encodePacketBytes(sample);
    assert.equal(bytes.length, packetSize(sample));
    const back = decodePacket(bytes);
    assert.deepEqual(back, sample, sample.type);
    // Encoding at an offset into a larger caller buffer gives the same bytes.
    const big = new Uint8Array(bytes.length + 7);
    assert.equal(encodePacket(sample, big, 7), bytes.length);
    assert.deepEqual(big.subarray(7), bytes);
  }
});

Deno.test("the header is magic, command, volume, length, big endian", () => {
  const bytes = encodePacketBytes({
    type: "OutOfSync",
    volume: 0x0102,
    sector: 1,
    size: 512,
  });
  const v = new DataView(bytes.buffer);
  assert.equal(v.getUint32(0), MAGIC);
  assert.equal(v.getUint16(4), COMMANDS.OutOfSync.cmd);
  assert.equal(v.getUint16(6), 0x0102);
  assert.equal(v.getUint32(8), bytes.length - HEADER_SIZE);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x75, 0x44, 0x52, 0x42]);
});

Deno.test("the after-split-brain policies on the wire are the ones drbd.conf accepts", () => {
  const values = (name: string) => OPTIONS.find((o) => o.name === name)?.values;
  assert.deepEqual(values("after-sb-0pri"), [...AFTER_SB_0PRI]);
  assert.deepEqual(values("after-sb-1pri"), [...AFTER_SB_1PRI]);
  assert.deepEqual(values("after-sb-2pri"), [...AFTER_SB_2PRI]);
});

Deno.test("values the wire cannot carry are refused when encoding, not truncated", () => {
  const buf = new Uint8Array(HEADER_SIZE + MAX_PAYLOAD + 4096);
  const bad: Packet[] = [
    { type: "OutOfSync", volume: 70000, sector: 0, size: 512 },
    { type: "OutOfSync", volume: 0, sector: -8, size: 512 },
    { type: "OutOfSync", volume: 0, sector: 2 ** 53, size: 512 },
    {
      type: "VerifyReply",
      volume: 0,
      sector: 0,
      blockId: 0,
      size: 512,
      digest: new Uint8Array(65),
    },
    {
      type: "State",
      volume: 0,
      state: {
        role: "Boss" as "Primary",
        disk: "UpToDate",
        connection: "Connected",
        replication: "Off",
        flags: 0,
      },
    },
    {
      type: "Data",
      volume: 0,
      sector: 0,
      blockId: 0,
      seq: 0,
      flags: 0,
      payload: new Uint8Array(MAX_PAYLOAD),
    },
    { type: "Hello", ...helloFields(), resource: "x".repeat(256) },
  ];
  for (const p of bad) assert.throws(() => encodePacket(p, buf), RangeError, p.type);
});

function helloFields() {
  return {
    protocolMin: 1,
    protocolMax: 1,
    features: 0,
    nodeId: 0,
    peerNodeId: 1,
    channel: "data" as const,
    nonce: new Uint8Array(16),
    authAlg: "",
  };
}

Deno.test("a bad magic, unknown command, oversized, truncated or trailing packet is a protocol error", () => {
  const good = encodePacketBytes({ type: "Barrier", barrier: 1, flags: 0 });
  const cases: [string, Uint8Array][] = [];
  const magic = good.slice();
  magic[0] ^= 0xff;
  cases.push(["bad magic", magic]);
  const cmd = good.slice();
  new DataView(cmd.buffer).setUint16(4, 0x7777);
  cases.push(["unknown command", cmd]);
  const big = good.slice();
  new DataView(big.buffer).setUint32(8, MAX_PAYLOAD + 1);
  cases.push(["exceeds the limit", big]);
  cases.push(["truncated", good.subarray(0, good.length - 1)]);
  cases.push(["truncated packet header", good.subarray(0, 5)]);
  cases.push(["trailing", new Uint8Array([...good, 0])]);
  const vol = good.slice();
  new DataView(vol.buffer).setUint16(6, 3);
  cases.push(["volume 3", vol]);
  const data = encodePacketBytes({
    type: "Data",
    volume: 0,
    sector: 0,
    blockId: 0,
    seq: 0,
    flags: 0,
    payload: new Uint8Array(512),
  });
  const odd = new Uint8Array([...data, 1, 2, 3]);
  new DataView(odd.buffer).setUint32(8, data.length - HEADER_SIZE + 3);
  cases.push(["not a multiple of 512", odd]);
  const flags = good.slice();
  new DataView(flags.buffer).setUint32(HEADER_SIZE + 4, 2);
  cases.push(["unknown flags 0x2", flags]);
  for (const [why, bytes] of cases) {
    assert.throws(
      () => decodePacket(bytes),
      (e) => e instanceof ProtocolError && e.message.includes(why),
      why,
    );
  }
});

Deno.test("a run-length encoded bitmap chunk reproduces exactly the bits that were set", () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 50; round++) {
    const nbits = 1 + Math.floor(rand() * 5000);
    const bits = new Uint8Array(Math.ceil(nbits / 8));
    // Runs of random lengths, so that long and short runs both occur.
    let i = 0, set = rand() < 0.5;
    while (i < nbits) {
      const run = Math.ceil(rand() ** 3 * 700);
      for (let j = i; j < Math.min(nbits, i + run); j++) if (set) bits[j >> 3] |= 1 << (j & 7);
      i += run;
      set = !set;
    }
    const out = new Uint8Array(3 + Math.floor(rand() * 40));
    const back = new Uint8Array(bits.length);
    let from = 0, chunks = 0;
    while (from < nbits) {
      const c = encodeRuns(bits, from, nbits, out);
      assert.ok(c.bitCount > 0, "progress");
      const packet = decodePacket(encodePacketBytes({
        type: "Bitmap",
        volume: 0,
        encoding: "rle",
        bitOffset: from,
        bitCount: c.bitCount,
        firstRunSet: c.firstRunSet,
        last: from + c.bitCount === nbits,
        body: out.subarray(0, c.length),
      }));
      assert.equal(packet.type, "Bitmap");
      if (packet.type === "Bitmap") mergeBitmapChunk(packet, back);
      from += c.bitCount;
      chunks++;
    }
    assert.deepEqual(back, bits, `round ${round} (${chunks} chunks)`);
  }
});

Deno.test("a plain bitmap chunk reports its set runs at absolute bit numbers", () => {
  const runs: [number, number][] = [];
  forEachSetRun({
    type: "Bitmap",
    volume: 0,
    encoding: "plain",
    bitOffset: 100,
    bitCount: 16,
    firstRunSet: false,
    last: true,
    body: new Uint8Array([0b11100001, 0b10000000]),
  }, (s, n) => runs.push([s, n]));
  assert.deepEqual(runs, [[100, 1], [105, 3], [115, 1]]);
});
