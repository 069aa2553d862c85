/**
 * CRC-32C (Castagnoli) without pre/post inversion, as drbd-utils' `crc32c(seed, data)`; drbdadm
 * hashes host addresses with it to assign node-ids in two-node (8.4-style) resources.
 *
 * @module
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Continues a raw (reflected, uninverted) CRC-32C over `data` from `crc`. */
export function crc32c(crc: number, data: Uint8Array): number {
  for (const b of data) crc = TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return crc >>> 0;
}
