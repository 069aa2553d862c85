/**
 * The resync rate controller of DRBD 9 (drbd_rs_controller, drbd_rs_number_requests,
 * drbd_rs_all_in_flight_came_back, drbd_rs_c_min_rate_throttle in the kernel), as a pure object:
 * the resync and online-verify loops ask it every step (100 ms, DRBD's RS_MAKE_REQS_INTV) how
 * many 4 KiB blocks to put on the wire, tell it how many they did and how many the peer answered,
 * and it plans ahead so that about `c-fill-target` sectors (or `c-delay-target` worth of
 * throughput) stay in flight, never faster than `c-max-rate`. With `c-plan-ahead 0` it hands out
 * the fixed `resync-rate`. Time comes from an injected clock, so tests drive it step by step.
 *
 * Units are DRBD's: rates in KiB/s, c-plan-ahead and c-delay-target in tenths of a second,
 * c-fill-target and everything in flight in 512-byte sectors.
 *
 * @module
 */

/** Milliseconds between two controller steps (DRBD's RS_MAKE_REQS_INTV, HZ/10). */
export const STEP_MS = 100;

/** Sectors per bitmap bit (4 KiB blocks). */
const SECTORS_PER_BIT = 8;

/** The largest request in KiB (DRBD_MAX_BIO_SIZE); paces early steps. */
const MAX_BIO_KIB = 1024;

/** What the controller needs of a clock. */
export interface ControllerClock {
  /** Milliseconds, never decreasing. */
  now(): number;
}

/** The peer-device and net options that steer the controller, in DRBD's units. */
export interface ControllerSettings {
  /** `resync-rate`, KiB/s: the fixed rate (plan-ahead 0) and the initial fill. */
  resyncRate: number;
  /** `c-plan-ahead`, 1/10 s: controller steps to plan ahead; 0 turns the controller off. */
  planAhead: number;
  /** `c-delay-target`, 1/10 s: in-flight amount as a delay, used when c-fill-target is 0. */
  delayTarget: number;
  /** `c-fill-target`, sectors: in-flight amount the controller aims for (0: use delay target). */
  fillTarget: number;
  /** `c-max-rate`, KiB/s: upper bound of the dynamic rate (0: unbounded). */
  maxRate: number;
  /** `c-min-rate`, KiB/s: resync keeps at least this rate when application I/O competes. */
  minRate: number;
  /** Net `max-buffers`: at most this many 4 KiB blocks of resync in flight. */
  maxBuffers: number;
}

/** DRBD 9's defaults (drbd_limits.h). */
export const CONTROLLER_DEFAULTS: Readonly<ControllerSettings> = {
  resyncRate: 250,
  planAhead: 20,
  delayTarget: 10,
  fillTarget: 100,
  maxRate: 102400,
  minRate: 250,
  maxBuffers: 2048,
};

const OPTION_NAMES: Record<keyof ControllerSettings, string> = {
  resyncRate: "resync-rate",
  planAhead: "c-plan-ahead",
  delayTarget: "c-delay-target",
  fillTarget: "c-fill-target",
  maxRate: "c-max-rate",
  minRate: "c-min-rate",
  maxBuffers: "max-buffers",
};

/**
 * Controller settings from option maps holding canonical values (numbers in the option's base
 * unit, as drbdsetup sends them); the first map that sets an option wins, DRBD's default
 * otherwise.
 */
export function controllerSettings(
  ...sources: (Readonly<Record<string, string>> | undefined)[]
): ControllerSettings {
  const out = { ...CONTROLLER_DEFAULTS };
  for (const key of Object.keys(OPTION_NAMES) as (keyof ControllerSettings)[]) {
    for (const src of sources) {
      const text = src?.[OPTION_NAMES[key]];
      if (text === undefined) continue;
      const n = Number(text);
      if (Number.isFinite(n) && n >= 0) {
        out[key] = n;
        break;
      }
    }
  }
  return out;
}

/** One resync's (or online verify's) controller state, for one peer device. */
export class ResyncController {
  #clock: ControllerClock;
  #s: ControllerSettings;
  #plan: number[] = [];
  #head = 0;
  #planTotal = 0;
  #inFlight = 0;
  #sectIn = 0;
  #lastStep: number;
  #lastEvents = 0;
  #rate = 0;

  /** A controller at the start of a resync. */
  constructor(clock: ControllerClock, settings: ControllerSettings) {
    this.#clock = clock;
    this.#s = { ...settings };
    this.#lastStep = clock.now();
    this.#plan = new Array(settings.planAhead).fill(0);
  }

  /** The settings in effect. */
  get settings(): Readonly<ControllerSettings> {
    return this.#s;
  }

  /** Sectors requested and not yet answered, as the controller counts them. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The rate of the last step in KiB/s (the kernel's c_sync_rate, status `want:`). */
  get syncRate(): number {
    return this.#rate;
  }

  /**
   * New option values on a running resync (peer-device-options, adjust). A changed c-plan-ahead
   * replaces the plan, as the kernel allocates a new one; the rest apply from the next step.
   */
  configure(settings: ControllerSettings): void {
    const resize = settings.planAhead !== this.#s.planAhead;
    this.#s = { ...settings };
    if (resize) {
      this.#plan = new Array(settings.planAhead).fill(0);
      this.#head = 0;
      this.#planTotal = 0;
    }
  }

  /** Forgets what is in flight and the plan (resync start, resume after a pause). */
  reset(): void {
    this.#sectIn = 0;
    this.#inFlight = 0;
    this.#lastStep = this.#clock.now();
    this.#plan.fill(0);
    this.#head = 0;
    this.#planTotal = 0;
  }

  /**
   * The peer answered `sectors`. Returns when the next step should run earlier than its regular
   * time: 0 for now, a delay in ms, or undefined to keep the regular step. Only the dynamic
   * controller steps early (all requests back on a fast link); the fixed rate keeps its pace.
   */
  cameIn(sectors: number): number | undefined {
    this.#sectIn += sectors;
    if (this.#sectIn < this.#inFlight || this.#s.planAhead === 0) return undefined;
    const kibIn = this.#sectIn / 2;
    if (kibIn <= 0) return undefined;
    const latency = this.#clock.now() - this.#lastStep;
    const m = MAX_BIO_KIB > kibIn ? Math.floor(MAX_BIO_KIB / kibIn) : 1;
    const interval = this.#s.maxRate ? kibIn * m * 1000 / this.#s.maxRate : 0;
    const amount = this.#s.maxRate / (1000 / STEP_MS);
    const kickstart = kibIn < amount / 2 && latency < STEP_MS / 2;
    if (kickstart || interval <= latency) return 0;
    if (interval < STEP_MS) return interval - latency;
    return undefined;
  }

  /**
   * How many 4 KiB blocks to request in this step (drbd_rs_number_requests). Call
   * {@link issued} afterwards with the number actually requested.
   */
  step(): number {
    const now = this.#clock.now();
    const sectIn = this.#sectIn;
    this.#sectIn = 0;
    this.#inFlight = Math.max(0, this.#inFlight - sectIn);
    const duration = now - this.#lastStep;
    this.#lastStep = now;
    let number: number;
    if (this.#s.planAhead > 0) {
      number = Math.floor(this.#controller(sectIn, duration) / SECTORS_PER_BIT);
      this.#rate = number * (1000 / STEP_MS) * 4;
    } else {
      this.#rate = this.#s.resyncRate;
      number = Math.floor(STEP_MS * this.#rate / (4 * 1000));
    }
    // Never more than max-buffers pages in flight: the peer would stall allocating them.
    const room = this.#s.maxBuffers - Math.floor(this.#inFlight / SECTORS_PER_BIT);
    return Math.max(0, Math.min(number, room));
  }

  /**
   * `blocks` 4 KiB blocks were requested in this step; a negative count takes back blocks that
   * were counted ahead but not requested after all.
   */
  issued(blocks: number): void {
    this.#inFlight = Math.max(0, this.#inFlight + blocks * SECTORS_PER_BIT);
  }

  /**
   * DRBD's c-min-rate rule: with application I/O on the device (more than 64 sectors since the
   * last look that resync did not cause, or requests pending) and a recent resync rate above
   * c-min-rate, resync yields to the application this step. `appSectors` is the device's
   * application I/O counter in sectors, `recentKiBs` the resync rate of the last few seconds.
   */
  throttled(appSectors: number, appPending: number, recentKiBs: number): boolean {
    if (this.#s.minRate === 0) return false;
    if (appPending === 0 && appSectors - this.#lastEvents <= 64) return false;
    this.#lastEvents = appSectors;
    return recentKiBs > this.#s.minRate;
  }

  /** Sectors to request now, after DRBD's drbd_rs_controller. */
  #controller(sectIn: number, durationMs: number): number {
    const steps = this.#plan.length;
    const d = Math.min(Math.max(durationMs, 1e-6), STEP_MS * 10);
    // A short step: what would have come in during a full one.
    if (d < STEP_MS) sectIn = Math.floor(sectIn * STEP_MS / d);
    let want: number;
    if (this.#inFlight + sectIn === 0) {
      want = Math.floor(this.#s.resyncRate * 2 * STEP_MS / 1000) * steps;
    } else if (this.#s.fillTarget) {
      want = this.#s.fillTarget;
    } else {
      // sect_in per duration times c-delay-target (tenths of a second)
      want = Math.floor(sectIn * this.#s.delayTarget * 100 / d);
    }
    const correction = want - this.#inFlight - this.#planTotal;
    const cps = Math.trunc(correction / steps);
    for (let i = 0; i < steps; i++) this.#plan[i] += cps;
    this.#planTotal += cps * steps;
    const now = this.#plan[this.#head];
    this.#plan[this.#head] = 0;
    this.#head = (this.#head + 1) % steps;
    this.#planTotal -= now;
    let req = Math.max(0, sectIn + now);
    if (this.#s.maxRate) {
      req = Math.min(req, Math.floor(this.#s.maxRate * 2 * STEP_MS / 1000));
    }
    return req;
  }
}
