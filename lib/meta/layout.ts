/**
 * Where metadata lives on its device: superblock, activity log and bitmap offsets for
 * internal, flexible-external and indexed-external placement, bitmap sizes, and the checks
 * that decide whether a superblock is valid for the device it was read from.
 *
 * @module
 */
import type { Console } from "../cli/io.ts";
import {
  DEFAULT_BM_BLOCK_SIZE,
  DRBD_PEERS_MAX_SLOTS,
  MD_AL_OFFSET_07,
  MD_BM_MAX_BYTE_FLEX,
  MD_INDEX_FLEX_EXT,
  MD_INDEX_FLEX_INT,
  MD_MAGIC_08,
  MD_MAGIC_09,
  MD_MAGIC_84_UNCLEAN,
  MD_RESERVED_SECT_07,
  type MdFormat,
} from "./constants.ts";
import type { MdCpu } from "./superblock.ts";
import { ExitError } from "../cli/io.ts";

/** Rounds `x` up to a multiple of `a`. */
export function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** Bitmap bytes (all slots, whole 4 KiB blocks) needed to track `sectors` of storage. */
export function bmBytes(md: Pick<MdCpu, "bmBytesPerBit" | "maxPeers">, sectors: number): number {
  const sectorsPerBit = Math.floor(md.bmBytesPerBit / 512);
  const bits = align(Math.ceil(sectors / sectorsPerBit), 64);
  return align(bits / 8 * md.maxPeers, 4096);
}

/** Byte offset of the superblock for placement `index` on a device of `bdSize` bytes. */
export function mdByteOffset(index: number, bdSize: number): number {
  switch (index) {
    case MD_INDEX_FLEX_INT:
      return Math.floor((bdSize - 4096) / 4096) * 4096;
    case MD_INDEX_FLEX_EXT:
      return 0;
    case -1: // v07 fixed internal
      return Math.floor(bdSize / 4096) * 4096 - MD_RESERVED_SECT_07 * 512;
    default:
      return MD_RESERVED_SECT_07 * index * 512;
  }
}

/** The byte positions of one metadata area, derived from the superblock and the device. */
export interface Placement {
  /** Placement index: MD_INDEX_FLEX_INT, MD_INDEX_FLEX_EXT, or an external slot 0..255. */
  index: number;
  /** Size of the device the metadata lives on, in bytes. */
  bdSize: number;
  mdOffset: number;
  alOffset: number;
  bmOffset: number;
  maxUsableSect: number;
}

/** Sectors of data the metadata can describe (internal: up to the first metadata byte). */
export function maxUsableSectors(md: MdCpu, p: Placement): number {
  if (p.index === MD_INDEX_FLEX_INT || p.index === -1) {
    // drbdmeta's offsets are unsigned: one below zero wraps around and never is the minimum
    const unsigned = (x: number) => (x < 0 ? Infinity : x);
    return Math.floor(Math.min(p.mdOffset, unsigned(p.alOffset), unsigned(p.bmOffset)) / 512);
  }
  // drbdmeta subtracts in 32-bit unsigned arithmetic
  const sectors = (md.mdSizeSect - md.bmOffset) >>> 0;
  const words = Math.floor(sectors * 512 * 8 / 64 / md.maxPeers);
  return words * 64 * md.bmBytesPerBit / 512;
}

/** Recomputes byte offsets from the superblock's sector offsets. */
export function refreshPlacement(md: MdCpu, p: Placement): void {
  p.alOffset = p.mdOffset + md.alOffset * 512;
  p.bmOffset = p.mdOffset + md.bmOffset * 512;
  p.maxUsableSect = maxUsableSectors(md, p);
}

/** Sectors of the activity log described by the superblock. */
export function alSizeSect(md: Pick<MdCpu, "alStripes" | "alStripeSize4k">): number {
  return md.alStripes * md.alStripeSize4k * 8;
}

/**
 * Lays out a fresh metadata area for the device (re_initialize_md_offsets): md_size_sect,
 * al_offset and bm_offset in the superblock, byte offsets in the placement.
 */
export function reinitializeOffsets(md: MdCpu, p: Placement, io: Console): void {
  if (md.bmBytesPerBit === 0) md.bmBytesPerBit = DEFAULT_BM_BLOCK_SIZE;
  if (md.maxPeers === 0) md.maxPeers = 1;
  const alSect = alSizeSect(md);
  switch (p.index) {
    case MD_INDEX_FLEX_EXT:
      // a 32-bit field: 2 TiB of metadata device wraps to 0, as in drbdmeta
      md.mdSizeSect = Math.floor(p.bdSize / 512) % 2 ** 32;
      md.alOffset = MD_AL_OFFSET_07;
      md.bmOffset = md.alOffset + alSect;
      break;
    case MD_INDEX_FLEX_INT: {
      md.alOffset = -alSect;
      let sect = align(Math.floor(bmBytes(md, Math.floor(p.bdSize / 512)) / 512), 8);
      if (sect > (MD_BM_MAX_BYTE_FLEX / 512) * md.maxPeers) {
        io.err("Bitmap for that device got too large.\n");
        throw new ExitError(10);
      }
      sect += MD_AL_OFFSET_07 + alSect;
      md.mdSizeSect = sect;
      md.bmOffset = -sect + MD_AL_OFFSET_07;
      break;
    }
    default:
      md.mdSizeSect = MD_RESERVED_SECT_07;
      md.alOffset = MD_AL_OFFSET_07;
      md.bmOffset = md.alOffset + alSect;
  }
  refreshPlacement(md, p);
}

/**
 * Whether `md` is valid metadata of `format` for placement `index` on a device of `llSize`
 * bytes (is_valid_md). Prints drbdmeta's diagnostics for the checks it reports.
 */
export function isValidMd(
  format: MdFormat,
  md: MdCpu,
  index: number,
  llSize: number,
  io: Console,
  verbose = 0,
): boolean {
  const magicOk = format === "v08"
    ? md.magic === MD_MAGIC_08 || md.magic === MD_MAGIC_84_UNCLEAN
    : md.magic === MD_MAGIC_09;
  if (!magicOk) {
    if (verbose >= 1) io.err(`${format} Magic number not found\n`);
    return false;
  }
  if (md.maxPeers < 1 || md.maxPeers > DRBD_PEERS_MAX_SLOTS) {
    io.err(`${format} max-peers value ${md.maxPeers | 0} out of bounds\n`);
    return false;
  }
  if (md.nodeId < -1 || md.nodeId > DRBD_PEERS_MAX_SLOTS) {
    io.err(`${format} device node-id value ${md.nodeId} out of bounds\n`);
    return false;
  }
  for (let n = 0; n < md.maxPeers; n++) {
    const bi = md.peers[n].bitmapIndex;
    if (bi < -1 || bi > DRBD_PEERS_MAX_SLOTS) {
      io.err(`${format} peer device ${n} node-id value ${bi} out of bounds\n`);
      return false;
    }
  }
  const alSect = (md.alStripes * md.alStripeSize4k * 8) | 0;
  if (index === MD_INDEX_FLEX_INT) {
    if (md.alOffset !== (-alSect | 0)) {
      io.err(`${format} al_offset: expected ${-alSect | 0}, found ${md.alOffset}\n`);
      return false;
    }
    if (md.bmBytesPerBit < 4096 || (md.bmBytesPerBit & (md.bmBytesPerBit - 1)) !== 0) {
      // drbdmeta asserts here; refuse instead of dividing by a bogus granularity
      io.err(
        `${format} bm_bytes_per_bit ${md.bmBytesPerBit} is not a power-of-two multiple of 4096\n`,
      );
      return false;
    }
    let sect = align(Math.floor(bmBytes(md, Math.floor(llSize / 512)) / 512), 8);
    sect += MD_AL_OFFSET_07 + alSect;
    if (md.bmOffset !== -sect + MD_AL_OFFSET_07) {
      io.err(`strange bm_offset ${md.bmOffset} (expected: ${-sect + MD_AL_OFFSET_07})\n`);
      return false;
    }
    if (md.mdSizeSect !== sect) {
      io.err(`strange md_size_sect ${md.mdSizeSect} (expected: ${sect})\n`);
      if (format === "v08") return false;
    }
  } else {
    if (md.alOffset !== MD_AL_OFFSET_07) {
      io.err(`${format} Magic number (al_offset) not found\n`);
      io.err(`\texpected: ${MD_AL_OFFSET_07}, found ${md.alOffset}\n`);
      return false;
    }
    if (md.bmOffset !== ((MD_AL_OFFSET_07 + alSect) | 0)) {
      io.err(
        `${format} bm_offset: expected ${(MD_AL_OFFSET_07 + alSect) | 0}, found ${md.bmOffset}\n`,
      );
      return false;
    }
  }
  return true;
}
