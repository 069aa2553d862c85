/**
 * Bitmap transfer helpers: run-length encoding of bitmap chunks and walking the runs of a
 * received Bitmap packet. Bit i of a bitmap is bit (i & 7) of byte (i >> 3), least significant
 * first, as in the on-disk bitmap; one bit stands for 4 KiB.
 *
 * @module
 */

import type { BitmapPacket } from "./packets.ts";

function bit(bits: Uint8Array, i: number): boolean {
  // Division, not shifts: bitmaps of large devices have more than 2^31 bits.
  return (bits[Math.floor(i / 8)] & (1 << (i % 8))) !== 0;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) n = Math.floor(n / 128), size++;
  return size;
}

function putVarint(out: Uint8Array, o: number, n: number): number {
  while (n >= 0x80) {
    out[o++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[o++] = n;
  return o;
}

/** What {@link encodeRuns} produced: the bits covered and the encoded bytes in `out`. */
export interface RunChunk {
  bitCount: number;
  firstRunSet: boolean;
  /** Bytes of `out` used. */
  length: number;
}

/**
 * Run-length encodes bits `fromBit`..`toBit` (exclusive) of `bits` into `out`, stopping early
 * when `out` is full; the chunk ends on a run boundary. Pair the result with `fromBit` as the
 * Bitmap packet's bitOffset and continue from `fromBit + bitCount`. Runs are at most 2^31 bits.
 */
export function encodeRuns(
  bits: Uint8Array,
  fromBit: number,
  toBit: number,
  out: Uint8Array,
): RunChunk {
  const firstRunSet = fromBit < toBit && bit(bits, fromBit);
  let i = fromBit, o = 0, set = firstRunSet;
  while (i < toBit) {
    let j = i;
    // Whole bytes of the same value are skipped eight bits at a time.
    while (j < toBit) {
      if (j % 8 === 0 && j + 8 <= toBit && bits[j / 8] === (set ? 0xff : 0)) j += 8;
      else if (bit(bits, j) === set) j++;
      else break;
      if (j - i >= 0x7fffffff) break;
    }
    const run = j - i;
    if (o + varintSize(run) > out.length) break;
    o = putVarint(out, o, run);
    i = j;
    set = !set;
  }
  return { bitCount: i - fromBit, firstRunSet, length: o };
}

/**
 * Calls `fn(startBit, count)` for every run of set bits in a Bitmap packet (plain or rle);
 * `startBit` is absolute (bitOffset included). The packet must have been decoded (validated).
 */
export function forEachSetRun(
  packet: BitmapPacket,
  fn: (startBit: number, count: number) => void,
): void {
  const base = packet.bitOffset;
  if (packet.encoding === "plain") {
    let start = -1;
    for (let i = 0; i < packet.bitCount; i++) {
      if (bit(packet.body, i)) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        fn(base + start, i - start);
        start = -1;
      }
    }
    if (start >= 0) fn(base + start, packet.bitCount - start);
    return;
  }
  let pos = 0, set = packet.firstRunSet, run = 0, shift = 0;
  for (const byte of packet.body) {
    run += (byte & 0x7f) * 2 ** shift;
    if (byte & 0x80) {
      shift += 7;
      continue;
    }
    if (set) fn(base + pos, run);
    pos += run;
    set = !set;
    run = shift = 0;
  }
}

/** Sets in `bits` every bit that is set in the Bitmap packet (DRBD merges bitmaps by OR). */
export function mergeBitmapChunk(packet: BitmapPacket, bits: Uint8Array): void {
  forEachSetRun(packet, (start, count) => {
    for (let i = start; i < start + count; i++) bits[Math.floor(i / 8)] |= 1 << (i % 8);
  });
}
