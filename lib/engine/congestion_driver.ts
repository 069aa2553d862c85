/**
 * The on-congestion policies on one connection (pull-ahead, disconnect): a congested
 * application write goes Ahead or ends the connection, Ahead volumes resync as SyncSource once
 * what was in flight drained, and the peer's Ahead state takes this side Behind and then
 * SyncTarget. The decisions are congestion.ts's; this driver owns the Ahead resync timer and
 * acts through its {@link CongestionHost}.
 *
 * @module
 */

import type { PeerConnection, PeerState } from "../wire/mod.ts";
import { systemClock } from "../wire/clock.ts";
import type { Logger } from "../util/log.ts";
import type { Device } from "./device.ts";
import type { PeerDevice } from "./resource.ts";
import type { ReplEvent } from "./repl_fsm.ts";
import { SyncProgress } from "./resync_progress.ts";
import type { TransferLog } from "./epochs.ts";
import type { DiskState } from "./states.ts";
import { AheadResyncTimer, congestionSettings, decideCongestion } from "./congestion.ts";
import type { Volume } from "./peer_volume.ts";

/** An application write as the congestion policy sees it: where and how long. */
export interface CongestedWrite {
  /** First 512-byte sector. */
  sector: number;
  /** Bytes. */
  length: number;
}

/** What the congestion policies need from their connection (the PeerLink). */
export interface CongestionHost {
  readonly log: Logger;
  /** The peer's node id (its slot in the metadata). */
  readonly peerNodeId: number;
  /** The log prefix of a volume's lines: "<resource> <connection>/<volume>". */
  where(volume: number): string;
  /** The connection's options as they are now (on-congestion, congestion-fill/-extents). */
  net(): Record<string, string>;
  /** The local volumes. */
  devices(): Iterable<Device>;
  peerDevice(volume: number): PeerDevice;
  /** The volume's state on the current connection. */
  volume(volume: number): Volume;
  /** Blocks (4 KiB) of `d` out of sync with this peer; undefined without a disk or slot. */
  outOfSync(d: Device): number | undefined;
  /** Marks the blocks out of sync with this peer in the bitmap. */
  markOutOfSync(d: Device, sector: number, length: number): void;
  /** Moves the peer device's replication state (repl_fsm.ts); whether it changed. */
  repl(pd: PeerDevice, event: ReplEvent): boolean;
  /** Sets the local disk state of `d` (status and the peer see it). */
  setDiskState(d: Device, state: DiskState): void;
  /** Starts a new data generation on `d` (the bitmap is kept). */
  newCurrentUuid(d: Device): void;
  /** Closes the open epoch of `tl` and sends its Barrier on `pc`. */
  closeEpoch(pc: PeerConnection, tl: TransferLog): void;
  /** Whether the connection is up with no replicated write in flight. */
  drained(): boolean;
  /** Whether the link was told to end (StandAlone): nothing more to do. */
  standingAlone(): boolean;
  /** Ends the link for good as a local disconnect does (Disconnecting, then StandAlone). */
  goStandAlone(reason: string): void;
  sendUuids(d: Device): void;
  sendState(d: Device): void;
  /** Puts the resync state of `d` in line with the pause flags. */
  applyPause(d: Device): void;
  /** Starts the SyncSource's resync loop of `d`. */
  startResync(d: Device, v: Volume): void;
  /** Something status shows changed. */
  notify(): void;
}

/** on-congestion on one connection, over its successive connections. */
export class CongestionDriver {
  #h: CongestionHost;
  /** Starts the resync of Ahead volumes once what was in flight drained. */
  #aheadTimer: AheadResyncTimer | undefined;

  /** A driver for the connection `host`. */
  constructor(host: CongestionHost) {
    this.#h = host;
  }

  /**
   * Applies the congestion policy to an application write about to go to the peer. True when
   * it was dealt with here and must not be sent: Ahead (now or already), it is marked out of
   * sync and announced with OutOfSync; under `disconnect` it is out of sync and the connection
   * drops. The write itself completes at once, as DRBD completes it locally.
   */
  congested(pc: PeerConnection, tl: TransferLog, d: Device, w: CongestedWrite): boolean {
    const h = this.#h;
    const pd = h.peerDevice(d.volume);
    const net = h.net();
    const policy = net["on-congestion"];
    // The default policy costs the write path one lookup.
    if ((policy === undefined || policy === "block") && pd.replication !== "Ahead") return false;
    const decision = decideCongestion(congestionSettings(net), pd.replication, {
      inFlightSectors: tl.sectors,
      activeExtents: tl.extentsOf(d.volume),
    });
    if (decision.action === "send") return false;
    const before = h.outOfSync(d) ?? -1;
    h.markOutOfSync(d, w.sector, w.length);
    if (decision.action === "disconnect") {
      this.#disconnect(pc, d, decision.log);
      return true;
    }
    if (decision.action === "pull-ahead") this.#pullAhead(pc, tl, d, decision.log);
    // Blocks the peer already knows to be out of sync are not announced again (as DRBD), so
    // the announcements queued behind a slow link stay bounded by the device's blocks.
    if (before >= 0 && h.outOfSync(d) === before) return true;
    pc.send({ type: "OutOfSync", volume: d.volume, sector: w.sector, size: w.length })
      .catch(() => {});
    return true;
  }

  /**
   * Established → Ahead: writes stop going to the peer. They start a new data generation (the
   * old one becomes the peer's bitmap UUID, so a connection lost while Ahead resyncs from the
   * bitmap), the open epoch is closed so what is in flight can drain, and the peer learns the
   * UUIDs and the state (it goes Behind) before the first OutOfSync.
   */
  #pullAhead(pc: PeerConnection, tl: TransferLog, d: Device, why: string): void {
    const h = this.#h;
    const pd = h.peerDevice(d.volume);
    const where = h.where(d.volume);
    if (!h.repl(pd, { type: "pull-ahead" })) return;
    h.log.info(`${where}: ${why}`);
    h.log.info(`${where}: repl( Established -> Ahead )`);
    h.volume(d.volume).phase = "ahead";
    // DRBD's sanitize_state: Ahead, the peer's disk is at best Consistent.
    if (pd.peerDisk === "UpToDate") pd.peerDisk = "Consistent";
    const md = d.disk?.meta.md;
    const peer = md?.peers[h.peerNodeId];
    if (md && peer && peer.bitmapUuid === 0n) peer.bitmapUuid = md.currentUuid;
    if (d.disk) h.newCurrentUuid(d);
    h.closeEpoch(pc, tl);
    h.sendUuids(d);
    h.sendState(d);
    this.#aheadTimer ??= new AheadResyncTimer({
      clock: systemClock,
      onDue: () => this.#resyncAfterAhead(),
    });
    this.#aheadTimer.inFlight(tl.sectors);
    h.notify();
  }

  /**
   * on-congestion disconnect: DRBD's handle_congestion sets the connection Disconnecting, and
   * conn_disconnect leaves it StandAlone; the peer sees a tear-down and keeps connecting.
   */
  #disconnect(pc: PeerConnection, d: Device, why: string): void {
    const h = this.#h;
    if (h.standingAlone()) return;
    h.log.info(`${h.where(d.volume)}: ${why}`);
    h.goStandAlone("congestion");
    pc.close("congestion").catch(() => {});
  }

  /** The peer acked writes: `sectors` are still in flight (the Ahead resync waits for 0). */
  inFlight(sectors: number): void {
    this.#aheadTimer?.inFlight(sectors);
  }

  /** The connection ended: no Ahead resync is due any more. */
  stop(): void {
    this.#aheadTimer?.stop();
  }

  /**
   * What was in flight when the volumes went Ahead is acknowledged: each Ahead volume resyncs
   * the blocks it announced as SyncSource (no bitmap exchange: the peer set the same bits from
   * the OutOfSync packets); the peer, Behind, follows as SyncTarget when it sees the state.
   */
  #resyncAfterAhead(): void {
    const h = this.#h;
    if (!h.drained()) return;
    for (const d of h.devices()) {
      const pd = h.peerDevice(d.volume);
      const left = h.outOfSync(d);
      if (pd.replication !== "Ahead" || !d.disk || left === undefined) continue;
      if (!h.repl(pd, { type: "resync-after-ahead", as: "source" })) continue;
      const v = h.volume(d.volume);
      v.phase = "sync";
      v.role = "source";
      v.gotBitmap = true;
      h.log.info(
        `${h.where(d.volume)}: repl( Ahead -> SyncSource ), ${left * 4} KiB written while Ahead`,
      );
      pd.resync = new SyncProgress(left, systemClock.now());
      d.disk.meta.flushBitmap();
      h.applyPause(d);
      h.sendState(d);
      h.notify();
      h.startResync(d, v);
    }
  }

  /**
   * The peer's state says it went Ahead (we go Behind: our disk is Outdated until the resync)
   * or, while we are Behind, that it resyncs as SyncSource (we become Inconsistent and
   * SyncTarget, DRBD's resync-after-behind). Whether the state was handled here.
   */
  onPeerState(d: Device, v: Volume, pd: PeerDevice, s: PeerState): boolean {
    const h = this.#h;
    const where = h.where(d.volume);
    if (s.replication === "Ahead") {
      if (v.phase === "behind") return true;
      if (v.phase !== "idle" || !h.repl(pd, { type: "peer-ahead" })) return false;
      v.phase = "behind";
      h.log.info(`${where}: repl( Established -> Behind )`);
      if (d.disk) h.setDiskState(d, "Outdated");
      h.sendState(d);
      return true;
    }
    if (
      v.phase !== "behind" || (s.replication !== "SyncSource" && s.replication !== "PausedSyncS")
    ) {
      return false;
    }
    if (!d.disk || h.outOfSync(d) === undefined) return false;
    if (!h.repl(pd, { type: "resync-after-ahead", as: "target" })) return false;
    h.setDiskState(d, "Inconsistent");
    v.phase = "sync";
    v.role = "target";
    v.gotBitmap = true;
    const left = h.outOfSync(d)!;
    h.log.info(`${where}: repl( Behind -> SyncTarget ), ${left * 4} KiB to resync`);
    pd.resync = new SyncProgress(left, systemClock.now());
    d.disk.meta.flushBitmap();
    h.applyPause(d);
    h.sendState(d);
    return true;
  }
}
