/**
 * Resync on one connection once the bitmaps are exchanged: the SyncSource's loop (reads the
 * out-of-sync blocks under the range lock and sends them, or their digests with csums-alg,
 * paced by the rate controller), the SyncTarget's handlers for the data and digests it gets,
 * pause and resume, and the end of the resync on either side (UUIDs, bitmap, the log lines
 * DRBD prints). Decisions are in resync_controller.ts, resync_pause.ts, resync_progress.ts;
 * this driver acts through its {@link ResyncHost}.
 *
 * @module
 */

import type { BlockRequestPacket, DigestPacket, Packet, PeerConnection } from "../wire/mod.ts";
import { systemClock } from "../wire/clock.ts";
import type { Logger } from "../util/log.ts";
import { MDF } from "../meta/constants.ts";
import type { Device } from "./device.ts";
import type { PeerDevice } from "./resource.ts";
import type { ReplEvent } from "./repl_fsm.ts";
import { ResyncController } from "./resync_controller.ts";
import { resyncSuspended } from "./resync_pause.ts";
import type { DiskState } from "./states.ts";
import { digestFor } from "./verify.ts";
import {
  cameIn,
  closeStep,
  nextStep,
  openStep,
  stepSettings,
  throttled,
  type Volume,
  wake,
} from "./peer_volume.ts";

/** Bits (4 KiB each) the source sends in one ResyncData packet. */
const RESYNC_CHUNK_BITS = 32;

/** A resync request (data or digest) the peer has not answered yet. */
interface PendingResync {
  volume: number;
  bit: number;
  bits: number;
}

/** The connection resync sends on: a loop stops when that one is gone. */
export type ResyncSocket = Pick<PeerConnection, "state" | "send" | "close">;

/** What resync needs from its connection (the PeerLink). */
export interface ResyncHost {
  readonly log: Logger;
  /** The peer's node id (its slot in the metadata). */
  readonly peerNodeId: number;
  /** The log prefix of a volume's lines: "<resource> <connection>/<volume>". */
  where(volume: number): string;
  /** The connection's options as they are now (csums-alg, the c-* pacing settings). */
  net(): Record<string, string>;
  peerDevice(volume: number): PeerDevice;
  /** The volume's state on the current connection. */
  volume(volume: number): Volume;
  /** The current connection, if any. */
  socket(): ResyncSocket | undefined;
  /** A fresh block id (one sequence with writes and verify requests). */
  nextBlockId(): number;
  /** Sends on the current connection, if any; a failed send ends the connection by itself. */
  send(p: Packet): void;
  /** The bitmap slot of this peer in `d`'s metadata, if `d` has a disk. */
  slot(d: Device): number | undefined;
  /** Moves the peer device's replication state (repl_fsm.ts); whether it changed. */
  repl(pd: PeerDevice, event: ReplEvent): boolean;
  /** Sets the local disk state of `d` (status and the peer see it). */
  setDiskState(d: Device, state: DiskState): void;
  sendUuids(d: Device): void;
  sendState(d: Device): void;
  /** Something status shows changed. */
  notify(): void;
  /** Resync progress changed (watchers hear it at most every so often). */
  notifyProgress(): void;
  /** The local device of `volume`, if it exists. */
  device(volume: number): Device | undefined;
}

/** Resync of every volume of one connection, as SyncSource or SyncTarget. */
export class ResyncDriver {
  #h: ResyncHost;
  /** The source's requests in flight by block id, until the peer's ack settles them. */
  #requests = new Map<number, PendingResync>();

  /** A driver for the connection `host`. */
  constructor(host: ResyncHost) {
    this.#h = host;
  }

  /** Runs the SyncSource's resync loop of `d`; a failure ends the connection. */
  start(d: Device, v: Volume): void {
    const h = this.#h;
    this.#loop(d, v).catch((e) => {
      h.log.error(`${h.where(d.volume)}: resync failed: ${(e as Error).message}`);
      h.socket()?.close(`resync failed: ${(e as Error).message}`);
    });
  }

  async #loop(d: Device, v: Volume): Promise<void> {
    const h = this.#h;
    const pc = h.socket()!;
    const disk = d.disk!;
    const meta = disk.meta;
    const slot = h.slot(d)!;
    const pd = h.peerDevice(d.volume);
    const ctl = v.ctl = new ResyncController(systemClock, stepSettings(d, pd, h.net()));
    v.csumEqualKiB = v.csumSentKiB = 0;
    let cursor = 0;
    const live = () => v.phase === "sync" && pc.state === "connected";
    while (live()) {
      if (resyncSuspended(pd)) {
        // Paused: nothing goes out; applyPause wakes the loop when the pause ends.
        await nextStep(v);
        ctl.reset();
        continue;
      }
      if (meta.nextOutOfSync(slot, cursor) < 0) {
        // End of a pass: let what is in flight come back, then finish or start over.
        if (v.rsInflight > 0) {
          await nextStep(v);
          continue;
        }
        if (meta.outOfSync(slot) === 0) return this.#finishSource(d, v, pd);
        cursor = 0;
        continue;
      }
      const step = openStep(ctl, stepSettings(d, pd, h.net()), pd);
      const number = step.number;
      let sent = 0;
      while (sent < number && live() && !resyncSuspended(pd)) {
        if (throttled(d, ctl, pd.resync, meta.outOfSync(slot))) break;
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
          const blockId = h.nextBlockId();
          this.#requests.set(blockId, { volume: d.volume, bit, bits: n });
          v.rsInflight++;
          const csum = digestFor(h.net()["csums-alg"] ?? "");
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
      await closeStep(v, ctl, step, sent);
    }
  }

  /** SyncTarget: a block of resync data; written, its bits cleared, acked. */
  async onData(
    d: Device,
    v: Volume,
    sector: number,
    blockId: number,
    payload: Uint8Array,
  ): Promise<void> {
    const h = this.#h;
    const reply = (type: "RsWriteAck" | "NegRsDataReply") =>
      h.send({
        type,
        volume: d.volume,
        sector,
        blockId,
        size: payload.length,
        seq: 0,
      });
    const disk = d.disk;
    const slot = h.slot(d);
    if (!disk || slot === undefined || v.role !== "target" || v.phase !== "sync") {
      reply("NegRsDataReply");
      return;
    }
    await disk.data.pwrite(payload, sector * 512, { fua: false });
    h.peerDevice(d.volume).received += payload.length / 1024;
    disk.meta.clearBits(slot, sector / 8, Math.ceil(payload.length / 4096));
    h.peerDevice(d.volume).resync?.advance(disk.meta.outOfSync(slot), systemClock.now());
    reply("RsWriteAck");
  }

  /**
   * csums-alg resync, SyncTarget: the source's digest of a block it would send. Equal to ours:
   * the block is in sync already (RsIsInSync, nothing moves); else ask for the data
   * (ResyncRequest), which comes as ResyncData. Without a usable csums-alg here every block
   * differs, so the resync still completes.
   */
  async onCsumRequest(d: Device, v: Volume, p: DigestPacket): Promise<void> {
    const h = this.#h;
    const theirs = p.digest.slice();
    const disk = d.disk;
    const slot = h.slot(d);
    const reply = (type: "RsIsInSync" | "NegRsDataReply") =>
      h.send({
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
    const digest = digestFor(h.net()["csums-alg"] ?? "");
    let equal = false;
    if (digest) {
      const buf = new Uint8Array(p.size);
      await disk.data.pread(buf, p.sector * 512);
      const mine = digest(buf);
      equal = mine.length === theirs.length && mine.every((b, i) => b === theirs[i]);
    }
    if (!equal) {
      h.send({
        type: "ResyncRequest",
        volume: d.volume,
        sector: p.sector,
        blockId: p.blockId,
        size: p.size,
      });
      return;
    }
    disk.meta.clearBits(slot, p.sector / 8, Math.ceil(p.size / 4096));
    h.peerDevice(d.volume).resync?.advance(disk.meta.outOfSync(slot), systemClock.now());
    reply("RsIsInSync");
  }

  /** csums-alg resync, SyncSource: the target's digest differed; send the block's data now. */
  async onRequest(d: Device, v: Volume, pd: PeerDevice, p: BlockRequestPacket): Promise<void> {
    const h = this.#h;
    const r = this.#requests.get(p.blockId);
    const pc = h.socket();
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

  /**
   * The peer answered resync request `blockId` (SyncSource): written (RsWriteAck), equal by
   * checksum (RsIsInSync) or failed (NegRsDataReply, the bits stay set). Unknown ids are
   * ignored: their connection is gone.
   */
  onAck(type: "RsWriteAck" | "RsIsInSync" | "NegRsDataReply", blockId: number): void {
    const h = this.#h;
    const r = this.#requests.get(blockId);
    if (!r) return;
    this.#requests.delete(blockId);
    const d = h.device(r.volume);
    const slot = d && h.slot(d);
    const v = h.volume(r.volume);
    if (type !== "NegRsDataReply" && d?.disk && slot !== undefined) {
      d.disk.meta.clearBits(slot, r.bit, r.bits);
      const left = d.disk.meta.outOfSync(slot);
      h.peerDevice(r.volume).resync?.advance(left, systemClock.now());
      if (type === "RsIsInSync") v.csumEqualKiB = (v.csumEqualKiB ?? 0) + r.bits * 4;
    }
    v.rsInflight--;
    cameIn(v, r.bits * 8);
    h.notifyProgress();
  }

  /** The connection is gone: requests in flight will never be answered. */
  lost(): void {
    this.#requests.clear();
  }

  /** Puts a resync state in line with the pause flags (SyncSource ↔ PausedSyncS, ...). */
  applyPause(d: Device): void {
    const h = this.#h;
    const pd = h.peerDevice(d.volume);
    if (!h.repl(pd, { type: resyncSuspended(pd) ? "pause" : "resume" })) return;
    const next = pd.replication;
    const now = systemClock.now();
    const where = h.where(d.volume);
    const v = h.volume(d.volume);
    if (next === "PausedSyncS" || next === "PausedSyncT") {
      h.log.info(`${where}: Resync suspended`);
      pd.resync?.pause(now);
    } else {
      h.log.info(`${where}: Syncer continues.`);
      const slot = h.slot(d);
      const left = slot !== undefined && d.disk ? d.disk.meta.outOfSync(slot) : 0;
      pd.resync?.resume(left, now);
    }
    wake(v);
    h.notify();
  }

  #finishSource(d: Device, v: Volume, pd: PeerDevice): void {
    const h = this.#h;
    const disk = d.disk!;
    const md = disk.meta.md;
    const peer = md.peers[h.peerNodeId];
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
      h.log.info(
        `${h.where(d.volume)}: ${Math.floor(equal * 100 / (equal + sent))} % had equal ` +
          `checksums, eliminated: ${equal}K; transferred ${sent}K total ${equal + sent}K`,
      );
    }
    v.phase = "idle";
    v.ctl = undefined;
    h.repl(pd, { type: "resync-done" });
    pd.resync = undefined;
    pd.cSyncRate = 0;
    h.sendUuids(d);
    h.sendState(d);
    h.notify();
  }

  /**
   * The SyncSource says the resync is over (Established): this side takes the source's UUIDs,
   * clears the peer's bitmap slot and is UpToDate.
   */
  finishTarget(d: Device, v: Volume, pd: PeerDevice): void {
    const h = this.#h;
    const disk = d.disk!;
    const md = disk.meta.md;
    const peer = v.peerUuids!;
    md.currentUuid = peer.current;
    const n = md.historyUuids.length;
    for (let i = 0; i < n; i++) md.historyUuids[i] = peer.history[i] ?? 0n;
    const p = md.peers[h.peerNodeId];
    if (p) p.bitmapUuid = 0n;
    disk.meta.clearSlot(h.slot(d)!);
    md.flags &= ~MDF.CRASHED_PRIMARY;
    disk.meta.flushBitmap();
    disk.meta.writeSuperblock();
    this.#logDone(d, pd);
    v.phase = "idle";
    h.repl(pd, { type: "resync-done" });
    pd.resync = undefined;
    h.setDiskState(d, "UpToDate");
    h.sendUuids(d);
    h.sendState(d);
  }

  #logDone(d: Device, pd: PeerDevice): void {
    const rs = pd.resync;
    if (!rs) return;
    const dt = rs.activeSeconds(systemClock.now());
    const paused = Math.floor(rs.pausedMs / 1000);
    this.#h.log.info(
      `${this.#h.where(d.volume)}: Resync done (total ${dt + paused} sec; paused ${paused} sec; ` +
        `${Math.floor(rs.totalBits / dt) * 4} K/sec)`,
    );
  }
}
