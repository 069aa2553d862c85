/**
 * The Primary's transfer log for one connection: replicated writes grouped into epochs, as
 * DRBD's transfer log does. An epoch is closed by a Barrier (on a flush, when a write of it
 * completes to the application, and after `max-epoch-size` writes); the peer answers a Barrier
 * with a BarrierAck carrying the epoch's number of writes once all of them are on its disk, and
 * only then does the epoch leave the log. When the connection is lost, every write still in the
 * log (whatever its protocol and whatever acks it got) is out of sync on the peer: its data may
 * have been in a socket or a disk cache that is gone.
 *
 * The log is bounded: at most `maxWrites` writes (net `max-buffers`) wait for their epoch's
 * ack; more writers wait in {@link TransferLog.room}, so a slow peer slows the Primary instead
 * of growing its memory.
 *
 * @module
 */

import { AL_EXTENT_SECTORS } from "./activity_log.ts";

/** One replicated write as the log remembers it: enough to mark it out of sync. */
export interface TlWrite {
  volume: number;
  /** First 512-byte sector. */
  sector: number;
  /** Bytes. */
  length: number;
}

/** Options of {@link TransferLog}. */
export interface TransferLogOptions {
  /** Writes per epoch before a Barrier closes it (net `max-epoch-size`, default 2048). */
  maxEpochSize: number;
  /** Writes the log holds before new writes wait (net `max-buffers`, default 2048). */
  maxWrites: number;
}

/** A closed epoch, to be sent as a Barrier. */
export interface ClosedEpoch {
  /** The barrier (epoch) number. */
  barrier: number;
  /** Writes in the epoch: what the BarrierAck must report. */
  size: number;
  /** The peer must flush its disk before acking (the epoch was closed by a flush). */
  flush: boolean;
}

interface Epoch {
  barrier: number;
  writes: TlWrite[];
  closed: boolean;
}

/** Epochs of writes sent to one peer and not yet acknowledged by a BarrierAck. */
export class TransferLog {
  #o: TransferLogOptions;
  /** Oldest first; the last one is open when it is not closed. */
  #epochs: Epoch[] = [];
  #next = 1;
  #writes = 0;
  #waiters: (() => void)[] = [];
  /** Room promised to writers by room() that have not added their write yet. */
  #reserved = 0;
  /** Sectors of the writes in the log, and their 4 MiB extents per volume (write counts). */
  #sectors = 0;
  #extents = new Map<number, Map<number, number>>();

  /** An empty log; epoch numbers start at 1. */
  constructor(options: TransferLogOptions) {
    this.#o = {
      maxEpochSize: Math.max(1, options.maxEpochSize),
      maxWrites: Math.max(1, options.maxWrites),
    };
  }

  /** Sectors of the writes in the log: what congestion-fill measures (DRBD's ap_in_flight). */
  get sectors(): number {
    return this.#sectors;
  }

  /**
   * Activity-log extents of `volume` that writes in the log touch: DRBD holds a write's AL
   * extent until its epoch is acked, so this is what congestion-extents measures.
   */
  extentsOf(volume: number): number {
    return this.#extents.get(volume)?.size ?? 0;
  }

  /** Writes in the log (sent, their epoch not acked). */
  get writes(): number {
    return this.#writes;
  }

  /** Closed epochs waiting for their BarrierAck. */
  get unacked(): number {
    return this.#epochs.filter((e) => e.closed).length;
  }

  /** The number of the epoch the next write joins. */
  get epoch(): number {
    const last = this.#epochs.at(-1);
    return last && !last.closed ? last.barrier : this.#next;
  }

  /** Writes in the open epoch. */
  get openWrites(): number {
    const last = this.#epochs.at(-1);
    return last && !last.closed ? last.writes.length : 0;
  }

  /**
   * Reserves room for one more write: undefined when there is room now, else a promise that
   * resolves once an ack made room. Writers get in in the order they asked; each reservation
   * is used up by the next {@link TransferLog.add}.
   */
  room(): Promise<void> | undefined {
    if (this.#waiters.length === 0 && this.#writes + this.#reserved < this.#o.maxWrites) {
      this.#reserved++;
      return undefined;
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /**
   * Records a write going out in the open epoch (opening one if needed). Returns the epoch it
   * joined, and the closed epoch when this write filled it to max-epoch-size: the caller sends
   * that Barrier right after the write.
   */
  add(w: TlWrite): { epoch: number; full?: ClosedEpoch } {
    let open = this.#epochs.at(-1);
    if (!open || open.closed) {
      open = { barrier: this.#next++, writes: [], closed: false };
      this.#epochs.push(open);
    }
    open.writes.push({ volume: w.volume, sector: w.sector, length: w.length });
    this.#writes++;
    this.#count(w, 1);
    if (this.#reserved > 0) this.#reserved--;
    const full = open.writes.length >= this.#o.maxEpochSize ? this.close() : undefined;
    return { epoch: open.barrier, full };
  }

  /**
   * Closes the open epoch and returns its Barrier; undefined when no write is open. A flush
   * closes an epoch even when it is empty (the peer must still flush what it acked before).
   */
  close(flush = false): ClosedEpoch | undefined {
    let open = this.#epochs.at(-1);
    if (!open || open.closed) {
      if (!flush) return undefined;
      open = { barrier: this.#next++, writes: [], closed: false };
      this.#epochs.push(open);
    }
    open.closed = true;
    return { barrier: open.barrier, size: open.writes.length, flush };
  }

  /**
   * A BarrierAck arrived: the oldest closed epoch leaves the log. Returns DRBD's complaint when
   * the ack does not match it (a protocol error: the connection must be dropped).
   */
  ack(barrier: number, size: number): string | undefined {
    const oldest = this.#epochs[0];
    if (!oldest || !oldest.closed) {
      return `BAD! BarrierAck #${barrier} received, but no epoch in tl!?`;
    }
    if (oldest.barrier !== barrier) {
      return `BAD! BarrierAck #${barrier} received, expected #${oldest.barrier}!`;
    }
    if (oldest.writes.length !== size) {
      return `BAD! BarrierAck #${barrier} received with n_writes=${size}, expected n_writes=${oldest.writes.length}!`;
    }
    this.#epochs.shift();
    this.#writes -= oldest.writes.length;
    for (const w of oldest.writes) this.#count(w, -1);
    this.#wake();
    return undefined;
  }

  /**
   * The connection is gone: returns every write of every unacked epoch (they must be marked out
   * of sync) and empties the log; waiting writers go on (their writes will not be sent).
   */
  clear(): TlWrite[] {
    const lost = this.#epochs.flatMap((e) => e.writes);
    this.#epochs = [];
    this.#writes = 0;
    this.#reserved = 0;
    this.#sectors = 0;
    this.#extents.clear();
    for (const w of this.#waiters.splice(0)) w();
    return lost;
  }

  /** Adds (`by` 1) or removes (-1) a write's sectors and extents. */
  #count(w: TlWrite, by: 1 | -1): void {
    const sectors = Math.ceil(w.length / 512);
    this.#sectors += by * sectors;
    let extents = this.#extents.get(w.volume);
    if (!extents) this.#extents.set(w.volume, extents = new Map());
    const first = Math.floor(w.sector / AL_EXTENT_SECTORS);
    const last = Math.floor((w.sector + Math.max(sectors, 1) - 1) / AL_EXTENT_SECTORS);
    for (let e = first; e <= last; e++) {
      const n = (extents.get(e) ?? 0) + by;
      if (n > 0) extents.set(e, n);
      else extents.delete(e);
    }
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#writes + this.#reserved < this.#o.maxWrites) {
      this.#reserved++;
      this.#waiters.shift()!();
    }
  }
}
