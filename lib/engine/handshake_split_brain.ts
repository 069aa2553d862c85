/**
 * Split brain across the volumes of one connection's handshake. DRBD decides each volume (peer
 * device) on its own: every volume in split brain logs it and runs the `initial-split-brain`
 * and `split-brain` handlers with its own DRBD_VOLUME and DRBD_MINOR. One that stays unresolved
 * does not end the connection at once: the kernel sets CONN_HANDSHAKE_DISCONNECT and lets the
 * other volumes finish their handshakes, and the connect as a whole fails after that. This is
 * the bookkeeping for one connection attempt; the peer link does the logging, handlers and drop.
 *
 * @module
 */

/** Which volumes of the current connection reported split brain, decided, and whether it ends. */
export class HandshakeSplitBrain {
  #reported = new Set<number>();
  #decided = new Set<number>();
  #reason: string | undefined;
  #dropped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Forgets the previous connection (a new one starts its handshakes). */
  reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#reported.clear();
    this.#decided.clear();
    this.#reason = undefined;
    this.#dropped = false;
  }

  /**
   * Whether `volume`'s split brain is new on this connection (its handlers are still to run);
   * it counts as reported from now on.
   */
  report(volume: number): boolean {
    if (this.#reported.has(volume)) return false;
    this.#reported.add(volume);
    return true;
  }

  /**
   * A volume's split brain stays unresolved: the connection ends with `reason` (the first). If
   * the other volumes have not all had their handshakes after `waitMs` (one never hears from
   * the peer), `expire` is called, once; {@link decided} with `force` then gives the reason.
   */
  fail(reason: string, waitMs: number, expire: () => void): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      expire();
    }, waitMs);
  }

  /** Whether an unresolved split brain will end the connection (no volume may start a sync). */
  get failing(): boolean {
    return this.#reason !== undefined;
  }

  /**
   * Records that `volume` had its handshake. Returns the reason to end the connection with, once,
   * when a split brain stays unresolved and every one of `volumes` has had its handshake (or
   * `force`, when the others' cannot be waited for any longer); otherwise undefined.
   */
  decided(
    volume: number | undefined,
    volumes: Iterable<number>,
    force = false,
  ): string | undefined {
    if (volume !== undefined) this.#decided.add(volume);
    if (this.#reason === undefined || this.#dropped) return undefined;
    if (!force && ![...volumes].every((v) => this.#decided.has(v))) return undefined;
    this.#dropped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return this.#reason;
  }
}
