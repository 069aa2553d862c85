/**
 * Progress of one resync or online verify as DRBD keeps it: the total, the start time, the time
 * spent paused, and eight rolling "sync marks" (blocks left at a moment, one mark every 3 s)
 * from which status derives the short- and long-term speed and the ETA (`rs-dt0-ms`,
 * `rs-db0-sectors`, `rs-dt1-ms`, `rs-db1-sectors` in drbdsetup's statistics; `speed:` and
 * `finish:` in /proc/drbd). Times are passed in (milliseconds of one clock), so it is pure.
 *
 * @module
 */

/** Number of rolling marks (DRBD_SYNC_MARKS). */
export const SYNC_MARKS = 8;
/** Milliseconds between two marks (DRBD_SYNC_MARK_STEP, 3 s). */
export const SYNC_MARK_STEP_MS = 3000;

/** The resync fields of a peer device's statistics (lib/status/types.ts names). */
export interface ProgressStats {
  "rs-total": number;
  "rs-dt-start-ms": number;
  "rs-paused-ms": number;
  "rs-dt0-ms": number;
  "rs-db0-sectors": number;
  "rs-dt1-ms": number;
  "rs-db1-sectors": number;
}

/** Progress marks of one resync or verify run; amounts in 4 KiB blocks (bitmap bits). */
export class SyncProgress {
  /** Blocks to do when the run started (DRBD's rs_total). */
  readonly totalBits: number;
  /** When the run started. */
  readonly startMs: number;
  #pausedMs = 0;
  #markLeft: number[];
  #markTime: number[];
  #last = 0;
  #lastReport: number;
  #pausedSince: number | undefined;

  /** Starts a run of `totalBits` blocks at time `now`. */
  constructor(totalBits: number, now: number) {
    this.totalBits = totalBits;
    this.startMs = now;
    this.#lastReport = now;
    this.#markLeft = new Array(SYNC_MARKS).fill(totalBits);
    this.#markTime = new Array(SYNC_MARKS).fill(now);
  }

  /** Sectors to do in total (status `rs-total`). */
  get total(): number {
    return this.totalBits * 8;
  }

  /** Milliseconds spent paused, completed pauses only (DRBD's rs_paused). */
  get pausedMs(): number {
    return this.#pausedMs;
  }

  /** Whether the run is paused now. */
  get paused(): boolean {
    return this.#pausedSince !== undefined;
  }

  /** `leftBits` remain at `now`: sets a new mark when the last one is 3 s old (not while paused). */
  advance(leftBits: number, now: number): void {
    if (this.#markLeft[this.#last] === leftBits) return;
    if (now - this.#lastReport < SYNC_MARK_STEP_MS) return;
    if (this.#pausedSince === undefined) {
      const next = (this.#last + 1) % SYNC_MARKS;
      this.#markTime[next] = now;
      this.#markLeft[next] = leftBits;
      this.#last = next;
    }
    this.#lastReport = now;
  }

  /** The run pauses at `now` ("Resync suspended"). */
  pause(now: number): void {
    if (this.#pausedSince !== undefined) return;
    this.#pausedSince = now;
    this.#markTime[this.#last] = now;
  }

  /** The run continues at `now` with `leftBits` to do ("Syncer continues"); marks start over. */
  resume(leftBits: number, now: number): void {
    if (this.#pausedSince === undefined) return;
    this.#pausedMs += now - this.#markTime[this.#last];
    this.#pausedSince = undefined;
    this.#lastReport = now;
    this.#markLeft.fill(leftBits);
    this.#markTime.fill(now);
  }

  /** The resync rate of the last two marks in KiB/s (c-min-rate's "current rate"); 0 if none. */
  recentKiBs(leftBits: number, now: number): number {
    const i = (this.#last + SYNC_MARKS - 1) % SYNC_MARKS;
    const dt = Math.floor((now - this.#markTime[i]) / 1000) || 1;
    const db = this.#markLeft[i] - leftBits;
    return db > 0 ? Math.floor(db / dt) * 4 : 0;
  }

  /** Seconds the run took so far, paused time excluded, at least 1 (the "done" log line's). */
  activeSeconds(now: number): number {
    return Math.floor((now - this.startMs - this.#pausedMs) / 1000) || 1;
  }

  /** The statistics status reports with `leftBits` to do at `now`. */
  stats(leftBits: number, now: number): ProgressStats {
    const older = (this.#last + 2) % SYNC_MARKS;
    const recent = (this.#last + SYNC_MARKS - 1) % SYNC_MARKS;
    return {
      "rs-total": this.total,
      "rs-dt-start-ms": Math.round(now - this.startMs),
      "rs-paused-ms": Math.round(this.#pausedMs),
      "rs-dt0-ms": Math.round(now - this.#markTime[older]),
      "rs-db0-sectors": Math.max(0, this.#markLeft[older] - leftBits) * 8,
      "rs-dt1-ms": Math.round(now - this.#markTime[recent]),
      "rs-db1-sectors": Math.max(0, this.#markLeft[recent] - leftBits) * 8,
    };
  }
}
