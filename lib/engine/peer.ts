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
  type BlockRequestPacket,
  type CloseInfo,
  connectPeer,
  type DigestPacket,
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
} from "../wire/mod.ts";
import { systemClock } from "../wire/clock.ts";
import type { Logger } from "../util/log.ts";
import { MDF } from "../meta/constants.ts";
import type { Device } from "./device.ts";
import { DrbdError, ERR, SS } from "./errors.ts";
import { RangeLock } from "./range_lock.ts";
import type { Connection, PeerDevice, Resource } from "./resource.ts";
import { controllerSettings, ResyncController, STEP_MS } from "./resync_controller.ts";
import { resyncSuspended, StateFlag } from "./resync_pause.ts";
import { SyncProgress } from "./resync_progress.ts";
import { decideSync, type SyncSide } from "./sync.ts";
import { agreeSize, protocolMismatch, protocolPacketOf } from "./agreement.ts";
import { resolveSplitBrain } from "./split_brain.ts";
import { runHelper } from "./helper.ts";
import { digestFor, VerifyRun } from "./verify.ts";
import { type ClosedEpoch, TransferLog } from "./epochs.ts";
import { koMessage, KoWatchdog } from "./ko.ts";
import { type ConnEvent, lossCause, nextConnState } from "./conn_fsm.ts";
import { nextReplState, type ReplEvent } from "./repl_fsm.ts";

/** What the link needs from the node. */
export interface PeerLinkHost {
  resource: Resource;
  connection: Connection;
  log: Logger;
  /** Something status shows changed. */
  notify(): void;
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

interface PeerUuids {
  current: bigint;
  bitmap: bigint;
  history: bigint[];
  flags: bigint;
}

/** DRBD's UUID_FLAG_CRASHED_PRIMARY and UUID_FLAG_RECONNECT (drbd_protocol.h). */
const UUID_FLAG_CRASHED_PRIMARY = 1n << 1n;
const UUID_FLAG_RECONNECT = 1n << 8n;

type Phase = "handshake" | "idle" | "bitmap" | "sync" | "verify";

interface Volume {
  phase: Phase;
  role?: "source" | "target";
  peerUuids?: PeerUuids;
  peerSectors?: number;
  /** The peer's data area size from its last Sizes packet (0: diskless). */
  peerBacking?: number;
  gotBitmap: boolean;
  lock: RangeLock;
  rsInflight: number;
  rsWake?: () => void;
  /** The rate controller of the running resync (source) or verify (initiator). */
  ctl?: ResyncController;
  /** A wake-up that came while the loop was not waiting. */
  wakePending?: boolean;
  /** A pending early step the controller asked for. */
  earlyStep?: ReturnType<typeof setTimeout>;
  /** csums-alg resync (source): KiB the peer had already (equal digests) and KiB sent. */
  csumEqualKiB?: number;
  csumSentKiB?: number;
}

interface PendingVerify {
  volume: number;
  sector: number;
  size: number;
  release: () => void;
}

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

interface PendingResync {
  volume: number;
  bit: number;
  bits: number;
}

/** Bits (4 KiB each) the source sends in one ResyncData packet. */
const RESYNC_CHUNK_BITS = 32;
/** Bytes of encoded bitmap per Bitmap packet. */
const BITMAP_CHUNK = 4096;

/** How often resync/verify progress alone notifies watchers and the proc file (ms). */
const PROGRESS_NOTIFY_MS = 250;

/** Replication states in which application writes are sent to the peer. */
const REPLICATING = new Set(["Established", "SyncSource", "PausedSyncS", "VerifyS", "VerifyT"]);

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
  #vols = new Map<number, Volume>();
  #pending = new Map<number, PendingWrite>();
  #resync = new Map<number, PendingResync>();
  #verifies = new Map<number, PendingVerify>();
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
  /** The split-brain handlers already ran for the current connection. */
  #splitBrainSeen = false;

  /** Starts connecting at once. */
  constructor(host: PeerLinkHost) {
    this.#h = host;
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

  /** A flush on the Primary: a barrier the peer completes (its disk flushed) before acking. */
  async flush(): Promise<void> {
    const pc = this.#pc;
    const tl = this.#tl;
    if (!pc || pc.state !== "connected" || !tl) return;
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
      if (v.phase === "idle" && v.peerUuids) this.#decide(d);
    }
  }

  /**
   * pause-sync / resume-sync changed the user flag of `volume` (already set on its peer device):
   * pause or continue a running resync here and tell the peer, which pauses too.
   */
  pauseChanged(volume: number): void {
    const d = this.#r.devices.get(volume);
    if (!d) return;
    this.#applyPause(d);
    if (this.#pc?.state === "connected") this.#sendState(d);
  }

  /**
   * Starts online verify of `volume` towards this peer (drbdsetup verify): this side becomes
   * VerifyS, the peer VerifyT. Refused with DRBD's codes: no verify-alg (-14), not connected
   * (-15), a resync or verify already running (-8), an algorithm this build lacks (146).
   */
  startVerify(volume: number, objname: string, startSector?: number, stopSector?: number): void {
    const d = this.#r.devices.get(volume);
    const pd = this.#c.peerDevice(volume);
    const alg = this.#c.net["verify-alg"];
    if (!alg) throw new DrbdError(objname, SS.NO_VERIFY_ALG);
    const pc = this.#pc;
    const v = this.#vol(volume);
    if (!pc || pc.state !== "connected" || pd.replication === "Off") {
      throw new DrbdError(objname, SS.NEED_CONNECTION);
    }
    if (!d?.disk) throw new DrbdError(objname, SS.NO_LOCAL_DISK);
    if (pd.replication !== "Established" || v.phase !== "idle") {
      throw new DrbdError(objname, SS.RESYNC_RUNNING);
    }
    const digest = digestFor(alg);
    if (!digest) throw new DrbdError(objname, ERR.VERIFY_ALG);
    const run = new VerifyRun({
      startSector: startSector ?? pd.ovStartSector,
      stopSector,
      bitCount: d.disk.meta.bitCount,
      now: systemClock.now(),
    });
    pd.verify = run;
    v.phase = "verify";
    this.#repl(pd, { type: "verify-start", as: "source" });
    this.#h.log.info(
      `${this.#prefix}/${volume}: Starting Online Verify from sector ${run.position}`,
    );
    this.#sendState(d);
    this.#h.notify();
    this.#verifyLoop(d, v, run).catch((e) => {
      this.#h.log.error(`${this.#prefix}/${volume}: verify failed: ${(e as Error).message}`);
      pc.close(`verify failed: ${(e as Error).message}`);
    });
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
    this.#splitBrainSeen = false;
    this.#startEpochs(pc);
    this.#conn({ type: "established" });
    const data = this.#dataLoop(pc);
    const meta = this.#metaLoop(pc);
    // First the settings both sides must share (checked by the peer before anything else).
    this.#protocol = protocolPacketOf(this.#c.net, this.#c.discardMyData);
    pc.send(this.#protocol).catch(() => {});
    for (const d of this.#r.devices.values()) {
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
    if (info.code === DisconnectCode.SPLIT_BRAIN && !this.#splitBrainSeen) {
      for (const d of this.#r.devices.values()) {
        if (d.disk) {
          this.#splitBrain(d, "Split-Brain detected but unresolved, dropping connection!");
        }
      }
    }
    this.#h.log.error(`${this.#prefix}: ${info.reason}`);
  }

  /**
   * Reports a split brain: the initial-split-brain handler runs for every split brain, the
   * split-brain handler (and an error in the log) only when it stays unresolved.
   */
  #splitBrain(d: Device, text: string, resolved = false): void {
    this.#splitBrainSeen = true;
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
    this.#resync.clear();
    for (const r of this.#verifies.values()) r.release();
    this.#verifies.clear();
    for (const done of this.#barriers.values()) done();
    this.#barriers.clear();
    for (const v of this.#vols.values()) {
      v.phase = "handshake";
      this.#wake(v);
      v.ctl = undefined;
    }
    this.#c.peerRole = "Unknown";
    for (const pd of this.#c.peerDevices.values()) {
      if (pd.verify) this.#verifyStopped(pd, pd.verify);
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
      v = { phase: "handshake", gotBitmap: false, lock: new RangeLock(), rsInflight: 0 };
      this.#vols.set(volume, v);
    }
    return v;
  }

  #slot(d: Device): number | undefined {
    return d.disk?.meta.slotOf(this.#c.peerNodeId, true);
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
      flags: pd.resyncSuspUser ? StateFlag.USER_ISP : 0,
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
        return await this.#onResyncData(d, v, p.sector, p.blockId, p.payload);
      case "CsumResyncRequest":
        return await this.#onCsumResyncRequest(d, v, p);
      case "ResyncRequest":
        return await this.#onResyncRequest(d, v, pd, p);
      case "VerifyRequest":
        return await this.#onVerifyRequest(d, v, pd, p);
      case "VerifyReply":
        return await this.#onVerifyReply(d, v, pd, p);
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
    const peerPaused = (s.flags & StateFlag.USER_ISP) !== 0;
    if (peerPaused !== pd.resyncSuspPeer) {
      pd.resyncSuspPeer = peerPaused;
      this.#applyPause(d);
    }
    const starting = s.replication === "StartingSyncT" || s.replication === "StartingSyncS";
    if (starting && v.phase === "idle" && d.disk) {
      // The peer was invalidated (it syncs from us) or invalidated us (invalidate-remote).
      this.#startBitmapExchange(d, s.replication === "StartingSyncT" ? "source" : "target");
    } else if (v.phase === "sync" && v.role === "target" && s.replication === "Established") {
      this.#finishTarget(d, v, pd);
    } else if (v.phase === "verify") {
      // The initiator ended the run (done, stop sector, or gave up): so does this side.
      if (pd.replication === "VerifyT" && s.replication === "Established") {
        this.#finishVerify(d, v, pd, false);
      }
    } else if (
      v.phase === "idle" && pd.replication === "Established" && s.replication === "VerifyS"
    ) {
      v.phase = "verify";
      this.#repl(pd, { type: "verify-start", as: "target" });
    } else if (v.phase === "handshake" || v.phase === "idle") {
      if (v.peerUuids) this.#decide(d);
    }
    this.#h.notify();
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
      if (!this.#splitBrainSeen) this.#splitBrain(d, outcome.log, outcome.resolved);
      if (!outcome.resolved) {
        this.#drop(outcome.log, DisconnectCode.SPLIT_BRAIN);
        return;
      }
      decision = outcome.decision;
    }
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
    this.#repl(pd, { type: "bitmap-received" });
    pd.resync = new SyncProgress(meta.outOfSync(slot), systemClock.now());
    meta.flushBitmap();
    this.#applyPause(d);
    this.#sendState(d);
    this.#h.notify();
    if (v.role === "source") {
      this.#resyncLoop(d, v).catch((e) => {
        this.#h.log.error(`${this.#prefix}/${d.volume}: resync failed: ${(e as Error).message}`);
        this.#pc?.close(`resync failed: ${(e as Error).message}`);
      });
    }
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
      disk.meta.setOutOfSync(p.sector, sectors, this.#r.unreplicatedSlots(d));
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

  async #onResyncData(
    d: Device,
    v: Volume,
    sector: number,
    blockId: number,
    payload: Uint8Array,
  ): Promise<void> {
    const reply = (type: "RsWriteAck" | "NegRsDataReply") =>
      this.#send({
        type,
        volume: d.volume,
        sector,
        blockId,
        size: payload.length,
        seq: 0,
      });
    const disk = d.disk;
    const slot = this.#slot(d);
    if (!disk || slot === undefined || v.role !== "target" || v.phase !== "sync") {
      reply("NegRsDataReply");
      return;
    }
    await disk.data.pwrite(payload, sector * 512, { fua: false });
    this.#c.peerDevice(d.volume).received += payload.length / 1024;
    disk.meta.clearBits(slot, sector / 8, Math.ceil(payload.length / 4096));
    this.#c.peerDevice(d.volume).resync?.advance(disk.meta.outOfSync(slot), systemClock.now());
    reply("RsWriteAck");
  }

  /**
   * csums-alg resync, SyncTarget: the source's digest of a block it would send. Equal to ours:
   * the block is in sync already (RsIsInSync, nothing moves); else ask for the data
   * (ResyncRequest), which comes as ResyncData. Without a usable csums-alg here every block
   * differs, so the resync still completes.
   */
  async #onCsumResyncRequest(d: Device, v: Volume, p: DigestPacket): Promise<void> {
    const theirs = p.digest.slice();
    const disk = d.disk;
    const slot = this.#slot(d);
    const reply = (type: "RsIsInSync" | "NegRsDataReply") =>
      this.#send({
        type,
        volume: d.volume,
        sector: p.sector,
        blockId: p.blockId,
        size: p.size,
        seq: 0,
      });
    if (!disk || slot === undefined || v.role !== "target" || v.phase !== "sync") {
      reply("NegRsDataReply");
      return;
    }
    const digest = digestFor(this.#c.net["csums-alg"] ?? "");
    let equal = false;
    if (digest) {
      const buf = new Uint8Array(p.size);
      await disk.data.pread(buf, p.sector * 512);
      const mine = digest(buf);
      equal = mine.length === theirs.length && mine.every((b, i) => b === theirs[i]);
    }
    if (!equal) {
      this.#send({
        type: "ResyncRequest",
        volume: d.volume,
        sector: p.sector,
        blockId: p.blockId,
        size: p.size,
      });
      return;
    }
    disk.meta.clearBits(slot, p.sector / 8, Math.ceil(p.size / 4096));
    this.#c.peerDevice(d.volume).resync?.advance(disk.meta.outOfSync(slot), systemClock.now());
    reply("RsIsInSync");
  }

  /** csums-alg resync, SyncSource: the target's digest differed; send the block's data now. */
  async #onResyncRequest(
    d: Device,
    v: Volume,
    pd: PeerDevice,
    p: BlockRequestPacket,
  ): Promise<void> {
    const r = this.#resync.get(p.blockId);
    const pc = this.#pc;
    if (!r || !pc || !d.disk || v.role !== "source" || v.phase !== "sync") return;
    // Read under the range lock, as the resync loop does: an application write to these
    // blocks is sent after this data, never overtaken by it.
    const release = await v.lock.lock(r.bit, r.bit + r.bits - 1);
    try {
      const buf = new Uint8Array(p.size);
      await d.disk.data.pread(buf, p.sector * 512);
      pd.sent += buf.length / 1024;
      v.csumSentKiB = (v.csumSentKiB ?? 0) + buf.length / 1024;
      pc.send({
        type: "ResyncData",
        volume: d.volume,
        sector: p.sector,
        blockId: p.blockId,
        payload: buf,
      })
        .catch(() => {});
    } finally {
      release();
    }
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
      case "NegRsDataReply": {
        const r = this.#resync.get(p.blockId);
        if (!r) return;
        this.#resync.delete(p.blockId);
        const d = this.#r.devices.get(r.volume);
        const slot = d && this.#slot(d);
        const v = this.#vol(r.volume);
        if (p.type !== "NegRsDataReply" && d?.disk && slot !== undefined) {
          d.disk.meta.clearBits(slot, r.bit, r.bits);
          const left = d.disk.meta.outOfSync(slot);
          this.#c.peerDevice(r.volume).resync?.advance(left, systemClock.now());
          if (p.type === "RsIsInSync") v.csumEqualKiB = (v.csumEqualKiB ?? 0) + r.bits * 4;
        }
        v.rsInflight--;
        this.#cameIn(v, r.bits * 8);
        this.#notifyProgress();
        return;
      }
      case "VerifyResult":
        return this.#onVerifyResult(p.volume, p.sector, p.size, p.inSync);
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
        return;
      }
    }
  }

  // ---- resync (source) ---------------------------------------------------------------------

  async #resyncLoop(d: Device, v: Volume): Promise<void> {
    const pc = this.#pc!;
    const disk = d.disk!;
    const meta = disk.meta;
    const slot = this.#slot(d)!;
    const pd = this.#c.peerDevice(d.volume);
    const ctl = v.ctl = new ResyncController(systemClock, this.#settings(d));
    v.csumEqualKiB = v.csumSentKiB = 0;
    let cursor = 0;
    const live = () => v.phase === "sync" && pc.state === "connected";
    while (live()) {
      if (resyncSuspended(pd)) {
        // Paused: nothing goes out; #applyPause wakes the loop when the pause ends.
        await this.#nextStep(v);
        ctl.reset();
        continue;
      }
      if (meta.nextOutOfSync(slot, cursor) < 0) {
        // End of a pass: let what is in flight come back, then finish or start over.
        if (v.rsInflight > 0) {
          await this.#nextStep(v);
          continue;
        }
        if (meta.outOfSync(slot) === 0) return this.#finishSource(d, v, pd);
        cursor = 0;
        continue;
      }
      const step = this.#openStep(d, ctl, pd);
      const number = step.number;
      let sent = 0;
      while (sent < number && live() && !resyncSuspended(pd)) {
        if (this.#throttled(d, ctl, pd.resync, meta.outOfSync(slot))) break;
        const bit = meta.nextOutOfSync(slot, cursor);
        if (bit < 0) break;
        const most = Math.min(RESYNC_CHUNK_BITS, number - sent, meta.bitCount - bit);
        let n = 1;
        while (n < most && meta.isOutOfSync(slot, bit + n)) n++;
        const release = await v.lock.lock(bit, bit + n - 1);
        try {
          if (!live()) return;
          const offset = bit * 4096;
          const buf = new Uint8Array(Math.min(n * 4096, d.size - offset));
          await disk.data.pread(buf, offset);
          const blockId = this.#nextId++;
          this.#resync.set(blockId, { volume: d.volume, bit, bits: n });
          v.rsInflight++;
          const csum = digestFor(this.#c.net["csums-alg"] ?? "");
          if (csum) {
            // csums-alg: the digest first; the target asks for the data only where it differs
            pc.send({
              type: "CsumResyncRequest",
              volume: d.volume,
              sector: bit * 8,
              blockId,
              size: buf.length,
              digest: csum(buf),
            }).catch(() => {});
          } else {
            pd.sent += buf.length / 1024;
            pc.send({
              type: "ResyncData",
              volume: d.volume,
              sector: bit * 8,
              blockId,
              payload: buf,
            }).catch(() => {});
          }
        } finally {
          release();
        }
        sent += n;
        cursor = bit + n;
      }
      await this.#closeStep(v, ctl, step, sent);
    }
  }

  /**
   * Opens a resync/verify step: current options applied, the controller's budget counted in
   * flight before the first answer can come back (as DRBD), corrected by {@link #closeStep}.
   */
  #openStep(d: Device, ctl: ResyncController, pd: PeerDevice): { number: number; start: number } {
    ctl.configure(this.#settings(d));
    const start = systemClock.now();
    const number = ctl.step();
    pd.cSyncRate = ctl.syncRate;
    ctl.issued(number);
    return { number, start };
  }

  /**
   * Closes a step after `sent` blocks: takes back the budget not used and waits out the rest of
   * STEP_MS, as DRBD's resync timer ticks (reading and queueing come off the wait, not on top).
   */
  #closeStep(
    v: Volume,
    ctl: ResyncController,
    step: { number: number; start: number },
    sent: number,
  ): Promise<void> {
    ctl.issued(sent - step.number);
    return this.#nextStep(v, STEP_MS - (systemClock.now() - step.start));
  }

  /** The controller settings of a volume now: peer-device options, disk options, net. */
  #settings(d: Device) {
    const pd = this.#c.peerDevice(d.volume);
    return controllerSettings(pd.options, d.disk?.options, this.#c.net);
  }

  /** Whether resync/verify yields to application I/O this step (c-min-rate). */
  #throttled(
    d: Device,
    ctl: ResyncController,
    progress: SyncProgress | undefined,
    leftBits: number,
  ): boolean {
    const appSectors = (d.stats.read + d.stats.written) * 2;
    const recent = progress?.recentKiBs(leftBits, systemClock.now()) ?? 0;
    return ctl.throttled(appSectors, d.stats.upperPending, recent);
  }

  /**
   * Waits `ms` (the rest of a step), or less when woken (early step, pause end); never less than
   * one timer turn, so the acks that arrived meanwhile are read before the next step.
   */
  #nextStep(v: Volume, ms = STEP_MS): Promise<void> {
    if (v.wakePending) {
      v.wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        if (v.rsWake === done) v.rsWake = undefined;
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      v.rsWake = done;
    });
  }

  #wake(v: Volume): void {
    if (v.earlyStep !== undefined) clearTimeout(v.earlyStep);
    v.earlyStep = undefined;
    // Woken while still sending: the next wait returns at once instead of losing the step.
    if (v.rsWake) v.rsWake();
    else v.wakePending = true;
  }

  /** The peer answered `sectors` of resync or verify: the controller may want a step now. */
  #cameIn(v: Volume, sectors: number): void {
    const early = v.ctl?.cameIn(sectors);
    if (early === 0) this.#wake(v);
    else if (early !== undefined && v.earlyStep === undefined) {
      v.earlyStep = setTimeout(() => {
        v.earlyStep = undefined;
        this.#wake(v);
      }, early);
    }
  }

  /** Puts a resync state in line with the pause flags (SyncSource ↔ PausedSyncS, ...). */
  #applyPause(d: Device): void {
    const pd = this.#c.peerDevice(d.volume);
    if (!this.#repl(pd, { type: resyncSuspended(pd) ? "pause" : "resume" })) return;
    const next = pd.replication;
    const now = systemClock.now();
    const where = `${this.#prefix}/${d.volume}`;
    const v = this.#vol(d.volume);
    if (next === "PausedSyncS" || next === "PausedSyncT") {
      this.#h.log.info(`${where}: Resync suspended`);
      pd.resync?.pause(now);
    } else {
      this.#h.log.info(`${where}: Syncer continues.`);
      const slot = this.#slot(d);
      const left = slot !== undefined && d.disk ? d.disk.meta.outOfSync(slot) : 0;
      pd.resync?.resume(left, now);
    }
    this.#wake(v);
    this.#h.notify();
  }

  #finishSource(d: Device, v: Volume, pd: PeerDevice): void {
    const disk = d.disk!;
    const md = disk.meta.md;
    const peer = md.peers[this.#c.peerNodeId];
    // The peer now has our current data: the bitmap UUID becomes history, as in DRBD.
    if (peer && peer.bitmapUuid !== 0n) {
      md.historyUuids.pop();
      md.historyUuids.unshift(peer.bitmapUuid);
      peer.bitmapUuid = 0n;
    }
    // A crashed primary's hot extents are resynced now.
    md.flags &= ~MDF.CRASHED_PRIMARY;
    disk.meta.flushBitmap();
    disk.meta.writeSuperblock();
    this.#logDone(d, pd);
    const equal = v.csumEqualKiB ?? 0, sent = v.csumSentKiB ?? 0;
    if (equal + sent > 0) {
      // DRBD's line after a checksum-based resync (drbd_resync_finished)
      this.#h.log.info(
        `${this.#prefix}/${d.volume}: ${Math.floor(equal * 100 / (equal + sent))} % had equal ` +
          `checksums, eliminated: ${equal}K; transferred ${sent}K total ${equal + sent}K`,
      );
    }
    v.phase = "idle";
    v.ctl = undefined;
    this.#repl(pd, { type: "resync-done" });
    pd.resync = undefined;
    pd.cSyncRate = 0;
    this.#sendUuids(d);
    this.#sendState(d);
    this.#h.notify();
  }

  #finishTarget(d: Device, v: Volume, pd: PeerDevice): void {
    const disk = d.disk!;
    const md = disk.meta.md;
    const peer = v.peerUuids!;
    md.currentUuid = peer.current;
    const n = md.historyUuids.length;
    for (let i = 0; i < n; i++) md.historyUuids[i] = peer.history[i] ?? 0n;
    const p = md.peers[this.#c.peerNodeId];
    if (p) p.bitmapUuid = 0n;
    disk.meta.clearSlot(this.#slot(d)!);
    md.flags &= ~MDF.CRASHED_PRIMARY;
    disk.meta.flushBitmap();
    disk.meta.writeSuperblock();
    this.#logDone(d, pd);
    v.phase = "idle";
    this.#repl(pd, { type: "resync-done" });
    pd.resync = undefined;
    this.#r.setDiskState(d, "UpToDate");
    this.#sendUuids(d);
    this.#sendState(d);
  }

  #logDone(d: Device, pd: PeerDevice): void {
    const rs = pd.resync;
    if (!rs) return;
    const dt = rs.activeSeconds(systemClock.now());
    const paused = Math.floor(rs.pausedMs / 1000);
    this.#h.log.info(
      `${this.#prefix}/${d.volume}: Resync done (total ${dt + paused} sec; paused ${paused} sec; ` +
        `${Math.floor(rs.totalBits / dt) * 4} K/sec)`,
    );
  }

  // ---- online verify -----------------------------------------------------------------------

  /** The initiator's request loop: one VerifyRequest per 4 KiB block, paced by the controller. */
  async #verifyLoop(d: Device, v: Volume, run: VerifyRun): Promise<void> {
    const pc = this.#pc!;
    const pd = this.#c.peerDevice(d.volume);
    const ctl = v.ctl = new ResyncController(systemClock, this.#settings(d));
    const live = () => v.phase === "verify" && pd.verify === run && pc.state === "connected";
    while (live() && !run.requestsDone) {
      const step = this.#openStep(d, ctl, pd);
      const number = step.number;
      let sent = 0;
      while (sent < number && live() && !run.requestsDone) {
        if (this.#throttled(d, ctl, run.progress, run.leftBits)) break;
        const sector = run.position;
        const size = Math.min(4096, d.size - sector * 512);
        const bit = sector / 8;
        // Held until the peer's digest is compared with ours: an application write to the
        // block waits, so both digests see the same data.
        const release = await v.lock.lock(bit, bit);
        if (!live()) {
          release();
          return;
        }
        const blockId = this.#nextId++;
        this.#verifies.set(blockId, { volume: d.volume, sector, size, release });
        pc.send({ type: "VerifyRequest", volume: d.volume, sector, blockId, size })
          .catch(() => {});
        run.position = sector + 8;
        sent++;
      }
      await this.#closeStep(v, ctl, step, sent);
    }
  }

  /** VerifyT: read the block, answer with its digest. */
  async #onVerifyRequest(
    d: Device,
    v: Volume,
    pd: PeerDevice,
    p: BlockRequestPacket,
  ): Promise<void> {
    const where = `${this.#prefix}/${d.volume}`;
    const alg = this.#c.net["verify-alg"] ?? "";
    const digest = digestFor(alg);
    if (!d.disk || !digest) {
      this.#h.log.once(
        `verify-alg ${where}`,
        "error",
        `${where}: the peer runs online verify, but ${
          d.disk ? `verify-alg "${alg}" is not usable here` : "there is no disk here"
        }`,
      );
      this.#send({
        type: "VerifyReply",
        volume: p.volume,
        sector: p.sector,
        blockId: p.blockId,
        size: p.size,
        digest: new Uint8Array(0),
      });
      return;
    }
    if (v.phase !== "verify") {
      v.phase = "verify";
      this.#repl(pd, { type: "verify-start", as: "target" });
    }
    if (!pd.verify) {
      pd.verify = new VerifyRun({
        startSector: p.sector,
        bitCount: d.disk.meta.bitCount,
        now: systemClock.now(),
      });
      this.#h.log.info(`${where}: Online Verify start sector: ${p.sector}`);
      this.#h.notify();
    }
    pd.verify.position = p.sector;
    const bit = Math.floor(p.sector / 8);
    const release = await v.lock.lock(bit, Math.floor((p.sector + p.size / 512 - 1) / 8));
    try {
      const buf = new Uint8Array(p.size);
      await d.disk.data.pread(buf, p.sector * 512);
      this.#send({
        type: "VerifyReply",
        volume: p.volume,
        sector: p.sector,
        blockId: p.blockId,
        size: p.size,
        digest: digest(buf),
      });
    } finally {
      release();
    }
  }

  /** VerifyS: compare the peer's digest with ours, mark a mismatch, tell the peer. */
  async #onVerifyReply(
    d: Device,
    v: Volume,
    pd: PeerDevice,
    p: DigestPacket,
  ): Promise<void> {
    const req = this.#verifies.get(p.blockId);
    if (!req) return;
    this.#verifies.delete(p.blockId);
    const run = pd.verify;
    const theirs = p.digest.slice();
    let inSync: boolean;
    try {
      const digest = digestFor(this.#c.net["verify-alg"] ?? "");
      if (!run || v.phase !== "verify" || !d.disk || !digest) return;
      const buf = new Uint8Array(req.size);
      await d.disk.data.pread(buf, req.sector * 512);
      const ours = digest(buf);
      if (theirs.length !== ours.length) {
        this.#h.log.error(
          `${this.#prefix}/${d.volume}: the peer's verify digest has ${theirs.length} bytes, ` +
            `ours ${ours.length}: verify-alg differs between the nodes; online verify stopped`,
        );
        this.#finishVerify(d, v, pd, true);
        return;
      }
      inSync = ours.every((b, i) => b === theirs[i]);
    } finally {
      req.release();
    }
    this.#cameIn(v, req.size / 512);
    this.#verifyCompared(d, v, pd, run, req.sector, req.size, inSync, true);
    this.#send({
      type: "VerifyResult",
      volume: d.volume,
      sector: req.sector,
      size: req.size,
      inSync,
    });
  }

  /** VerifyT: the initiator's verdict on one block. */
  #onVerifyResult(volume: number, sector: number, size: number, inSync: boolean): void {
    const d = this.#r.devices.get(volume);
    if (!d) return;
    const pd = this.#c.peerDevice(volume);
    const run = pd.verify;
    if (!run) {
      // A verdict that overtook the end of the run (meta vs data socket): still record it.
      if (!inSync) this.#markOutOfSync(d, sector, size);
      return;
    }
    this.#verifyCompared(d, this.#vol(volume), pd, run, sector, size, inSync, false);
  }

  #verifyCompared(
    d: Device,
    v: Volume,
    pd: PeerDevice,
    run: VerifyRun,
    sector: number,
    size: number,
    inSync: boolean,
    initiator: boolean,
  ): void {
    const where = `${this.#prefix}/${d.volume}`;
    // Marked out of sync only: DRBD resyncs verify's findings after a disconnect/connect.
    if (!inSync) this.#markOutOfSync(d, sector, size);
    const line = inSync ? run.flushOutOfSync() : run.outOfSync(sector, size);
    if (line) this.#h.log.error(`${where}: ${line}`);
    if (run.compared(sector, size, systemClock.now(), initiator)) {
      this.#finishVerify(d, v, pd, initiator);
    }
    this.#notifyProgress();
  }

  /** The verify run ended here: log as DRBD does, back to Established. */
  #finishVerify(d: Device, v: Volume, pd: PeerDevice, initiator: boolean): void {
    const run = pd.verify;
    if (!run || v.phase !== "verify") return;
    const where = `${this.#prefix}/${d.volume}`;
    this.#verifyStopped(pd, run);
    this.#h.log.info(`${where}: ${run.doneLine(systemClock.now())}`);
    const slot = this.#slot(d);
    const oos = slot !== undefined && d.disk ? d.disk.meta.outOfSync(slot) : 0;
    if (oos) this.#h.log.warn(`${where}: Online verify found ${oos} 4k blocks out of sync!`);
    d.disk?.meta.flushBitmap();
    for (const [id, r] of this.#verifies) {
      if (r.volume !== d.volume) continue;
      r.release();
      this.#verifies.delete(id);
    }
    pd.verify = undefined;
    pd.cSyncRate = 0;
    v.ctl = undefined;
    v.phase = "idle";
    this.#repl(pd, { type: "verify-done" });
    this.#wake(v);
    if (initiator) this.#sendState(d);
    this.#h.notify();
  }

  /** Remembers where a verify run got to, so the next one continues there (DRBD's ov_start_sector). */
  #verifyStopped(pd: PeerDevice, run: VerifyRun): void {
    const line = run.flushOutOfSync();
    if (line) this.#h.log.error(`${this.#prefix}/${pd.volume}: ${line}`);
    const reached = run.startSector + (run.progress.totalBits - run.leftBits) * 8;
    pd.ovStartSector = run.leftBits === 0 ? 0 : reached;
    if (run.leftBits) {
      this.#h.log.info(`${this.#prefix}/${pd.volume}: Online Verify reached sector ${reached}`);
    }
  }
}
