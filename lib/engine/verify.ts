/**
 * Online verify bookkeeping (DRBD's ov_* fields of a peer device) and the digest algorithms
 * `verify-alg` may name. The initiator (VerifyS) walks the device from a start sector, asks the
 * peer (VerifyT) for a digest of each 4 KiB block, compares it with its own, and both sides mark
 * mismatching blocks out of sync. This module holds the position, the blocks left, and the
 * "Out of sync: start=..., size=... (sectors)" runs the kernel logs; the I/O is the link's.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { crc32cRaw } from "../util/crc32c.ts";
import { SyncProgress } from "./resync_progress.ts";

/** A digest function for verify: block in, digest out. */
export type Digest = (block: Uint8Array) => Uint8Array;

const HASHES: Record<string, string> = {
  md5: "md5",
  sha1: "sha1",
  sha224: "sha224",
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
};

/** The verify-alg / csums-alg names this build computes (kernel crypto API names). */
export const DIGEST_ALGORITHMS: readonly string[] = ["crc32c", ...Object.keys(HASHES)];

/** The digest function of a kernel crypto name (`sha1`, `crc32c`, ...), or undefined. */
export function digestFor(alg: string): Digest | undefined {
  const name = alg.toLowerCase();
  if (name === "crc32c") {
    return (block) => {
      const out = new Uint8Array(4);
      // The kernel's crc32c shash: seed ~0, result inverted, little endian.
      new DataView(out.buffer).setUint32(0, ~crc32cRaw(0xffffffff, block) >>> 0, true);
      return out;
    };
  }
  const hash = HASHES[name];
  if (!hash) return undefined;
  return (block) => new Uint8Array(createHash(hash).update(block).digest());
}

/** Options of a {@link VerifyRun}. */
export interface VerifyRunOptions {
  /** First sector (rounded down to a 4 KiB block). */
  startSector: number;
  /** Sector to stop at (the initiator's `--stop`); Infinity for the end of the device. */
  stopSector?: number;
  /** Blocks (bitmap bits) of the device. */
  bitCount: number;
  /** Clock reading at the start. */
  now: number;
}

/** One online verify run on one side. */
export class VerifyRun {
  readonly startSector: number;
  readonly stopSector: number;
  readonly progress: SyncProgress;
  /** Next sector the initiator requests / the last one the target was asked for. */
  position: number;
  /** Blocks still to compare (ov_left). */
  leftBits: number;
  /** Blocks found out of sync in this run. */
  found = 0;
  /** Blocks skipped (never: udrbd locks the block instead of skipping it). */
  skipped = 0;
  #oosStart = 0;
  #oosSize = 0;

  /** A run from `startSector` to the end of the device (or `stopSector`). */
  constructor(o: VerifyRunOptions) {
    let bit = Math.floor(o.startSector / 8);
    let total = o.bitCount - bit;
    if (bit >= o.bitCount) {
      bit = Math.max(0, o.bitCount - 1);
      total = 1;
    }
    this.startSector = bit * 8;
    this.stopSector = o.stopSector ?? Infinity;
    this.position = this.startSector;
    this.leftBits = total;
    this.progress = new SyncProgress(total, o.now);
  }

  /** Whether the initiator has requested everything it will request. */
  get requestsDone(): boolean {
    return this.position >= this.progress.totalBits * 8 + this.startSector ||
      (this.position > this.startSector && this.position >= this.stopSector);
  }

  /**
   * A block was found out of sync; returns the log line of the previous run of out-of-sync
   * sectors when this block does not extend it.
   */
  outOfSync(sector: number, bytes: number): string | undefined {
    this.found += Math.ceil(bytes / 4096);
    if (this.#oosSize && this.#oosStart + this.#oosSize === sector) {
      this.#oosSize += bytes >> 9;
      return undefined;
    }
    const line = this.flushOutOfSync();
    this.#oosStart = sector;
    this.#oosSize = bytes >> 9;
    return line;
  }

  /** The pending "Out of sync" log line, if a run is open; closes the run. */
  flushOutOfSync(): string | undefined {
    if (!this.#oosSize) return undefined;
    const line = `Out of sync: start=${this.#oosStart}, size=${this.#oosSize} (sectors)`;
    this.#oosSize = 0;
    return line;
  }

  /**
   * One block of `bytes` at `sector` was compared; true when the run is complete (nothing left,
   * or the initiator's stop sector reached).
   */
  compared(sector: number, bytes: number, now: number, initiator: boolean): boolean {
    this.leftBits = Math.max(0, this.leftBits - 1);
    if ((this.leftBits & 0x1ff) === 0) this.progress.advance(this.leftBits, now);
    const stop = initiator && sector + (bytes >> 9) >= this.stopSector;
    return this.leftBits === 0 || stop;
  }

  /** The kernel's "Online verify done" line for a run that ends at `now`. */
  doneLine(now: number): string {
    const dt = this.progress.activeSeconds(now);
    const db = this.progress.totalBits - this.leftBits;
    const paused = Math.floor(this.progress.pausedMs / 1000);
    const skipped = this.skipped ? ` but ${this.skipped} 4k blocks skipped` : "";
    return `Online verify done${skipped} (total ${dt + paused} sec; paused ${paused} sec; ` +
      `${Math.floor(db / dt) * 4} K/sec)`;
  }
}
