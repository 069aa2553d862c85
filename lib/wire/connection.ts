/**
 * An established connection to one peer: the data socket for bulk traffic and the meta socket
 * for acks and pings, each with its own bounded send queue, so acks never wait behind data.
 * Keep-alive pings, reply timeouts and orderly shutdown live here; the engine sees packets.
 *
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";
import { type Channel, DisconnectCode, MAX_PAYLOAD } from "./constants.ts";
import { ConnectionClosedError, HandshakeError, ProtocolError } from "./errors.ts";
import type { HandshakeSocket } from "./handshake.ts";
import { COMMANDS, type Packet } from "./packets.ts";
import { PacketWriter } from "./writer.ts";
import { type ApplyBufferOptions, applyBufferSizes, type BufferSizes } from "./sockopt.ts";

/** Largest payload accepted on the meta socket (acks, pings, replies, Disconnect). */
export const META_MAX_PAYLOAD = 4096;

/** What was agreed when the connection was established. */
export interface ConnectionInfo {
  resource: string;
  nodeId: number;
  peerNodeId: number;
  /** Negotiated protocol version. */
  protocolVersion: number;
  /** Negotiated {@link Feature} bits (both sides have them). */
  features: number;
  /** The pairing nonce of this connection, hex; the same string on both sides. */
  id: string;
  /** Whether this side dialed the sockets (false: accepted them). */
  dialed: boolean;
  /** Index of the path (connectPeer's `paths`; 0 for a single path) the sockets came through. */
  path: number;
}

/** How and why a connection ended. */
export interface CloseInfo {
  /** Human-readable reason, suitable for the log. */
  reason: string;
  /** "local": close() was called; "peer": the peer said Disconnect; "lost": error or timeout. */
  by: "local" | "peer" | "lost";
  /** The {@link DisconnectCode} (the peer's when by "peer"). */
  code: number;
  /**
   * The peer's end went away under us: end of stream without a Disconnect, or a socket error
   * on read or send (DRBD's BrokenPipe), rather than a timeout.
   */
  broken?: boolean;
}

/** Timing and queue settings of an established connection. */
export interface ConnectionTimings {
  clock: Clock;
  /** Idle time before a keep-alive Ping (ping-int). */
  pingIntMs: number;
  /** Time a PingAck may take (ping-timeout). */
  pingTimeoutMs: number;
  /** Time an expected reply may take ({@link PeerConnection.expectReply}); net `timeout`. */
  timeoutMs: number;
  /** Send queue bound per socket, in packets (max-buffers). */
  maxBuffers: number;
}

interface Expected {
  due: number;
  what: string;
  settled: boolean;
}

/** One peer's pair of sockets after a successful handshake. */
export class PeerConnection {
  /** What was negotiated. */
  readonly info: ConnectionInfo;
  /** Resolves once, when the connection has ended and both sockets are closed. */
  readonly closed: Promise<CloseInfo>;

  #data: HandshakeSocket;
  #meta: HandshakeSocket;
  #writers: Record<Channel, PacketWriter>;
  #t: ConnectionTimings;
  #state: "connected" | "closing" | "closed" = "connected";
  #resolveClosed!: (info: CloseInfo) => void;
  #closeInfo: CloseInfo | undefined;
  #metaInbox: Packet[] = [];
  #metaWaiter: (() => void) | undefined;
  #metaSpace: (() => void) | undefined;
  #metaLoop: Promise<void>;
  #dataIterating = false;
  #metaIterating = false;
  #pingTimer: TimerHandle | undefined;
  #pingTimeout: TimerHandle | undefined;
  #expected: Expected[] = [];
  #expectTimer: TimerHandle | undefined;
  #pingsSent = 0;
  #pingAcks = 0;

  /** Takes over two authenticated sockets; starts the meta reader and the keep-alive. */
  constructor(
    data: HandshakeSocket,
    meta: HandshakeSocket,
    info: ConnectionInfo,
    timings: ConnectionTimings,
  ) {
    this.info = info;
    this.#data = data;
    this.#meta = meta;
    this.#t = timings;
    this.closed = new Promise((r) => this.#resolveClosed = r);
    data.reader.maxPayload = MAX_PAYLOAD;
    meta.reader.maxPayload = META_MAX_PAYLOAD;
    const lost = (e: unknown) => this.#lose(`send failed: ${(e as Error).message}`, true);
    this.#writers = {
      data: new PacketWriter(data.conn, timings.maxBuffers, lost),
      meta: new PacketWriter(meta.conn, timings.maxBuffers, lost),
    };
    try {
      meta.conn.setNoDelay(true);
      // The writer coalesces packets itself; Nagle would only delay the last one of a burst.
      data.conn.setNoDelay(true);
      data.conn.setKeepAlive(true);
      meta.conn.setKeepAlive(true);
    } catch {
      // socket options are an optimisation
    }
    this.#metaLoop = this.#readMeta();
    this.#schedulePing();
  }

  /** "connected", "closing" (close() in progress) or "closed". */
  get state(): "connected" | "closing" | "closed" {
    return this.#state;
  }

  /** Packets accepted for `channel` and not yet written (at most maxBuffers). */
  queued(channel: Channel): number {
    return this.#writers[channel].queued;
  }

  /** Counters for status and tests. */
  get stats(): {
    highWater: Record<Channel, number>;
    waiting: Record<Channel, number>;
    pingsSent: number;
    pingAcks: number;
  } {
    return {
      highWater: { data: this.#writers.data.highWater, meta: this.#writers.meta.highWater },
      waiting: { data: this.#writers.data.waiting, meta: this.#writers.meta.waiting },
      pingsSent: this.#pingsSent,
      pingAcks: this.#pingAcks,
    };
  }

  /**
   * Sends `packet` on its socket (data or meta, fixed per packet type). Waits while that
   * socket's queue is full (back-pressure) and resolves when the packet has been handed to the
   * kernel, which is protocol A's completion point. Rejects with {@link ConnectionClosedError}
   * once the connection ends. Payload buffers must stay unchanged until it resolves.
   */
  send(packet: Packet): Promise<void> {
    const route = COMMANDS[packet.type].route;
    if (route === "handshake" || packet.type === "Disconnect") {
      return Promise.reject(new TypeError(`${packet.type} is sent by the transport itself`));
    }
    if (this.#state !== "connected") {
      return Promise.reject(new ConnectionClosedError(this.#closeInfo?.reason ?? "closing"));
    }
    return this.#writers[route === "data" ? "data" : "meta"].send(packet);
  }

  /**
   * The packets arriving on `channel`, in order; one consumer per channel. Data packets are read
   * from the socket only as fast as they are consumed (TCP back-pressure to the sender), and
   * their payload views are valid until the next packet is pulled. Meta packets are read
   * eagerly (Ping/PingAck are answered and hidden) into a queue bounded by maxBuffers. The
   * iteration ends when the connection ends; {@link PeerConnection.closed} says why. No data
   * packet is yielded once the connection has ended, even one read (or buffered) before; meta
   * packets already queued then (acks the peer sent before the end) are still delivered.
   */
  packets(channel: Channel): AsyncIterableIterator<Packet> {
    if (channel === "data") {
      if (this.#dataIterating) throw new Error("the data channel already has a consumer");
      this.#dataIterating = true;
      return this.#dataPackets();
    }
    if (this.#metaIterating) throw new Error("the meta channel already has a consumer");
    this.#metaIterating = true;
    return this.#metaPackets();
  }

  /**
   * Gives both sockets new `sndbuf-size` / `rcvbuf-size` at once, as DRBD does when net-options
   * changes them on a connected resource. Never throws: what cannot be applied is reported
   * through `options.onWarning` (see {@link applyBufferSizes}).
   */
  applyBufferSizes(sizes: BufferSizes, options: ApplyBufferOptions = {}): void {
    if (this.#state === "closed") return;
    for (const { conn } of [this.#data, this.#meta]) {
      applyBufferSizes({ local: conn.localAddr, remote: conn.remoteAddr }, sizes, options);
    }
  }

  /**
   * Registers an answer we wait for (a write ack, a state change reply): unless the returned
   * function is called within `timeoutMs`, the connection is lost with a reason naming `what`.
   */
  expectReply(what: string): () => void {
    const entry: Expected = { due: this.#t.clock.now() + this.#t.timeoutMs, what, settled: false };
    if (this.#state !== "connected") return () => {};
    this.#expected.push(entry);
    if (this.#expectTimer === undefined) this.#armExpect();
    return () => entry.settled = true;
  }

  /**
   * Ends the connection on purpose: queued packets are dropped (their sends reject), the peer
   * is told `reason` (and `code`, a {@link DisconnectCode}) on the meta socket, and both sockets
   * are closed. Resolves when done.
   */
  async close(reason = "closed by request", code: number = DisconnectCode.NORMAL): Promise<void> {
    await this.#shutdown({ reason, by: "local", code }, true);
    await this.closed;
  }

  // --- receiving ---------------------------------------------------------------------------------

  async *#dataPackets(): AsyncGenerator<Packet> {
    while (this.#state === "connected") {
      let packet: Packet | null;
      try {
        packet = await this.#data.reader.next();
      } catch (e) {
        this.#readFailed("data", e);
        return;
      }
      // The connection may have ended while we waited (the meta socket lost, close() called):
      // a packet read since belongs to a connection the engine has already given up.
      if (this.#state !== "connected") return;
      if (packet === null) {
        this.#lose("the peer closed the data socket", true);
        return;
      }
      if (packet.type === "Disconnect") {
        this.#peerClosed(packet.code, packet.message);
        return;
      }
      if (COMMANDS[packet.type].route !== "data") {
        this.#protocolError(`${packet.type} packet on the data socket`);
        return;
      }
      yield packet;
    }
  }

  async *#metaPackets(): AsyncGenerator<Packet> {
    for (;;) {
      while (this.#metaInbox.length === 0) {
        if (this.#state !== "connected") return;
        await new Promise<void>((r) => this.#metaWaiter = r);
      }
      const packet = this.#metaInbox.shift()!;
      this.#metaSpace?.();
      this.#metaSpace = undefined;
      yield packet;
    }
  }

  async #readMeta(): Promise<void> {
    for (;;) {
      let packet: Packet | null;
      try {
        packet = await this.#meta.reader.next();
      } catch (e) {
        this.#readFailed("meta", e);
        return;
      }
      if (packet === null) {
        this.#lose("the peer closed the meta socket", true);
        return;
      }
      // While closing, read on until the peer closes, so our close does not reset the socket.
      if (this.#state !== "connected") continue;
      switch (packet.type) {
        case "Ping":
          this.#writers.meta.send({ type: "PingAck" }).catch(() => {});
          continue;
        case "PingAck":
          this.#pingAcks++;
          if (this.#pingTimeout !== undefined) {
            this.#t.clock.clearTimer(this.#pingTimeout);
            this.#pingTimeout = undefined;
            this.#schedulePing();
          }
          continue;
        case "Disconnect":
          this.#peerClosed(packet.code, packet.message);
          return;
      }
      if (COMMANDS[packet.type].route !== "meta") {
        this.#protocolError(`${packet.type} packet on the meta socket`);
        continue;
      }
      while (this.#metaInbox.length >= this.#t.maxBuffers && this.#state === "connected") {
        await new Promise<void>((r) => this.#metaSpace = r);
      }
      if (this.#state !== "connected") continue;
      this.#metaInbox.push(packet);
      this.#metaWaiter?.();
      this.#metaWaiter = undefined;
    }
  }

  #readFailed(channel: Channel, e: unknown): void {
    if (this.#state !== "connected") return;
    if (e instanceof ProtocolError) this.#protocolError(e.message);
    else this.#lose(`${channel} socket: ${(e as Error).message}`, true);
  }

  // --- keep-alive and reply timeouts -------------------------------------------------------------

  #schedulePing(): void {
    if (this.#state !== "connected") return;
    this.#pingTimer = this.#t.clock.setTimer(this.#t.pingIntMs, () => {
      this.#pingTimer = undefined;
      if (this.#state !== "connected") return;
      this.#pingsSent++;
      this.#pingTimeout = this.#t.clock.setTimer(this.#t.pingTimeoutMs, () => {
        this.#pingTimeout = undefined;
        this.#lose(`PingAck did not arrive in time (ping-timeout ${this.#t.pingTimeoutMs} ms)`);
      });
      this.#writers.meta.send({ type: "Ping" }).catch(() => {});
    });
  }

  #armExpect(): void {
    const head = this.#expected[0];
    if (!head) return;
    this.#expectTimer = this.#t.clock.setTimer(
      Math.max(0, head.due - this.#t.clock.now()),
      () => {
        this.#expectTimer = undefined;
        const now = this.#t.clock.now();
        // Deadlines are in send order (one timeout for all), so the queue is sorted.
        while (this.#expected.length > 0) {
          const e = this.#expected[0];
          if (e.settled) this.#expected.shift();
          else if (e.due <= now) {
            this.#lose(`no ${e.what} from the peer within ${this.#t.timeoutMs} ms (timeout)`);
            return;
          } else break;
        }
        this.#armExpect();
      },
    );
  }

  #stopTimers(): void {
    for (const t of [this.#pingTimer, this.#pingTimeout, this.#expectTimer]) {
      if (t !== undefined) this.#t.clock.clearTimer(t);
    }
    this.#pingTimer = this.#pingTimeout = this.#expectTimer = undefined;
    this.#expected.length = 0;
  }

  // --- ending ------------------------------------------------------------------------------------

  #protocolError(message: string): void {
    const reason = `protocol error: ${message}`;
    this.#shutdown({ reason, by: "lost", code: DisconnectCode.PROTOCOL_ERROR }, true);
  }

  #peerClosed(code: number, message: string): void {
    const reason = `the peer closed the connection: ${message}`;
    this.#shutdown({ reason, by: "peer", code }, false);
  }

  #lose(reason: string, broken = false): void {
    this.#shutdown({ reason, by: "lost", code: DisconnectCode.NORMAL, broken }, false);
  }

  /**
   * Ends the connection once: rejects pending sends, stops timers; with `tell`, sends the peer a
   * Disconnect on the meta socket and waits (bounded by the timeout) for the peer to close.
   */
  async #shutdown(info: CloseInfo, tell: boolean): Promise<void> {
    if (this.#state !== "connected") return;
    this.#state = "closing";
    this.#closeInfo = info;
    this.#writers.data.close(info.reason);
    this.#writers.meta.close(info.reason);
    this.#stopTimers();
    this.#metaSpace?.();
    this.#metaWaiter?.();
    if (tell) {
      const deadline = this.#t.clock.setTimer(this.#t.timeoutMs, () => this.#finish());
      const err = info.code === DisconnectCode.PROTOCOL_ERROR
        ? new ProtocolError(info.reason)
        : new HandshakeError(info.code, info.reason);
      // A write in progress finishes first, so the Disconnect does not split a packet.
      await this.#writers.meta.idle();
      await this.#meta.goodbye(err);
      await this.#metaLoop;
      this.#t.clock.clearTimer(deadline);
    }
    this.#finish();
  }

  #finish(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    this.#stopTimers();
    this.#data.close();
    this.#meta.close();
    this.#metaWaiter?.();
    this.#metaSpace?.();
    this.#resolveClosed(this.#closeInfo!);
  }
}
