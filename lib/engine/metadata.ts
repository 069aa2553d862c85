/**
 * The metadata of an attached disk as the daemon holds it: the v09 superblock, the bitmap of
 * every peer slot in memory (written back block by block), and the checks the DRBD 9 kernel
 * makes on attach. Reads and writes the same bytes drbdmeta 9.22 does, so `drbdmeta dump-md`
 * and `apply-al` work on a disk this daemon wrote (and survived a crash of).
 *
 * @module
 */

import { MetaDevice } from "../meta/device.ts";
import {
  alSizeSect,
  bmBytes,
  isValidMd,
  maxUsableSectors,
  mdByteOffset,
  type Placement,
  refreshPlacement,
} from "../meta/layout.ts";
import { decodeV09, encodeV09, type MdCpu, SUPERBLOCK_SIZE } from "../meta/superblock.ts";
import {
  MD_INDEX_FLEX_EXT,
  MD_INDEX_FLEX_INT,
  MD_MAGIC_08,
  MD_MAGIC_09,
  MD_MAGIC_84_UNCLEAN,
  MDF,
  MDF_PEER,
} from "../meta/constants.ts";
import { DrbdError, ERR } from "./errors.ts";
import { deviceBytes } from "../util/device_size.ts";

/** Where the metadata of a disk lives: `internal`, `flexible` (flex-external) or index N. */
export type MetaIndex = "internal" | "flexible" | number;

/** Parses drbdsetup attach's {meta_data_index} argument. */
export function parseMetaIndex(text: string): MetaIndex | undefined {
  if (text === "internal" || text === "flex-internal") return "internal";
  if (text === "flexible" || text === "flex-external") return "flexible";
  if (/^\d+$/.test(text) && Number(text) <= 255) return Number(text);
  return undefined;
}

const BM_BLOCK = 4096;

/** A no-op console for drbdmeta's layout checks, which report through one. */
const quiet = {
  out() {},
  err() {},
  stdinIsTerminal: () => false,
  readLine: () => null,
  flush() {},
};

/** The metadata of one attached backing disk. */
export class DiskMeta {
  readonly md: MdCpu;
  readonly metaPath: string;
  /** Bytes of the backing device. */
  readonly backingBytes: number;
  /** Sectors the data area may use (before internal metadata, within bitmap coverage). */
  readonly usableSectors: number;
  #dev: MetaDevice;
  #pl: Placement;
  #bm: Uint8Array;
  #dirty = new Set<number>();
  #counts: number[];
  #closed = false;

  private constructor(dev: MetaDevice, md: MdCpu, pl: Placement, backingBytes: number) {
    this.#dev = dev;
    this.md = md;
    this.metaPath = dev.path;
    this.#pl = pl;
    this.backingBytes = backingBytes;
    const external = pl.index !== MD_INDEX_FLEX_INT;
    const limit = external ? Math.floor(backingBytes / 512) : Infinity;
    this.usableSectors = Math.floor(Math.min(limit, maxUsableSectors(md, pl)) / 8) * 8;
    this.#bm = dev.read(pl.bmOffset, bmBytes(md, this.usableSectors));
    this.#counts = new Array(md.maxPeers).fill(0);
    for (let s = 0; s < md.maxPeers; s++) this.#counts[s] = this.#countSlot(s);
  }

  /**
   * Opens and validates the metadata of `backing` on `metaPath` at `index`, as the kernel does
   * on attach: refuses invalid (ERR_MD_INVALID) and unclean (ERR_MD_UNCLEAN) metadata, metadata
   * of another node id, and a backing device smaller than the agreed size.
   */
  static open(
    objname: string,
    backing: string,
    metaPath: string,
    index: MetaIndex,
    nodeId: number,
  ): DiskMeta {
    let backingBytes: number;
    try {
      backingBytes = deviceBytes(backing);
    } catch (e) {
      // The kernel only logs why (open("...") failed), drbdsetup prints the bare code.
      throw new DrbdError(objname, ERR.OPEN_DISK, undefined, undefined, {
        cause: `open("${backing}") failed: ${message(e)}`,
      });
    }
    let dev: MetaDevice;
    try {
      dev = MetaDevice.open(metaPath);
    } catch (e) {
      throw new DrbdError(objname, ERR.OPEN_MD_DISK, undefined, undefined, {
        cause: `open("${metaPath}") failed: ${message(e)}`,
      });
    }
    try {
      const idx = index === "internal"
        ? MD_INDEX_FLEX_INT
        : index === "flexible"
        ? MD_INDEX_FLEX_EXT
        : index;
      if (idx === MD_INDEX_FLEX_INT && backing !== metaPath) {
        throw new DrbdError(objname, ERR.MD_IDX_INVALID);
      }
      const mdOffset = mdByteOffset(idx, dev.size);
      if (mdOffset < 0 || mdOffset + SUPERBLOCK_SIZE > dev.size) {
        throw new DrbdError(objname, ERR.MD_DISK_TOO_SMALL);
      }
      let block: Uint8Array;
      try {
        block = dev.read(mdOffset, SUPERBLOCK_SIZE);
      } catch {
        throw new DrbdError(objname, ERR.IO_MD_DISK);
      }
      const md = decodeV09(block);
      // drbd_md_decode's checks, in its order, with its additional info for drbdsetup.
      const unclean = (md.magic === MD_MAGIC_09 || md.magic === MD_MAGIC_08) &&
        !(md.flags & MDF.AL_CLEAN);
      if (unclean || md.magic === MD_MAGIC_84_UNCLEAN) {
        throw new DrbdError(
          objname,
          ERR.MD_UNCLEAN,
          undefined,
          'Found unclean meta data. Did you "drbdadm apply-al"?\n',
        );
      }
      if (md.magic !== MD_MAGIC_09) {
        // v08 metadata (drbd8-compat-mode is not supported) or none at all
        const found = md.magic === MD_MAGIC_08
          ? "Found old meta data magic"
          : "Meta data magic not found";
        throw new DrbdError(
          objname,
          ERR.MD_INVALID,
          undefined,
          `${found}. Did you "drbdadm create-md"?\n`,
        );
      }
      if (md.bmBytesPerBit !== 4096) {
        throw new DrbdError(
          objname,
          ERR.MD_INVALID,
          undefined,
          `unexpected bm_bytes_per_bit: ${md.bmBytesPerBit} (expected 4096)\n`,
        );
      }
      const pl: Placement = {
        index: idx,
        bdSize: dev.size,
        mdOffset,
        alOffset: 0,
        bmOffset: 0,
        maxUsableSect: 0,
      };
      // Offsets and sizes the kernel only logs about (check_offsets_and_sizes): no info.
      if (!isValidMd("v09", md, idx, dev.size, quiet)) {
        throw new DrbdError(objname, ERR.MD_INVALID);
      }
      refreshPlacement(md, pl);
      if (alSizeSect(md) < 64) throw new DrbdError(objname, ERR.MD_INVALID);
      if (md.nodeId !== -1 && md.nodeId !== nodeId) {
        throw new DrbdError(
          objname,
          ERR.MD_INVALID,
          undefined,
          `ambiguous node id: meta-data: ${md.nodeId}, config: ${nodeId}\n`,
        );
      }
      const meta = new DiskMeta(dev, md, pl, backingBytes);
      if (md.effectiveSize > meta.usableSectors) {
        throw new DrbdError(
          objname,
          ERR.IMPLICIT_SHRINK,
          undefined,
          "To-be-attached device has last effective > current size, and is consistent\n" +
            `(${md.effectiveSize} > ${meta.usableSectors} sectors). Refusing to attach.`,
        );
      }
      return meta;
    } catch (e) {
      dev.close();
      throw e;
    }
  }

  /** The byte offset and size of the activity log ring. */
  get alArea(): { offset: number; blocks: number; stripes: number; stripeSize4k: number } {
    return {
      offset: this.#pl.alOffset,
      blocks: this.md.alStripes * this.md.alStripeSize4k,
      stripes: this.md.alStripes,
      stripeSize4k: this.md.alStripeSize4k,
    };
  }

  /** Reads raw bytes of the metadata device (the AL scan on attach). */
  readRaw(offset: number, length: number): Uint8Array {
    return this.#dev.read(offset, length);
  }

  /** Writes raw bytes to the metadata device (AL transactions). */
  writeRaw(offset: number, data: Uint8Array): void {
    this.#dev.write(offset, data);
  }

  /** Makes every metadata write so far durable. */
  sync(): void {
    this.#dev.sync();
  }

  /** Sets or clears superblock flags and writes the superblock if they changed. */
  setFlags(set: number, clear = 0): void {
    const flags = (this.md.flags | set) & ~clear;
    if (flags === this.md.flags) return;
    this.md.flags = flags;
    this.writeSuperblock();
  }

  /** Whether a superblock flag (MDF.*) is set. */
  hasFlag(flag: number): boolean {
    return (this.md.flags & flag) !== 0;
  }

  /** Writes the superblock and waits until it is durable. */
  writeSuperblock(): void {
    this.#dev.write(this.#pl.mdOffset, encodeV09(this.md));
    this.#dev.sync();
  }

  /**
   * The bitmap slot of peer `nodeId`, assigning a free one (and marking the peer known in the
   * superblock) when `assign` is set. Undefined when there is none.
   */
  slotOf(peerNodeId: number, assign = false): number | undefined {
    const peer = this.md.peers[peerNodeId];
    if (peer && peer.bitmapIndex >= 0 && peer.bitmapIndex < this.md.maxPeers) {
      return peer.bitmapIndex;
    }
    if (!assign || !peer || peerNodeId === this.md.nodeId) return undefined;
    const used = new Set(this.md.peers.map((p) => p.bitmapIndex));
    for (let s = 0; s < this.md.maxPeers; s++) {
      if (used.has(s)) continue;
      peer.bitmapIndex = s;
      peer.flags |= MDF_PEER.NODE_EXISTS;
      this.writeSuperblock();
      return s;
    }
    return undefined;
  }

  /** Out-of-sync 4 KiB blocks of a slot. */
  outOfSync(slot: number): number {
    return this.#counts[slot] ?? 0;
  }

  /** Marks the sectors [sector, sector+count) out of sync for every slot in `slots`. */
  setOutOfSync(sector: number, count: number, slots: readonly number[]): void {
    if (count <= 0 || slots.length === 0) return;
    const first = Math.floor(sector / 8);
    const last = Math.floor((sector + count - 1) / 8);
    const p = this.md.maxPeers;
    const bm = this.#bm;
    for (const s of slots) {
      for (let b = first; b <= last; b++) {
        const byte = 4 * ((b >>> 5) * p + s) + ((b & 31) >>> 3);
        const bit = 1 << (b & 7);
        if (byte >= bm.length) break;
        if (bm[byte] & bit) continue;
        bm[byte] |= bit;
        this.#counts[s]++;
        this.#dirty.add(Math.floor(byte / BM_BLOCK));
      }
    }
  }

  /** Bits (4 KiB blocks) covering the agreed size. */
  get bitCount(): number {
    return Math.ceil(this.md.effectiveSize / 8);
  }

  /** Whether bit (4 KiB block) `bit` of `slot` is set. */
  isOutOfSync(slot: number, bit: number): boolean {
    const [byte, mask] = this.#locate(slot, bit);
    return byte < this.#bm.length && (this.#bm[byte] & mask) !== 0;
  }

  /** The first set bit of `slot` at or after `from`, or -1 (resync walks the bitmap with it). */
  nextOutOfSync(slot: number, from: number): number {
    const end = this.bitCount;
    const p = this.md.maxPeers;
    const bm = this.#bm;
    for (let b = Math.max(0, from); b < end;) {
      const word = 4 * ((b >>> 5) * p + slot);
      if ((b & 31) === 0 && (bm[word] | bm[word + 1] | bm[word + 2] | bm[word + 3]) === 0) {
        b += 32;
        continue;
      }
      if (bm[word + ((b & 31) >>> 3)] & (1 << (b & 7))) return b;
      b++;
    }
    return -1;
  }

  /** Sets `count` bits of `slot` from bit `first` (a peer's bitmap merged by OR). */
  setBits(slot: number, first: number, count: number): void {
    if (count > 0) this.setOutOfSync(first * 8, count * 8, [slot]);
  }

  /** Clears `count` bits of `slot` from bit `first` (blocks the peer acknowledged in sync). */
  clearBits(slot: number, first: number, count: number): void {
    const bm = this.#bm;
    for (let b = first; b < first + count; b++) {
      const [byte, mask] = this.#locate(slot, b);
      if (byte >= bm.length || !(bm[byte] & mask)) continue;
      bm[byte] &= ~mask;
      this.#counts[slot]--;
      this.#dirty.add(Math.floor(byte / BM_BLOCK));
    }
  }

  /** The bits of `slot` as a plain bitmap (bit i at byte i>>3, bit i&7), for sending. */
  slotBits(slot: number): Uint8Array {
    const n = this.bitCount;
    const out = new Uint8Array(Math.ceil(n / 8));
    for (let b = this.nextOutOfSync(slot, 0); b >= 0; b = this.nextOutOfSync(slot, b + 1)) {
      out[b >>> 3] |= 1 << (b & 7);
    }
    return out;
  }

  #locate(slot: number, bit: number): [number, number] {
    return [4 * ((bit >>> 5) * this.md.maxPeers + slot) + ((bit & 31) >>> 3), 1 << (bit & 7)];
  }

  /** Clears every bit of a slot (new-current-uuid --clear-bitmap, a finished full sync). */
  clearSlot(slot: number): void {
    const p = this.md.maxPeers;
    const bm = this.#bm;
    for (let w = slot; 4 * w < bm.length; w += p) {
      const o = 4 * w;
      if (bm[o] | bm[o + 1] | bm[o + 2] | bm[o + 3]) {
        bm.fill(0, o, o + 4);
        this.#dirty.add(Math.floor(o / BM_BLOCK));
      }
    }
    this.#counts[slot] = 0;
  }

  /** Sets every bit of a slot covering the agreed size (invalidate-remote, new peers). */
  setAll(slot: number): void {
    this.setOutOfSync(0, this.md.effectiveSize, [slot]);
  }

  /** Writes changed bitmap blocks back. */
  flushBitmap(): void {
    if (this.#dirty.size === 0) return;
    for (const blk of [...this.#dirty].sort((a, b) => a - b)) {
      const start = blk * BM_BLOCK;
      this.#dev.write(this.#pl.bmOffset + start, this.#bm.subarray(start, start + BM_BLOCK));
    }
    this.#dirty.clear();
    this.#dev.sync();
  }

  /** Flushes the bitmap; with `clean`, also records a clean detach (AL_CLEAN). Closes. */
  close(clean: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.flushBitmap();
      if (clean) this.setFlags(MDF.AL_CLEAN);
    } finally {
      this.#dev.close();
    }
  }

  #countSlot(slot: number): number {
    const p = this.md.maxPeers;
    const bm = this.#bm;
    const v = new DataView(bm.buffer, bm.byteOffset, bm.byteLength);
    let n = 0;
    for (let w = slot; 4 * w + 4 <= bm.length; w += p) {
      let x = v.getUint32(4 * w, true);
      while (x) {
        x &= x - 1;
        n++;
      }
    }
    return n;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
