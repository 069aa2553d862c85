/**
 * The activity log (AL): 4 KiB transaction blocks in a striped ring that record which 4 MiB
 * extents may hold writes the peer has not seen. create-md and apply-al initialize it;
 * apply-al replays it into the bitmap after a crash of a primary.
 *
 * @module
 */
import type { Console } from "../cli/io.ts";
import {
  AL_CONTEXT_PER_TRANSACTION,
  AL_EXTENTS_MAX,
  AL_MAGIC,
  AL_TR_INITIALIZED,
  AL_TR_UPDATE,
  AL_UPDATES_PER_TRANSACTION,
  DRBD_MAGIC,
} from "./constants.ts";
import { crc32cRaw } from "../util/crc32c.ts";

/** Size of one AL transaction block. */
export const AL_BLOCK_SIZE = 4096;

/**
 * DRBD's checksum of an AL block: CRC-32C (Castagnoli) with seed 0 and no final inversion,
 * over the block with its crc field zeroed.
 */
export function alCrc(block: Uint8Array): number {
  return crc32cRaw(0, block);
}

/** A decoded 8.4/9 AL transaction. */
export interface AlTransaction {
  magic: number;
  trNumber: number;
  crc: number;
  type: number;
  nUpdates: number;
  contextSize: number;
  contextStartSlot: number;
  updateSlots: number[];
  updateExtents: number[];
  context: number[];
  /** Magic and checksum match. */
  valid: boolean;
}

/** Encodes a transaction block, computing its checksum. */
export function encodeAlTransaction(
  tr: Omit<AlTransaction, "magic" | "crc" | "valid"> & { magic?: number },
): Uint8Array {
  const block = new Uint8Array(AL_BLOCK_SIZE);
  const v = new DataView(block.buffer);
  v.setUint32(0, tr.magic ?? AL_MAGIC);
  v.setUint32(4, tr.trNumber >>> 0);
  v.setUint16(12, tr.type);
  v.setUint16(14, tr.nUpdates);
  v.setUint16(16, tr.contextSize);
  v.setUint16(18, tr.contextStartSlot);
  for (let i = 0; i < AL_UPDATES_PER_TRANSACTION; i++) {
    v.setUint16(36 + 2 * i, tr.updateSlots[i] ?? 0xffff);
    v.setUint32(164 + 4 * i, (tr.updateExtents[i] ?? 0xffffffff) >>> 0);
  }
  for (let i = 0; i < AL_CONTEXT_PER_TRANSACTION; i++) {
    v.setUint32(420 + 4 * i, (tr.context[i] ?? 0xffffffff) >>> 0);
  }
  v.setUint32(8, alCrc(block));
  return block;
}

/** Decodes one transaction block and checks magic and checksum. */
export function decodeAlTransaction(block: Uint8Array): AlTransaction {
  const v = new DataView(block.buffer, block.byteOffset, AL_BLOCK_SIZE);
  const updateSlots: number[] = [];
  const updateExtents: number[] = [];
  const context: number[] = [];
  for (let i = 0; i < AL_UPDATES_PER_TRANSACTION; i++) {
    updateSlots.push(v.getUint16(36 + 2 * i));
    updateExtents.push(v.getUint32(164 + 4 * i));
  }
  for (let i = 0; i < AL_CONTEXT_PER_TRANSACTION; i++) context.push(v.getUint32(420 + 4 * i));
  const magic = v.getUint32(0);
  const crc = v.getUint32(8);
  const copy = block.slice(0, AL_BLOCK_SIZE);
  new DataView(copy.buffer).setUint32(8, 0);
  return {
    magic,
    trNumber: v.getUint32(4),
    crc,
    type: v.getUint16(12),
    nUpdates: v.getUint16(14),
    contextSize: v.getUint16(16),
    contextStartSlot: v.getUint16(18),
    updateSlots,
    updateExtents,
    context,
    valid: magic === AL_MAGIC && crc === alCrc(copy),
  };
}

let initializedBlock: Uint8Array | undefined;

/** The AL area create-md writes: every block "initialized" (magic, type 0xFFFF, checksum). */
export function initializedAl(blocks: number): Uint8Array {
  if (!initializedBlock) {
    const b = new Uint8Array(AL_BLOCK_SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(0, AL_MAGIC);
    v.setUint16(12, AL_TR_INITIALIZED);
    v.setUint32(8, alCrc(b));
    initializedBlock = b;
  }
  const area = new Uint8Array(blocks * AL_BLOCK_SIZE);
  for (let i = 0; i < blocks; i++) area.set(initializedBlock, i * AL_BLOCK_SIZE);
  return area;
}

/** On-disk block of transaction number `b` in a ring of `stripes` × `stripeSize4k` blocks. */
export function alBlockOfTransaction(b: number, stripes: number, stripeSize4k: number): number {
  const t = b % (stripes * stripeSize4k);
  return (t % stripes) * stripeSize4k + Math.floor(t / stripes);
}

/** Outcome of replaying an AL: a negative errno, 0 (clean) or the number of updates found. */
export type ReplayResult = { code: number; hot: Uint32Array };

/**
 * drbdmeta's non-fatal d_expect(): a failed expectation is printed with 9.22's source position
 * and expression (scripts compare stderr), and replay goes on.
 */
function expect(io: Console, ok: boolean, where: string, expr: string): void {
  if (!ok) io.err(`../shared/drbdmeta.c:${where}: ASSERT(${expr}) failed.\n`);
}

/**
 * Whether transaction number `a` is older than `b`. drbdmeta's source subtracts as 32-bit ints,
 * but its build compares them as plain signed ints (the subtraction overflows near 2^31, which
 * the compiler may assume never happens); the binary is the reference.
 */
function olderThan(a: number, b: number): boolean {
  return (a | 0) < (b | 0);
}

const ENODATA = 61;
const EINVAL = 22;

function newHot(): Uint32Array {
  return new Uint32Array(AL_EXTENTS_MAX).fill(0xffffffff);
}

/** Replays an 8.4/9-format AL (replay_al_84): which extent each slot held at the newest transaction. */
export function replayAl84(
  area: Uint8Array,
  stripes: number,
  stripeSize4k: number,
  io: Console,
): ReplayResult {
  const mx = stripes * stripeSize4k;
  const hot = newHot();
  const trs: AlTransaction[] = [];
  let foundValid = 0;
  let foundUpdates = 0;
  const oldest = { i: 0, tr: 0 };
  const newest = { i: 0, tr: 0 };
  for (let b = 0; b < mx; b++) {
    const o = alBlockOfTransaction(b, stripes, stripeSize4k);
    const tr = decodeAlTransaction(area.subarray(o * AL_BLOCK_SIZE, (o + 1) * AL_BLOCK_SIZE));
    trs.push(tr);
    if (!tr.valid) continue;
    foundValid++;
    if (tr.type === AL_TR_INITIALIZED) continue;
    const at = (line: number) => `${line}:replay_al_84`;
    expect(io, tr.type === AL_TR_UPDATE, at(1830), "al_cpu[b].transaction_type == AL_TR_UPDATE");
    if (++foundUpdates === 1) {
      oldest.i = newest.i = b;
      oldest.tr = newest.tr = tr.trNumber;
      continue;
    }
    expect(io, tr.trNumber !== oldest.tr, at(1837), "al_cpu[b].tr_number != oldest.tr_number");
    expect(io, tr.trNumber !== newest.tr, at(1838), "al_cpu[b].tr_number != newest.tr_number");
    if (olderThan(tr.trNumber, oldest.tr)) {
      expect(
        io,
        ((oldest.tr - tr.trNumber + b - oldest.i) >>> 0) === mx,
        at(1840),
        "oldest.tr_number - al_cpu[b].tr_number + b - oldest.i == mx",
      );
      oldest.i = b;
      oldest.tr = tr.trNumber;
    }
    if (olderThan(newest.tr, tr.trNumber)) {
      expect(
        io,
        ((tr.trNumber - newest.tr) >>> 0) === ((b - newest.i) >>> 0),
        at(1845),
        "al_cpu[b].tr_number - newest.tr_number == b - newest.i",
      );
      newest.i = b;
      newest.tr = tr.trNumber;
    }
  }
  if (!foundValid) {
    io.err("No usable activity log found. Do you need to create-md?\n");
    return { code: -ENODATA, hot };
  }
  if (foundValid !== mx) io.err(`${mx - foundValid} corrupt AL transactions found\n`);
  if (!foundUpdates) {
    if (foundValid === mx) return { code: 0, hot };
    if (!trs[0].valid && foundValid === mx - 1) return { code: 0, hot };
    io.err("No valid AL update transaction found.\n");
    return { code: -EINVAL, hot };
  }
  let last = newest.i;
  if (last < oldest.i) last += mx;
  for (let b = oldest.i; b <= last; b++) {
    const idx = b % mx;
    const tr = trs[idx];
    if (!tr.valid || tr.type === AL_TR_INITIALIZED) continue;
    for (let i = 0; i < AL_CONTEXT_PER_TRANSACTION; i++) {
      const slot = tr.contextStartSlot + i;
      if (tr.context[i] === 0xffffffff && slot >= tr.contextSize) continue;
      if (slot >= AL_EXTENTS_MAX) {
        io.err(`slot number out of range: tr:${idx} slot:${slot}\n`);
        continue;
      }
      hot[slot] = tr.context[i];
    }
    for (let i = 0; i < AL_UPDATES_PER_TRANSACTION; i++) {
      const slot = tr.updateSlots[i];
      if (i >= tr.nUpdates && slot === 0xffff) continue;
      if (slot >= AL_EXTENTS_MAX) {
        io.err(`update slot number out of range: tr:${idx} slot:${slot}\n`);
        continue;
      }
      hot[slot] = tr.updateExtents[i];
    }
  }
  return { code: foundUpdates, hot };
}

/** Replays a DRBD 0.7/8.3-format AL of 512-byte sectors (replay_al_07). */
export function replayAl07(area: Uint8Array, alNrExtents: number, io: Console): ReplayResult {
  const perTr = 61;
  const mx = 1 + Math.floor((alNrExtents + perTr - 1) / perTr);
  const hot = newHot();
  const valid: boolean[] = [];
  const sectors: { tr: number; pos: number[]; ext: number[] }[] = [];
  let foundValid = 0;
  const oldest = { i: 0, tr: 0 };
  const newest = { i: 0, tr: 0 };
  for (let b = 0; b < mx; b++) {
    const off = b * 512;
    if (off + 512 > area.length) {
      valid.push(false);
      sectors.push({ tr: 0, pos: [], ext: [] });
      continue;
    }
    const v = new DataView(area.buffer, area.byteOffset + off, 512);
    const pos: number[] = [];
    const ext: number[] = [];
    let xor = 0;
    for (let i = 0; i < 62; i++) {
      pos.push(v.getUint32(8 + 8 * i));
      const e = v.getUint32(12 + 8 * i);
      ext.push(e);
      xor = (xor ^ e) >>> 0;
    }
    const tr = v.getUint32(4);
    const ok = v.getUint32(0) === DRBD_MAGIC && v.getUint32(504) === xor;
    valid.push(ok);
    sectors.push({ tr, pos, ext });
    if (!ok) continue;
    if (++foundValid === 1) {
      oldest.i = newest.i = b;
      oldest.tr = newest.tr = tr;
      continue;
    }
    const at = (line: number) => `${line}:replay_al_07`;
    expect(io, tr !== oldest.tr, at(1724), "al_cpu[b].tr_number != oldest.tr_number");
    expect(io, tr !== newest.tr, at(1725), "al_cpu[b].tr_number != newest.tr_number");
    if (olderThan(tr, oldest.tr)) {
      expect(
        io,
        ((oldest.tr - tr + b - oldest.i) >>> 0) === mx,
        at(1727),
        "oldest.tr_number - al_cpu[b].tr_number + b - oldest.i == mx",
      );
      oldest.i = b;
      oldest.tr = tr;
    }
    if (olderThan(newest.tr, tr)) {
      expect(
        io,
        ((tr - newest.tr) >>> 0) === ((b - newest.i) >>> 0),
        at(1732),
        "al_cpu[b].tr_number - newest.tr_number == b - newest.i",
      );
      newest.i = b;
      newest.tr = tr;
    }
  }
  if (!foundValid) {
    io.err("No usable activity log found.\n");
    return { code: 0, hot };
  }
  if (foundValid !== mx) {
    io.err(`${mx - foundValid} corrupt or uninitialized AL transactions found\n`);
    io.err("You can safely ignore this if this node was cleanly stopped (no crash).\n");
  }
  let last = newest.i;
  if (last < oldest.i) last += mx;
  for (let b = oldest.i; b <= last; b++) {
    const idx = b % mx;
    if (!valid[idx]) continue;
    const s = sectors[idx];
    for (let i = perTr; i >= 0; i--) {
      const slot = s.pos[i];
      if (s.ext[i] === 0xffffffff) continue;
      if (slot >= AL_EXTENTS_MAX) {
        io.err(`slot number out of range: tr:${idx} slot:${slot}\n`);
        continue;
      }
      hot[slot] = s.ext[i];
    }
  }
  return { code: foundValid, hot };
}
