/**
 * The bitmap as dump-md prints it: per bitmap slot, 64-bit words four to a line, runs of
 * equal words as `N times 0x...;`, with drbd-utils 9.22's windowing and labels reproduced
 * exactly (see the metadata reference, §7.2). The bitmap is streamed from the device in
 * windows; it is never held whole.
 *
 * @module
 */
import { BUFFER_SIZE } from "./constants.ts";

/** Where one bitmap lives and how it is interleaved. */
export interface BitmapGeometry {
  /** Byte offset of the bitmap on the device. */
  bmOffset: number;
  /** Bitmap bytes in use (all slots), bm_bytes(la-size-sect). */
  bmBytes: number;
  /** Number of bitmap slots (max-peers). */
  maxPeers: number;
  /** Write/read alignment of the device. */
  hardSectSize: number;
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0"));

function hex8(v: number): string {
  return HEX2[v >>> 24] + HEX2[(v >>> 16) & 255] + HEX2[(v >>> 8) & 255] + HEX2[v & 255];
}

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * Prints slot `slot`'s block (from `{` to `}\n`) through `emit` and returns the number of
 * set bits it printed (a 32-bit count, as drbdmeta keeps it).
 */
export function dumpBitmapSlot(
  read: (offset: number, length: number) => Uint8Array,
  g: BitmapGeometry,
  slot: number,
  emit: (text: string) => void,
): number {
  const WPL = 8;
  const P = g.maxPeers;
  const n = Math.floor(g.bmBytes / 4);
  const maxChunk = Math.floor(BUFFER_SIZE / (4096 * P)) * 4096 * P;
  let diskOff = g.bmOffset;
  let bm: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  let nBuffer = 0;
  let i = slot;
  let r = slot;
  let count = 0;
  let cw = 0;
  let lw = 0;
  let bitsSet = 0;
  let line: string[] = [];

  const flushLine = () => {
    if (line.length) emit(line.join(""));
    line = [];
  };
  const eol = (at: number) => {
    flushLine();
    if ((at & 63) === slot) line.push(`\n   # at ${128 * (at - slot)}kB\n   `);
    else line.push("\n   ");
  };
  const load = () => {
    let chunk = Math.ceil((n - Math.floor(r / P) * P) * 4 / g.hardSectSize) * g.hardSectSize;
    if (chunk > maxChunk) chunk = maxChunk;
    const bytes = read(diskOff, chunk);
    diskOff += chunk;
    bm = new Uint32Array(bytes.buffer, bytes.byteOffset, chunk >>> 2);
    nBuffer = chunk >>> 2;
  };

  emit("{");
  let first = true;
  outer: while (r < n) {
    if (first) {
      load();
      first = false;
    } else if (i * 4 >= maxChunk) {
      i -= maxChunk / 4;
      load();
    }
    for (;;) {
      if (count === 0) cw = bm[i];
      if (i % (WPL * P) === slot) {
        if (!count) eol(r);
        let j = i;
        while (j < nBuffer && bm[j] === cw) j += P;
        const tmp = Math.floor((Math.floor(j / P) - Math.floor(i / P)) / WPL) * WPL;
        if (tmp > WPL) {
          count += tmp;
          r += tmp * P;
          i += tmp * P;
          if (j >= nBuffer && r < n) continue outer;
        }
        if (count) {
          line.push(` ${Math.floor(count / 2)} times 0x${hex8(cw)}${hex8(cw)};`);
          bitsSet = (bitsSet + count * popcount(cw)) >>> 0;
          count = 0;
          if (r >= n) break outer;
          continue;
        }
      }
      const w = bm[i];
      if ((Math.floor(i / P) & 1) === 0) lw = w;
      else line.push(` 0x${hex8(w)}${hex8(lw)};`);
      bitsSet = (bitsSet + popcount(w)) >>> 0;
      r += P;
      i += P;
      if (line.length >= 1024) flushLine();
      continue outer;
    }
  }
  flushLine();
  emit("\n}\n");
  return bitsSet;
}
