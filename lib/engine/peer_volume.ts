/**
 * The state one connection keeps per volume (phase, the peer's UUIDs and sizes, the range lock
 * shared by application writes, resync and verify) and the pacing of resync and verify steps on
 * it: a step of the rate controller's budget every STEP_MS, woken early when answers came in or
 * a pause ended. Shared by the PeerLink and its drivers (verify_driver.ts, ...).
 *
 * @module
 */

import { systemClock } from "../wire/clock.ts";
import type { Device } from "./device.ts";
import { RangeLock } from "./range_lock.ts";
import type { PeerDevice } from "./resource.ts";
import { controllerSettings, type ResyncController, STEP_MS } from "./resync_controller.ts";
import type { SyncProgress } from "./resync_progress.ts";

/** The generation UUIDs the peer sent for a volume (its Uuids packet). */
export interface PeerUuids {
  current: bigint;
  bitmap: bigint;
  history: bigint[];
  flags: bigint;
}

/**
 * Where a volume of the connection is. ahead/behind: on-congestion pull-ahead took this side
 * Ahead or the peer Ahead (congestion.ts).
 */
export type Phase = "handshake" | "idle" | "bitmap" | "sync" | "verify" | "ahead" | "behind";

/** One volume's state on the current connection (reset when the connection ends). */
export interface Volume {
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

/** A volume's state at the start of a connection: handshake, nothing in flight. */
export function newVolume(): Volume {
  return { phase: "handshake", gotBitmap: false, lock: new RangeLock(), rsInflight: 0 };
}

/** A resync/verify step as opened by {@link openStep}: its budget and when it began. */
export interface Step {
  number: number;
  start: number;
}

/** The controller settings of a volume now: peer-device options, disk options, net. */
export function stepSettings(d: Device, pd: PeerDevice, net: Record<string, string>) {
  return controllerSettings(pd.options, d.disk?.options, net);
}

/**
 * Opens a resync/verify step: current options applied, the controller's budget counted in
 * flight before the first answer can come back (as DRBD), corrected by {@link closeStep}.
 */
export function openStep(
  ctl: ResyncController,
  settings: ReturnType<typeof stepSettings>,
  pd: PeerDevice,
): Step {
  ctl.configure(settings);
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
export function closeStep(
  v: Volume,
  ctl: ResyncController,
  step: Step,
  sent: number,
): Promise<void> {
  ctl.issued(sent - step.number);
  return nextStep(v, STEP_MS - (systemClock.now() - step.start));
}

/** Whether resync/verify yields to application I/O this step (c-min-rate). */
export function throttled(
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
export function nextStep(v: Volume, ms = STEP_MS): Promise<void> {
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

/** Ends the wait of the volume's resync or verify loop now (or its next wait, if not waiting). */
export function wake(v: Volume): void {
  if (v.earlyStep !== undefined) clearTimeout(v.earlyStep);
  v.earlyStep = undefined;
  // Woken while still sending: the next wait returns at once instead of losing the step.
  if (v.rsWake) v.rsWake();
  else v.wakePending = true;
}

/** The peer answered `sectors` of resync or verify: the controller may want a step now. */
export function cameIn(v: Volume, sectors: number): void {
  const early = v.ctl?.cameIn(sectors);
  if (early === 0) wake(v);
  else if (early !== undefined && v.earlyStep === undefined) {
    v.earlyStep = setTimeout(() => {
      v.earlyStep = undefined;
      wake(v);
    }, early);
  }
}
