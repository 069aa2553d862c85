import assert from "node:assert/strict";
import {
  decodePacket,
  encodePacketBytes,
  HEADER_SIZE,
  listenPeer,
  MAX_PAYLOAD,
  type Packet,
  PacketReader,
  ProtocolError,
} from "../../lib/wire/mod.ts";
import { SAMPLES } from "./samples.ts";
import { connectPair, rawPeer, socketPair, writeAll } from "./helpers.ts";

/** A seeded generator, so a failure can be reproduced from its case number. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

// Small samples only: mutating a 1 MiB packet thousands of times teaches nothing new.
const SMALL = SAMPLES.filter((p) => encodePacketBytes(p).length < 70_000);

/** A mutated encoding of a random sample: flipped bytes, changed length, cut or extended. */
function mutate(rand: () => number): Uint8Array {
  const base = encodePacketBytes(SMALL[Math.floor(rand() * SMALL.length)]);
  let bytes = base.slice();
  const kind = Math.floor(rand() * 6);
  const flips = 1 + Math.floor(rand() * 4);
  const at = (limit = bytes.length) => Math.floor(rand() * limit);
  switch (kind) {
    case 0: // flip bytes anywhere
      for (let i = 0; i < flips; i++) bytes[at()] ^= 1 + at(255);
      break;
    case 1: // flip bytes in the payload only (header stays valid)
      for (let i = 0; i < flips && bytes.length > HEADER_SIZE; i++) {
        bytes[HEADER_SIZE + at(bytes.length - HEADER_SIZE)] = at(256);
      }
      break;
    case 2: // cut
      bytes = bytes.subarray(0, at());
      break;
    case 3: // extend, and sometimes claim the extension in the header
      bytes = new Uint8Array([...bytes, ...Array.from({ length: 1 + at(64) }, () => at(256))]);
      if (rand() < 0.5) new DataView(bytes.buffer).setUint32(8, bytes.length - HEADER_SIZE);
      break;
    case 4: // random length field
      new DataView(bytes.buffer).setUint32(8, Math.floor(rand() * 2 ** 32));
      break;
    default: // pure noise with a valid magic
      bytes = Uint8Array.from({ length: HEADER_SIZE + at(100) }, () => at(256));
      new DataView(bytes.buffer).setUint32(0, 0x75445242);
      new DataView(bytes.buffer).setUint32(8, bytes.length - HEADER_SIZE);
  }
  return bytes;
}

Deno.test("thousands of random and mutated packets decode or fail with a ProtocolError, never crash", () => {
  const rand = rng(20240601);
  let refused = 0, accepted = 0;
  for (let n = 0; n < 5000; n++) {
    const bytes = mutate(rand);
    try {
      const p = decodePacket(bytes);
      accepted++;
      // What decodes must encode back to the same bytes: no field was silently misread.
      assert.deepEqual(encodePacketBytes(p), bytes, `case ${n}: ${p.type}`);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw new Error(`case ${n}: ${e}`, { cause: e });
      refused++;
    }
  }
  // Both outcomes must occur, or the mutations test nothing.
  assert.ok(refused > 1000 && accepted > 100, `refused ${refused}, accepted ${accepted}`);
});

Deno.test("a stream of mutated packets over a socket ends in packets or a ProtocolError, never a hang", async () => {
  const rand = rng(77);
  let errors = 0;
  for (let n = 0; n < 300; n++) {
    const { a, b, close } = await socketPair();
    try {
      const stream: Uint8Array[] = [];
      for (let i = 0; i < 1 + Math.floor(rand() * 5); i++) {
        stream.push(rand() < 0.5 ? encodePacketBytes(SMALL[i % SMALL.length]) : mutate(rand));
      }
      const writing = (async () => {
        for (const s of stream) await writeAll(a, s);
        await a.closeWrite();
      })();
      const reader = new PacketReader(b, MAX_PAYLOAD);
      const got: Packet[] = [];
      try {
        // The writer ends the stream, so reading must end: by EOF or by an error.
        for (let p = await reader.next(); p; p = await reader.next()) got.push(p);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw new Error(`case ${n}: ${e}`, { cause: e });
        errors++;
      }
      close();
      await writing.catch(() => {});
    } finally {
      close();
    }
  }
  assert.ok(errors > 50, `only ${errors} streams failed`);
});

const garbage: [string, (d: Deno.TcpConn) => Promise<void>, RegExp][] = [
  ["a bad magic", (d) => writeAll(d, new Uint8Array(64).fill(0x41)), /bad magic/],
  [
    "an unknown command",
    (d) => {
      const b = encodePacketBytes({ type: "Barrier", barrier: 1, flags: 0 });
      new DataView(b.buffer).setUint16(4, 0x4242);
      return writeAll(d, b);
    },
    /unknown command 0x4242/,
  ],
  [
    "an oversized packet",
    (d) => {
      const b = encodePacketBytes({ type: "Barrier", barrier: 1, flags: 0 });
      new DataView(b.buffer).setUint32(8, 64 << 20);
      return writeAll(d, b);
    },
    /exceeds the limit/,
  ],
  [
    "a truncated packet followed by the end of the stream",
    async (d) => {
      const b = encodePacketBytes({
        type: "Data",
        volume: 0,
        sector: 0,
        blockId: 0,
        seq: 0,
        flags: 0,
        payload: new Uint8Array(4096),
      });
      await writeAll(d, b.subarray(0, 1000));
      await d.closeWrite();
    },
    /truncated Data packet/,
  ],
  [
    "a meta packet on the data socket",
    (d) => writeAll(d, encodePacketBytes({ type: "PingAck" })),
    /PingAck packet on the data socket/,
  ],
];

for (const [what, send, reason] of garbage) {
  Deno.test(`${what} from a connected peer ends the connection with a protocol error, not a crash`, async () => {
    const listener = listenPeer({ hostname: "127.0.0.1", port: 0 });
    try {
      const accepting = listener.accept({ resource: "r0", nodeId: 1, peerNodeId: 0 });
      const peer = await rawPeer(listener.addr.port, { resource: "r0", nodeId: 0, peerNodeId: 1 });
      const conn = await accepting;
      const consuming = (async () => {
        for await (const _ of conn.packets("data")) {
          // nothing valid is sent
        }
      })();
      await send(peer.data.conn);
      // The peer is told why on the meta socket, then the connection ends.
      const bye = await peer.meta.reader.next();
      assert.equal(bye?.type, "Disconnect");
      if (bye?.type === "Disconnect") assert.match(bye.message, reason);
      peer.close();
      const info = await conn.closed;
      await consuming;
      assert.equal(info.by, "lost");
      assert.match(info.reason, /^protocol error: /);
      assert.match(info.reason, reason);
      // The listener survives and still connects well-behaved peers.
      const again = await connectPair(listener);
      await again[1].close();
      await again[0].closed;
    } finally {
      await listener.close();
    }
  });
}
