/**
 * DRBD's `timeout` × `ko-count` for a peer that still answers pings but stops completing
 * writes: while the peer owes us an answer (a RecvAck, WriteAck or BarrierAck), every `timeout`
 * without one costs a "ko"; after `ko-count` of them in a row the peer is declared dead
 * ("knocked out") and the connection is dropped. Any answer resets the count. With ko-count 0
 * the watchdog is off and writes may wait on a slow peer forever, as in DRBD.
 *
 * DRBD measures from the send time of its oldest unanswered request; here the clock starts at
 * the last progress (the first request when idle, or the latest answer). With answers arriving
 * in order, as this engine's receiver sends them, that is the same deadline; a peer that drains
 * a long backlog slowly but steadily is not dropped.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../wire/clock.ts";

/** What {@link KoWatchdog} reports when it gives up on the peer. */
export interface KoExpiry {
  /** Milliseconds since the last progress. */
  waitedMs: number;
  /** The configured ko-count. */
  koCount: number;
  /** The configured timeout in DRBD's unit, tenths of a second. */
  timeoutDs: number;
}

/** Options of {@link KoWatchdog}. */
export interface KoOptions {
  /** net `timeout` in milliseconds (drbd.conf gives tenths of a second). */
  timeoutMs: number;
  /** net `ko-count`; 0 disables the watchdog. */
  koCount: number;
  clock: Clock;
  /** Called once, when ko-count timeouts passed without progress. */
  onExpire(expiry: KoExpiry): void;
}

/** DRBD's log line for an expired ko-count (request_timer_fn in drbd_req.c). */
export function koMessage(e: KoExpiry): string {
  return `Remote failed to finish a request within ${Math.round(e.waitedMs)}ms > ` +
    `ko-count (${e.koCount}) * timeout (${e.timeoutDs} * 0.1s)`;
}

/** Counts timeouts without progress on one connection; see the module text. */
export class KoWatchdog {
  #o: KoOptions;
  #outstanding = 0;
  #since = 0;
  #misses = 0;
  #timer: TimerHandle | undefined;
  #expired = false;

  /** A watchdog with nothing outstanding. */
  constructor(options: KoOptions) {
    this.#o = options;
  }

  /** Whether ko-count and timeout are both set (DRBD: effective timeout = ko-count × timeout). */
  get enabled(): boolean {
    return this.#o.koCount > 0 && this.#o.timeoutMs > 0;
  }

  /** Answers the peer owes us now. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Timeouts left before the peer is dropped (ko-count when it is keeping up). */
  get ko(): number {
    return this.#o.koCount - this.#misses;
  }

  /** Whether the watchdog gave up on the peer. */
  get expired(): boolean {
    return this.#expired;
  }

  /** A request went out that the peer must answer. */
  expect(): void {
    if (this.#expired) return;
    if (this.#outstanding++ === 0) this.#restart();
  }

  /** An awaited answer arrived: progress, the count starts over. */
  answered(): void {
    if (this.#expired || this.#outstanding === 0) return;
    this.#outstanding--;
    this.#restart();
  }

  /** Stops timing (the connection ended); nothing fires after this. */
  stop(): void {
    this.#clear();
    this.#outstanding = 0;
  }

  #restart(): void {
    this.#misses = 0;
    this.#since = this.#o.clock.now();
    if (this.#outstanding === 0) this.#clear();
    // An armed timer stays: when it fires it finds the deadline moved and waits the rest. A
    // clearTimeout and setTimeout per answer cost more than the write they timed.
    else if (this.#timer === undefined && this.enabled) this.#arm();
  }

  #arm(): void {
    const due = this.#since + this.#o.timeoutMs * (this.#misses + 1);
    this.#timer = this.#o.clock.setTimer(due - this.#o.clock.now(), () => {
      this.#timer = undefined;
      if (this.#outstanding === 0 || this.#expired) return;
      if (this.#o.clock.now() < this.#since + this.#o.timeoutMs * (this.#misses + 1)) {
        return this.#arm(); // progress since the timer was set
      }
      this.#misses++;
      if (this.#misses < this.#o.koCount) return this.#arm();
      this.#expired = true;
      this.#o.onExpire({
        waitedMs: this.#o.clock.now() - this.#since,
        koCount: this.#o.koCount,
        timeoutDs: Math.round(this.#o.timeoutMs / 100),
      });
    });
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }
}
