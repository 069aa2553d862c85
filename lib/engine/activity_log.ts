/**
 * The activity log of an attached disk: before a write touches a 4 MiB extent that is not
 * "hot", a transaction naming it is written to the AL ring and made durable. After a crash,
 * `drbdmeta apply-al` (run by `drbdadm up`/`attach`) marks exactly the hot extents out of sync,
 * so only they need a resync. Transactions use drbdmeta 9.22's on-disk format.
 *
 * @module
 */

import {
  AL_BLOCK_SIZE,
  alBlockOfTransaction,
  decodeAlTransaction,
  encodeAlTransaction,
} from "../meta/activity_log.ts";
import {
  AL_CONTEXT_PER_TRANSACTION,
  AL_TR_UPDATE,
  AL_UPDATES_PER_TRANSACTION,
} from "../meta/constants.ts";
import type { DiskMeta } from "./metadata.ts";

/** Sectors per AL extent (4 MiB). */
export const AL_EXTENT_SECTORS = 8192;

/** Counters the status surfaces show. */
export interface AlStats {
  /** AL transactions written. */
  alWrites: number;
}

/** The hot-extent set of one disk and the transactions that record it. */
export class ActivityLog {
  readonly stats: AlStats = { alWrites: 0 };
  #meta: DiskMeta;
  #nSlots: number;
  /** Extent held by each slot, -1 when free. */
  #slots: Int32Array;
  /** Hot extent → slot, in least-recently-used order (Map keeps insertion order). */
  #hot = new Map<number, number>();
  #inflight = new Map<number, number>();
  #trNumber = 0;
  #contextStart = 0;
  #committing: Promise<void> | undefined;
  #waiters: (() => void)[] = [];
  /** Called before extents are evicted: their bitmap bits must be on disk first. */
  #beforeEvict: () => void;

  constructor(meta: DiskMeta, nSlots: number, beforeEvict: () => void) {
    this.#meta = meta;
    this.#nSlots = Math.max(1, nSlots);
    this.#slots = new Int32Array(this.#nSlots).fill(-1);
    this.#beforeEvict = beforeEvict;
    this.#trNumber = this.#lastTransactionNumber() + 1;
  }

  /** Number of extents currently hot. */
  get hotExtents(): number {
    return this.#hot.size;
  }

  /**
   * Makes the extents of [sector, sector+count) hot (writing a transaction if needed) and
   * counts one more write in flight on each. Pair with {@link release}.
   */
  async acquire(sector: number, count: number): Promise<void> {
    const first = Math.floor(sector / AL_EXTENT_SECTORS);
    const last = Math.floor((sector + Math.max(count, 1) - 1) / AL_EXTENT_SECTORS);
    for (;;) {
      const missing: number[] = [];
      for (let e = first; e <= last; e++) if (!this.#hot.has(e)) missing.push(e);
      if (missing.length === 0) break;
      if (this.#committing) {
        await this.#committing;
        continue;
      }
      const commit = this.#commit(missing);
      this.#committing = commit;
      try {
        await commit;
      } finally {
        this.#committing = undefined;
      }
    }
    for (let e = first; e <= last; e++) {
      const slot = this.#hot.get(e)!;
      this.#hot.delete(e);
      this.#hot.set(e, slot);
      this.#inflight.set(e, (this.#inflight.get(e) ?? 0) + 1);
    }
  }

  /** Ends a write begun with {@link acquire}. */
  release(sector: number, count: number): void {
    const first = Math.floor(sector / AL_EXTENT_SECTORS);
    const last = Math.floor((sector + Math.max(count, 1) - 1) / AL_EXTENT_SECTORS);
    for (let e = first; e <= last; e++) {
      const n = (this.#inflight.get(e) ?? 1) - 1;
      if (n <= 0) this.#inflight.delete(e);
      else this.#inflight.set(e, n);
    }
    if (this.#waiters.length) {
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  async #commit(missing: number[]): Promise<void> {
    const updates: [number, number][] = [];
    const want = missing.slice(0, AL_UPDATES_PER_TRANSACTION);
    let evicting = false;
    for (const extent of want) {
      let slot = this.#slots.indexOf(-1);
      if (slot < 0) {
        slot = this.#victim(updates);
        if (slot < 0) break;
        evicting = true;
      }
      updates.push([slot, extent]);
      this.#slots[slot] = -2; // reserved by this transaction
    }
    if (updates.length === 0) {
      // every slot is busy with writes in flight: wait for one to finish
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
      return;
    }
    if (evicting) this.#beforeEvict();
    for (const [slot, extent] of updates) {
      const old = [...this.#hot].find(([, s]) => s === slot);
      if (old) this.#hot.delete(old[0]);
      this.#slots[slot] = extent;
    }
    const context: number[] = [];
    for (let i = 0; i < AL_CONTEXT_PER_TRANSACTION; i++) {
      const slot = this.#contextStart + i;
      if (slot >= this.#nSlots) break;
      const e = this.#slots[slot];
      context.push(e < 0 ? 0xffffffff : e);
    }
    const block = encodeAlTransaction({
      trNumber: this.#trNumber,
      type: AL_TR_UPDATE,
      nUpdates: updates.length,
      contextSize: this.#nSlots,
      contextStartSlot: this.#contextStart,
      updateSlots: updates.map(([s]) => s),
      updateExtents: updates.map(([, e]) => e),
      context,
    });
    const area = this.#meta.alArea;
    const blk = alBlockOfTransaction(this.#trNumber, area.stripes, area.stripeSize4k);
    this.#meta.writeRaw(area.offset + blk * AL_BLOCK_SIZE, block);
    this.#meta.sync();
    this.stats.alWrites++;
    this.#trNumber = (this.#trNumber + 1) >>> 0;
    this.#contextStart += AL_CONTEXT_PER_TRANSACTION;
    if (this.#contextStart >= this.#nSlots) this.#contextStart = 0;
    for (const [slot, extent] of updates) this.#hot.set(extent, slot);
  }

  /** The least recently used slot with no write in flight, not taken by `taken`. */
  #victim(taken: [number, number][]): number {
    for (const [extent, slot] of this.#hot) {
      if (this.#inflight.has(extent)) continue;
      if (taken.some(([s]) => s === slot)) continue;
      return slot;
    }
    return -1;
  }

  /** The newest valid transaction number in the ring (so numbering continues after attach). */
  #lastTransactionNumber(): number {
    const area = this.#meta.alArea;
    let best = -1;
    const raw = this.#meta.readRaw(area.offset, area.blocks * AL_BLOCK_SIZE);
    for (let b = 0; b < area.blocks; b++) {
      const tr = decodeAlTransaction(raw.subarray(b * AL_BLOCK_SIZE, (b + 1) * AL_BLOCK_SIZE));
      if (!tr.valid || tr.type !== AL_TR_UPDATE) continue;
      if (best < 0 || ((tr.trNumber - best) | 0) > 0) best = tr.trNumber;
    }
    return best;
  }
}
