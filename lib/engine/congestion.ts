/**
 * DRBD's congestion policy (net `on-congestion`, `congestion-fill`, `congestion-extents`): what
 * a Primary replicating with protocol A does when the link cannot keep up. `block` (the
 * default) lets the bounded send queues push back on the application, as without a policy.
 * `pull-ahead` stops sending data: the peer device goes Ahead (the peer Behind), new writes are
 * only marked out of sync here and announced to the peer with OutOfSync packets, and once the
 * data still in flight has been acknowledged the Primary resyncs the peer as SyncSource (the
 * peer SyncTarget) and both return to Established. `disconnect` drops the connection instead.
 *
 * Congestion is DRBD's (drbd_req.c, maybe_pull_ahead): the data sent but not yet acknowledged
 * by a BarrierAck reaches `congestion-fill` (0 turns that check off), or the activity-log
 * extents held by such writes reach `congestion-extents`. The policy acts only while data is in
 * flight (handle_congestion), and DRBD refuses any policy but `block` unless the protocol is A
 * (ERR_CONG_NOT_PROTO_A).
 *
 * This module decides; lib/engine/peer.ts applies the decisions to the connection. The pure
 * functions and the {@link AheadResyncTimer} take no I/O and run on an injectable clock.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../wire/clock.ts";
import { parseNumeric } from "../options/lookup.ts";
import type { ReplicationState } from "./states.ts";

/** The values of net `on-congestion`. */
export type CongestionPolicy = "block" | "pull-ahead" | "disconnect";

/** A connection's congestion options, in DRBD's units. */
export interface CongestionSettings {
  policy: CongestionPolicy;
  /** `congestion-fill` in 512-byte sectors; 0: the fill check is off. */
  fillSectors: number;
  /** `congestion-extents`: activity-log extents. */
  extents: number;
}

/** DRBD's defaults (drbd.conf-9.0: on-congestion block, congestion-fill 0, extents 1237). */
export const CONGESTION_DEFAULTS: CongestionSettings = {
  policy: "block",
  fillSectors: 0,
  extents: 1237,
};

/**
 * How long a drained Ahead peer device waits before its resync starts (DRBD arms the
 * start_resync_timer for one second, HZ, when the last in-flight write is acknowledged).
 */
export const AHEAD_RESYNC_DELAY_MS = 1000;

/**
 * The congestion settings of a connection's net options as drbdsetup stores them
 * (`congestion-fill` may carry a K/M/G/s suffix; a bare number counts sectors).
 */
export function congestionSettings(net: Readonly<Record<string, string>>): CongestionSettings {
  const policy = net["on-congestion"];
  const fill = net["congestion-fill"];
  const extents = net["congestion-extents"];
  return {
    policy: policy === "pull-ahead" || policy === "disconnect" ? policy : "block",
    fillSectors: fill === undefined
      ? CONGESTION_DEFAULTS.fillSectors
      : Number(parseNumeric(fill, "s") ?? 0n),
    extents: extents === undefined
      ? CONGESTION_DEFAULTS.extents
      : Number(parseNumeric(extents, "1") ?? BigInt(CONGESTION_DEFAULTS.extents)),
  };
}

/**
 * Whether DRBD refuses these net options for their congestion policy: any `on-congestion` but
 * `block` needs `protocol A` (the kernel's _check_net_options returns ERR_CONG_NOT_PROTO_A, and
 * drbdsetup prints "on-congestion policy pull-ahead only with prot A allowed", for `disconnect`
 * too). The protocol defaults to C.
 */
export function congestionNeedsProtocolA(net: Readonly<Record<string, string>>): boolean {
  const policy = net["on-congestion"] ?? "block";
  return policy !== "block" && (net.protocol ?? "C").toUpperCase() !== "A";
}

/** What the Primary's connection carries now, as the congestion check measures it. */
export interface CongestionLoad {
  /** Sectors sent to the peer whose epoch it has not acknowledged (DRBD's ap_in_flight). */
  inFlightSectors: number;
  /** Activity-log extents of this volume held by those writes (DRBD's act_log->used). */
  activeExtents: number;
}

/** What a write about to be replicated finds. */
export type CongestionDecision =
  /** Not congested, or the policy is block: send it. */
  | { action: "send" }
  /** Already Ahead: mark it out of sync and announce it with OutOfSync. */
  | { action: "out-of-sync" }
  /** Congested: go Ahead (pull-ahead) or drop the connection (disconnect); `log` says why. */
  | { action: "pull-ahead" | "disconnect"; log: string };

/**
 * The decision for one application write on a peer device in `state`: DRBD's maybe_pull_ahead
 * followed by handle_congestion, applied at once (DRBD posts the state change to its worker).
 * Only an Established peer device pulls ahead here; DRBD also leaves a running resync for
 * Ahead, which this engine does not (the write is sent).
 */
export function decideCongestion(
  settings: CongestionSettings,
  state: ReplicationState,
  load: CongestionLoad,
): CongestionDecision {
  if (state === "Ahead") return { action: "out-of-sync" };
  if (settings.policy === "block" || state !== "Established") return { action: "send" };
  let log: string | undefined;
  if (settings.fillSectors > 0 && load.inFlightSectors >= settings.fillSectors) {
    log = `Congestion-fill threshold reached (${load.inFlightSectors} >= ${settings.fillSectors})`;
  } else if (load.activeExtents >= settings.extents) {
    log = `Congestion-extents threshold reached (${load.activeExtents} >= ${settings.extents})`;
  }
  // Congestion may have cleared meanwhile: nothing in flight, nothing to act on.
  if (!log || load.inFlightSectors === 0) return { action: "send" };
  return { action: settings.policy, log };
}

/** Options of {@link AheadResyncTimer}. */
export interface AheadResyncTimerOptions {
  clock: Clock;
  /** The delay after the drain (default {@link AHEAD_RESYNC_DELAY_MS}). */
  delayMs?: number;
  /** Called once per drain, when the resync is due. */
  onDue(): void;
}

/**
 * When an Ahead peer device starts its resync: the in-flight data has drained (its last epoch
 * acknowledged) and stayed drained for the delay. New data in flight disarms the timer; every
 * drain after that arms it again. Told nothing but in-flight amounts, it owns no state besides
 * its timer.
 */
export class AheadResyncTimer {
  #o: AheadResyncTimerOptions;
  #timer: TimerHandle | undefined;

  /** A disarmed timer. */
  constructor(options: AheadResyncTimerOptions) {
    this.#o = options;
  }

  /** Whether the resync is scheduled. */
  get armed(): boolean {
    return this.#timer !== undefined;
  }

  /** The sectors in flight changed (an ack came, or the device went Ahead). */
  inFlight(sectors: number): void {
    if (sectors > 0) {
      this.stop();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = this.#o.clock.setTimer(this.#o.delayMs ?? AHEAD_RESYNC_DELAY_MS, () => {
      this.#timer = undefined;
      this.#o.onDue();
    });
  }

  /** Disarms the timer (the connection ended, the device left Ahead). */
  stop(): void {
    if (this.#timer === undefined) return;
    this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}
