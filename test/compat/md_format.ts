/**
 * An independent, minimal model of the DRBD metadata format (from the reference notes, not from
 * lib/meta/) for building test inputs: superblock fields to patch, activity-log transactions to
 * plant, bitmap words to set, and dump files to feed to restore-md.
 *
 * @module
 */
import CRC32C from "crc-32/crc32c";
import { type Locator, MiB, readBytes, writeAt } from "./util.ts";

export const MAGIC_08 = 0x8374026B;
export const MAGIC_84_UNCLEAN = 0x8374026C;
export const MAGIC_09 = 0x8374026D;
export const AL_MAGIC = 0x69CB65A2;

export const MDF_CONSISTENT = 0x001;
export const MDF_PRIMARY_IND = 0x002;
export const MDF_CONNECTED_IND = 0x004;
export const MDF_FULL_SYNC = 0x008;
export const MDF_WAS_UP_TO_DATE = 0x010;
export const MDF_PEER_OUT_DATED = 0x020;
export const MDF_CRASHED_PRIMARY = 0x040;
export const MDF_AL_CLEAN = 0x080;

/** Byte offset of internal (flex-internal) metadata's superblock on a device of `bytes`. */
export function internalMdOffset(bytes: number): number {
  return Math.floor((bytes - 4096) / 4096) * 4096;
}

/** Byte offset of an external index slot's superblock. */
export function indexMdOffset(index: number): number {
  return index * 128 * MiB;
}

/** The superblock fields the tests need, read from disk. */
export interface Superblock {
  mdOffset: number;
  magic: number;
  flags: number;
  laSizeSect: bigint;
  mdSizeSect: number;
  alOffset: number;
  bmOffset: number;
  maxPeers: number;
  alStripes: number;
  alStripeSize4k: number;
  v09: boolean;
}

/** Reads the superblock at `mdOffset`; null when no v08/v09 magic is there. */
export function readSuperblock(path: string, mdOffset: number): Superblock | null {
  const b = readBytes(path, mdOffset, 4096);
  if (b.length < 4096) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magic = v.getUint32(0x3C);
  if (magic !== MAGIC_08 && magic !== MAGIC_09 && magic !== MAGIC_84_UNCLEAN) return null;
  const v09 = magic === MAGIC_09;
  let alStripes = v09 ? v.getUint32(0x60) : v.getUint32(0x58);
  let alStripeSize4k = v09 ? v.getUint32(0x64) : v.getUint32(0x5C);
  if (alStripes === 0 && alStripeSize4k === 0) [alStripes, alStripeSize4k] = [1, 8];
  return {
    mdOffset,
    magic,
    flags: v.getUint32(0x38),
    laSizeSect: v.getBigUint64(0),
    mdSizeSect: v.getUint32(0x40),
    alOffset: v.getInt32(0x44),
    bmOffset: v.getInt32(0x4C),
    maxPeers: v09 ? v.getUint32(0x58) : 1,
    alStripes,
    alStripeSize4k,
    v09,
  };
}

/** Byte position of the activity log. */
export function alPos(sb: Superblock): number {
  return sb.mdOffset + sb.alOffset * 512;
}

/** Byte position of the bitmap. */
export function bmPos(sb: Superblock): number {
  return sb.mdOffset + sb.bmOffset * 512;
}

/** Max usable data size in sectors for internal metadata (everything below the bitmap). */
export function internalMaxSectors(sb: Superblock): number {
  return Math.min(sb.mdOffset, alPos(sb), bmPos(sb)) / 512;
}

/** Bitmap bytes (all slots) for `sectors` of data and `peers` slots (§2.1). */
export function bmBytes(sectors: number, peers: number): number {
  const bits = Math.ceil(Math.ceil(sectors / 8) / 64) * 64;
  return Math.ceil((bits / 8) * peers / 4096) * 4096;
}

/** Names the md part (superblock, activity log, bitmap, data) holding a byte offset. */
export function locator(sb: Superblock | null): Locator | undefined {
  if (!sb) return undefined;
  const sbStart = sb.mdOffset;
  const al = alPos(sb);
  const alEnd = al + sb.alStripes * sb.alStripeSize4k * 4096;
  const bm = bmPos(sb);
  return (off) => {
    if (off >= sbStart && off < sbStart + 4096) {
      return `superblock +0x${(off - sbStart).toString(16)}`;
    }
    if (off >= al && off < alEnd) {
      return `activity log block ${Math.floor((off - al) / 4096)} +${(off - al) % 4096}`;
    }
    if (off >= bm && (bm > al ? true : off < al)) {
      return `bitmap byte ${off - bm} (u32 word ${Math.floor((off - bm) / 4)})`;
    }
    return "outside the metadata";
  };
}

function u32be(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0);
  return b;
}

/** Patches a big-endian u32 superblock field. */
export function patchU32(path: string, sb: { mdOffset: number }, off: number, v: number): void {
  writeAt(path, sb.mdOffset + off, u32be(v));
}

/** Patches a big-endian u64 superblock field. */
export function patchU64(
  path: string,
  sb: { mdOffset: number },
  off: number,
  v: bigint,
): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v);
  writeAt(path, sb.mdOffset + off, b);
}

/** One activity-log block to plant (§4.1). */
export interface AlTransaction {
  tr: number;
  /** 0 = update (default), 0xFFFF = initialized. */
  type?: number;
  /** [slot, extent] pairs (≤ 64). */
  updates?: [number, number][];
  /** n_updates field; defaults to updates.length. */
  nUpdates?: number;
  contextSize?: number;
  contextStart?: number;
  context?: number[];
  /** Store a wrong CRC. */
  corrupt?: boolean;
  magic?: number;
}

/** Builds a 4 KiB AL transaction block with a correct (or deliberately wrong) CRC-32C. */
export function alBlock(t: AlTransaction): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  v.setUint32(0, t.magic ?? AL_MAGIC);
  v.setUint32(4, t.tr >>> 0);
  v.setUint16(12, t.type ?? 0);
  const updates = t.updates ?? [];
  v.setUint16(14, t.nUpdates ?? updates.length);
  v.setUint16(16, t.contextSize ?? 1237);
  v.setUint16(18, t.contextStart ?? 0);
  for (let i = 0; i < 64; i++) {
    const u = updates[i];
    v.setUint16(36 + 2 * i, u ? u[0] : 0xFFFF);
    v.setUint32(164 + 4 * i, u ? u[1] >>> 0 : 0xFFFFFFFF);
  }
  const ctx = t.context ?? [];
  for (let i = 0; i < 919; i++) {
    v.setUint32(420 + 4 * i, i < ctx.length ? ctx[i] >>> 0 : 0xFFFFFFFF);
  }
  let crc = ~CRC32C.buf(b, -1) >>> 0;
  if (t.corrupt) crc = (crc ^ 0x00010000) >>> 0;
  v.setUint32(8, crc);
  return b;
}

/** The "initialized" AL block that create-md writes. */
export function alInitBlock(): Uint8Array {
  const b = new Uint8Array(4096);
  const v = new DataView(b.buffer);
  v.setUint32(0, AL_MAGIC);
  v.setUint32(8, 0x709CC651);
  v.setUint16(12, 0xFFFF);
  return b;
}

/**
 * Plants AL blocks: entry i of `blocks` goes to the block that transaction number i occupies
 * under the striping map (§4.2); null leaves a block as it is.
 */
export function writeAl(path: string, sb: Superblock, blocks: (AlTransaction | null)[]): void {
  const n = sb.alStripes * sb.alStripeSize4k;
  blocks.forEach((t, i) => {
    if (!t) return;
    const m = i % n;
    const blk = (m % sb.alStripes) * sb.alStripeSize4k + Math.floor(m / sb.alStripes);
    writeAt(path, alPos(sb) + blk * 4096, alBlock(t));
  });
}

/** Writes little-endian u32 words at a byte position. */
export function writeWords(path: string, pos: number, words: ArrayLike<number>): void {
  const b = new Uint8Array(words.length * 4);
  const v = new DataView(b.buffer);
  for (let i = 0; i < words.length; i++) v.setUint32(4 * i, words[i] >>> 0, true);
  writeAt(path, pos, b);
}

/** Fills `len` bytes at `pos` with `byte`. */
export function fill(path: string, pos: number, len: number, byte: number): void {
  const chunk = new Uint8Array(Math.min(len, 4 * MiB)).fill(byte);
  for (let off = 0; off < len; off += chunk.length) {
    writeAt(path, pos + off, chunk.subarray(0, Math.min(chunk.length, len - off)));
  }
}

/** `0x` + 16 uppercase hex digits. */
export function h16(v: bigint | number): string {
  return "0x" + BigInt.asUintN(64, BigInt(v)).toString(16).toUpperCase().padStart(16, "0");
}

/** `0x` + 8 uppercase hex digits. */
export function h8(v: number): string {
  return "0x" + (v >>> 0).toString(16).toUpperCase().padStart(8, "0");
}

/** One v09 peer slot of a dump. */
export interface DumpPeer {
  bitmapIndex: number;
  bitmapUuid?: bigint;
  dagtag?: bigint;
  flags?: number;
}

/** What a dump file says; everything defaults to freshly created metadata. */
export interface DumpSpec {
  version: "v08" | "v09";
  maxPeers?: number;
  nodeId?: number;
  current?: bigint;
  /** v08: bitmap UUID. */
  bitmapUuid?: bigint;
  /** v08: two history UUIDs; v09: up to 32. */
  history?: bigint[];
  flags?: number;
  /** v09 peers by node id (missing ones: bitmap-index -1, zeros). */
  peers?: Record<number, DumpPeer>;
  /** Order of the 32 peer blocks (default 0..31). */
  peerOrder?: number[];
  laSizeSect?: number | bigint;
  bmBytePerBit?: number;
  deviceUuid?: bigint;
  maxBio?: number;
  alStripes?: number;
  alStripeSize4k?: number;
  /** Inner text of each bitmap block (one per slot; v08: one). */
  bitmaps?: string[];
}

/** Writes a restore-md input in drbdmeta's dump syntax. */
export function makeDump(s: DumpSpec): string {
  const out: string[] = [`version "${s.version}";`, ""];
  const bitmaps = s.bitmaps ?? [];
  if (s.version === "v08") {
    const hist = s.history ?? [];
    out.push(
      "uuid {",
      `    ${h16(s.current ?? 4n)}; ${h16(s.bitmapUuid ?? 0n)}; ${h16(hist[0] ?? 0n)}; ${
        h16(hist[1] ?? 0n)
      };`,
      `    flags ${h8(s.flags ?? 0)};`,
      "}",
    );
  } else {
    out.push(`max-peers ${s.maxPeers ?? 1};`, "");
    out.push(`node-id ${s.nodeId ?? -1};`);
    out.push(`current-uuid ${h16(s.current ?? 4n)};`);
    out.push(`flags ${h8(s.flags ?? MDF_AL_CLEAN)};`);
    const order = s.peerOrder ?? [...Array(32).keys()];
    for (const i of order) {
      const p = s.peers?.[i] ?? { bitmapIndex: -1 };
      out.push(
        `peer[${i}] {`,
        `    bitmap-index ${p.bitmapIndex};`,
        `    bitmap-uuid ${h16(p.bitmapUuid ?? 0n)};`,
        `    bitmap-dagtag ${h16(p.dagtag ?? 0n)};`,
        `    flags ${h8(p.flags ?? 0)};`,
        "}",
      );
    }
    out.push("history-uuids {");
    const hist = s.history ?? [];
    for (let l = 0; l < 8; l++) {
      out.push(
        "        " + [0, 1, 2, 3].map((i) => `${h16(hist[4 * l + i] ?? 0n)};`).join(" "),
      );
    }
    out.push("}");
  }
  out.push(
    `la-size-sect ${s.laSizeSect ?? 0};`,
    `bm-byte-per-bit ${s.bmBytePerBit ?? 4096};`,
    `device-uuid ${h16(s.deviceUuid ?? 0n)};`,
    `la-peer-max-bio-size ${s.maxBio ?? 0};`,
    `al-stripes ${s.alStripes ?? 1};`,
    `al-stripe-size-4k ${s.alStripeSize4k ?? 8};`,
  );
  if (s.version === "v08") {
    out.push("bm {", bitmaps[0] ?? "", "}");
  } else {
    for (let i = 0; i < (s.maxPeers ?? 1); i++) out.push(`bitmap[${i}] {`, bitmaps[i] ?? "", "}");
  }
  return out.join("\n") + "\n";
}

/** Bitmap block text from 64-bit values: four per line, `   ` indent. */
export function literalWords(values: bigint[]): string {
  const lines: string[] = [];
  for (let i = 0; i < values.length; i += 4) {
    lines.push("   " + values.slice(i, i + 4).map((v) => ` ${h16(v)};`).join(""));
  }
  return lines.join("\n");
}
