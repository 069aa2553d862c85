/**
 * Time for the transport's timers (ping-int, ping-timeout, timeout, connect-int). Production uses
 * {@link systemClock}; tests inject a {@link ManualClock} and move time by hand, so timeouts are
 * tested without sleeping.
 *
 * @module
 */

/** A handle returned by {@link Clock.setTimer}. */
export type TimerHandle = unknown;

/** A source of time and one-shot timers. */
export interface Clock {
  /** Milliseconds since an arbitrary origin, never decreasing. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for {@link Clock.clearTimer}. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

/** The real clock: `performance.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as number),
};

/**
 * A clock that moves only when told to: {@link ManualClock.advance} runs the timers that fall
 * due, in order of their due time. Nothing fires on its own.
 */
export class ManualClock implements Clock {
  #now = 0;
  #next = 1;
  #timers = new Map<unknown, { due: number; fn: () => void }>();

  /** Current time in milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Registers `fn` to run when the clock has advanced by `ms`. */
  setTimer(ms: number, fn: () => void): TimerHandle {
    const handle = this.#next++;
    this.#timers.set(handle, { due: this.#now + Math.max(0, ms), fn });
    return handle;
  }

  /** Cancels a timer. */
  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle);
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers (also those they set that fall due). */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let first: [unknown, { due: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].due <= target && (!first || entry[1].due < first[1].due)) first = entry;
      }
      if (!first) break;
      this.#timers.delete(first[0]);
      this.#now = first[1].due;
      first[1].fn();
    }
    this.#now = target;
  }
}
