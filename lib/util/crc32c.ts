/**
 * CRC-32C (Castagnoli) as DRBD uses it: the raw register, continued from a seed, with neither
 * the initial nor the final inversion of the standard checksum (drbd-utils' `crc32c(seed, buf)`,
 * the kernel's `crc32c()`). Computed by the `crc-32` package.
 *
 * @module
 */
import CRC32C from "crc-32/crc32c";

/** Continues DRBD's CRC-32C register `seed` over `data`. */
export function crc32cRaw(seed: number, data: Uint8Array): number {
  // crc-32 starts from ~seed and inverts its result: pass ~seed, invert back
  return ~CRC32C.buf(data, ~seed) >>> 0;
}
