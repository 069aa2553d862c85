import assert from "node:assert/strict";
import {
  ConnectionClosedError,
  connectPeer,
  type DataPacket,
  HandshakeError,
  listenPeer,
  ManualClock,
  type Packet,
  type PeerConnection,
  type PeerListener,
  type PeerOptions,
} from "../../lib/wire/mod.ts";
import { connectPair, rawPeer, readPacket, writePacket } from "./helpers.ts";

const HOST = "127.0.0.1";

/** Lets other tasks (socket I/O) run until `cond` holds; the test's own timeout bounds it. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 1));
}

/** Node 1 accepts on a listener, node 0 dials it; returns both connections. */
async function pair(
  extra1: Partial<PeerOptions> = {},
  extra0: Partial<PeerOptions> = {},
): Promise<
  { a: PeerConnection; b: PeerConnection; listener: PeerListener; done: () => Promise<void> }
> {
  const listener = listenPeer({ hostname: HOST, port: 0 });
  const [a, b] = await connectPair(listener, extra1, extra0);
  return {
    a,
    b,
    listener,
    async done() {
      await Promise.all([a.close(), b.close()]);
      await listener.close();
    },
  };
}

function data(blockId: number, payload: Uint8Array): DataPacket {
  return { type: "Data", volume: 0, sector: blockId * 8, blockId, seq: blockId, flags: 0, payload };
}

Deno.test("both nodes dialing each other at the same time end up with one connection pair", async () => {
  for (let round = 0; round < 15; round++) {
    const l0 = listenPeer({ hostname: HOST, port: 0 });
    const l1 = listenPeer({ hostname: HOST, port: 0 });
    const failures: string[] = [];
    const common = {
      resource: "r0",
      connectIntMs: 20,
      onAttemptFailed: (e: Error) => failures.push(e.message),
    };
    try {
      const [c0, c1] = await Promise.all([
        connectPeer({
          ...common,
          nodeId: 0,
          peerNodeId: 1,
          local: l0,
          remote: { hostname: HOST, port: l1.addr.port },
        }),
        connectPeer({
          ...common,
          nodeId: 1,
          peerNodeId: 0,
          local: l1,
          remote: { hostname: HOST, port: l0.addr.port },
        }),
      ]);
      // The same pair on both sides: one dialed it, the other accepted it.
      assert.equal(c0.info.id, c1.info.id);
      assert.notEqual(c0.info.dialed, c1.info.dialed);
      // Both sockets join the same two nodes: data one way, meta the other.
      const d = c1.packets("data");
      const m = c0.packets("meta");
      await c0.send(data(round, new Uint8Array(512)));
      assert.equal(((await d.next()).value as Packet).type, "Data");
      await c1.send({ type: "BarrierAck", barrier: round, setSize: 1 });
      assert.deepEqual((await m.next()).value, { type: "BarrierAck", barrier: round, setSize: 1 });
      for (const f of failures) assert.doesNotMatch(f, /protocol error|authentication/);
      await Promise.all([c0.close(), c1.close()]);
      await d.return?.();
      await m.return?.();
    } finally {
      await l0.close();
      await l1.close();
    }
  }
});

Deno.test("nodes without a common protocol version are refused on both sides with a clear reason", async () => {
  const listener = listenPeer({ hostname: HOST, port: 0 });
  try {
    const [one, zero] = await Promise.allSettled([
      listener.accept({ resource: "r0", nodeId: 1, peerNodeId: 0 }),
      connectPeer({
        resource: "r0",
        nodeId: 0,
        peerNodeId: 1,
        protocolMin: 2,
        protocolMax: 3,
        remote: { hostname: HOST, port: listener.addr.port },
      }),
    ]);
    assert.equal(one.status, "rejected");
    assert.equal(zero.status, "rejected");
    const e1 = (one as PromiseRejectedResult).reason, e0 = (zero as PromiseRejectedResult).reason;
    assert.ok(e1 instanceof HandshakeError && e0 instanceof HandshakeError);
    assert.equal(e1.message, "incompatible protocol versions: we speak 1-1, the peer 2-3");
    assert.equal(e0.message, "incompatible protocol versions: we speak 2-3, the peer 1-1");
  } finally {
    await listener.close();
  }
});

Deno.test("a node reaching the wrong peer (node id or resource) is refused with a clear reason", async () => {
  const cases: [Partial<PeerOptions>, RegExp, RegExp][] = [
    [
      { nodeId: 2 },
      /wrong peer: it is node 2, expected node 0/,
      /wrong peer: it expects node 0 here, this is node 2/,
    ],
    [
      { peerNodeId: 3 },
      /wrong peer: it expects node 3 here, this is node 1/,
      /wrong peer: it is node 1, expected node 3/,
    ],
  ];
  for (const [dialer, acceptorReason, dialerReason] of cases) {
    const listener = listenPeer({ hostname: HOST, port: 0 });
    const heard: string[] = [];
    const stop = new AbortController();
    try {
      // The acceptor logs the stranger but keeps waiting for its real peer.
      const accepting = listener.accept({
        resource: "r0",
        nodeId: 1,
        peerNodeId: 0,
        signal: stop.signal,
        onAttemptFailed: (e) => heard.push(e.message),
      });
      const dialing = connectPeer({
        resource: "r0",
        nodeId: 0,
        peerNodeId: 1,
        ...dialer,
        remote: { hostname: HOST, port: listener.addr.port },
      });
      await assert.rejects(
        dialing,
        (e) => e instanceof HandshakeError && dialerReason.test(e.message),
      );
      await until(() => heard.length > 0);
      assert.match(heard[0], acceptorReason);
      stop.abort(new Error("test over"));
      await assert.rejects(accepting, /test over/);
    } finally {
      await listener.close();
    }
  }
});

Deno.test("a node asking for a resource the peer does not serve is told so and keeps trying", async () => {
  const listener = listenPeer({ hostname: HOST, port: 0 });
  const heard: string[] = [];
  const stop = new AbortController();
  try {
    const accepting = listener.accept({
      resource: "r0",
      nodeId: 1,
      peerNodeId: 0,
      signal: stop.signal,
    });
    const dialing = connectPeer({
      resource: "r9",
      nodeId: 0,
      peerNodeId: 1,
      connectIntMs: 10,
      signal: stop.signal,
      remote: { hostname: HOST, port: listener.addr.port },
      onAttemptFailed: (e) => heard.push(e.message),
    });
    await until(() => heard.length >= 2);
    assert.equal(
      heard[0],
      'peer refused the connection: no resource "r9" with node 1 accepting node 0 here',
    );
    stop.abort(new Error("test over"));
    await assert.rejects(accepting, /test over/);
    await assert.rejects(dialing, /test over/);
  } finally {
    await listener.close();
  }
});

Deno.test("a peer that is not configured yet is retried until it is", async () => {
  const listener = listenPeer({ hostname: HOST, port: 0 });
  const failures: string[] = [];
  try {
    // The listener serves another resource only: our dial is refused, but not for good.
    const busy = listener.accept({ resource: "r1", nodeId: 1, peerNodeId: 0 });
    const dialing = connectPeer({
      resource: "r0",
      nodeId: 0,
      peerNodeId: 1,
      connectIntMs: 10,
      remote: { hostname: HOST, port: listener.addr.port },
      onAttemptFailed: (e) => failures.push(e.message),
    });
    await until(() => failures.length >= 2);
    assert.match(failures[0], /peer refused the connection: no resource "r0"/);
    const [a, b] = await Promise.all([
      listener.accept({ resource: "r0", nodeId: 1, peerNodeId: 0 }),
      dialing,
    ]);
    assert.equal(a.info.id, b.info.id);
    await Promise.all([a.close(), b.close()]);
    // Meanwhile the other resource on the same listener still connects.
    const c = connectPeer({
      resource: "r1",
      nodeId: 0,
      peerNodeId: 1,
      remote: { hostname: HOST, port: listener.addr.port },
    });
    const [x, y] = await Promise.all([busy, c]);
    await Promise.all([x.close(), y.close()]);
  } finally {
    await listener.close();
  }
});

Deno.test("acks on the meta socket overtake a multi-MiB data backlog", async () => {
  const { a, b, done } = await pair({ maxBuffers: 4 }, { maxBuffers: 4 });
  try {
    const block = new Uint8Array(1 << 20).fill(0x5a);
    const sends = Array.from({ length: 32 }, (_, i) => b.send(data(i, block)));
    let written = 0;
    for (const s of sends) s.then(() => written++, () => {});
    // Node 1 reads no data yet: 32 MiB cannot all fit in socket buffers.
    const aMeta = a.packets("meta");
    const bMeta = b.packets("meta");
    await a.send({ type: "WriteAck", volume: 0, sector: 8, blockId: 1, size: 4096, seq: 1 });
    const ack = (await bMeta.next()).value as Packet;
    assert.equal(ack.type, "WriteAck");
    assert.ok(written < 32, "the data backlog was still queued when the ack arrived");
    await b.send({ type: "BarrierAck", barrier: 9, setSize: 2 });
    assert.equal(((await aMeta.next()).value as Packet).type, "BarrierAck");
    assert.ok(b.queued("data") > 0 || b.stats.waiting.data > 0, "data still backed up");
    // Now drain: every block arrives, in order, intact.
    let n = 0;
    for await (const p of a.packets("data")) {
      assert.equal(p.type, "Data");
      if (p.type !== "Data") break;
      assert.equal(p.blockId, n);
      assert.equal(p.payload.length, 1 << 20);
      assert.ok(p.payload[0] === 0x5a && p.payload[(1 << 20) - 1] === 0x5a);
      if (++n === 32) break;
    }
    await Promise.all(sends);
    await aMeta.return?.();
    await bMeta.return?.();
  } finally {
    await done();
  }
});

Deno.test("the send queue never holds more than max-buffers packets; senders wait for room", async () => {
  const { a, b, done } = await pair({}, { maxBuffers: 8 });
  try {
    const block = new Uint8Array(1 << 20);
    const resolved: number[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 64; i++) {
      sends.push(b.send(data(i, block)).then(() => void resolved.push(i)));
      assert.ok(b.queued("data") <= 8, `queue holds ${b.queued("data")} after send ${i}`);
    }
    assert.equal(b.queued("data"), 8);
    assert.equal(b.stats.waiting.data, 56);
    // Writes complete in order while the peer reads.
    let n = 0;
    for await (const p of a.packets("data")) {
      assert.ok(b.queued("data") <= 8);
      assert.equal((p as DataPacket).blockId, n);
      if (++n === 64) break;
    }
    await Promise.all(sends);
    assert.deepEqual(resolved, Array.from({ length: 64 }, (_, i) => i));
    assert.equal(b.stats.highWater.data, 8);
  } finally {
    await done();
  }
});

Deno.test("a silent peer is detected by ping-timeout (injected clock)", async () => {
  const clock = new ManualClock();
  const listener = listenPeer({ hostname: HOST, port: 0 });
  try {
    const accepting = listener.accept({
      resource: "r0",
      nodeId: 1,
      peerNodeId: 0,
      clock,
      pingIntMs: 10_000,
      pingTimeoutMs: 500,
    });
    const peer = await rawPeer(listener.addr.port, { resource: "r0", nodeId: 0, peerNodeId: 1 });
    const conn = await accepting;
    // First the peer answers: the connection stays up past ping-timeout.
    clock.advance(10_000);
    assert.equal((await readPacket(peer.meta.reader)).type, "Ping");
    await writePacket(peer.meta.conn, { type: "PingAck" });
    await until(() => conn.stats.pingAcks === 1);
    clock.advance(500);
    assert.equal(conn.state, "connected");
    // Then it falls silent.
    clock.advance(9_500);
    assert.equal((await readPacket(peer.meta.reader)).type, "Ping");
    assert.equal(conn.state, "connected");
    clock.advance(499);
    assert.equal(conn.state, "connected");
    clock.advance(1);
    const info = await conn.closed;
    assert.equal(info.by, "lost");
    assert.equal(info.reason, "PingAck did not arrive in time (ping-timeout 500 ms)");
    peer.close();
  } finally {
    await listener.close();
  }
});

Deno.test("an awaited reply that never comes ends the connection after timeout (injected clock)", async () => {
  const clock = new ManualClock();
  const { a, b, done } = await pair({ clock, timeoutMs: 6000 });
  try {
    const settle = a.expectReply("write ack for sector 8");
    settle();
    a.expectReply("write ack for sector 16");
    clock.advance(5999);
    assert.equal(a.state, "connected");
    clock.advance(1);
    const info = await a.closed;
    assert.equal(info.reason, "no write ack for sector 16 from the peer within 6000 ms (timeout)");
    const peerSide = await b.closed;
    assert.equal(peerSide.by, "lost");
  } finally {
    await done();
  }
});

Deno.test("close(reason) tells the peer why and fails sends that were still queued", async () => {
  const { a, b, done } = await pair({}, { maxBuffers: 2 });
  try {
    const block = new Uint8Array(1 << 20);
    // The peer reads nothing, so most of these are still queued or waiting at close.
    const sends = Array.from({ length: 40 }, (_, i) => b.send(data(i, block)));
    const outcomes = Promise.allSettled(sends);
    await b.close("drbdsetup disconnect r0");
    const results = await outcomes;
    const failed = results.filter((r) => r.status === "rejected");
    assert.ok(failed.length > 0);
    for (const r of failed) {
      assert.ok((r as PromiseRejectedResult).reason instanceof ConnectionClosedError);
    }
    await assert.rejects(b.send({ type: "Barrier", barrier: 1, flags: 0 }), ConnectionClosedError);
    assert.deepEqual(await b.closed, { reason: "drbdsetup disconnect r0", by: "local", code: 0 });
    const info = await a.closed;
    assert.equal(info.by, "peer");
    assert.equal(info.reason, "the peer closed the connection: drbdsetup disconnect r0");
  } finally {
    await done();
  }
});
