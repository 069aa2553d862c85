/**
 * The 4 KiB metadata superblock: its in-memory form and the v08/v09 on-disk encodings.
 *
 * @module
 */
import { DRBD_NODE_ID_MAX, DRBD_PEERS_MAX_SLOTS, type MdFormat } from "./constants.ts";

/** One of the 32 peer slots of a v09 superblock (v08 uses slot 0's bitmap UUID only). */
export interface PeerMd {
  bitmapUuid: bigint;
  bitmapDagtag: bigint;
  flags: number;
  /** Bitmap slot holding this peer's bits; -1 for none. */
  bitmapIndex: number;
}

/** The superblock as drbdmeta holds it in memory (struct md_cpu). */
export interface MdCpu {
  /** Last agreed size in sectors (la-size-sect). */
  effectiveSize: number;
  currentUuid: bigint;
  historyUuids: bigint[];
  deviceUuid: bigint;
  flags: number;
  magic: number;
  mdSizeSect: number;
  alOffset: number;
  alNrExtents: number;
  bmOffset: number;
  bmBytesPerBit: number;
  laPeerMaxBioSize: number;
  maxPeers: number;
  nodeId: number;
  alStripes: number;
  alStripeSize4k: number;
  peers: PeerMd[];
}

/** Size of a superblock on disk. */
export const SUPERBLOCK_SIZE = 4096;

/** A zeroed superblock (what memset(0) gives drbdmeta). */
export function emptyMd(): MdCpu {
  return {
    effectiveSize: 0,
    currentUuid: 0n,
    historyUuids: new Array(DRBD_NODE_ID_MAX).fill(0n),
    deviceUuid: 0n,
    flags: 0,
    magic: 0,
    mdSizeSect: 0,
    alOffset: 0,
    alNrExtents: 0,
    bmOffset: 0,
    bmBytesPerBit: 0,
    laPeerMaxBioSize: 0,
    maxPeers: 0,
    nodeId: 0,
    alStripes: 0,
    alStripeSize4k: 0,
    peers: Array.from({ length: DRBD_NODE_ID_MAX }, () => ({
      bitmapUuid: 0n,
      bitmapDagtag: 0n,
      flags: 0,
      bitmapIndex: 0,
    })),
  };
}

function u64(v: DataView, off: number): bigint {
  return v.getBigUint64(off);
}

/** Decodes a v08 superblock (md_on_disk_08). */
export function decodeV08(block: Uint8Array): MdCpu {
  const v = new DataView(block.buffer, block.byteOffset, SUPERBLOCK_SIZE);
  const md = emptyMd();
  md.effectiveSize = Number(u64(v, 0x00));
  md.currentUuid = u64(v, 0x08);
  md.peers[0].bitmapUuid = u64(v, 0x10);
  md.historyUuids[0] = u64(v, 0x18);
  md.historyUuids[1] = u64(v, 0x20);
  md.deviceUuid = u64(v, 0x28);
  md.flags = v.getUint32(0x38);
  md.magic = v.getUint32(0x3c);
  md.mdSizeSect = v.getUint32(0x40);
  md.alOffset = v.getInt32(0x44);
  md.alNrExtents = v.getUint32(0x48);
  md.bmOffset = v.getInt32(0x4c);
  md.bmBytesPerBit = v.getUint32(0x50);
  md.laPeerMaxBioSize = v.getUint32(0x54);
  md.maxPeers = 1;
  md.alStripes = v.getUint32(0x58);
  md.alStripeSize4k = v.getUint32(0x5c);
  if (md.alStripes === 0 && md.alStripeSize4k === 0) {
    // metadata of DRBD < 8.4: the fixed 32 KiB activity log
    md.alStripes = 1;
    md.alStripeSize4k = 8;
  }
  return md;
}

/** Encodes a v08 superblock; every byte not named by the format is zero. */
export function encodeV08(md: MdCpu): Uint8Array {
  const block = new Uint8Array(SUPERBLOCK_SIZE);
  const v = new DataView(block.buffer);
  v.setBigUint64(0x00, BigInt(md.effectiveSize));
  v.setBigUint64(0x08, md.currentUuid);
  v.setBigUint64(0x10, md.peers[0].bitmapUuid);
  v.setBigUint64(0x18, md.historyUuids[0]);
  v.setBigUint64(0x20, md.historyUuids[1]);
  v.setBigUint64(0x28, md.deviceUuid);
  v.setUint32(0x38, md.flags >>> 0);
  v.setUint32(0x3c, md.magic >>> 0);
  v.setUint32(0x40, md.mdSizeSect >>> 0);
  v.setInt32(0x44, md.alOffset | 0);
  v.setUint32(0x48, md.alNrExtents >>> 0);
  v.setInt32(0x4c, md.bmOffset | 0);
  v.setUint32(0x50, md.bmBytesPerBit >>> 0);
  v.setUint32(0x54, md.laPeerMaxBioSize >>> 0);
  v.setUint32(0x58, md.alStripes >>> 0);
  v.setUint32(0x5c, md.alStripeSize4k >>> 0);
  return block;
}

/** Decodes a v09 superblock (meta_data_on_disk_9); max-peers above 31 is clamped as drbdmeta does. */
export function decodeV09(block: Uint8Array): MdCpu {
  const v = new DataView(block.buffer, block.byteOffset, SUPERBLOCK_SIZE);
  const md = emptyMd();
  md.effectiveSize = Number(u64(v, 0x00));
  md.currentUuid = u64(v, 0x08);
  md.deviceUuid = u64(v, 0x30);
  md.flags = v.getUint32(0x38);
  md.magic = v.getUint32(0x3c);
  md.mdSizeSect = v.getUint32(0x40);
  md.alOffset = v.getInt32(0x44);
  md.alNrExtents = v.getUint32(0x48);
  md.bmOffset = v.getInt32(0x4c);
  md.bmBytesPerBit = v.getUint32(0x50);
  md.laPeerMaxBioSize = v.getUint32(0x54);
  md.maxPeers = Math.min(v.getUint32(0x58), DRBD_PEERS_MAX_SLOTS);
  md.nodeId = v.getInt32(0x5c);
  md.alStripes = v.getUint32(0x60);
  md.alStripeSize4k = v.getUint32(0x64);
  for (let p = 0; p < DRBD_NODE_ID_MAX; p++) {
    const o = 0x70 + 32 * p;
    md.peers[p] = {
      bitmapUuid: u64(v, o),
      bitmapDagtag: u64(v, o + 8),
      flags: v.getUint32(o + 16),
      bitmapIndex: v.getInt32(o + 20),
    };
  }
  for (let i = 0; i < DRBD_NODE_ID_MAX; i++) md.historyUuids[i] = u64(v, 0x470 + 8 * i);
  return md;
}

/** Encodes a v09 superblock; every byte not named by the format is zero. */
export function encodeV09(md: MdCpu): Uint8Array {
  const block = new Uint8Array(SUPERBLOCK_SIZE);
  const v = new DataView(block.buffer);
  v.setBigUint64(0x00, BigInt(md.effectiveSize));
  v.setBigUint64(0x08, md.currentUuid);
  v.setBigUint64(0x30, md.deviceUuid);
  v.setUint32(0x38, md.flags >>> 0);
  v.setUint32(0x3c, md.magic >>> 0);
  v.setUint32(0x40, md.mdSizeSect >>> 0);
  v.setInt32(0x44, md.alOffset | 0);
  v.setUint32(0x48, md.alNrExtents >>> 0);
  v.setInt32(0x4c, md.bmOffset | 0);
  v.setUint32(0x50, md.bmBytesPerBit >>> 0);
  v.setUint32(0x54, md.laPeerMaxBioSize >>> 0);
  v.setUint32(0x58, md.maxPeers >>> 0);
  v.setInt32(0x5c, md.nodeId | 0);
  v.setUint32(0x60, md.alStripes >>> 0);
  v.setUint32(0x64, md.alStripeSize4k >>> 0);
  for (let p = 0; p < DRBD_NODE_ID_MAX; p++) {
    const o = 0x70 + 32 * p;
    const peer = md.peers[p];
    v.setBigUint64(o, peer.bitmapUuid);
    v.setBigUint64(o + 8, peer.bitmapDagtag);
    v.setUint32(o + 16, peer.flags >>> 0);
    v.setInt32(o + 20, peer.bitmapIndex | 0);
  }
  for (let i = 0; i < DRBD_NODE_ID_MAX; i++) v.setBigUint64(0x470 + 8 * i, md.historyUuids[i]);
  return block;
}

/** Decodes a superblock of `format`. */
export function decodeSuperblock(format: MdFormat, block: Uint8Array): MdCpu {
  return format === "v08" ? decodeV08(block) : decodeV09(block);
}

/** Encodes a superblock of `format`. */
export function encodeSuperblock(format: MdFormat, md: MdCpu): Uint8Array {
  return format === "v08" ? encodeV08(md) : encodeV09(md);
}
