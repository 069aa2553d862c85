/**
 * CRC-32C (Castagnoli) as DRBD uses it: the raw register, continued from a seed, with neither
 * the initial nor the final inversion of the standard checksum (drbd-utils' `crc32c(seed, buf)`,
 * the kernel's `crc32c()`).
 *
 * Our own table-driven code rather than an npm package: the CommonJS `crc-32` package pulled
 * Deno's whole Node compatibility layer into drbdadm's start-up (~15 ms), and this is a few
 * lines. Four tables let the loop consume four bytes per step (activity-log blocks are 4 KiB).
 *
 * @module
 */

/** The reflected Castagnoli polynomial. */
const POLY = 0x82f63b78;

let tables: Uint32Array | undefined;

/** Tables for 4 bytes at a time: entry [k * 256 + b] is byte b followed by k zero bytes. */
function buildTables(): Uint32Array {
  const t = new Uint32Array(4 * 256);
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[b] = c;
  }
  for (let b = 0; b < 256; b++) {
    let c = t[b];
    for (let k = 1; k < 4; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + b] = c;
    }
  }
  return t;
}

/** Continues DRBD's CRC-32C register `seed` over `data`. */
export function crc32cRaw(seed: number, data: Uint8Array): number {
  // built on first use: drbdadm hashes addresses only when it must assign node-ids
  const t = tables ??= buildTables();
  let c = seed >>> 0;
  let i = 0;
  const n = data.length;
  const end4 = n - (n & 3);
  while (i < end4) {
    c ^= data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    c = t[768 + (c & 0xff)] ^ t[512 + ((c >>> 8) & 0xff)] ^ t[256 + ((c >>> 16) & 0xff)] ^
      t[c >>> 24];
    i += 4;
  }
  while (i < n) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/**
 * Continues DRBD's CRC-32C register `seed` over the UTF-8 bytes of `text` (drbdadm hashes
 * addresses to assign node-ids); ASCII text is hashed without encoding it first.
 */
export function crc32cText(seed: number, text: string): number {
  const t = tables ??= buildTables();
  let c = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch >= 0x80) return crc32cRaw(seed, new TextEncoder().encode(text));
    c = t[(c ^ ch) & 0xff] ^ (c >>> 8);
  }
  return c >>> 0;
}
