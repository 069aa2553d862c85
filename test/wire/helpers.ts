// Shared pieces of the wire tests: a hand-driven peer speaking the protocol over raw sockets
// (to misbehave on purpose), and small utilities.

import {
  type AuthConfig,
  type ConnectOptions,
  connectPeer,
  encodePacketBytes,
  type HelloPacket,
  MAX_PAYLOAD,
  type Packet,
  PacketReader,
  type PeerConnection,
  type PeerListener,
  type PeerOptions,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
} from "../../lib/wire/mod.ts";
import { importSecret, respond } from "../../lib/wire/auth.ts";

/** A connected pair of loopback TCP sockets; `close` closes both (either may be closed already). */
export async function socketPair(): Promise<{ a: Deno.TcpConn; b: Deno.TcpConn; close(): void }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  return {
    a,
    b,
    close() {
      for (const c of [a, b]) {
        try {
          c.close();
        } catch {
          // closed already
        }
      }
    },
  };
}

/**
 * One connection of resource r0 through `listener`: node 1 accepts (with `accept`'s options),
 * node 0 dials it (with `dial`'s). Resolves to [accepted, dialed].
 */
export function connectPair(
  listener: PeerListener,
  accept: Partial<PeerOptions> = {},
  dial: Partial<ConnectOptions> = {},
): Promise<[PeerConnection, PeerConnection]> {
  return Promise.all([
    listener.accept({ resource: "r0", nodeId: 1, peerNodeId: 0, ...accept }),
    connectPeer({
      resource: "r0",
      nodeId: 0,
      peerNodeId: 1,
      remote: { hostname: listener.addr.hostname, port: listener.addr.port },
      ...dial,
    }),
  ]);
}

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

/** Writes one packet. */
export function writePacket(conn: Deno.Conn, packet: Packet): Promise<void> {
  return writeAll(conn, encodePacketBytes(packet));
}

/** Reads the next packet, failing the test on EOF. */
export async function readPacket(reader: PacketReader): Promise<Packet> {
  const p = await reader.next();
  if (!p) throw new Error("unexpected EOF");
  return p;
}

/** One raw socket of a hand-driven peer. */
export interface RawSocket {
  conn: Deno.TcpConn;
  reader: PacketReader;
}

/** A Hello as node `nodeId` of `resource` would send it. */
export function rawHello(
  channel: "data" | "meta",
  nonce: Uint8Array,
  o: { resource: string; nodeId: number; peerNodeId: number; authAlg?: string },
): HelloPacket {
  return {
    type: "Hello",
    protocolMin: PROTOCOL_VERSION_MIN,
    protocolMax: PROTOCOL_VERSION_MAX,
    features: 0,
    nodeId: o.nodeId,
    peerNodeId: o.peerNodeId,
    channel,
    nonce,
    resource: o.resource,
    authAlg: o.authAlg ?? "",
  };
}

/** Opens one socket to `port` and exchanges Hellos; returns the socket and the peer's Hello. */
export async function rawSocket(
  port: number,
  channel: "data" | "meta",
  nonce: Uint8Array,
  o: { resource: string; nodeId: number; peerNodeId: number; authAlg?: string },
): Promise<RawSocket & { hello: Packet }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new PacketReader(conn, MAX_PAYLOAD);
  await writePacket(conn, rawHello(channel, nonce, o));
  return { conn, reader, hello: await readPacket(reader) };
}

/**
 * A peer driven by hand: both sockets through the Hello exchange (and authentication when
 * `auth` is given). Must be the lower node id; it waits for the listener's PairCommit.
 */
export async function rawPeer(
  port: number,
  o: { resource: string; nodeId: number; peerNodeId: number; auth?: AuthConfig },
): Promise<{ data: RawSocket; meta: RawSocket; close: () => void }> {
  const nonce = crypto.getRandomValues(new Uint8Array(16));
  const key = o.auth ? await importSecret(o.auth) : undefined;
  const open = async (channel: "data" | "meta") => {
    const s = await rawSocket(port, channel, nonce, { ...o, authAlg: o.auth?.alg });
    if (s.hello.type !== "Hello") throw new Error(`expected Hello, got ${s.hello.type}`);
    if (key) {
      const mine = crypto.getRandomValues(new Uint8Array(32));
      await writePacket(s.conn, { type: "AuthChallenge", bytes: mine });
      const theirs = await readPacket(s.reader);
      if (theirs.type !== "AuthChallenge") throw new Error(`got ${theirs.type}`);
      const answer = await respond(key, {
        verifierChallenge: theirs.bytes,
        responderChallenge: mine,
        responderNodeId: o.nodeId,
        verifierNodeId: o.peerNodeId,
        nonce,
        channel: channel === "data" ? 0 : 1,
      });
      await writePacket(s.conn, { type: "AuthResponse", bytes: answer });
      const resp = await readPacket(s.reader);
      if (resp.type !== "AuthResponse") throw new Error(`got ${resp.type}`);
    }
    return { conn: s.conn, reader: s.reader };
  };
  const [data, meta] = await Promise.all([open("data"), open("meta")]);
  const commit = await readPacket(data.reader);
  if (commit.type !== "PairCommit") throw new Error(`expected PairCommit, got ${commit.type}`);
  return {
    data,
    meta,
    close() {
      for (const s of [data, meta]) {
        try {
          s.conn.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

/** Drains a connection's channel in the background; returns the packets and a stopper. */
export function collect(
  iter: AsyncIterableIterator<Packet>,
): { packets: Packet[]; done: Promise<void> } {
  const packets: Packet[] = [];
  const done = (async () => {
    for await (const p of iter) packets.push(structuredClone(p));
  })();
  return { packets, done };
}
