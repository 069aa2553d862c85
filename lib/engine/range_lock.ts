/**
 * Exclusive locks on ranges of 4 KiB blocks of one volume. A resync source holds one while it
 * reads a block and queues it for the peer, an application write while it writes locally and
 * queues its Data packet; the data socket keeps queue order, so the peer applies the two in the
 * order they happened here and a resync block never overwrites a newer application write.
 *
 * @module
 */

interface Held {
  first: number;
  last: number;
  done: Promise<void>;
}

/** A set of held block ranges; overlapping requests wait their turn. */
export class RangeLock {
  #held = new Set<Held>();

  /** Waits until no held range overlaps blocks [first, last], takes it, returns its release. */
  async lock(first: number, last: number): Promise<() => void> {
    for (;;) {
      const clash = [...this.#held].find((h) => h.first <= last && first <= h.last);
      if (!clash) break;
      await clash.done;
    }
    const { promise, resolve } = Promise.withResolvers<void>();
    const held: Held = { first, last, done: promise };
    this.#held.add(held);
    return () => {
      if (this.#held.delete(held)) resolve();
    };
  }

  /** Number of ranges held (tests, status). */
  get size(): number {
    return this.#held.size;
  }
}
