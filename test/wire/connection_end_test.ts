/**
 * PeerConnection.packets("data") ends with the connection: a packet that finishes reading after
 * the connection has ended is not handed to the engine, even when its bytes were already
 * buffered (the same read as the packet before it).
 */
import assert from "node:assert/strict";
import { type DataPacket, encodePacketBytes, listenPeer, ManualClock } from "../../lib/wire/mod.ts";
import { rawPeer, readPacket } from "./helpers.ts";

function data(blockId: number): DataPacket {
  const payload = new Uint8Array(4096).fill(blockId);
  return { type: "Data", volume: 0, sector: blockId * 8, blockId, seq: blockId, flags: 0, payload };
}

Deno.test("a write still buffered when the connection ends is not applied after the end", async () => {
  const listener = listenPeer({ hostname: "127.0.0.1", port: 0 });
  let peer: Awaited<ReturnType<typeof rawPeer>> | undefined;
  try {
    const accepting = listener.accept({
      resource: "r0",
      nodeId: 1,
      peerNodeId: 0,
      clock: new ManualClock(), // no pings: only the packets below travel
    });
    peer = await rawPeer(listener.addr.port, { resource: "r0", nodeId: 0, peerNodeId: 1 });
    const conn = await accepting;
    // Two writes in one TCP write: the receiver reads both bytes at once.
    const a = encodePacketBytes(data(1));
    const b = encodePacketBytes(data(2));
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    await peer.data.conn.write(both);

    const packets = conn.packets("data");
    const first = await packets.next();
    assert.equal(first.done, false);
    assert.equal((first.value as DataPacket).blockId, 1);
    // The engine pulls the next packet, and the connection ends before it is handed over
    // (as when the meta socket is lost while the data reader is busy).
    const second = packets.next();
    const closing = conn.close("drbdsetup disconnect r0");
    assert.equal((await readPacket(peer.meta.reader)).type, "Disconnect");
    peer.close();
    await closing;
    const after = await second;
    assert.equal(
      after.done,
      true,
      `block ${(after.value as DataPacket | undefined)?.blockId} was handed over after the end`,
    );
    assert.equal((await conn.closed).by, "local");
  } finally {
    peer?.close();
    await listener.close();
  }
});
