/**
 * Online verify on one connection (drbdsetup verify): the initiator's request loop (VerifyS),
 * the target's digest replies (VerifyT), the comparison and its verdicts, and the end of a run.
 * The decisions about positions, counts and log texts are VerifyRun's (verify.ts); this driver
 * owns the requests in flight and talks to the peer through its {@link VerifyHost}.
 *
 * @module
 */

import type { BlockRequestPacket, DigestPacket, Packet, PeerConnection } from "../wire/mod.ts";
import { systemClock } from "../wire/clock.ts";
import type { Logger } from "../util/log.ts";
import type { Device } from "./device.ts";
import { DrbdError, ERR, SS } from "./errors.ts";
import type { PeerDevice } from "./resource.ts";
import { ResyncController } from "./resync_controller.ts";
import type { ReplEvent } from "./repl_fsm.ts";
import { digestFor, VerifyRun } from "./verify.ts";
import {
  cameIn,
  closeStep,
  openStep,
  stepSettings,
  throttled,
  type Volume,
  wake,
} from "./peer_volume.ts";

/** The connection a verify loop sends its requests on: it stops when that one is gone. */
export type VerifySocket = Pick<PeerConnection, "state" | "send" | "close">;

/** What online verify needs from its connection (the PeerLink). */
export interface VerifyHost {
  readonly log: Logger;
  /** The log prefix of a volume's lines: "<resource> <connection>/<volume>". */
  where(volume: number): string;
  /** The connection's options as they are now (verify-alg, the c-* pacing settings). */
  net(): Record<string, string>;
  /** The local volume, if it exists. */
  device(volume: number): Device | undefined;
  peerDevice(volume: number): PeerDevice;
  /** The volume's state on the current connection. */
  volume(volume: number): Volume;
  /** A fresh block id (one sequence with writes and resync requests). */
  nextBlockId(): number;
  /** Sends on the current connection, if any; a failed send ends the connection by itself. */
  send(p: Packet): void;
  /** Marks the blocks out of sync with this peer in the bitmap. */
  markOutOfSync(d: Device, sector: number, length: number): void;
  /** Blocks (4 KiB) of `d` out of sync with this peer; undefined without a disk or slot. */
  outOfSync(d: Device): number | undefined;
  /** Moves the peer device's replication state (repl_fsm.ts); whether it changed. */
  repl(pd: PeerDevice, event: ReplEvent): boolean;
  /** Sends the volume's state to the peer. */
  sendState(d: Device): void;
  /** Something status shows changed. */
  notify(): void;
  /** Progress alone moved: notify, rate-limited. */
  notifyProgress(): void;
  /** Runs a handler (drbdadm <handler>) for the volume, without waiting for it. */
  runHandler(d: Device, handler: string): void;
}

interface PendingVerify {
  volume: number;
  sector: number;
  size: number;
  release: () => void;
}

/** Online verify of every volume of one connection, on either side. */
export class VerifyDriver {
  #h: VerifyHost;
  /** The initiator's requests the peer has not answered, by block id (range locks held). */
  #pending = new Map<number, PendingVerify>();

  /** A driver for the connection `host`. */
  constructor(host: VerifyHost) {
    this.#h = host;
  }

  /**
   * Starts online verify of `volume` towards the peer: this side becomes VerifyS, the peer
   * VerifyT. Refused with DRBD's codes: no verify-alg (-14), not connected (-15), a resync or
   * verify already running (-8), an algorithm this build lacks (146).
   */
  start(
    pc: VerifySocket | undefined,
    volume: number,
    objname: string,
    startSector?: number,
    stopSector?: number,
  ): void {
    const h = this.#h;
    const d = h.device(volume);
    const pd = h.peerDevice(volume);
    const alg = h.net()["verify-alg"];
    if (!alg) throw new DrbdError(objname, SS.NO_VERIFY_ALG);
    const v = h.volume(volume);
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
    h.repl(pd, { type: "verify-start", as: "source" });
    h.log.info(`${h.where(volume)}: Starting Online Verify from sector ${run.position}`);
    h.sendState(d);
    h.notify();
    this.#loop(pc, d, v, run).catch((e) => {
      h.log.error(`${h.where(volume)}: verify failed: ${(e as Error).message}`);
      pc.close(`verify failed: ${(e as Error).message}`);
    });
  }

  /** The initiator's request loop: one VerifyRequest per 4 KiB block, paced by the controller. */
  async #loop(pc: VerifySocket, d: Device, v: Volume, run: VerifyRun): Promise<void> {
    const h = this.#h;
    const pd = h.peerDevice(d.volume);
    const ctl = v.ctl = new ResyncController(systemClock, stepSettings(d, pd, h.net()));
    const live = () => v.phase === "verify" && pd.verify === run && pc.state === "connected";
    while (live() && !run.requestsDone) {
      const step = openStep(ctl, stepSettings(d, pd, h.net()), pd);
      const number = step.number;
      let sent = 0;
      while (sent < number && live() && !run.requestsDone) {
        if (throttled(d, ctl, run.progress, run.leftBits)) break;
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
        const blockId = h.nextBlockId();
        this.#pending.set(blockId, { volume: d.volume, sector, size, release });
        pc.send({ type: "VerifyRequest", volume: d.volume, sector, blockId, size })
          .catch(() => {});
        run.position = sector + 8;
        sent++;
      }
      await closeStep(v, ctl, step, sent);
    }
  }

  /** VerifyT: read the block, answer with its digest. */
  async onRequest(d: Device, v: Volume, pd: PeerDevice, p: BlockRequestPacket): Promise<void> {
    const h = this.#h;
    const where = h.where(d.volume);
    const alg = h.net()["verify-alg"] ?? "";
    const digest = digestFor(alg);
    const reply = (bytes: Uint8Array) =>
      h.send({
        type: "VerifyReply",
        volume: p.volume,
        sector: p.sector,
        blockId: p.blockId,
        size: p.size,
        digest: bytes,
      });
    if (!d.disk || !digest) {
      h.log.once(
        `verify-alg ${where}`,
        "error",
        `${where}: the peer runs online verify, but ${
          d.disk ? `verify-alg "${alg}" is not usable here` : "there is no disk here"
        }`,
      );
      reply(new Uint8Array(0));
      return;
    }
    if (v.phase !== "verify") {
      v.phase = "verify";
      h.repl(pd, { type: "verify-start", as: "target" });
    }
    if (!pd.verify) {
      pd.verify = new VerifyRun({
        startSector: p.sector,
        bitCount: d.disk.meta.bitCount,
        now: systemClock.now(),
      });
      h.log.info(`${where}: Online Verify start sector: ${p.sector}`);
      h.notify();
    }
    pd.verify.position = p.sector;
    const bit = Math.floor(p.sector / 8);
    const release = await v.lock.lock(bit, Math.floor((p.sector + p.size / 512 - 1) / 8));
    try {
      const buf = new Uint8Array(p.size);
      await d.disk.data.pread(buf, p.sector * 512);
      reply(digest(buf));
    } finally {
      release();
    }
  }

  /** VerifyS: compare the peer's digest with ours, mark a mismatch, tell the peer. */
  async onReply(d: Device, v: Volume, pd: PeerDevice, p: DigestPacket): Promise<void> {
    const h = this.#h;
    const req = this.#pending.get(p.blockId);
    if (!req) return;
    this.#pending.delete(p.blockId);
    const run = pd.verify;
    const theirs = p.digest.slice();
    let inSync: boolean;
    try {
      const digest = digestFor(h.net()["verify-alg"] ?? "");
      if (!run || v.phase !== "verify" || !d.disk || !digest) return;
      const buf = new Uint8Array(req.size);
      await d.disk.data.pread(buf, req.sector * 512);
      const ours = digest(buf);
      if (theirs.length !== ours.length) {
        h.log.error(
          `${h.where(d.volume)}: the peer's verify digest has ${theirs.length} bytes, ` +
            `ours ${ours.length}: verify-alg differs between the nodes; online verify stopped`,
        );
        this.finish(d, v, pd, true);
        return;
      }
      inSync = ours.every((b, i) => b === theirs[i]);
    } finally {
      req.release();
    }
    cameIn(v, req.size / 512);
    this.#compared(d, v, pd, run, req.sector, req.size, inSync, true);
    h.send({
      type: "VerifyResult",
      volume: d.volume,
      sector: req.sector,
      size: req.size,
      inSync,
    });
  }

  /** VerifyT: the initiator's verdict on one block. */
  onResult(volume: number, sector: number, size: number, inSync: boolean): void {
    const h = this.#h;
    const d = h.device(volume);
    if (!d) return;
    const pd = h.peerDevice(volume);
    const run = pd.verify;
    if (!run) {
      // A verdict that overtook the end of the run (meta vs data socket): still record it.
      if (!inSync) h.markOutOfSync(d, sector, size);
      return;
    }
    this.#compared(d, h.volume(volume), pd, run, sector, size, inSync, false);
  }

  #compared(
    d: Device,
    v: Volume,
    pd: PeerDevice,
    run: VerifyRun,
    sector: number,
    size: number,
    inSync: boolean,
    initiator: boolean,
  ): void {
    const h = this.#h;
    // Marked out of sync only: DRBD resyncs verify's findings after a disconnect/connect.
    if (!inSync) h.markOutOfSync(d, sector, size);
    const line = inSync ? run.flushOutOfSync() : run.outOfSync(sector, size);
    if (line) h.log.error(`${h.where(d.volume)}: ${line}`);
    if (run.compared(sector, size, systemClock.now(), initiator)) {
      this.finish(d, v, pd, initiator);
    }
    h.notifyProgress();
  }

  /**
   * The verify run of `d` ended here (done, stop sector, the initiator ended it, or the digests
   * cannot be compared): log as DRBD does, back to Established; the initiator tells the peer.
   */
  finish(d: Device, v: Volume, pd: PeerDevice, initiator: boolean): void {
    const h = this.#h;
    const run = pd.verify;
    if (!run || v.phase !== "verify") return;
    const where = h.where(d.volume);
    this.stopped(pd, run);
    h.log.info(`${where}: ${run.doneLine(systemClock.now())}`);
    const oos = h.outOfSync(d) ?? 0;
    if (oos) h.log.warn(`${where}: Online verify found ${oos} 4k blocks out of sync!`);
    d.disk?.meta.flushBitmap();
    for (const [id, r] of this.#pending) {
      if (r.volume !== d.volume) continue;
      r.release();
      this.#pending.delete(id);
    }
    pd.verify = undefined;
    pd.cSyncRate = 0;
    v.ctl = undefined;
    v.phase = "idle";
    h.repl(pd, { type: "verify-done" });
    wake(v);
    if (initiator) h.sendState(d);
    h.notify();
    // drbd_resync_finished runs the handler on both sides, once the run is over.
    if (oos) h.runHandler(d, "out-of-sync");
  }

  /**
   * Remembers where a verify run got to, so the next one continues there (DRBD's
   * ov_start_sector).
   */
  stopped(pd: PeerDevice, run: VerifyRun): void {
    const h = this.#h;
    const line = run.flushOutOfSync();
    if (line) h.log.error(`${h.where(pd.volume)}: ${line}`);
    const reached = run.startSector + (run.progress.totalBits - run.leftBits) * 8;
    pd.ovStartSector = run.leftBits === 0 ? 0 : reached;
    if (run.leftBits) h.log.info(`${h.where(pd.volume)}: Online Verify reached sector ${reached}`);
  }

  /** The connection ended: the requests in flight are dropped and their blocks unlocked. */
  lost(): void {
    for (const r of this.#pending.values()) r.release();
    this.#pending.clear();
  }
}
