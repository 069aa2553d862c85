/**
 * Establishing peer connections: a data socket and a meta socket per peer, paired by a random
 * nonce, each authenticated on its own. Connecting is symmetric as in DRBD: both sides may dial
 * and accept at the same time; the node with the higher node id decides which socket pair is
 * kept (it sends PairCommit on that pair's data socket and refuses every other pair).
 *
 * @module
 */

import { type AuthConfig, canonicalAlg, importSecret } from "./auth.ts";
import { type Clock, systemClock, type TimerHandle } from "./clock.ts";
import {
  ALL_FEATURES,
  type Channel,
  DisconnectCode,
  MAX_NODE_ID,
  MAX_PAYLOAD,
  NONCE_SIZE,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
} from "./constants.ts";
import { META_MAX_PAYLOAD, PeerConnection } from "./connection.ts";
import { HandshakeError, ProtocolError } from "./errors.ts";
import {
  authenticate,
  checkHello,
  HandshakeSocket,
  helloOf,
  type Identity,
  type Negotiated,
} from "./handshake.ts";
import type { HelloPacket } from "./packets.ts";
import { applyBufferSizes, type BufferSizes, LiveBufferSizes } from "./sockopt.ts";

/** A TCP address. */
export interface Address {
  /** Defaults to 0.0.0.0 for listening; required sense for dialing ("127.0.0.1" default). */
  hostname?: string;
  port: number;
}

/** Who we are, who the peer must be, and the net options of the connection. */
export interface PeerOptions {
  resource: string;
  /** This node's id (0..31). */
  nodeId: number;
  /** The peer's node id (0..31). */
  peerNodeId: number;
  /** `cram-hmac-alg` and `shared-secret`; omit for no authentication. */
  auth?: AuthConfig;
  /** Protocol versions offered (default: all this build speaks). */
  protocolMin?: number;
  protocolMax?: number;
  /** {@link Feature} bits offered (default: all). */
  features?: number;
  /** ping-int in ms (default 10000). */
  pingIntMs?: number;
  /** ping-timeout in ms (default 500). */
  pingTimeoutMs?: number;
  /** timeout in ms: handshake steps and expected replies (default 6000). */
  timeoutMs?: number;
  /** connect-int in ms: pause between dial attempts (default 10000). */
  connectIntMs?: number;
  /** max-buffers: send queue bound per socket in packets (default 2048). */
  maxBuffers?: number;
  /**
   * sndbuf-size / rcvbuf-size in bytes (default 0: the kernel's autotuning). Set on our
   * listeners before they accept and on dialed sockets right after connecting (sockopt.ts).
   */
  sndbufSize?: number;
  rcvbufSize?: number;
  /**
   * The same sizes, changeable while connecting and while connected (net-options): a change
   * reaches our listeners, later dialed sockets and the established connection's sockets at
   * once. Given, it replaces `sndbufSize` and `rcvbufSize`.
   */
  bufferSizes?: LiveBufferSizes;
  /** Hears, once each, why a socket option could not be applied (the connection goes on). */
  onWarning?: (message: string) => void;
  /** Time source of every timer (default: the system clock). */
  clock?: Clock;
  /** Aborting stops connecting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Hears every failed attempt (refusals, wrong secret, connection refused...) for the log. */
  onAttemptFailed?: (err: Error) => void;
  /**
   * Keep trying after a configuration error (wrong secret, wrong peer, no common version)
   * instead of rejecting with it, as DRBD keeps trying while the admin fixes the other side.
   */
  retryFatal?: boolean;
}

/** One path of a connection: our address to accept on and the peer's to dial. */
export interface PathAddresses {
  /** The peer's address to dial, every connect-int until connected. */
  remote?: Address;
  /** Our address to accept on (a listener of our own for this call), or a shared listener. */
  local?: Address | PeerListener;
}

/**
 * Options of {@link connectPeer}: dial `remote`, accept on `local`, or both (symmetric); or
 * several `paths` at once (DRBD's several `path` sections), of which the first pair of sockets
 * to complete its handshake wins.
 */
export interface ConnectOptions extends PeerOptions, PathAddresses {
  /** Several paths, used instead of `remote` and `local`. */
  paths?: PathAddresses[];
}

const DEFAULTS = {
  pingIntMs: 10_000,
  pingTimeoutMs: 500,
  timeoutMs: 6_000,
  connectIntMs: 10_000,
  maxBuffers: 2048,
};

type Resolved = Required<Pick<PeerOptions, keyof typeof DEFAULTS>> & PeerOptions & {
  clock: Clock;
  buffers: LiveBufferSizes;
};

function resolveOptions(opts: PeerOptions): Resolved {
  for (const [name, id] of [["nodeId", opts.nodeId], ["peerNodeId", opts.peerNodeId]] as const) {
    if (!Number.isInteger(id) || id < 0 || id > MAX_NODE_ID) {
      throw new RangeError(`${name} ${id} is not a node id (0..${MAX_NODE_ID})`);
    }
  }
  if (opts.nodeId === opts.peerNodeId) throw new RangeError("a node cannot be its own peer");
  if (opts.auth) canonicalAlg(opts.auth.alg);
  const r = {
    ...DEFAULTS,
    clock: systemClock,
    ...opts,
    buffers: opts.bufferSizes ?? new LiveBufferSizes(bufferSizesOf(opts)),
  };
  for (const k of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    if (!(r[k] > 0)) throw new RangeError(`${k} must be positive`);
  }
  return r;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function endpointKey(resource: string, nodeId: number, peerNodeId: number): string {
  return `${resource}\0${nodeId}\0${peerNodeId}`;
}

/**
 * Connects to one peer and resolves with the established {@link PeerConnection}. With `remote`
 * it dials every connect-int; with `local` it accepts; with both it does both, and whichever
 * pair the higher node id keeps wins. Failed attempts go to `onAttemptFailed`; configuration
 * errors ({@link HandshakeError} with `fatal`) reject unless `retryFatal`.
 */
export async function connectPeer(options: ConnectOptions): Promise<PeerConnection> {
  const paths = options.paths ?? [{ remote: options.remote, local: options.local }];
  if (paths.length === 0 || paths.some((p) => !p.remote && !p.local)) {
    throw new TypeError("connectPeer needs a remote address, local, or both (on every path)");
  }
  const opts = resolveOptions(options);
  const own: PeerListener[] = [];
  const listeners: { listener: PeerListener; path: number }[] = [];
  // DRBD sets the sizes on its listeners when it creates them; ours outlive a net-options
  // change made while connecting, so they follow it (a shared listener is its owner's).
  const unwatch = opts.buffers.watch((sizes) => {
    for (const l of own) l.applyBufferSizes(sizes, opts.onWarning);
  });
  try {
    paths.forEach(({ local }, path) => {
      if (!local) return;
      if (local instanceof PeerListener) listeners.push({ listener: local, path });
      else {
        const l = listenPeer({
          ...local,
          clock: opts.clock,
          timeoutMs: opts.timeoutMs,
          sndbufSize: opts.buffers.sizes.sndbuf,
          rcvbufSize: opts.buffers.sizes.rcvbuf,
          onWarning: opts.onWarning,
        });
        own.push(l);
        listeners.push({ listener: l, path });
      }
    });
    const remotes = paths.flatMap((p, path) => p.remote ? [{ address: p.remote, path }] : []);
    return await new Endpoint(opts, await identityOf(opts)).run(remotes, listeners);
  } finally {
    unwatch();
    await Promise.all(own.map((l) => l.close()));
  }
}

async function identityOf(opts: Resolved): Promise<Identity> {
  return {
    resource: opts.resource,
    nodeId: opts.nodeId,
    peerNodeId: opts.peerNodeId,
    protocolMin: opts.protocolMin ?? PROTOCOL_VERSION_MIN,
    protocolMax: opts.protocolMax ?? PROTOCOL_VERSION_MAX,
    features: opts.features ?? ALL_FEATURES,
    auth: opts.auth,
    key: opts.auth ? await importSecret(opts.auth) : undefined,
  };
}

/** Options of {@link listenPeer}: the address, and what applies to every accepted socket. */
export interface ListenOptions
  extends Address, Pick<PeerOptions, "sndbufSize" | "rcvbufSize" | "onWarning"> {
  clock?: Clock;
  timeoutMs?: number;
}

/**
 * Starts accepting peer sockets on `address`. One listener can serve many resources and peers:
 * each {@link PeerListener.accept} (or {@link connectPeer} with it as `local`) registers one
 * resource/node pair; sockets are routed by the Hello they start with. `sndbufSize` and
 * `rcvbufSize` are set on the listening socket, so accepted sockets have them from the start.
 */
export function listenPeer(address: ListenOptions): PeerListener {
  const l = new PeerListener(address, address.clock ?? systemClock, address.timeoutMs ?? 6000);
  l.applyBufferSizes(bufferSizesOf(address), address.onWarning);
  return l;
}

function bufferSizesOf(o: Pick<PeerOptions, "sndbufSize" | "rcvbufSize">): BufferSizes {
  return { sndbuf: o.sndbufSize ?? 0, rcvbuf: o.rcvbufSize ?? 0 };
}

function sameSizes(a: BufferSizes, b: BufferSizes): boolean {
  return a.sndbuf === b.sndbuf && a.rcvbuf === b.rcvbuf;
}

/** A TCP listener for peer sockets; see {@link listenPeer}. */
export class PeerListener {
  /** The address actually bound (port 0 picks a free port). */
  readonly addr: Deno.NetAddr;
  #listener: Deno.TcpListener;
  #endpoints = new Map<string, Endpoint>();
  #tasks = new Set<Promise<void>>();
  #unrouted = new Set<HandshakeSocket>();
  #clock: Clock;
  #timeoutMs: number;
  #loop: Promise<void>;
  #closed = false;
  #buffers: BufferSizes = { sndbuf: 0, rcvbuf: 0 };

  /** Binds `address`; use {@link listenPeer}. */
  constructor(address: Address, clock: Clock, timeoutMs: number) {
    this.#listener = Deno.listen({ hostname: address.hostname ?? "0.0.0.0", port: address.port });
    this.addr = this.#listener.addr;
    this.#clock = clock;
    this.#timeoutMs = timeoutMs;
    this.#loop = this.#acceptLoop();
  }

  /**
   * Sets sndbuf-size / rcvbuf-size on the listening socket. Sockets accepted later inherit
   * them, and Linux sizes the receive window of each from it at the handshake.
   */
  applyBufferSizes(sizes: BufferSizes, onWarning?: (message: string) => void): void {
    if (sameSizes(sizes, this.#buffers)) return;
    applyBufferSizes({ local: this.addr }, sizes, { onWarning, previous: this.#buffers });
    this.#buffers = sizes;
  }

  /** Waits for `options.peerNodeId` to connect to us (no dialing) and resolves with the connection. */
  async accept(options: PeerOptions): Promise<PeerConnection> {
    const opts = resolveOptions(options);
    return await new Endpoint(opts, await identityOf(opts)).run([], [{ listener: this, path: 0 }]);
  }

  /** Stops listening, refuses sockets not yet routed, and waits for that to finish. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    for (const s of this.#unrouted) s.close();
    for (const ep of this.#endpoints.values()) ep.abort(new Error("the peer listener was closed"));
    await this.#loop;
    await Promise.allSettled(this.#tasks);
  }

  /** @internal Registers an endpoint; sockets for its resource/node pair go to it. */
  register(ep: Endpoint): void {
    const key = endpointKey(ep.identity.resource, ep.identity.nodeId, ep.identity.peerNodeId);
    if (this.#endpoints.has(key)) {
      throw new Error(
        `already accepting resource ${ep.identity.resource} from node ${ep.identity.peerNodeId}`,
      );
    }
    this.#endpoints.set(key, ep);
  }

  /** @internal Removes an endpoint. */
  unregister(ep: Endpoint): void {
    const key = endpointKey(ep.identity.resource, ep.identity.nodeId, ep.identity.peerNodeId);
    if (this.#endpoints.get(key) === ep) this.#endpoints.delete(key);
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // closed
      }
      const task = this.#route(conn).finally(() => this.#tasks.delete(task));
      this.#tasks.add(task);
    }
  }

  async #route(conn: Deno.TcpConn): Promise<void> {
    const sock = new HandshakeSocket(conn, this.#clock, this.#timeoutMs);
    this.#unrouted.add(sock);
    let hello: HelloPacket;
    try {
      hello = await sock.read("Hello");
    } catch (e) {
      this.#unrouted.delete(sock);
      await sock.refuse(e);
      return;
    }
    this.#unrouted.delete(sock);
    const key = endpointKey(hello.resource, hello.peerNodeId, hello.nodeId);
    // A resource with a single registration answers even a wrong node id, so that both sides
    // learn exactly what does not match; another resource is simply not here (yet).
    const exact = this.#endpoints.get(key);
    const same = [...this.#endpoints.values()].filter((e) =>
      e.identity.resource === hello.resource
    );
    const ep = exact ?? (same.length === 1 ? same[0] : undefined);
    if (!ep || this.#closed) {
      await sock.refuse(
        new HandshakeError(
          DisconnectCode.NO_SUCH_PEER,
          `no resource "${hello.resource}" with node ${hello.peerNodeId} accepting node ${hello.nodeId} here`,
        ),
      );
      return;
    }
    await ep.adopt(sock, hello, !exact, this);
  }
}

interface Pair {
  id: string;
  nonce: Uint8Array;
  dialed: boolean;
  /** Index of the path (in connectPeer's `paths`) this pair came through. */
  path: number;
  /** Sockets still in their handshake. */
  pending: Set<HandshakeSocket>;
  ready: Partial<Record<Channel, { sock: HandshakeSocket; neg: Negotiated }>>;
  over: boolean;
  timer?: TimerHandle;
  outcome: PromiseWithResolvers<void>;
}

/** One resource/peer pair being connected: its dial loop, its socket pairs, the race decision. */
class Endpoint {
  readonly identity: Identity;
  #o: Resolved;
  #high: boolean;
  #pairs = new Map<string, Pair>();
  #tasks = new Set<Promise<void>>();
  /** A pair has been committed (or is being committed): refuse all others. */
  #done = false;
  #finished = false;
  #result = Promise.withResolvers<PeerConnection>();
  /** Ends the connect-int pauses of the dial loops (one per path). */
  #wake = new Set<() => void>();
  /** The path index of each listener we accept on. */
  #listenerPath = new Map<PeerListener, number>();

  constructor(opts: Resolved, identity: Identity) {
    this.#o = opts;
    this.identity = identity;
    // As in DRBD's connect race resolution, one side decides; here the higher node id.
    this.#high = opts.nodeId > opts.peerNodeId;
  }

  async run(
    remotes: readonly { address: Address; path: number }[],
    listeners: readonly { listener: PeerListener; path: number }[],
  ): Promise<PeerConnection> {
    const signal = this.#o.signal;
    signal?.throwIfAborted();
    const registered: PeerListener[] = [];
    const onAbort = () => this.#fail(signal!.reason ?? new Error("connecting was aborted"));
    signal?.addEventListener("abort", onAbort);
    try {
      for (const { listener, path } of listeners) {
        listener.register(this);
        registered.push(listener);
        this.#listenerPath.set(listener, path);
      }
      for (const { address, path } of remotes) this.#track(this.#dialLoop(address, path));
      return await this.#result.promise;
    } finally {
      this.#finished = true;
      for (const wake of this.#wake) wake();
      signal?.removeEventListener("abort", onAbort);
      for (const l of registered) l.unregister(this);
      const race = new HandshakeError(DisconnectCode.RACE, "another socket pair was chosen");
      for (const pair of [...this.#pairs.values()]) this.#pairOver(pair, race, undefined);
      while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    }
  }

  /** Stops connecting; {@link Endpoint.run} rejects with `err`. */
  abort(err: Error): void {
    this.#fail(err);
  }

  /**
   * Takes a socket accepted by the listener after its Hello arrived. A `stray` socket was meant
   * for another resource or node: we answer so its sender learns exactly what is wrong, but a
   * stranger at our door is no reason for us to give up (never fatal here).
   */
  adopt(
    sock: HandshakeSocket,
    hello: HelloPacket,
    stray: boolean,
    listener: PeerListener,
  ): Promise<void> {
    sock.adopt(this.#o.clock, this.#o.timeoutMs);
    // Accepted sockets inherit the listener's sizes, but a shared listener may carry others,
    // and a peer can get through between Deno's listen() and our setsockopt on the listener.
    this.#applyBuffers(sock.conn);
    const task = (async () => {
      const id = hex(hello.nonce);
      let pair = this.#pairs.get(id);
      if (pair && pair.dialed) {
        await sock.refuse(new ProtocolError("the peer reused our connection nonce"));
        return;
      }
      if (this.#finished) {
        await sock.refuse(new HandshakeError(DisconnectCode.RACE, "already connected"));
        return;
      }
      pair ??= this.#newPair(hello.nonce, false, this.#listenerPath.get(listener) ?? 0);
      pair.pending.add(sock);
      try {
        await sock.write(helloOf(this.identity, hello.channel, hello.nonce));
        const neg = checkHello(this.identity, hello);
        await authenticate(sock, this.identity, hello.channel, hello.nonce);
        await this.#socketReady(pair, hello.channel, sock, neg);
      } catch (e) {
        const err = stray && e instanceof HandshakeError
          ? new HandshakeError(e.code, e.message, e.byPeer, false)
          : e;
        await this.#socketFailed(pair, sock, err);
      }
    })();
    return this.#track(task);
  }

  #track(task: Promise<void>): Promise<void> {
    const t = task.catch(() => {}).finally(() => this.#tasks.delete(t));
    this.#tasks.add(t);
    return t;
  }

  #newPair(nonce: Uint8Array, dialed: boolean, path: number): Pair {
    const pair: Pair = {
      id: hex(nonce),
      nonce,
      dialed,
      path,
      pending: new Set(),
      ready: {},
      over: false,
      outcome: Promise.withResolvers<void>(),
    };
    this.#pairs.set(pair.id, pair);
    return pair;
  }

  async #dialLoop(remote: Address, path: number): Promise<void> {
    while (!this.#finished) {
      const nonce = crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
      const pair = this.#newPair(nonce, true, path);
      await Promise.all(
        (["data", "meta"] as const).map((ch) => this.#track(this.#dialSocket(remote, ch, pair))),
      );
      await pair.outcome.promise;
      if (this.#finished) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#o.clock.clearTimer(t);
          this.#wake.delete(wake);
          resolve();
        };
        const t = this.#o.clock.setTimer(this.#o.connectIntMs, wake);
        this.#wake.add(wake);
      });
    }
  }

  async #dialSocket(remote: Address, channel: Channel, pair: Pair): Promise<void> {
    const hostname = remote.hostname ?? "127.0.0.1";
    let conn: Deno.TcpConn;
    try {
      conn = await this.#connectTcp(hostname, remote.port);
    } catch (e) {
      this.#pairOver(
        pair,
        new HandshakeError(
          DisconnectCode.NORMAL,
          `cannot connect to ${hostname}:${remote.port}: ${(e as Error).message}`,
        ),
        undefined,
      );
      return;
    }
    // Deno connects before we can reach the socket: Linux has already picked the receive
    // window scale, so a rcvbuf-size above the system's default maximum is not fully usable.
    this.#applyBuffers(conn);
    const sock = new HandshakeSocket(conn, this.#o.clock, this.#o.timeoutMs);
    if (pair.over || this.#finished) {
      sock.close();
      return;
    }
    pair.pending.add(sock);
    try {
      await sock.write(helloOf(this.identity, channel, pair.nonce));
      const hello = await sock.read("Hello");
      if (hello.channel !== channel || hex(hello.nonce) !== pair.id) {
        throw new ProtocolError("the peer's Hello does not echo our socket kind and nonce");
      }
      const neg = checkHello(this.identity, hello);
      await authenticate(sock, this.identity, channel, pair.nonce);
      await this.#socketReady(pair, channel, sock, neg);
    } catch (e) {
      await this.#socketFailed(pair, sock, e);
    }
  }

  #applyBuffers(conn: Deno.TcpConn): void {
    applyBufferSizes(
      { local: conn.localAddr, remote: conn.remoteAddr },
      this.#o.buffers.sizes,
      { onWarning: this.#o.onWarning },
    );
  }

  /** Deno.connect bounded by the timeout (it has no abort signal). */
  #connectTcp(hostname: string, port: number): Promise<Deno.TcpConn> {
    const connecting = Deno.connect({ hostname, port });
    return new Promise((resolve, reject) => {
      let late = false;
      const t = this.#o.clock.setTimer(this.#o.timeoutMs, () => {
        late = true;
        reject(new Error(`no answer within ${this.#o.timeoutMs} ms`));
      });
      connecting.then(
        (c) => {
          this.#o.clock.clearTimer(t);
          if (late) c.close();
          else resolve(c);
        },
        (e) => {
          this.#o.clock.clearTimer(t);
          reject(e);
        },
      );
    });
  }

  async #socketReady(
    pair: Pair,
    channel: Channel,
    sock: HandshakeSocket,
    neg: Negotiated,
  ): Promise<void> {
    pair.pending.delete(sock);
    if (pair.over) {
      sock.close();
      return;
    }
    if (pair.ready[channel]) {
      throw new ProtocolError(`two ${channel} sockets with the same nonce`);
    }
    pair.ready[channel] = { sock, neg };
    // Past authentication: the limits of an established connection apply.
    sock.reader.maxPayload = channel === "data" ? MAX_PAYLOAD : META_MAX_PAYLOAD;
    const { data, meta } = pair.ready;
    if (!data || !meta) {
      pair.timer = this.#o.clock.setTimer(this.#o.timeoutMs, () => {
        this.#pairOver(
          pair,
          new HandshakeError(
            DisconnectCode.TIMEOUT,
            `the peer's ${
              channel === "data" ? "meta" : "data"
            } socket did not arrive within ${this.#o.timeoutMs} ms`,
          ),
          undefined,
        );
      });
      return;
    }
    if (pair.timer !== undefined) this.#o.clock.clearTimer(pair.timer);
    if (this.#high) {
      if (this.#done) {
        this.#pairOver(
          pair,
          new HandshakeError(DisconnectCode.RACE, "already connected through another socket pair"),
          undefined,
        );
        return;
      }
      this.#done = true;
      try {
        await data.sock.write({ type: "PairCommit" });
      } catch (e) {
        this.#done = false;
        throw e;
      }
    } else {
      await data.sock.read("PairCommit");
      if (this.#done) {
        this.#pairOver(
          pair,
          new HandshakeError(DisconnectCode.RACE, "already connected"),
          undefined,
        );
        return;
      }
      this.#done = true;
    }
    this.#establish(pair, data, meta);
  }

  #establish(
    pair: Pair,
    data: { sock: HandshakeSocket; neg: Negotiated },
    meta: { sock: HandshakeSocket },
  ): void {
    pair.over = true;
    this.#pairs.delete(pair.id);
    pair.outcome.resolve();
    const o = this.#o;
    const conn = new PeerConnection(data.sock, meta.sock, {
      resource: o.resource,
      nodeId: o.nodeId,
      peerNodeId: o.peerNodeId,
      protocolVersion: data.neg.protocolVersion,
      features: data.neg.features,
      id: pair.id,
      dialed: pair.dialed,
      path: pair.path,
    }, {
      clock: o.clock,
      pingIntMs: o.pingIntMs,
      pingTimeoutMs: o.pingTimeoutMs,
      timeoutMs: o.timeoutMs,
      maxBuffers: o.maxBuffers,
    });
    // As DRBD's dtt_net_conf_change: a change by net-options reaches the live sockets at once.
    const unwatch = o.buffers.watch((sizes, previous) =>
      conn.applyBufferSizes(sizes, { previous, onWarning: o.onWarning })
    );
    conn.closed.then(unwatch);
    this.#result.resolve(conn);
  }

  async #socketFailed(pair: Pair, sock: HandshakeSocket, err: unknown): Promise<void> {
    pair.pending.delete(sock);
    this.#pairOver(pair, err, sock);
    await sock.refuse(err);
  }

  /**
   * Ends a pair attempt: sockets still in their handshake are closed (their tasks notice),
   * finished ones are refused with the reason; the failure is reported unless it is the
   * expected loss of a connect race.
   */
  #pairOver(pair: Pair, err: unknown, failed: HandshakeSocket | undefined): void {
    if (pair.over) return;
    pair.over = true;
    this.#pairs.delete(pair.id);
    if (pair.timer !== undefined) this.#o.clock.clearTimer(pair.timer);
    for (const s of pair.pending) if (s !== failed) s.close();
    for (const r of Object.values(pair.ready)) {
      if (r.sock !== failed) this.#track(r.sock.refuse(err));
    }
    pair.outcome.resolve();
    const race = err instanceof HandshakeError && err.code === DisconnectCode.RACE;
    if (!race || !this.#done) this.#report(err);
  }

  #report(err: unknown): void {
    if (this.#finished || this.#done) return;
    const e = err instanceof Error ? err : new Error(String(err));
    try {
      this.#o.onAttemptFailed?.(e);
    } catch {
      // a logging callback must not break connecting
    }
    if (e instanceof HandshakeError && e.fatal && !this.#o.retryFatal) this.#fail(e);
  }

  #fail(err: unknown): void {
    this.#result.reject(err);
  }
}
