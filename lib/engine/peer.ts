/**
 * One connection's life in the node daemon: connecting (listen on the path's local address and
 * dial the remote, every connect-int), the per-volume handshake (sizes, UUIDs, state), the sync
 * decision, resync as SyncSource or SyncTarget, replicated application writes with protocol
 * A/B/C completion, barriers for flushes, and falling back to Connecting when the link is lost.
 *
 * @module
 */

import {
  BarrierFlag,
  type BitmapPacket,
  type CloseInfo,
  connectPeer,
  DisconnectCode,
  DpFlag,
  encodeRuns,
  forEachSetRun,
  type Packet,
  type PeerConnection,
  type PeerState,
  ProtocolFlag,
  type ProtocolPacket,
  type SizesPacket,
  type SyncParamPacket,
} from "../wire/mod.ts";
import { systemClock } from "../wire/clock.ts";
import { LiveBufferSizes } from "../wire/sockopt.ts";
import { bufferSizesOf } from "./socket_buffers.ts";
import type { Logger } from "../util/log.ts";
import { MDF } from "../meta/constants.ts";
import type { Device } from "./device.ts";
import type { Connection, PeerDevice, Resource } from "./resource.ts";
import { pauseFlags, resyncSuspended, StateFlag } from "./resync_pause.ts";
import { SyncProgress } from "./resync_progress.ts";
import { decideSync, type SyncSide } from "./sync.ts";
import { agreeSize, protocolMismatch, protocolPacketOf } from "./agreement.ts";
import { resolveSplitBrain } from "./split_brain.ts";
import { checkSyncParam, syncParamPacketOf } from "./sync_param.ts";
import { HandshakeSplitBrain } from "./handshake_split_brain.ts";
import { runHelper } from "./helper.ts";
import { type ClosedEpoch, TransferLog } from "./epochs.ts";
import { koMessage, KoWatchdog } from "./ko.ts";
import { type ConnEvent, lossCause, nextConnState } from "./conn_fsm.ts";
import { nextReplState, type ReplEvent } from "./repl_fsm.ts";
import { CongestionDriver, type CongestionHost } from "./congestion_driver.ts";
import { newVolume, type Volume, wake } from "./peer_volume.ts";
import { VerifyDriver, type VerifyHost } from "./verify_driver.ts";
import { ResyncDriver, type ResyncHost } from "./resync_driver.ts";

/** What the link needs from the node. */
export interface PeerLinkHost {
  resource: Resource;
  connection: Connection;
  log: Logger;
  /** Something status shows changed. */
  notify(): void;
  /** Whether `volume` may resync now, as its resync-after chain says (absent: always). */
  maySyncNow?(volume: number): boolean;
}

/** An application write to replicate: a block of data, a discard or a write of zeroes. */
export interface ReplicatedWrite {
  kind: "write" | "trim" | "zero";
  /** First 512-byte sector. */
  sector: number;
  /** Bytes (a multiple of 512). */
  length: number;
  /** The block for `write`; unchanged until the returned promise settles. */
  data?: Uint8Array;
  /** Scratch bytes in front of `data` for the wire header (WriteFlags.headroom). */
  headroom?: number;
  fua: boolean;
}

/** DRBD's UUID_FLAG_CRASHED_PRIMARY and UUID_FLAG_RECONNECT (drbd_protocol.h). */
const UUID_FLAG_CRASHED_PRIMARY = 1n << 1n;
const UUID_FLAG_RECONNECT = 1n << 8n;

interface PendingWrite {
  volume: number;
  sector: number;
  length: number;
  want: "RecvAck" | "WriteAck";
  /** The transfer log epoch the write went out in. */
  epoch: number;
  settle: () => void;
  resolve: () => void;
}

/** Bytes of encoded bitmap per Bitmap packet. */
const BITMAP_CHUNK = 4096;

/** How often resync/verify progress alone notifies watchers and the proc file (ms). */
const PROGRESS_NOTIFY_MS = 250;

/**
 * Replication states in which application writes are sent to the peer; Ahead takes them too,
 * to announce each one with OutOfSync instead.
 */
const REPLICATING = new Set([
  "Established",
  "SyncSource",
  "PausedSyncS",
  "VerifyS",
  "VerifyT",
  "Ahead",
]);

/** A drbd.conf numeric option value in its unit, accepting a K/M/G suffix (in KiB units). */
function kib(text: string | undefined, fallback: number): number {
  if (!text) return fallback;
  const m = /^(\d+)([kKmMgG]?)/.exec(text);
  if (!m) return fallback;
  const mul = { "": 1, k: 1, m: 1024, g: 1024 * 1024 }[m[2].toLowerCase()] ?? 1;
  return Number(m[1]) * mul;
}

/** `ipv4:ADDR:PORT` (or `ADDR:PORT`, `ipv6:[ADDR]:PORT`) as host and port. */
export function parsePathAddress(text: string): { hostname: string; port: number } {
  const bare = text.replace(/^(ipv4|ipv6|ssocks|sdp):/, "");
  const colon = bare.lastIndexOf(":");
  const hostname = bare.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(bare.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`${text} is not an address with a port`);
  }
  return { hostname, port };
}

/**
 * Refuses a block request or block data from the peer that is not whole sectors or reaches
 * beyond the device (`capacity` bytes), as DRBD's read_in_block does: the backing file goes on
 * past the data area into the internal metadata, so such a write would destroy it. The error
 * ends the connection as a protocol error.
 */
export function checkPeerRange(capacity: number, p: Packet): void {
  if (!("sector" in p)) return;
  const size = "payload" in p ? p.payload.length : "size" in p ? p.size : 0;
  if (size % 512 !== 0) {
    throw new Error(`${p.type} from peer: size ${size} is not a multiple of 512`);
  }
  if (p.sector * 512 + size > capacity) {
    throw new Error(
      `request from peer beyond end of local disk: capacity: ${capacity / 512}s < ` +
        `sector: ${p.sector}s + size: ${size}`,
    );
  }
}

/** The per-connection task started by `connect` and ended by `disconnect`, `down`, `del-peer`. */
export class PeerLink {
  #h: PeerLinkHost;
  #abort = new AbortController();
  #task: Promise<void>;
  #pc: PeerConnection | undefined;
  /** sndbuf-size / rcvbuf-size of the connection being made or up; net-options changes them. */
  #bufferSizes: LiveBufferSizes | undefined;
  #vols = new Map<number, Volume>();
  #pending = new Map<number, PendingWrite>();
  #verify: VerifyDriver;
  #barriers = new Map<number, () => void>();
  #nextId = 1;
  /** A connection of this link was lost while this daemon ran on (DRBD's RECONNECT flag). */
  #reconnected = false;
  /** The current connection's epochs of sent writes (Primary side) and its ko-count watchdog. */
  #tl: TransferLog | undefined;
  #ko: KoWatchdog | undefined;
  /** Writes received since the last Barrier (the epoch size a BarrierAck reports). */
  #epochWrites = 0;
  #standAlone = false;
  #ended = false;
  #lastProgressNotify = 0;
  #lastAttemptError = "";
  /** The Protocol packet sent on the current connection (our settings for the peer's check). */
  #protocol: ProtocolPacket | undefined;
  /** The peer asked for discard-my-data on the current connection. */
  #peerDiscard = false;
  /** Split brain per volume of the current connection's handshake (handlers run, drop due). */
  #sbHandshake = new HandshakeSplitBrain();
  /** on-congestion pull-ahead/disconnect (congestion_driver.ts). */
  #congestion: CongestionDriver;
  /** The resync loop and handlers (resync_driver.ts). */
  #resyncs: ResyncDriver;

  /** Starts connecting at once. */
  constructor(host: PeerLinkHost) {
    this.#h = host;
    this.#verify = new VerifyDriver(this.#verifyHost());
    this.#congestion = new CongestionDriver(this.#congestionHost());
    this.#resyncs = new ResyncDriver(this.#resyncHost());
    this.#task = this.#run();
  }

  get #r(): Resource {
    return this.#h.resource;
  }

  get #c(): Connection {
    return this.#h.connection;
  }

  get #prefix(): string {
    return `${this.#r.name} ${this.#c.name}`;
  }

  /** Whether the link has ended (StandAlone): `connect` must start a new one. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Closes the connection (if any) and stops connecting; the connection ends StandAlone. */
  async stop(reason = "disconnect requested"): Promise<void> {
    this.#standAlone = true;
    this.#conn({ type: "down" });
    this.#abort.abort(new Error(reason));
    await this.#pc?.close(reason);
    await this.#task;
  }

  /** Whether application writes of `volume` go to this peer now. */
  replicating(volume: number): boolean {
    return this.#pc?.state === "connected" && this.#c.state === "Connected" &&
      REPLICATING.has(this.#c.peerDevice(volume).replication);
  }

  /** Locks blocks [first, last] of `volume` against concurrent resync reads (see RangeLock). */
  lockRange(volume: number, first: number, last: number): Promise<() => void> {
    return this.#vol(volume).lock.lock(first, last);
  }

  /**
   * Sends an application write to the peer; resolves when the protocol is satisfied (A: handed
   * to the socket, B: RecvAck, C: WriteAck). When the connection fails first, the blocks are
   * marked out of sync for this peer instead and the promise resolves: the write itself succeeded.
   * A full transfer log (max-buffers writes whose epoch the peer has not acked) holds it back.
   */
  sendWrite(device: Device, w: ReplicatedWrite): Promise<void> {
    const pc = this.#pc;
    const tl = this.#tl;
    if (!pc || pc.state !== "connected" || !tl) {
      this.#markOutOfSync(device, w.sector, w.length);
      return Promise.resolve();
    }
    if (this.#congestion.congested(pc, tl, device, w)) return Promise.resolve();
    const room = tl.room();
    if (!room) return this.#sendWrite(pc, tl, device, w);
    // The open epoch must be acked before its room is free: close it now.
    this.#closeEpoch(pc, tl);
    return room.then(() => {
      if (this.#tl === tl && pc.state === "connected") return this.#sendWrite(pc, tl, device, w);
      this.#markOutOfSync(device, w.sector, w.length);
    });
  }

  #sendWrite(
    pc: PeerConnection,
    tl: TransferLog,
    device: Device,
    w: ReplicatedWrite,
  ): Promise<void> {
    const protocol = this.#c.net.protocol ?? "C";
    const blockId = this.#nextId++;
    let flags = w.fua ? DpFlag.FUA : 0;
    if (protocol === "B") flags |= DpFlag.SEND_RECEIVE_ACK;
    if (protocol === "C") flags |= DpFlag.SEND_WRITE_ACK;
    const packet: Packet = w.kind === "write"
      ? {
        type: "Data",
        volume: device.volume,
        sector: w.sector,
        blockId,
        seq: 0,
        flags,
        payload: w.data!,
        headroom: w.headroom,
      }
      : {
        type: "Trim",
        volume: device.volume,
        sector: w.sector,
        blockId,
        seq: 0,
        flags: flags | (w.kind === "trim" ? DpFlag.DISCARD : DpFlag.ZEROES),
        size: w.length,
      };
    this.#c.peerDevice(device.volume).sent += w.kind === "write" ? w.length / 1024 : 0;
    const { epoch, full } = tl.add({ volume: device.volume, sector: w.sector, length: w.length });
    const sent = pc.send(packet);
    if (full) this.#sendBarrier(pc, full);
    if (protocol === "A") {
      return sent.then(
        () => this.#completed(pc, tl, epoch),
        () => this.#markOutOfSync(device, w.sector, w.length),
      );
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    const want = protocol === "B" ? "RecvAck" : "WriteAck";
    const ko = this.#ko;
    ko?.expect();
    this.#pending.set(blockId, {
      volume: device.volume,
      sector: w.sector,
      length: w.length,
      want,
      epoch,
      settle: () => ko?.answered(),
      resolve,
    });
    // A failed send ends the connection; #lost() marks the write out of sync and resolves it.
    sent.catch(() => {});
    return promise.then(() => this.#completed(pc, tl, epoch));
  }

  /**
   * A write of `epoch` completed to the application: its epoch is closed if still open, so the
   * peer gets the Barrier soon and the epoch can leave the transfer log (DRBD does the same in
   * drbd_req_complete).
   */
  #completed(pc: PeerConnection, tl: TransferLog, epoch: number): void {
    if (this.#tl === tl && tl.epoch === epoch) this.#closeEpoch(pc, tl);
  }

  /** Closes the open epoch (if it has writes) and sends its Barrier. */
  #closeEpoch(pc: PeerConnection, tl: TransferLog): void {
    const closed = tl.close();
    if (closed) this.#sendBarrier(pc, closed);
  }

  #sendBarrier(pc: PeerConnection, e: ClosedEpoch): void {
    if (pc.state !== "connected") return;
    this.#ko?.expect();
    pc.send({ type: "Barrier", barrier: e.barrier, flags: e.flush ? BarrierFlag.FLUSH : 0 })
      .catch(() => {});
  }

  /**
   * A flush on the Primary: a barrier the peer completes (its disk flushed) before acking.
   * None while `volume` is Ahead: its writes are not on the peer (DRBD sends no barriers then).
   */
  async flush(volume?: number): Promise<void> {
    const pc = this.#pc;
    const tl = this.#tl;
    if (!pc || pc.state !== "connected" || !tl) return;
    if (volume !== undefined && this.#c.peerDevice(volume).replication === "Ahead") return;
    const closed = tl.close(true)!;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#barriers.set(closed.barrier, resolve);
    this.#sendBarrier(pc, closed);
    await promise;
  }

  /**
   * The local role, disk state or UUIDs changed (promote, demote, new-current-uuid): tell the
   * peer, and decide again where no resync runs (a forced promotion starts the initial sync).
   */
  localChanged(): void {
    const pc = this.#pc;
    if (!pc || pc.state !== "connected") return;
    for (const d of this.#r.devices.values()) {
      this.#sendSizes(d);
      this.#sendUuids(d);
      this.#sendState(d);
      const v = this.#vol(d.volume);
      if (v.phase === "idle" && v.peerUuids) this.#handshake(d);
    }
  }

  /** net-options changed the connection's options: the peer hears our algorithms again. */
  netOptionsChanged(): void {
    // Socket buffers change at once on the live sockets (DRBD's dtt_net_conf_change) and on
    // the listeners while connecting.
    this.#bufferSizes?.set(bufferSizesOf(this.#c.net));
    if (this.#pc?.state !== "connected") return;
    for (const d of this.#r.devices.values()) {
      this.#send(syncParamPacketOf(this.#c.net, d.volume));
    }
  }

  /**
   * pause-sync / resume-sync changed the user flag of `volume` (already set on its peer device):
   * pause or continue a running resync here and tell the peer, which pauses too.
   */
  pauseChanged(volume: number): void {
    const d = this.#r.devices.get(volume);
    if (!d) return;
    this.#resyncs.applyPause(d);
    if (this.#pc?.state === "connected") this.#sendState(d);
  }

  /**
   * Starts online verify of `volume` towards this peer (drbdsetup verify): this side becomes
   * VerifyS, the peer VerifyT. Refused with DRBD's codes: no verify-alg (-14), not connected
   * (-15), a resync or verify already running (-8), an algorithm this build lacks (146).
   */
  startVerify(volume: number, objname: string, startSector?: number, stopSector?: number): void {
    this.#verify.start(this.#pc, volume, objname, startSector, stopSector);
  }

  /**
   * invalidate (`as` "target") or invalidate-remote ("source") on a connected, Established
   * volume (checked by the caller, see invalidate.ts): StartingSyncT/S tells the peer to take
   * the other side, then both exchange bitmaps and the resync runs. `full` sets every bit first
   * (DRBD's default, --reset-bitmap=yes); without it only the bits already set resync.
   */
  startResync(volume: number, as: "source" | "target", full: boolean): void {
    const d = this.#r.devices.get(volume)!;
    const slot = this.#slot(d)!;
    if (full) d.disk!.meta.setAll(slot);
    d.disk!.meta.flushBitmap();
    const pd = this.#c.peerDevice(volume);
    this.#repl(pd, { type: "start-sync", as });
    this.#h.log.info(
      `${this.#prefix}/${volume}: ${as === "source" ? "invalidate-remote" : "invalidate"}: ` +
        `repl( Established -> ${pd.replication} ), ${full ? "full" : "bitmap based"} resync`,
    );
    this.#sendState(d);
    this.#startBitmapExchange(d, as);
  }

  /** Enters WFBitMapS/T as `as` and sends our bitmap (a resync the admin asked for). */
  #startBitmapExchange(d: Device, as: "source" | "target"): void {
    const v = this.#vol(d.volume);
    const pd = this.#c.peerDevice(d.volume);
    v.phase = "bitmap";
    v.role = as;
    v.gotBitmap = false;
    this.#repl(pd, { type: "exchange-bitmap", as });
    if (as === "target") this.#r.setDiskState(d, "Inconsistent");
    this.#sendBitmap(d, this.#slot(d)!);
    this.#h.notify();
  }

  // ---- connecting --------------------------------------------------------------------------

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    this.#conn({ type: "connect" });
    while (!signal.aborted) {
      this.#conn({ type: "connecting" });
      let pc: PeerConnection | undefined;
      while (!pc && !signal.aborted) {
        try {
          pc = await this.#connect(signal);
        } catch (e) {
          if (signal.aborted) break;
          this.#h.log.warn(`${this.#prefix}: connecting failed: ${(e as Error).message}`);
          this.#conn({ type: "attempt-failed" });
          await this.#sleep(this.#connectIntMs(), signal);
        }
      }
      if (!pc) break;
      await this.#serve(pc);
      if (this.#standAlone || signal.aborted) break;
      this.#conn({ type: "disconnected" });
    }
    this.#conn({ type: "disconnected" });
    this.#ended = true;
  }

  /** Waits `ms`, or less when the signal aborts. */
  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  #connectIntMs(): number {
    return kib(this.#c.net["connect-int"], 10) * 1000;
  }

  #connect(signal: AbortSignal): Promise<PeerConnection> {
    const net = this.#c.net;
    const secret = net["shared-secret"];
    this.#bufferSizes = new LiveBufferSizes(bufferSizesOf(net));
    return connectPeer({
      resource: this.#r.name,
      nodeId: this.#r.nodeId,
      peerNodeId: this.#c.peerNodeId,
      // Every path listens and dials; the first socket pair through the handshake wins.
      paths: this.#c.paths.map((p) => ({
        local: parsePathAddress(p.local),
        remote: parsePathAddress(p.remote),
      })),
      auth: secret ? { alg: net["cram-hmac-alg"] || "sha1", secret } : undefined,
      connectIntMs: this.#connectIntMs(),
      pingIntMs: kib(net["ping-int"], 10) * 1000,
      pingTimeoutMs: kib(net["ping-timeout"], 5) * 100,
      timeoutMs: kib(net["timeout"], 60) * 100,
      maxBuffers: kib(net["max-buffers"], 2048),
      bufferSizes: this.#bufferSizes,
      onWarning: (message) => this.#h.log.warn(`${this.#prefix}: ${message}`),
      retryFatal: true,
      signal,
      onAttemptFailed: (e) => {
        // Refused dials repeat every connect-int; log a reason once until it changes.
        if (e.message === this.#lastAttemptError) return;
        this.#lastAttemptError = e.message;
        const level = /authentication|wrong peer|versions/.test(e.message) ? "error" : "info";
        this.#h.log.log(level, `${this.#prefix}: connection attempt failed: ${e.message}`);
      },
    });
  }

  /**
   * Resync or verify progress moved (one acked block): watchers (events2, wait-sync's bar) and
   * the proc file hear of it at most every PROGRESS_NOTIFY_MS. A notification per ack rebuilt
   * and renamed the proc file for every block and cost 40% of a full sync's speed; state
   * changes, the end of a resync included, still notify at once.
   */
  #notifyProgress(): void {
    const now = systemClock.now();
    if (now - this.#lastProgressNotify < PROGRESS_NOTIFY_MS) return;
    this.#lastProgressNotify = now;
    this.#h.notify();
  }

  /**
   * Moves the connection state through its machine (conn_fsm.ts) and logs the change as DRBD
   * does; a transition the machine refuses is logged as an error and not applied.
   */
  #conn(event: ConnEvent): void {
    const t = nextConnState(this.#c.state, event);
    if (!t.ok) {
      this.#h.log.error(`${this.#prefix}: conn( ${t.from} ) refuses ${event.type}: ${t.reason}`);
      return;
    }
    if (!t.changed) return;
    this.#c.state = t.to;
    this.#h.log.info(`${this.#prefix}: conn( ${t.from} -> ${t.to} )`);
    this.#h.notify();
  }

  /**
   * Moves a peer device's replication state through its machine (repl_fsm.ts); a transition
   * the machine refuses is logged as an error and not applied. Whether it changed.
   */
  #repl(pd: PeerDevice, event: ReplEvent): boolean {
    const t = nextReplState(pd.replication, event);
    if (!t.ok) {
      this.#h.log.error(
        `${this.#prefix}/${pd.volume}: repl( ${t.from} ) refuses ${event.type}: ${t.reason}`,
      );
      return false;
    }
    pd.replication = t.to;
    return t.changed;
  }

  // ---- an established connection -----------------------------------------------------------

  /** Runs one connection until it ends. */
  async #serve(pc: PeerConnection): Promise<void> {
    this.#pc = pc;
    this.#lastAttemptError = "";
    this.#vols.clear();
    for (const d of this.#r.devices.values()) {
      const pd = this.#c.peerDevice(d.volume);
      pd.sent = pd.received = 0;
      pd.resync = undefined;
    }
    this.#c.establishedPath = pc.info.path;
    this.#peerDiscard = false;
    this.#sbHandshake.reset();
    this.#startEpochs(pc);
    this.#conn({ type: "established" });
    const data = this.#dataLoop(pc);
    const meta = this.#metaLoop(pc);
    // First the settings both sides must share (checked by the peer before anything else).
    this.#protocol = protocolPacketOf(this.#c.net, this.#c.discardMyData);
    pc.send(this.#protocol).catch(() => {});
    for (const d of this.#r.devices.values()) {
      this.#send(syncParamPacketOf(this.#c.net, d.volume));
      this.#sendSizes(d);
      this.#sendUuids(d);
      this.#sendState(d);
    }
    const info = await pc.closed;
    await Promise.allSettled([data, meta]);
    this.#pc = undefined;
    this.#peerDropped(info);
    this.#lost(info);
  }

  /** A new transfer log and ko-count watchdog for connection `pc` (net options as they are now). */
  #startEpochs(pc: PeerConnection): void {
    const net = this.#c.net;
    this.#epochWrites = 0;
    this.#tl = new TransferLog({
      maxEpochSize: kib(net["max-epoch-size"], 2048),
      maxWrites: kib(net["max-buffers"], 2048),
    });
    this.#ko = new KoWatchdog({
      timeoutMs: kib(net["timeout"], 60) * 100,
      koCount: Number(net["ko-count"] ?? 7),
      clock: systemClock,
      onExpire: (e) => {
        // DRBD's request timer: the peer answers pings but completes nothing (C_TIMEOUT).
        const text = koMessage(e);
        this.#h.log.warn(`${this.#prefix}: ${text}`);
        this.#conn({ type: "lost", cause: "timeout" });
        pc.close(text, DisconnectCode.TIMEOUT).catch(() => {});
      },
    });
  }

  /**
   * Ends the connection for good (both sides StandAlone): the peer learns `reason` with `code`
   * and does not reconnect either, as after DRBD's "incompatible ... settings" or split brain.
   */
  #drop(reason: string, code: number): void {
    this.#standAlone = true;
    this.#conn({ type: code === DisconnectCode.SPLIT_BRAIN ? "split-brain" : "incompatible" });
    this.#abort.abort(new Error(reason));
    this.#pc?.close(reason, code).catch(() => {});
  }

  /**
   * The peer dropped the connection for good: so do we. It may have decided before our data
   * loop read the packets that would have told us the same, so split brain is reported (and
   * its handlers run) here too if we have not done so ourselves.
   */
  #peerDropped(info: CloseInfo): void {
    if (info.by !== "peer" || this.#standAlone) return;
    if (info.code !== DisconnectCode.INCOMPATIBLE && info.code !== DisconnectCode.SPLIT_BRAIN) {
      return;
    }
    this.#standAlone = true;
    this.#conn({ type: info.code === DisconnectCode.SPLIT_BRAIN ? "split-brain" : "incompatible" });
    this.#abort.abort(new Error(info.reason));
    if (info.code === DisconnectCode.SPLIT_BRAIN) {
      for (const d of this.#r.devices.values()) {
        if (d.disk) {
          this.#splitBrain(d, "Split-Brain detected but unresolved, dropping connection!");
        }
      }
    }
    this.#h.log.error(`${this.#prefix}: ${info.reason}`);
  }

  /**
   * Reports a volume's split brain, once per connection: the initial-split-brain handler runs
   * for every split brain, the split-brain handler (and an error in the log) only when it stays
   * unresolved.
   */
  #splitBrain(d: Device, text: string, resolved = false): void {
    if (!this.#sbHandshake.report(d.volume)) return;
    if (resolved) this.#h.log.warn(`${this.#prefix}/${d.volume}: ${text}`);
    else this.#h.log.error(`${this.#prefix}/${d.volume}: ${text}`);
    const helpers = resolved ? ["initial-split-brain"] : ["initial-split-brain", "split-brain"];
    // DRBD waits for each helper; here they run in order without holding up the connection.
    (async () => {
      for (const handler of helpers) await this.#helper(d, handler);
    })();
  }

  /** Runs a handler through `drbdadm <handler> <resource>` and logs its exit code. */
  async #helper(d: Device, handler: string): Promise<void> {
    const where = `${this.#prefix}/${d.volume}`;
    this.#h.log.info(`${where}: helper command: drbdadm ${handler}`);
    const { code } = await runHelper({
      handler,
      resource: this.#r.name,
      device: { minor: d.minor, volume: d.volume, backingDev: d.disk?.backing },
      connection: {
        peerNodeId: this.#c.peerNodeId,
        cstate: this.#c.state,
        path: this.#c.paths[0],
      },
    });
    this.#h.log.log(
      code === 0 ? "info" : "warn",
      `${where}: helper command: drbdadm ${handler} exit code ${code}`,
    );
  }

  async #dataLoop(pc: PeerConnection): Promise<void> {
    try {
      for await (const p of pc.packets("data")) await this.#onData(pc, p);
    } catch (e) {
      this.#h.log.error(`${this.#prefix}: ${(e as Error).message}`);
      // A receive handler that fails is DRBD's ProtocolError (drbdd's err_out).
      await pc.close(`receiver failed: ${(e as Error).message}`, DisconnectCode.PROTOCOL_ERROR);
    }
  }

  async #metaLoop(pc: PeerConnection): Promise<void> {
    for await (const p of pc.packets("meta")) this.#onMeta(p);
  }

  /** The connection ended: pending writes become out-of-sync blocks, peer state unknown. */
  #lost(info: CloseInfo): void {
    const reason = info.reason;
    this.#reconnected = true;
    // Disconnecting already when we gave up; Timeout already when ko-count ran out.
    if (this.#c.state === "Connected") this.#conn({ type: "lost", cause: lossCause(info) });
    if (!this.#standAlone) this.#h.log.warn(`${this.#prefix}: connection lost: ${reason}`);
    else this.#h.log.info(`${this.#prefix}: connection closed: ${reason}`);
    for (const w of this.#pending.values()) {
      const d = this.#r.devices.get(w.volume);
      if (d) this.#markOutOfSync(d, w.sector, w.length);
      w.resolve();
    }
    this.#pending.clear();
    // Writes whose epoch the peer did not ack may be missing there, whatever acks they got.
    this.#ko?.stop();
    const tl = this.#tl;
    this.#tl = undefined;
    for (const w of tl?.clear() ?? []) {
      const d = this.#r.devices.get(w.volume);
      if (d) this.#markOutOfSync(d, w.sector, w.length);
    }
    this.#congestion.stop();
    this.#resyncs.lost();
    this.#verify.lost();
    for (const done of this.#barriers.values()) done();
    this.#barriers.clear();
    for (const v of this.#vols.values()) {
      v.phase = "handshake";
      wake(v);
      v.ctl = undefined;
    }
    this.#c.peerRole = "Unknown";
    for (const pd of this.#c.peerDevices.values()) {
      if (pd.verify) this.#verify.stopped(pd, pd.verify);
      this.#repl(pd, { type: "lost" });
      pd.peerDisk = "DUnknown";
      pd.resync = undefined;
      pd.verify = undefined;
      pd.resyncSuspPeer = false;
      pd.cSyncRate = 0;
    }
    // A Primary that loses a peer starts a new data generation, so the peer's missing writes
    // are recognised by its bitmap UUID on reconnect.
    if (this.#r.isPrimary()) {
      for (const d of this.#r.devices.values()) {
        if (d.disk && d.upToDate) this.#r.newCurrentUuid(d, false);
      }
    }
    this.#h.notify();
  }

  #vol(volume: number): Volume {
    let v = this.#vols.get(volume);
    if (!v) {
      v = newVolume();
      this.#vols.set(volume, v);
    }
    return v;
  }

  #slot(d: Device): number | undefined {
    return d.disk?.meta.slotOf(this.#c.peerNodeId, true);
  }

  /** Blocks of `d` out of sync with this peer (undefined without a disk or slot). */
  #outOfSync(d: Device): number | undefined {
    const slot = this.#slot(d);
    return slot !== undefined && d.disk ? d.disk.meta.outOfSync(slot) : undefined;
  }

  #markOutOfSync(d: Device, sector: number, length: number): void {
    const slot = this.#slot(d);
    if (slot === undefined || !d.disk) return;
    d.disk.meta.setOutOfSync(sector, Math.ceil(length / 512), [slot]);
  }

  #send(p: Packet): void {
    this.#pc?.send(p).catch(() => {});
  }

  #sendSizes(d: Device): void {
    const disk = d.disk;
    this.#send({
      type: "Sizes",
      volume: d.volume,
      backingSize: disk ? disk.meta.usableSectors : 0,
      userSize: disk ? Number(disk.options.size ?? 0) || 0 : 0,
      currentSize: d.size / 512,
      maxBioSize: 1 << 20,
      flags: 0,
    });
  }

  #sendUuids(d: Device): void {
    const md = d.disk?.meta.md;
    const slot = this.#slot(d);
    this.#send({
      type: "Uuids",
      volume: d.volume,
      current: md?.currentUuid ?? 0n,
      bitmap: md?.peers[this.#c.peerNodeId]?.bitmapUuid ?? 0n,
      dirtyBits: BigInt(slot !== undefined && d.disk ? d.disk.meta.outOfSync(slot) : 0),
      flags: (md && md.flags & MDF.CRASHED_PRIMARY ? UUID_FLAG_CRASHED_PRIMARY : 0n) |
        (this.#reconnected ? UUID_FLAG_RECONNECT : 0n),
      history: md ? md.historyUuids.filter((u) => u !== 0n).slice(0, 64) : [],
    });
  }

  #sendState(d: Device): void {
    const pd = this.#c.peerDevice(d.volume);
    const state: PeerState = {
      role: this.#r.role,
      disk: d.diskState,
      connection: "Connected",
      replication: pd.replication,
      flags: pauseFlags(pd),
    };
    this.#send({ type: "State", volume: d.volume, state });
  }

  // ---- data socket -------------------------------------------------------------------------

  async #onData(pc: PeerConnection, p: Packet): Promise<void> {
    if (!("volume" in p)) {
      if (p.type === "Barrier") await this.#onBarrier(p.barrier, p.flags);
      if (p.type === "Protocol") this.#onProtocol(p);
      return;
    }
    const d = this.#r.devices.get(p.volume);
    if (!d) throw new Error(`the peer sent ${p.type} for volume ${p.volume}, which is not here`);
    if (d.disk && "sector" in p) checkPeerRange(d.size, p);
    const v = this.#vol(p.volume);
    const pd = this.#c.peerDevice(p.volume);
    switch (p.type) {
      case "SyncParam":
        return this.#onSyncParam(d, pd, p);
      case "Sizes":
        return this.#onSizes(d, v, p);
      case "Uuids":
        v.peerUuids = {
          current: p.current,
          bitmap: p.bitmap,
          history: [...p.history],
          flags: p.flags,
        };
        return;
      case "State":
        return this.#onState(d, v, pd, p.state);
      case "Bitmap":
        return this.#onBitmap(d, v, p);
      case "Data":
      case "Trim":
        return await this.#onWrite(pc, d, p);
      case "ResyncData":
        return await this.#resyncs.onData(d, v, p.sector, p.blockId, p.payload);
      case "CsumResyncRequest":
        return await this.#resyncs.onCsumRequest(d, v, p);
      case "ResyncRequest":
        return await this.#resyncs.onRequest(d, v, pd, p);
      case "VerifyRequest":
        return await this.#verify.onRequest(d, v, pd, p);
      case "VerifyReply":
        return await this.#verify.onReply(d, v, pd, p);
      case "OutOfSync":
        // The Ahead peer wrote these blocks without sending them (DRBD's receive_out_of_sync).
        return this.#markOutOfSync(d, p.sector, p.size);
      default:
        this.#h.log.warn(`${this.#prefix}: ignoring ${p.type} (not implemented)`);
    }
  }

  /** The peer's settings: a mismatch ends the connection on both sides (receive_protocol). */
  #onProtocol(p: ProtocolPacket): void {
    const why = this.#protocol && protocolMismatch(this.#protocol, p);
    if (why) {
      this.#h.log.error(`${this.#prefix}: ${why}`);
      this.#drop(why, DisconnectCode.INCOMPATIBLE);
      return;
    }
    this.#peerDiscard = (p.flags & ProtocolFlag.DISCARD_MY_DATA) !== 0;
  }

  /** The peer's digest algorithms: refused when they differ at connect, adopted later. */
  #onSyncParam(d: Device, pd: PeerDevice, p: SyncParamPacket): void {
    const where = `${this.#prefix}/${d.volume}`;
    const outcome = checkSyncParam(this.#c.net, p, pd.replication === "Off");
    if (outcome.kind === "refuse") {
      this.#h.log.error(`${where}: ${outcome.log}`);
      this.#drop(outcome.log, DisconnectCode.INCOMPATIBLE);
    } else if (outcome.kind === "adopt") {
      Object.assign(this.#c.net, outcome.set);
      for (const line of outcome.logs) this.#h.log.info(`${where}: ${line}`);
    }
  }

  /** The peer's sizes: agree on the device size, or refuse a disk too small (receive_sizes). */
  #onSizes(d: Device, v: Volume, p: SizesPacket): void {
    // A peer that had no disk and now has one is attaching: as strict as a new connection.
    const handshake = v.phase === "handshake" || (v.peerBacking === 0 && p.backingSize > 0);
    v.peerSectors = p.currentSize;
    v.peerBacking = p.backingSize;
    const disk = d.disk;
    if (!disk) return;
    const current = d.size / 512;
    const agreed = agreeSize(
      {
        backing: disk.meta.usableSectors,
        user: Number(disk.options.size ?? 0) || 0,
        current,
      },
      { backing: p.backingSize, user: p.userSize, current: p.currentSize },
      {
        localHasData: ["UpToDate", "Consistent", "Outdated"].includes(d.diskState),
        handshake,
      },
    );
    const where = `${this.#prefix}/${d.volume}`;
    if (!agreed.ok) {
      this.#h.log.error(`${where}: ${agreed.reason}`);
      this.#drop(agreed.reason, DisconnectCode.INCOMPATIBLE);
      return;
    }
    if (agreed.size === current) {
      // The peer's device is of another size than we agree on: let it recompute with ours.
      if (p.currentSize !== agreed.size && p.backingSize > 0) this.#sendSizes(d);
      return;
    }
    disk.meta.md.effectiveSize = agreed.size;
    disk.meta.writeSuperblock();
    this.#h.log.info(
      `${where}: size = ${agreed.size / 2} KB (was ${current / 2} KB), agreed with the peer`,
    );
    this.#sendSizes(d);
    this.#h.notify();
  }

  #onState(d: Device, v: Volume, pd: PeerDevice, s: PeerState): void {
    this.#c.peerRole = s.role;
    pd.peerDisk = s.disk;
    // The peer's own pause and its resync-after dependency both hold ours (receive_state).
    const peerPaused = (s.flags & (StateFlag.USER_ISP | StateFlag.AFTR_ISP)) !== 0;
    if (peerPaused !== pd.resyncSuspPeer) {
      pd.resyncSuspPeer = peerPaused;
      this.#resyncs.applyPause(d);
    }
    if (this.#congestion.onPeerState(d, v, pd, s)) {
      this.#h.notify();
      return;
    }
    const starting = s.replication === "StartingSyncT" || s.replication === "StartingSyncS";
    if (starting && v.phase === "idle" && d.disk) {
      // The peer was invalidated (it syncs from us) or invalidated us (invalidate-remote).
      this.#startBitmapExchange(d, s.replication === "StartingSyncT" ? "source" : "target");
    } else if (v.phase === "sync" && v.role === "target" && s.replication === "Established") {
      this.#resyncs.finishTarget(d, v, pd);
    } else if (v.phase === "verify") {
      // The initiator ended the run (done, stop sector, or gave up): so does this side.
      if (pd.replication === "VerifyT" && s.replication === "Established") {
        this.#verify.finish(d, v, pd, false);
      }
    } else if (
      v.phase === "idle" && pd.replication === "Established" && s.replication === "VerifyS"
    ) {
      v.phase = "verify";
      this.#repl(pd, { type: "verify-start", as: "target" });
    } else if (v.phase === "handshake" || v.phase === "idle") {
      if (v.peerUuids) this.#handshake(d);
    }
    this.#h.notify();
  }

  /**
   * A volume's handshake: its sync decision, then the end of the connection if a split brain
   * stays unresolved and every volume has had its handshake (each reports its own split brain).
   */
  #handshake(d: Device): void {
    this.#decide(d);
    const reason = this.#sbHandshake.decided(d.volume, this.#r.devices.keys());
    if (reason !== undefined) this.#drop(reason, DisconnectCode.SPLIT_BRAIN);
  }

  /**
   * A volume's split brain stays unresolved: the connection ends once the other volumes have had
   * their handshakes, or after a ping timeout if one of them never hears from the peer.
   */
  #splitBrainUnresolved(reason: string): void {
    const pc = this.#pc;
    this.#sbHandshake.fail(reason, kib(this.#c.net["ping-timeout"], 5) * 100, () => {
      const late = this.#sbHandshake.decided(undefined, [], true);
      if (late !== undefined && this.#pc === pc) this.#drop(late, DisconnectCode.SPLIT_BRAIN);
    });
  }

  /** Runs the sync decision for a volume and starts what it says. */
  #decide(d: Device): void {
    const v = this.#vol(d.volume);
    const pd = this.#c.peerDevice(d.volume);
    const disk = d.disk;
    const peer = v.peerUuids!;
    if (!disk || peer.current === 0n) {
      v.phase = "idle";
      this.#repl(pd, { type: "established" });
      return;
    }
    const md = disk.meta.md;
    const local: SyncSide = {
      current: md.currentUuid,
      bitmap: md.peers[this.#c.peerNodeId]?.bitmapUuid ?? 0n,
      history: md.historyUuids.filter((u) => u !== 0n),
      usable: d.upToDate,
      crashedPrimary: (md.flags & MDF.CRASHED_PRIMARY) !== 0,
      reconnected: this.#reconnected,
    };
    const remote: SyncSide = {
      ...peer,
      usable: pd.peerDisk === "UpToDate",
      crashedPrimary: (peer.flags & UUID_FLAG_CRASHED_PRIMARY) !== 0n,
      reconnected: (peer.flags & UUID_FLAG_RECONNECT) !== 0n,
    };
    let decision = decideSync(local, remote);
    const where = `${this.#prefix}/${d.volume}`;
    // discard-my-data is used up by this handshake, as DRBD clears it in receive_state.
    this.#c.discardMyData = false;
    if (decision.kind === "none") {
      v.phase = "idle";
      if (this.#repl(pd, { type: "established" })) this.#sendState(d);
      return;
    }
    if (decision.kind === "unrelated") {
      const text = "Unrelated data, aborting!";
      this.#h.log.error(`${where}: ${text} (${decision.rule})`);
      this.#drop(text, DisconnectCode.INCOMPATIBLE);
      return;
    }
    if (decision.kind === "split-brain") {
      const localDiscard = ((this.#protocol?.flags ?? 0) & ProtocolFlag.DISCARD_MY_DATA) !== 0;
      const outcome = resolveSplitBrain(local, remote, {
        local: localDiscard,
        peer: this.#peerDiscard,
      });
      this.#splitBrain(d, outcome.log, outcome.resolved);
      if (!outcome.resolved) {
        this.#splitBrainUnresolved(outcome.log);
        return;
      }
      decision = outcome.decision;
    }
    // The connection ends after the handshakes (another volume's split brain): no sync starts.
    if (this.#sbHandshake.failing) return;
    const source = decision.role === "source";
    if (source ? !local.usable : !remote.usable) {
      this.#h.log.warn(
        `${where}: would sync as ${decision.role} (${decision.rule}), but the source is not UpToDate`,
      );
      v.phase = "idle";
      this.#repl(pd, { type: "established" });
      return;
    }
    const slot = this.#slot(d)!;
    if (decision.kind === "full") disk.meta.setAll(slot);
    this.#h.log.info(
      `${where}: resync as ${source ? "SyncSource" : "SyncTarget"}, ${decision.kind} sync ` +
        `(${decision.rule}), ${disk.meta.outOfSync(slot) * 4} KiB marked out of sync`,
    );
    v.phase = "bitmap";
    v.role = decision.role;
    v.gotBitmap = false;
    this.#repl(pd, { type: "exchange-bitmap", as: decision.role });
    if (!source) this.#r.setDiskState(d, "Inconsistent");
    this.#sendBitmap(d, slot);
  }

  #sendBitmap(d: Device, slot: number): void {
    const meta = d.disk!.meta;
    const bits = meta.slotBits(slot);
    const total = meta.bitCount;
    const out = new Uint8Array(BITMAP_CHUNK);
    let from = 0;
    do {
      const chunk = encodeRuns(bits, from, total, out);
      const packet: BitmapPacket = {
        type: "Bitmap",
        volume: d.volume,
        encoding: "rle",
        bitOffset: from,
        bitCount: chunk.bitCount,
        firstRunSet: chunk.firstRunSet,
        last: from + chunk.bitCount >= total,
        body: out.slice(0, chunk.length),
      };
      this.#send(packet);
      from += chunk.bitCount;
    } while (from < total);
  }

  #onBitmap(d: Device, v: Volume, p: BitmapPacket): void {
    const slot = this.#slot(d);
    if (slot === undefined || v.phase !== "bitmap") return;
    const meta = d.disk!.meta;
    forEachSetRun(p, (start, count) => meta.setBits(slot, start, count));
    if (!p.last) return;
    v.gotBitmap = true;
    v.phase = "sync";
    const pd = this.#c.peerDevice(d.volume);
    this.#beginResync(d, pd, meta.outOfSync(slot));
    meta.flushBitmap();
    this.#resyncs.applyPause(d);
    this.#sendState(d);
    this.#h.notify();
    if (v.role === "source") this.#resyncs.start(d, v);
  }

  /**
   * The resync starts with `bits` to do: SyncSource/T, or PausedSyncS/T from the start when a
   * pause flag is set (no "Resync suspended" then: nothing was running), as drbd_start_resync.
   */
  #beginResync(d: Device, pd: PeerDevice, bits: number): void {
    pd.resyncSuspDependency = !(this.#h.maySyncNow?.(d.volume) ?? true);
    const paused = resyncSuspended(pd);
    this.#repl(pd, { type: "bitmap-received", paused });
    const now = systemClock.now();
    pd.resync = new SyncProgress(bits, now);
    if (paused) pd.resync.pause(now);
    this.#h.log.info(
      `${this.#prefix}/${d.volume}: Began resync as ${pd.replication} ` +
        `(will sync ${bits * 4} KB [${bits} bits set]).`,
    );
  }

  async #onWrite(
    pc: PeerConnection,
    d: Device,
    p: Extract<Packet, { type: "Data" | "Trim" }>,
  ): Promise<void> {
    const length = p.type === "Data" ? p.payload.length : p.size;
    const ack = (type: "RecvAck" | "WriteAck" | "NegAck") =>
      this.#send({
        type,
        volume: d.volume,
        sector: p.sector,
        blockId: p.blockId,
        size: length,
        seq: p.seq,
      });
    this.#epochWrites++;
    if (p.flags & DpFlag.SEND_RECEIVE_ACK) ack("RecvAck");
    const disk = d.disk;
    if (!disk) {
      if (p.flags & DpFlag.SEND_WRITE_ACK) ack("NegAck");
      return;
    }
    if (p.type === "Data") this.#c.peerDevice(d.volume).received += length / 1024;
    const sectors = Math.ceil(length / 512);
    await disk.al.acquire(p.sector, sectors);
    try {
      // Never the sender's own slot: it has this write, even when its connection is already
      // ending (a packet read in the same turn as the loss) or not yet Established.
      const sender = this.#slot(d);
      const others = this.#r.unreplicatedSlots(d).filter((s) => s !== sender);
      disk.meta.setOutOfSync(p.sector, sectors, others);
      const fua = { fua: (p.flags & DpFlag.FUA) !== 0 };
      const offset = p.sector * 512;
      d.stats.lowerPending++;
      try {
        if (p.type === "Data") await disk.data.pwrite(p.payload, offset, fua);
        else if (p.flags & DpFlag.DISCARD) await disk.data.trim(offset, length, fua);
        else await disk.data.zero(offset, length, { ...fua, mayTrim: true, fast: false });
      } finally {
        d.stats.lowerPending--;
      }
      d.stats.written += length / 1024;
    } catch (e) {
      this.#h.log.error(`${this.#prefix}/${d.volume}: peer write failed: ${(e as Error).message}`);
      if (p.flags & DpFlag.SEND_WRITE_ACK) ack("NegAck");
      return;
    } finally {
      disk.al.release(p.sector, sectors);
    }
    if (pc.state === "connected" && p.flags & DpFlag.SEND_WRITE_ACK) ack("WriteAck");
  }

  /**
   * The end of a write epoch: writes are applied in arrival order, so every write of the epoch
   * is on the disk here; the disks are flushed first when the barrier asks for it.
   */
  async #onBarrier(barrier: number, flags: number): Promise<void> {
    const setSize = this.#epochWrites;
    this.#epochWrites = 0;
    if (flags & BarrierFlag.FLUSH) {
      for (const d of this.#r.devices.values()) if (d.disk) await d.disk.data.flush();
    }
    this.#send({ type: "BarrierAck", barrier, setSize });
  }

  // ---- meta socket -------------------------------------------------------------------------

  #onMeta(p: Packet): void {
    switch (p.type) {
      case "RecvAck":
      case "WriteAck":
      case "NegAck": {
        const w = this.#pending.get(p.blockId);
        if (!w || (p.type !== "NegAck" && p.type !== w.want)) return;
        this.#pending.delete(p.blockId);
        w.settle();
        if (p.type === "NegAck") {
          const d = this.#r.devices.get(w.volume);
          if (d) this.#markOutOfSync(d, w.sector, w.length);
        }
        w.resolve();
        return;
      }
      case "RsWriteAck":
      case "RsIsInSync":
      case "NegRsDataReply":
        return this.#resyncs.onAck(p.type, p.blockId);
      case "VerifyResult":
        return this.#verify.onResult(p.volume, p.sector, p.size, p.inSync);
      case "BarrierAck": {
        this.#ko?.answered();
        const bad = this.#tl?.ack(p.barrier, p.setSize);
        if (bad) {
          this.#h.log.error(`${this.#prefix}: ${bad}`);
          this.#pc?.close(bad, DisconnectCode.PROTOCOL_ERROR).catch(() => {});
          return;
        }
        const done = this.#barriers.get(p.barrier);
        this.#barriers.delete(p.barrier);
        done?.();
        if (this.#tl) this.#congestion.inFlight(this.#tl.sectors);
        return;
      }
    }
  }

  // ---- resync (resync_driver.ts) ------------------------------------------------------------
  /** What the resync driver may do on this connection. */
  #resyncHost(): ResyncHost {
    return {
      log: this.#h.log,
      peerNodeId: this.#c.peerNodeId,
      where: (volume) => `${this.#prefix}/${volume}`,
      net: () => this.#c.net,
      peerDevice: (volume) => this.#c.peerDevice(volume),
      volume: (volume) => this.#vol(volume),
      socket: () => this.#pc,
      nextBlockId: () => this.#nextId++,
      send: (p) => this.#send(p),
      slot: (d) => this.#slot(d),
      repl: (pd, event) => this.#repl(pd, event),
      setDiskState: (d, state) => this.#r.setDiskState(d, state),
      sendUuids: (d) => this.#sendUuids(d),
      sendState: (d) => this.#sendState(d),
      notify: () => this.#h.notify(),
      notifyProgress: () => this.#notifyProgress(),
      device: (volume) => this.#r.devices.get(volume),
    };
  }

  // ---- online verify (verify_driver.ts) -----------------------------------------------------

  /** What the verify driver may do on this connection. */
  #verifyHost(): VerifyHost {
    return {
      log: this.#h.log,
      where: (volume) => `${this.#prefix}/${volume}`,
      net: () => this.#c.net,
      device: (volume) => this.#r.devices.get(volume),
      peerDevice: (volume) => this.#c.peerDevice(volume),
      volume: (volume) => this.#vol(volume),
      nextBlockId: () => this.#nextId++,
      send: (p) => this.#send(p),
      markOutOfSync: (d, sector, length) => this.#markOutOfSync(d, sector, length),
      outOfSync: (d) => this.#outOfSync(d),
      repl: (pd, event) => this.#repl(pd, event),
      sendState: (d) => this.#sendState(d),
      notify: () => this.#h.notify(),
      notifyProgress: () => this.#notifyProgress(),
      runHandler: (d, handler) => void this.#helper(d, handler),
    };
  }

  // ---- congestion (on-congestion pull-ahead / disconnect, congestion_driver.ts) ---------------

  /** What the congestion driver may do on this connection. */
  #congestionHost(): CongestionHost {
    return {
      log: this.#h.log,
      peerNodeId: this.#c.peerNodeId,
      where: (volume) => `${this.#prefix}/${volume}`,
      net: () => this.#c.net,
      devices: () => this.#r.devices.values(),
      peerDevice: (volume) => this.#c.peerDevice(volume),
      volume: (volume) => this.#vol(volume),
      outOfSync: (d) => this.#outOfSync(d),
      markOutOfSync: (d, sector, length) => this.#markOutOfSync(d, sector, length),
      repl: (pd, event) => this.#repl(pd, event),
      setDiskState: (d, state) => this.#r.setDiskState(d, state),
      newCurrentUuid: (d) => this.#r.newCurrentUuid(d, false),
      closeEpoch: (pc, tl) => this.#closeEpoch(pc, tl),
      drained: () => {
        const pc = this.#pc;
        return !!pc && pc.state === "connected" && (this.#tl?.sectors ?? 0) === 0;
      },
      standingAlone: () => this.#standAlone,
      goStandAlone: (reason) => {
        this.#standAlone = true;
        this.#conn({ type: "disconnect" });
        this.#abort.abort(new Error(reason));
      },
      sendUuids: (d) => this.#sendUuids(d),
      sendState: (d) => this.#sendState(d),
      applyPause: (d) => this.#resyncs.applyPause(d),
      startResync: (d, v) => this.#resyncs.start(d, v),
      notify: () => this.#h.notify(),
    };
  }
}
