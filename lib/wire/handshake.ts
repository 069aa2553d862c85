/**
 * The handshake of one socket: Hello exchange (version, features, identity, socket kind, nonce),
 * then challenge-response authentication. Only handshake packets are accepted here, with a small
 * payload limit, so an unauthenticated peer can make us parse nothing else.
 *
 * @module
 */

import { type AuthConfig, canonicalAlg, newChallenge, respond, verifyAnswer } from "./auth.ts";
import type { Clock } from "./clock.ts";
import { encodePacketBytes } from "./codec.ts";
import { type Channel, DisconnectCode, PRE_AUTH_MAX_PAYLOAD } from "./constants.ts";
import { disconnectCodeOf, HandshakeError, ProtocolError } from "./errors.ts";
import type { HelloPacket, Packet, PacketOf, PacketType } from "./packets.ts";
import { PacketReader } from "./reader.ts";

/** Who this side is and what it speaks, for one peer. */
export interface Identity {
  resource: string;
  nodeId: number;
  peerNodeId: number;
  protocolMin: number;
  protocolMax: number;
  features: number;
  auth?: AuthConfig;
  /** The imported secret when `auth` is set. */
  key?: CryptoKey;
}

/** What both sides agreed on. */
export interface Negotiated {
  protocolVersion: number;
  features: number;
}

/** The Hello this side sends on a socket. */
export function helloOf(local: Identity, channel: Channel, nonce: Uint8Array): HelloPacket {
  return {
    type: "Hello",
    protocolMin: local.protocolMin,
    protocolMax: local.protocolMax,
    features: local.features,
    nodeId: local.nodeId,
    peerNodeId: local.peerNodeId,
    channel,
    nonce,
    resource: local.resource,
    authAlg: local.auth ? canonicalAlg(local.auth.alg) : "",
  };
}

/**
 * Checks the peer's Hello against our identity and returns the negotiated version and features;
 * throws {@link HandshakeError} with a reason written from this side's point of view.
 */
export function checkHello(local: Identity, hello: HelloPacket): Negotiated {
  const lo = Math.max(local.protocolMin, hello.protocolMin);
  const hi = Math.min(local.protocolMax, hello.protocolMax);
  if (lo > hi) {
    throw new HandshakeError(
      DisconnectCode.VERSION,
      `incompatible protocol versions: we speak ${local.protocolMin}-${local.protocolMax}, ` +
        `the peer ${hello.protocolMin}-${hello.protocolMax}`,
    );
  }
  if (hello.resource !== local.resource) {
    throw new HandshakeError(
      DisconnectCode.WRONG_PEER,
      `wrong peer: it connects resource "${hello.resource}", expected "${local.resource}"`,
    );
  }
  if (hello.nodeId !== local.peerNodeId) {
    throw new HandshakeError(
      DisconnectCode.WRONG_PEER,
      `wrong peer: it is node ${hello.nodeId}, expected node ${local.peerNodeId}`,
    );
  }
  if (hello.peerNodeId !== local.nodeId) {
    throw new HandshakeError(
      DisconnectCode.WRONG_PEER,
      `wrong peer: it expects node ${hello.peerNodeId} here, this is node ${local.nodeId}`,
    );
  }
  const mine = local.auth ? canonicalAlg(local.auth.alg) : "";
  if (mine === "" && hello.authAlg !== "") {
    throw new HandshakeError(
      DisconnectCode.AUTH_CONFIG,
      "peer requires authentication but no shared-secret is configured",
    );
  }
  if (mine !== "" && hello.authAlg === "") {
    throw new HandshakeError(
      DisconnectCode.AUTH_CONFIG,
      "peer authentication failed: the peer has no shared-secret configured",
    );
  }
  if (mine !== hello.authAlg) {
    throw new HandshakeError(
      DisconnectCode.AUTH_CONFIG,
      `peer authentication failed: cram-hmac-alg differs (here ${mine}, peer ${hello.authAlg})`,
    );
  }
  return { protocolVersion: hi, features: local.features & hello.features };
}

/** One TCP connection during its handshake: reads with deadlines, refusal with a reason. */
export class HandshakeSocket {
  /** The connection. */
  readonly conn: Deno.TcpConn;
  /** Its packet reader; kept by the established connection so no buffered byte is lost. */
  readonly reader: PacketReader;
  #clock: Clock;
  #timeoutMs: number;
  #closed = false;

  /** Wraps `conn`; every read waits at most `timeoutMs` on `clock`. */
  constructor(conn: Deno.TcpConn, clock: Clock, timeoutMs: number) {
    this.conn = conn;
    this.reader = new PacketReader(conn, PRE_AUTH_MAX_PAYLOAD);
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** Switches to another clock and timeout (a listener hands the socket to an endpoint). */
  adopt(clock: Clock, timeoutMs: number): void {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
  }

  /** Whether the socket has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Writes one packet completely. */
  async write(packet: Packet): Promise<void> {
    const bytes = encodePacketBytes(packet);
    let done = 0;
    while (done < bytes.length) done += await this.conn.write(bytes.subarray(done));
  }

  /**
   * Reads the next packet, which must be of type `want`. A Disconnect becomes a
   * {@link HandshakeError} from the peer; silence beyond the timeout, EOF and read errors become
   * non-fatal HandshakeErrors; anything else unexpected is a {@link ProtocolError}.
   */
  async read<T extends PacketType>(want: T): Promise<PacketOf<T>> {
    let timedOut = false;
    const timer = this.#clock.setTimer(this.#timeoutMs, () => {
      timedOut = true;
      this.close();
    });
    let packet: Packet | null;
    try {
      packet = await this.reader.next();
    } catch (e) {
      if (timedOut) {
        throw new HandshakeError(
          DisconnectCode.TIMEOUT,
          `no ${want} from the peer within ${this.#timeoutMs} ms`,
        );
      }
      if (e instanceof ProtocolError) throw e;
      throw new HandshakeError(
        DisconnectCode.NORMAL,
        `connection lost during the handshake: ${(e as Error).message}`,
      );
    } finally {
      this.#clock.clearTimer(timer);
    }
    if (packet === null) {
      throw new HandshakeError(
        DisconnectCode.NORMAL,
        `the peer closed the connection while we waited for ${want}`,
      );
    }
    if (packet.type === "Disconnect") {
      throw new HandshakeError(
        packet.code,
        packet.code === DisconnectCode.RACE || packet.code === DisconnectCode.NO_SUCH_PEER
          ? `peer refused the connection: ${packet.message}`
          : packet.message,
        true,
      );
    }
    if (packet.type !== want) {
      throw new ProtocolError(`expected ${want} during the handshake, got ${packet.type}`);
    }
    return packet as PacketOf<T>;
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already gone
    }
  }

  /**
   * Tells the peer why we end the connection (a Disconnect packet, unless `err` came from the
   * peer) and shuts down our sending side; waits at most the timeout.
   */
  async goodbye(err: unknown): Promise<void> {
    if (this.#closed) return;
    const timer = this.#clock.setTimer(this.#timeoutMs, () => this.close());
    try {
      if (!(err instanceof HandshakeError && err.byPeer)) {
        const message = err instanceof Error ? err.message : String(err);
        await this.write({ type: "Disconnect", code: disconnectCodeOf(err), message });
      }
      await this.conn.closeWrite();
    } catch {
      // the peer is gone already; nothing more to say
    } finally {
      this.#clock.clearTimer(timer);
    }
  }

  /**
   * Refuses the connection: {@link HandshakeSocket.goodbye}, then reads until the peer closes
   * (at most the timeout) before closing, because closing with unread bytes resets the
   * connection and the peer might lose our reason.
   */
  async refuse(err: unknown): Promise<void> {
    if (this.#closed) return;
    await this.goodbye(err);
    const timer = this.#clock.setTimer(this.#timeoutMs, () => this.close());
    try {
      const scratch = new Uint8Array(4096);
      while (!this.#closed && (await this.conn.read(scratch)) !== null) {
        // discard until the peer closes
      }
    } catch {
      // closed by the deadline or reset by the peer
    } finally {
      this.#clock.clearTimer(timer);
      this.close();
    }
  }
}

/**
 * Runs challenge-response authentication on a socket whose Hello exchange succeeded (both sides
 * configured the same algorithm). Throws {@link HandshakeError} when the peer's answer is wrong.
 */
export async function authenticate(
  sock: HandshakeSocket,
  local: Identity,
  channel: Channel,
  nonce: Uint8Array,
): Promise<void> {
  if (!local.key) return;
  const mine = newChallenge();
  await sock.write({ type: "AuthChallenge", bytes: mine });
  const theirs = (await sock.read("AuthChallenge")).bytes;
  if (theirs.length === mine.length && theirs.every((b, i) => b === mine[i])) {
    throw new HandshakeError(
      DisconnectCode.AUTH_FAILED,
      "peer authentication failed: the peer sent our own challenge back",
    );
  }
  const ch = channel === "data" ? 0 : 1;
  const answer = await respond(local.key, {
    verifierChallenge: theirs,
    responderChallenge: mine,
    responderNodeId: local.nodeId,
    verifierNodeId: local.peerNodeId,
    nonce,
    channel: ch,
  });
  await sock.write({ type: "AuthResponse", bytes: answer });
  const response = (await sock.read("AuthResponse")).bytes;
  const ok = await verifyAnswer(local.key, response, {
    verifierChallenge: mine,
    responderChallenge: theirs,
    responderNodeId: local.peerNodeId,
    verifierNodeId: local.nodeId,
    nonce,
    channel: ch,
  });
  if (!ok) {
    throw new HandshakeError(
      DisconnectCode.AUTH_FAILED,
      "peer authentication failed: wrong shared secret",
    );
  }
}
