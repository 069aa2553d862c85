/**
 * Encoding and decoding of packets. Encoders write into a buffer the caller owns; decoders read
 * from a view of the receive buffer and return block payloads, digests and bitmap bodies as
 * views into it (no copy on the data path). Every decoding failure is a {@link ProtocolError}.
 *
 * @module
 */

import { CONNECTION_STATES, DISK_STATES, REPLICATION_STATES, ROLES } from "../engine/states.ts";
import {
  BarrierFlag,
  HEADER_SIZE,
  MAGIC,
  MAX_CHALLENGE_SIZE,
  MAX_DATA_SIZE,
  MAX_HISTORY_UUIDS,
  MAX_NODE_ID,
  MAX_PAYLOAD,
  MAX_VOLUME,
  NONCE_SIZE,
  SECTOR_SIZE,
} from "./constants.ts";
import { ProtocolError } from "./errors.ts";
import {
  AFTER_SB_0PRI,
  AFTER_SB_1PRI,
  AFTER_SB_2PRI,
  COMMANDS,
  type Packet,
  type PacketOf,
  type PacketType,
  type PeerState,
  type ReplicationProtocol,
} from "./packets.ts";

/** Largest digest carried by CsumResyncRequest / VerifyReply (SHA-512). */
export const MAX_DIGEST_SIZE = 64;
/** Largest Disconnect message in bytes. */
export const MAX_MESSAGE_SIZE = 1024;
/** Largest resource name in bytes. */
export const MAX_NAME_SIZE = 255;

const TWO_32 = 2 ** 32;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

type P<T extends PacketType> = PacketOf<T>;

interface Codec<T extends PacketType> {
  /** Volume-scoped packets carry the volume in the header; others send 0. */
  volume: boolean;
  /** Payload bytes of `p`. */
  size(p: P<T>): number;
  /** Writes the payload of `p` at `o`. */
  enc(p: P<T>, v: DataView, b: Uint8Array, o: number): void;
  /** Reads a payload of `len` bytes at `o`. */
  dec(type: T, v: DataView, b: Uint8Array, o: number, len: number, volume: number): P<T>;
}

// --- field helpers -----------------------------------------------------------------------------

function fail(type: string, why: string): never {
  throw new ProtocolError(`malformed ${type} packet: ${why}`);
}

function exact(type: string, len: number, want: number): void {
  if (len !== want) fail(type, `payload is ${len} bytes, expected ${want}`);
}

function atLeast(type: string, len: number, want: number): void {
  if (len < want) fail(type, `payload is ${len} bytes, expected at least ${want}`);
}

/** Reserved bytes must be zero, so that a later version can give them a meaning. */
function zero(type: string, v: DataView, o: number, n: number): void {
  for (let i = 0; i < n; i++) {
    if (v.getUint8(o + i) !== 0) fail(type, "reserved bytes are not zero");
  }
}

function getU64(type: string, v: DataView, o: number): number {
  const hi = v.getUint32(o);
  if (hi >= 0x200000) fail(type, "64-bit value beyond 2^53");
  return hi * TWO_32 + v.getUint32(o + 4);
}

function setU64(v: DataView, o: number, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a u64: ${n}`);
  v.setUint32(o, Math.floor(n / TWO_32));
  v.setUint32(o + 4, n >>> 0);
}

function blockSize(type: string, size: number, max = MAX_DATA_SIZE): number {
  if (size % SECTOR_SIZE !== 0) fail(type, `size ${size} is not a multiple of 512`);
  if (size > max) fail(type, `size ${size} exceeds ${max}`);
  return size;
}

function nodeId(type: string, id: number): number {
  if (id > MAX_NODE_ID) fail(type, `node id ${id} out of range 0..${MAX_NODE_ID}`);
  return id;
}

function enumIndex<T extends string>(values: readonly T[], value: T): number {
  const i = values.indexOf(value);
  if (i < 0) throw new RangeError(`unknown value ${value}`);
  return i;
}

function enumValue<T extends string>(type: string, values: readonly T[], i: number): T {
  if (i >= values.length) fail(type, `enumeration value ${i} out of range`);
  return values[i];
}

function getString(type: string, b: Uint8Array, o: number, len: number): string {
  try {
    return strictUtf8.decode(b.subarray(o, o + len));
  } catch {
    fail(type, "string is not UTF-8");
  }
}

function encodedString(s: string, max: number): Uint8Array {
  const bytes = utf8.encode(s);
  if (bytes.length > max) throw new RangeError(`string longer than ${max} bytes`);
  return bytes;
}

// Strings are encoded twice (size, then write) only on rare control packets.
function stringBytes(s: string): number {
  return utf8.encode(s).length;
}

// --- state fields ------------------------------------------------------------------------------

const STATE_SIZE = 8;
const CHANGE_SIZE = 12;
const Mask = { role: 1, disk: 2, connection: 4, replication: 8, flags: 16 } as const;

function encState(s: PeerState, v: DataView, o: number): void {
  v.setUint8(o, enumIndex(ROLES, s.role));
  v.setUint8(o + 1, enumIndex(DISK_STATES, s.disk));
  v.setUint8(o + 2, enumIndex(CONNECTION_STATES, s.connection));
  v.setUint8(o + 3, enumIndex(REPLICATION_STATES, s.replication));
  v.setUint32(o + 4, s.flags);
}

function decState(type: string, v: DataView, o: number): PeerState {
  return {
    role: enumValue(type, ROLES, v.getUint8(o)),
    disk: enumValue(type, DISK_STATES, v.getUint8(o + 1)),
    connection: enumValue(type, CONNECTION_STATES, v.getUint8(o + 2)),
    replication: enumValue(type, REPLICATION_STATES, v.getUint8(o + 3)),
    flags: v.getUint32(o + 4),
  };
}

function encChange(c: Partial<PeerState>, v: DataView, o: number): void {
  let mask = 0;
  for (let i = 0; i < CHANGE_SIZE; i++) v.setUint8(o + i, 0);
  if (c.role !== undefined) mask |= Mask.role, v.setUint8(o + 1, enumIndex(ROLES, c.role));
  if (c.disk !== undefined) mask |= Mask.disk, v.setUint8(o + 2, enumIndex(DISK_STATES, c.disk));
  if (c.connection !== undefined) {
    mask |= Mask.connection;
    v.setUint8(o + 3, enumIndex(CONNECTION_STATES, c.connection));
  }
  if (c.replication !== undefined) {
    mask |= Mask.replication;
    v.setUint8(o + 4, enumIndex(REPLICATION_STATES, c.replication));
  }
  if (c.flags !== undefined) mask |= Mask.flags, v.setUint32(o + 8, c.flags);
  v.setUint8(o, mask);
}

function decChange(type: string, v: DataView, o: number): Partial<PeerState> {
  const mask = v.getUint8(o);
  if (mask & ~31) fail(type, `unknown state mask bits ${mask}`);
  zero(type, v, o + 5, 3);
  if (!(mask & Mask.role)) zero(type, v, o + 1, 1);
  if (!(mask & Mask.disk)) zero(type, v, o + 2, 1);
  if (!(mask & Mask.connection)) zero(type, v, o + 3, 1);
  if (!(mask & Mask.replication)) zero(type, v, o + 4, 1);
  if (!(mask & Mask.flags)) zero(type, v, o + 8, 4);
  const c: Partial<PeerState> = {};
  if (mask & Mask.role) c.role = enumValue(type, ROLES, v.getUint8(o + 1));
  if (mask & Mask.disk) c.disk = enumValue(type, DISK_STATES, v.getUint8(o + 2));
  if (mask & Mask.connection) {
    c.connection = enumValue(type, CONNECTION_STATES, v.getUint8(o + 3));
  }
  if (mask & Mask.replication) {
    c.replication = enumValue(type, REPLICATION_STATES, v.getUint8(o + 4));
  }
  if (mask & Mask.flags) c.flags = v.getUint32(o + 8);
  return c;
}

// --- codecs ------------------------------------------------------------------------------------

const data: Codec<"Data"> = {
  volume: true,
  size: (p) => 24 + p.payload.length,
  enc(p, v, b, o) {
    setU64(v, o, p.sector);
    setU64(v, o + 8, p.blockId);
    v.setUint32(o + 16, p.seq);
    v.setUint32(o + 20, p.flags);
    // A block already in place behind its header (framed in its own headroom) is not copied.
    if (p.payload.buffer !== b.buffer || p.payload.byteOffset !== b.byteOffset + o + 24) {
      b.set(p.payload, o + 24);
    }
  },
  dec(type, v, b, o, len, volume) {
    atLeast(type, len, 24);
    blockSize(type, len - 24);
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      blockId: getU64(type, v, o + 8),
      seq: v.getUint32(o + 16),
      flags: v.getUint32(o + 20),
      payload: b.subarray(o + 24, o + len),
    };
  },
};

const trim: Codec<"Trim"> = {
  volume: true,
  size: () => 28,
  enc(p, v, _b, o) {
    setU64(v, o, p.sector);
    setU64(v, o + 8, p.blockId);
    v.setUint32(o + 16, p.seq);
    v.setUint32(o + 20, p.flags);
    v.setUint32(o + 24, p.size);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 28);
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      blockId: getU64(type, v, o + 8),
      seq: v.getUint32(o + 16),
      flags: v.getUint32(o + 20),
      size: blockSize(type, v.getUint32(o + 24), 0xffffffff),
    };
  },
};

const blockReply: Codec<"DataReply" | "ResyncData"> = {
  volume: true,
  size: (p) => 16 + p.payload.length,
  enc(p, v, b, o) {
    setU64(v, o, p.sector);
    setU64(v, o + 8, p.blockId);
    b.set(p.payload, o + 16);
  },
  dec(type, v, b, o, len, volume) {
    atLeast(type, len, 16);
    blockSize(type, len - 16);
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      blockId: getU64(type, v, o + 8),
      payload: b.subarray(o + 16, o + len),
    };
  },
};

const blockRequest: Codec<"DataRequest" | "ResyncRequest" | "VerifyRequest"> = {
  volume: true,
  size: () => 24,
  enc(p, v, _b, o) {
    setU64(v, o, p.sector);
    setU64(v, o + 8, p.blockId);
    v.setUint32(o + 16, p.size);
    v.setUint32(o + 20, 0);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 24);
    zero(type, v, o + 20, 4);
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      blockId: getU64(type, v, o + 8),
      size: blockSize(type, v.getUint32(o + 16)),
    };
  },
};

const digest: Codec<"CsumResyncRequest" | "VerifyReply"> = {
  volume: true,
  size: (p) => 24 + p.digest.length,
  enc(p, v, b, o) {
    if (p.digest.length > MAX_DIGEST_SIZE) throw new RangeError("digest too long");
    blockRequest.enc({ ...p, type: "DataRequest" }, v, b, o);
    b.set(p.digest, o + 24);
  },
  dec(type, v, b, o, len, volume) {
    atLeast(type, len, 24);
    zero(type, v, o + 20, 4);
    if (len - 24 > MAX_DIGEST_SIZE) fail(type, `digest longer than ${MAX_DIGEST_SIZE} bytes`);
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      blockId: getU64(type, v, o + 8),
      size: blockSize(type, v.getUint32(o + 16)),
      digest: b.subarray(o + 24, o + len),
    };
  },
};

type AckType =
  | "RecvAck"
  | "WriteAck"
  | "RsWriteAck"
  | "NegAck"
  | "NegDataReply"
  | "NegRsDataReply"
  | "RsIsInSync";

const blockAck: Codec<AckType> = {
  volume: true,
  size: () => 24,
  enc(p, v, _b, o) {
    setU64(v, o, p.sector);
    setU64(v, o + 8, p.blockId);
    v.setUint32(o + 16, p.size);
    v.setUint32(o + 20, p.seq);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 24);
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      blockId: getU64(type, v, o + 8),
      size: blockSize(type, v.getUint32(o + 16), 0xffffffff),
      seq: v.getUint32(o + 20),
    };
  },
};

const verifyResult: Codec<"VerifyResult"> = {
  volume: true,
  size: () => 16,
  enc(p, v, _b, o) {
    setU64(v, o, p.sector);
    v.setUint32(o + 8, p.size);
    v.setUint32(o + 12, p.inSync ? 1 : 0);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 16);
    const inSync = v.getUint32(o + 12);
    if (inSync > 1) fail(type, "in-sync flag is neither 0 nor 1");
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      size: blockSize(type, v.getUint32(o + 8)),
      inSync: inSync === 1,
    };
  },
};

const outOfSync: Codec<"OutOfSync"> = {
  volume: true,
  size: () => 16,
  enc(p, v, _b, o) {
    setU64(v, o, p.sector);
    v.setUint32(o + 8, p.size);
    v.setUint32(o + 12, 0);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 16);
    zero(type, v, o + 12, 4);
    return {
      type,
      volume,
      sector: getU64(type, v, o),
      size: blockSize(type, v.getUint32(o + 8), 0xffffffff),
    };
  },
};

const barrier: Codec<"Barrier"> = {
  volume: false,
  size: () => 8,
  enc(p, v, _b, o) {
    v.setUint32(o, p.barrier);
    v.setUint32(o + 4, p.flags);
  },
  dec(type, v, _b, o, len) {
    exact(type, len, 8);
    const flags = v.getUint32(o + 4);
    if (flags & ~BarrierFlag.FLUSH) fail(type, `unknown flags 0x${flags.toString(16)}`);
    return { type, barrier: v.getUint32(o), flags };
  },
};

const barrierAck: Codec<"BarrierAck"> = {
  volume: false,
  size: () => 8,
  enc(p, v, _b, o) {
    v.setUint32(o, p.barrier);
    v.setUint32(o + 4, p.setSize);
  },
  dec(type, v, _b, o, len) {
    exact(type, len, 8);
    return { type, barrier: v.getUint32(o), setSize: v.getUint32(o + 4) };
  },
};

const state: Codec<"State"> = {
  volume: true,
  size: () => STATE_SIZE,
  enc: (p, v, _b, o) => encState(p.state, v, o),
  dec(type, v, _b, o, len, volume) {
    exact(type, len, STATE_SIZE);
    return { type, volume, state: decState(type, v, o) };
  },
};

const stateChange: Codec<"StateChange"> = {
  volume: true,
  size: () => 8 + CHANGE_SIZE,
  enc(p, v, _b, o) {
    v.setUint32(o, p.tid);
    v.setUint32(o + 4, p.txFlags);
    encChange(p.change, v, o + 8);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 8 + CHANGE_SIZE);
    return {
      type,
      volume,
      tid: v.getUint32(o),
      txFlags: v.getUint32(o + 4),
      change: decChange(type, v, o + 8),
    };
  },
};

const stateChangeReply: Codec<"StateChangeReply"> = {
  volume: true,
  size: () => 8,
  enc(p, v, _b, o) {
    v.setUint32(o, p.tid);
    v.setInt32(o + 4, p.result);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 8);
    return { type, volume, tid: v.getUint32(o), result: v.getInt32(o + 4) };
  },
};

const uuids: Codec<"Uuids"> = {
  volume: true,
  size: (p) => 40 + 8 * p.history.length,
  enc(p, v, _b, o) {
    if (p.history.length > MAX_HISTORY_UUIDS) throw new RangeError("too many history UUIDs");
    v.setBigUint64(o, p.current);
    v.setBigUint64(o + 8, p.bitmap);
    v.setBigUint64(o + 16, p.dirtyBits);
    v.setBigUint64(o + 24, p.flags);
    v.setUint32(o + 32, p.history.length);
    v.setUint32(o + 36, 0);
    for (let i = 0; i < p.history.length; i++) v.setBigUint64(o + 40 + 8 * i, p.history[i]);
  },
  dec(type, v, _b, o, len, volume) {
    atLeast(type, len, 40);
    const n = v.getUint32(o + 32);
    if (n > MAX_HISTORY_UUIDS) fail(type, `${n} history UUIDs, at most ${MAX_HISTORY_UUIDS}`);
    zero(type, v, o + 36, 4);
    exact(type, len, 40 + 8 * n);
    const history: bigint[] = [];
    for (let i = 0; i < n; i++) history.push(v.getBigUint64(o + 40 + 8 * i));
    return {
      type,
      volume,
      current: v.getBigUint64(o),
      bitmap: v.getBigUint64(o + 8),
      dirtyBits: v.getBigUint64(o + 16),
      flags: v.getBigUint64(o + 24),
      history,
    };
  },
};

const syncUuid: Codec<"SyncUuid"> = {
  volume: true,
  size: () => 8,
  enc: (p, v, _b, o) => v.setBigUint64(o, p.uuid),
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 8);
    return { type, volume, uuid: v.getBigUint64(o) };
  },
};

const sizes: Codec<"Sizes"> = {
  volume: true,
  size: () => 32,
  enc(p, v, _b, o) {
    setU64(v, o, p.backingSize);
    setU64(v, o + 8, p.userSize);
    setU64(v, o + 16, p.currentSize);
    v.setUint32(o + 24, p.maxBioSize);
    v.setUint32(o + 28, p.flags);
  },
  dec(type, v, _b, o, len, volume) {
    exact(type, len, 32);
    return {
      type,
      volume,
      backingSize: getU64(type, v, o),
      userSize: getU64(type, v, o + 8),
      currentSize: getU64(type, v, o + 16),
      maxBioSize: v.getUint32(o + 24),
      flags: v.getUint32(o + 28),
    };
  },
};

const BitmapFlag = { RLE: 1, LAST: 2, FIRST_SET: 4 } as const;

const bitmap: Codec<"Bitmap"> = {
  volume: true,
  size: (p) => 16 + p.body.length,
  enc(p, v, b, o) {
    const flags = (p.encoding === "rle" ? BitmapFlag.RLE : 0) | (p.last ? BitmapFlag.LAST : 0) |
      (p.firstRunSet ? BitmapFlag.FIRST_SET : 0);
    v.setUint32(o, flags);
    v.setUint32(o + 4, p.bitCount);
    setU64(v, o + 8, p.bitOffset);
    b.set(p.body, o + 16);
  },
  dec(type, v, b, o, len, volume) {
    atLeast(type, len, 16);
    const flags = v.getUint32(o);
    if (flags & ~7) fail(type, `unknown flags ${flags}`);
    const bitCount = v.getUint32(o + 4);
    const body = b.subarray(o + 16, o + len);
    const rle = (flags & BitmapFlag.RLE) !== 0;
    if (!rle && flags & BitmapFlag.FIRST_SET) fail(type, "plain chunk with a first-run flag");
    if (rle) checkRuns(type, body, bitCount);
    else if (body.length !== Math.ceil(bitCount / 8)) {
      fail(type, `${body.length} bytes for ${bitCount} bits`);
    }
    return {
      type,
      volume,
      encoding: rle ? "rle" : "plain",
      bitOffset: getU64(type, v, o + 8),
      bitCount,
      firstRunSet: (flags & BitmapFlag.FIRST_SET) !== 0,
      last: (flags & BitmapFlag.LAST) !== 0,
      body,
    };
  },
};

/** Checks that `body` is a sequence of non-zero LEB128 runs adding up to `bitCount`. */
function checkRuns(type: string, body: Uint8Array, bitCount: number): void {
  let total = 0, run = 0, shift = 0;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (shift > 28) fail(type, "run length longer than 32 bits");
    run += (byte & 0x7f) * 2 ** shift;
    if (byte & 0x80) {
      shift += 7;
      continue;
    }
    if (run === 0) fail(type, "run of length 0");
    total += run;
    run = shift = 0;
  }
  if (shift !== 0) fail(type, "truncated run length");
  if (total !== bitCount) fail(type, `runs cover ${total} bits, expected ${bitCount}`);
}

const PROTOCOLS: readonly ReplicationProtocol[] = ["A", "B", "C"];

const protocol: Codec<"Protocol"> = {
  volume: false,
  size: (p) => 9 + stringBytes(p.integrityAlg),
  enc(p, v, b, o) {
    v.setUint8(o, enumIndex(PROTOCOLS, p.protocol) + 1);
    v.setUint8(o + 1, enumIndex(AFTER_SB_0PRI, p.afterSb0pri));
    v.setUint8(o + 2, enumIndex(AFTER_SB_1PRI, p.afterSb1pri));
    v.setUint8(o + 3, enumIndex(AFTER_SB_2PRI, p.afterSb2pri));
    v.setUint32(o + 4, p.flags);
    const alg = encodedString(p.integrityAlg, 64);
    v.setUint8(o + 8, alg.length);
    b.set(alg, o + 9);
  },
  dec(type, v, b, o, len) {
    atLeast(type, len, 9);
    exact(type, len, 9 + v.getUint8(o + 8));
    const proto = v.getUint8(o);
    if (proto < 1 || proto > 3) fail(type, `replication protocol ${proto} is not A, B or C`);
    return {
      type,
      protocol: PROTOCOLS[proto - 1],
      afterSb0pri: enumValue(type, AFTER_SB_0PRI, v.getUint8(o + 1)),
      afterSb1pri: enumValue(type, AFTER_SB_1PRI, v.getUint8(o + 2)),
      afterSb2pri: enumValue(type, AFTER_SB_2PRI, v.getUint8(o + 3)),
      flags: v.getUint32(o + 4),
      integrityAlg: getString(type, b, o + 9, len - 9),
    };
  },
};

const syncParam: Codec<"SyncParam"> = {
  volume: true,
  size: (p) => 2 + stringBytes(p.verifyAlg) + stringBytes(p.csumsAlg),
  enc(p, v, b, o) {
    const verify = encodedString(p.verifyAlg, 64);
    const csums = encodedString(p.csumsAlg, 64);
    v.setUint8(o, verify.length);
    b.set(verify, o + 1);
    v.setUint8(o + 1 + verify.length, csums.length);
    b.set(csums, o + 2 + verify.length);
  },
  dec(type, v, b, o, len, volume) {
    atLeast(type, len, 2);
    const verifyLen = v.getUint8(o);
    atLeast(type, len, 2 + verifyLen);
    const csumsLen = v.getUint8(o + 1 + verifyLen);
    exact(type, len, 2 + verifyLen + csumsLen);
    if (verifyLen > 64 || csumsLen > 64) fail(type, "algorithm name longer than 64 bytes");
    return {
      type,
      volume,
      verifyAlg: getString(type, b, o + 1, verifyLen),
      csumsAlg: getString(type, b, o + 2 + verifyLen, csumsLen),
    };
  },
};

const twoPcRequest: Codec<"TwoPcPrepare" | "TwoPcCommit" | "TwoPcAbort"> = {
  volume: false,
  size: () => 24 + CHANGE_SIZE,
  enc(p, v, _b, o) {
    v.setUint32(o, p.tid);
    v.setUint32(o + 4, p.initiatorNodeId);
    v.setInt32(o + 8, p.targetNodeId);
    v.setUint32(o + 12, 0);
    v.setBigUint64(o + 16, p.nodesToReach);
    encChange(p.change, v, o + 24);
  },
  dec(type, v, _b, o, len) {
    exact(type, len, 24 + CHANGE_SIZE);
    const target = v.getInt32(o + 8);
    if (target < -1 || target > MAX_NODE_ID) fail(type, `target node id ${target} out of range`);
    zero(type, v, o + 12, 4);
    return {
      type,
      tid: v.getUint32(o),
      initiatorNodeId: nodeId(type, v.getUint32(o + 4)),
      targetNodeId: target,
      nodesToReach: v.getBigUint64(o + 16),
      change: decChange(type, v, o + 24),
    };
  },
};

const VOTES = ["yes", "no", "retry"] as const;

const twoPcReply: Codec<"TwoPcReply"> = {
  volume: false,
  size: () => 24,
  enc(p, v, _b, o) {
    v.setUint32(o, p.tid);
    v.setUint32(o + 4, p.initiatorNodeId);
    v.setUint32(o + 8, enumIndex(VOTES, p.vote));
    v.setUint32(o + 12, 0);
    v.setBigUint64(o + 16, p.reachableNodes);
  },
  dec(type, v, _b, o, len) {
    exact(type, len, 24);
    zero(type, v, o + 12, 4);
    return {
      type,
      tid: v.getUint32(o),
      initiatorNodeId: nodeId(type, v.getUint32(o + 4)),
      vote: enumValue(type, VOTES, v.getUint32(o + 8)),
      reachableNodes: v.getBigUint64(o + 16),
    };
  },
};

const empty: Codec<"Ping" | "PingAck" | "PairCommit"> = {
  volume: false,
  size: () => 0,
  enc() {},
  dec(type, _v, _b, _o, len) {
    exact(type, len, 0);
    return { type } as P<"Ping" | "PingAck" | "PairCommit">;
  },
};

/** The reason's UTF-8 bytes, cut at a character boundary to fit: the peer still learns why. */
function messageBytes(message: string): Uint8Array {
  const msg = utf8.encode(message);
  let n = Math.min(msg.length, MAX_MESSAGE_SIZE);
  while (n < msg.length && (msg[n] & 0xc0) === 0x80) n--;
  return msg.subarray(0, n);
}

const disconnect: Codec<"Disconnect"> = {
  volume: false,
  size: (p) => 4 + messageBytes(p.message).length,
  enc(p, v, b, o) {
    const msg = messageBytes(p.message);
    v.setUint16(o, p.code);
    v.setUint16(o + 2, msg.length);
    b.set(msg, o + 4);
  },
  dec(type, v, b, o, len) {
    atLeast(type, len, 4);
    const n = v.getUint16(o + 2);
    if (n > MAX_MESSAGE_SIZE) fail(type, "message too long");
    exact(type, len, 4 + n);
    return { type, code: v.getUint16(o), message: getString(type, b, o + 4, n) };
  },
};

const hello: Codec<"Hello"> = {
  volume: false,
  size: (p) => 40 + stringBytes(p.resource) + stringBytes(p.authAlg),
  enc(p, v, b, o) {
    const name = encodedString(p.resource, MAX_NAME_SIZE);
    const alg = encodedString(p.authAlg, 64);
    if (p.nonce.length !== NONCE_SIZE) throw new RangeError("nonce must be 16 bytes");
    v.setUint32(o, p.protocolMin);
    v.setUint32(o + 4, p.protocolMax);
    v.setUint32(o + 8, p.features);
    v.setUint32(o + 12, p.nodeId);
    v.setUint32(o + 16, p.peerNodeId);
    v.setUint8(o + 20, p.channel === "data" ? 0 : 1);
    v.setUint8(o + 21, 0);
    v.setUint8(o + 22, name.length);
    v.setUint8(o + 23, alg.length);
    b.set(p.nonce, o + 24);
    b.set(name, o + 40);
    b.set(alg, o + 40 + name.length);
  },
  dec(type, v, b, o, len) {
    atLeast(type, len, 40);
    const nameLen = v.getUint8(o + 22), algLen = v.getUint8(o + 23);
    exact(type, len, 40 + nameLen + algLen);
    const channel = v.getUint8(o + 20);
    if (channel > 1) fail(type, `socket kind ${channel} is neither data (0) nor meta (1)`);
    zero(type, v, o + 21, 1);
    const protocolMin = v.getUint32(o), protocolMax = v.getUint32(o + 4);
    if (protocolMin > protocolMax) fail(type, `protocol range ${protocolMin}-${protocolMax}`);
    return {
      type,
      protocolMin,
      protocolMax,
      features: v.getUint32(o + 8),
      nodeId: nodeId(type, v.getUint32(o + 12)),
      peerNodeId: nodeId(type, v.getUint32(o + 16)),
      channel: channel === 0 ? "data" : "meta",
      nonce: b.slice(o + 24, o + 40),
      resource: getString(type, b, o + 40, nameLen),
      authAlg: getString(type, b, o + 40 + nameLen, algLen),
    };
  },
};

const auth: Codec<"AuthChallenge" | "AuthResponse"> = {
  volume: false,
  size: (p) => p.bytes.length,
  enc: (p, _v, b, o) => b.set(p.bytes, o),
  dec(type, _v, b, o, len) {
    if (len < 16 || len > MAX_CHALLENGE_SIZE) fail(type, `${len} bytes, expected 16 to 128`);
    return { type, bytes: b.slice(o, o + len) };
  },
};

// deno-lint-ignore no-explicit-any
type AnyCodec = Codec<any>;

const CODECS: { readonly [T in PacketType]: AnyCodec } = {
  Data: data,
  Trim: trim,
  DataReply: blockReply,
  ResyncData: blockReply,
  DataRequest: blockRequest,
  ResyncRequest: blockRequest,
  VerifyRequest: blockRequest,
  CsumResyncRequest: digest,
  VerifyReply: digest,
  RecvAck: blockAck,
  WriteAck: blockAck,
  RsWriteAck: blockAck,
  NegAck: blockAck,
  NegDataReply: blockAck,
  NegRsDataReply: blockAck,
  RsIsInSync: blockAck,
  VerifyResult: verifyResult,
  OutOfSync: outOfSync,
  Barrier: barrier,
  BarrierAck: barrierAck,
  State: state,
  StateChange: stateChange,
  StateChangeReply: stateChangeReply,
  Uuids: uuids,
  SyncUuid: syncUuid,
  Sizes: sizes,
  Bitmap: bitmap,
  Protocol: protocol,
  SyncParam: syncParam,
  TwoPcPrepare: twoPcRequest,
  TwoPcCommit: twoPcRequest,
  TwoPcAbort: twoPcRequest,
  TwoPcReply: twoPcReply,
  Ping: empty,
  PingAck: empty,
  PairCommit: empty,
  Disconnect: disconnect,
  Hello: hello,
  AuthChallenge: auth,
  AuthResponse: auth,
};

const BY_COMMAND = new Map<number, PacketType>(
  (Object.keys(COMMANDS) as PacketType[]).map((t) => [COMMANDS[t].cmd, t]),
);

/** The packet type of a command number, or undefined for an unknown command. */
export function typeOfCommand(cmd: number): PacketType | undefined {
  return BY_COMMAND.get(cmd);
}

/** Total bytes (header and payload) `packet` takes on the wire. */
export function packetSize(packet: Packet): number {
  return HEADER_SIZE + CODECS[packet.type].size(packet);
}

/**
 * Writes `packet` (header and payload) into `view`/`bytes` at `offset` and returns the bytes
 * written. `view` and `bytes` must cover the same memory; the transport keeps one of each per
 * socket so encoding allocates nothing. Throws RangeError for a value the wire cannot carry.
 */
export function encodeInto(packet: Packet, view: DataView, bytes: Uint8Array, offset = 0): number {
  const codec = CODECS[packet.type];
  const len = codec.size(packet);
  if (len > MAX_PAYLOAD) {
    throw new RangeError(`${packet.type} payload ${len} exceeds ${MAX_PAYLOAD}`);
  }
  if (offset + HEADER_SIZE + len > bytes.length) throw new RangeError("buffer too small");
  const volume = codec.volume ? (packet as { volume: number }).volume : 0;
  if (!Number.isInteger(volume) || volume < 0 || volume > MAX_VOLUME) {
    throw new RangeError(`volume ${volume} out of range`);
  }
  view.setUint32(offset, MAGIC);
  view.setUint16(offset + 4, COMMANDS[packet.type].cmd);
  view.setUint16(offset + 6, volume);
  view.setUint32(offset + 8, len);
  codec.enc(packet, view, bytes, offset + HEADER_SIZE);
  return HEADER_SIZE + len;
}

/** Writes `packet` into `target` at `offset` and returns the bytes written. */
export function encodePacket(packet: Packet, target: Uint8Array, offset = 0): number {
  return encodeInto(
    packet,
    new DataView(target.buffer, target.byteOffset, target.byteLength),
    target,
    offset,
  );
}

/** Encodes `packet` into a new buffer of exactly its size (tests, control packets). */
export function encodePacketBytes(packet: Packet): Uint8Array {
  const out = new Uint8Array(packetSize(packet));
  encodePacket(packet, out);
  return out;
}

/** A validated packet header. */
export interface Header {
  type: PacketType;
  volume: number;
  /** Payload length in bytes. */
  length: number;
}

/**
 * Reads and validates the header at `offset`: magic, known command, length within `maxPayload`.
 * Throws {@link ProtocolError} otherwise.
 */
export function decodeHeader(view: DataView, offset: number, maxPayload = MAX_PAYLOAD): Header {
  const magic = view.getUint32(offset);
  if (magic !== MAGIC) {
    throw new ProtocolError(`bad magic 0x${magic.toString(16).padStart(8, "0")}`);
  }
  const cmd = view.getUint16(offset + 4);
  const type = BY_COMMAND.get(cmd);
  if (type === undefined) throw new ProtocolError(`unknown command 0x${cmd.toString(16)}`);
  const volume = view.getUint16(offset + 6);
  const length = view.getUint32(offset + 8);
  if (length > maxPayload) {
    throw new ProtocolError(`${type} packet of ${length} bytes exceeds the limit of ${maxPayload}`);
  }
  if (volume > MAX_VOLUME || (!CODECS[type].volume && volume !== 0)) {
    throw new ProtocolError(`${type} packet for volume ${volume}`);
  }
  return { type, volume, length };
}

/**
 * Decodes the payload of a packet whose header was validated by {@link decodeHeader}. Views in
 * the result point into `bytes`. Throws only {@link ProtocolError}.
 */
export function decodePayload(
  header: Header,
  view: DataView,
  bytes: Uint8Array,
  offset: number,
): Packet {
  try {
    return CODECS[header.type].dec(header.type, view, bytes, offset, header.length, header.volume);
  } catch (e) {
    if (e instanceof ProtocolError) throw e;
    throw new ProtocolError(`malformed ${header.type} packet: ${(e as Error).message}`);
  }
}

/**
 * Decodes one whole packet (header and payload) from `frame`, which must hold exactly one packet.
 * Throws {@link ProtocolError} for anything malformed, truncated or trailing.
 */
export function decodePacket(frame: Uint8Array, maxPayload = MAX_PAYLOAD): Packet {
  if (frame.length < HEADER_SIZE) throw new ProtocolError("truncated packet header");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const header = decodeHeader(view, 0, maxPayload);
  if (frame.length < HEADER_SIZE + header.length) {
    throw new ProtocolError(`truncated ${header.type} packet`);
  }
  if (frame.length > HEADER_SIZE + header.length) {
    throw new ProtocolError(`trailing bytes after ${header.type} packet`);
  }
  return decodePayload(header, view, frame, HEADER_SIZE);
}
