/**
 * Numbers of the udrbd peer protocol: header layout, limits, protocol versions, flag bits and
 * disconnect codes. lib/wire/README.md describes each in prose.
 *
 * @module
 */

/** First four bytes of every packet ("uDRB"); DRBD's own magics differ, so a kernel peer is refused. */
export const MAGIC = 0x75445242;
/** Header: magic u32, command u16, volume u16, payload length u32 (big endian). */
export const HEADER_SIZE = 12;
/** Largest block payload of one Data, DataReply or ResyncData packet (1 MiB, DRBD's max bio). */
export const MAX_DATA_SIZE = 1 << 20;
/** Largest payload of any packet: a full data block plus room for its fixed fields. */
export const MAX_PAYLOAD = MAX_DATA_SIZE + 4096;
/** Largest payload accepted before the peer has authenticated (Hello, challenge, response). */
export const PRE_AUTH_MAX_PAYLOAD = 1024;
/** Oldest protocol version this build speaks. */
export const PROTOCOL_VERSION_MIN = 1;
/** Newest protocol version this build speaks. */
export const PROTOCOL_VERSION_MAX = 1;
/** Bytes of random challenge each side sends during authentication. */
export const CHALLENGE_SIZE = 32;
/** Largest challenge accepted from a peer. */
export const MAX_CHALLENGE_SIZE = 128;
/** Bytes of the connection nonce that pairs a data socket with its meta socket. */
export const NONCE_SIZE = 16;
/** Entries of UUID history a Uuids packet may carry. */
export const MAX_HISTORY_UUIDS = 64;
/** Node ids are 0..31, as in DRBD 9. */
export const MAX_NODE_ID = 31;
/** A volume number on the wire; 65535 is not a volume. */
export const MAX_VOLUME = 0xfffe;
/** Sector size: offsets and sizes on the wire count 512-byte sectors. */
export const SECTOR_SIZE = 512;

/** The two TCP connections of a peer: bulk traffic and acknowledgements/pings. */
export type Channel = "data" | "meta";

/** Flag bits of a Data or Trim packet (`dp_flags`), as in DRBD. */
export const DpFlag = {
  /** Write may be reordered only with respect to barriers (kept for DRBD parity). */
  RW_SYNC: 0x2,
  /** The receiver may mark the block in sync when the write succeeds (resync). */
  MAY_SET_IN_SYNC: 0x4,
  /** Force unit access: the peer writes the block to stable storage before acking. */
  FUA: 0x10,
  /** Preflush: the peer flushes its disk cache before this write. */
  FLUSH: 0x20,
  /** Trim: deallocate the range. */
  DISCARD: 0x40,
  /** Protocol B: the peer sends RecvAck when the block has arrived. */
  SEND_RECEIVE_ACK: 0x80,
  /** Protocol C: the peer sends WriteAck when the block is on its disk. */
  SEND_WRITE_ACK: 0x100,
  /** Trim: write zeroes over the range. */
  ZEROES: 0x400,
} as const;

/** Flag bits of a Barrier packet. */
export const BarrierFlag = {
  /** The peer flushes its disk after the epoch's writes, before it sends the BarrierAck. */
  FLUSH: 0x1,
} as const;

/** Feature bits announced in Hello; the connection uses the intersection. */
export const Feature = {
  /** Trim packets with DISCARD. */
  TRIM: 0x1,
  /** Trim packets with ZEROES. */
  ZEROES: 0x2,
  /** Run-length encoded bitmap chunks. */
  BITMAP_RLE: 0x4,
  /** Two-phase commit packets. */
  TWO_PC: 0x8,
} as const;

/** Every feature this build implements. */
export const ALL_FEATURES = Feature.TRIM | Feature.ZEROES | Feature.BITMAP_RLE | Feature.TWO_PC;

/** Flags of the Protocol packet. */
export const ProtocolFlag = {
  /** `connect --discard-my-data`: this side gives up its data in a split brain. */
  DISCARD_MY_DATA: 0x1,
  /** `allow-two-primaries`. */
  ALLOW_TWO_PRIMARIES: 0x2,
  /** `always-asbp`. */
  ALWAYS_ASBP: 0x4,
  /** `connect --dry-run`: compute and report the sync decision only. */
  DRY_RUN: 0x8,
} as const;

/** Why a connection ends; carried by the Disconnect packet. */
export const DisconnectCode = {
  /** `close()` on purpose (`drbdsetup disconnect`, `down`). */
  NORMAL: 0,
  /** A malformed or unexpected packet. */
  PROTOCOL_ERROR: 1,
  /** No common protocol version. */
  VERSION: 2,
  /** Resource name or node ids do not match. */
  WRONG_PEER: 3,
  /** Authentication failed (wrong secret, bad response). */
  AUTH_FAILED: 4,
  /** One side requires authentication and the other has no secret, or the algorithms differ. */
  AUTH_CONFIG: 5,
  /** Another connection pair won the connect race, or the peer is already connected. */
  RACE: 6,
  /** The listener serves no such resource/node pair (yet). */
  NO_SUCH_PEER: 7,
  /** A handshake step or an answer did not arrive in time. */
  TIMEOUT: 8,
  /**
   * The engine found the connection's settings or disks incompatible (Protocol or Sizes
   * packet): the peer is told so it goes StandAlone too instead of reconnecting.
   */
  INCOMPATIBLE: 9,
  /** The engine found split brain it may not resolve: both sides go StandAlone. */
  SPLIT_BRAIN: 10,
} as const;

/** Disconnect codes that stem from configuration and will not heal by retrying. */
export const FATAL_CODES: ReadonlySet<number> = new Set([
  DisconnectCode.VERSION,
  DisconnectCode.WRONG_PEER,
  DisconnectCode.AUTH_FAILED,
  DisconnectCode.AUTH_CONFIG,
]);
