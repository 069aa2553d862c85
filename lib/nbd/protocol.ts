/**
 * NBD wire constants (fixed newstyle handshake, simple and structured replies) as named in the
 * NBD protocol specification, `doc/proto.md` of NetworkBlockDevice/nbd. All numbers on the wire
 * are big-endian.
 *
 * @module
 */

/** `NBDMAGIC`, the first 8 bytes of every handshake. */
export const NBD_MAGIC = 0x4e42444d41474943n;
/** `IHAVEOPT`: newstyle greeting magic and option request magic. */
export const IHAVEOPT = 0x49484156454f5054n;
/** Option reply magic. */
export const OPT_REPLY_MAGIC = 0x0003e889045565a9n;
/** Request magic (compact headers). */
export const REQUEST_MAGIC = 0x25609513;
/** Simple reply magic. */
export const SIMPLE_REPLY_MAGIC = 0x67446698;
/** Structured reply chunk magic. */
export const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flags (server → client). */
export const FLAG_FIXED_NEWSTYLE = 1;
/** Handshake flag: the client may skip the 124 zero bytes after EXPORT_NAME. */
export const FLAG_NO_ZEROES = 2;
/** Client flag: the client speaks fixed newstyle. */
export const FLAG_C_FIXED_NEWSTYLE = 1;
/** Client flag: no 124 zero bytes after EXPORT_NAME. */
export const FLAG_C_NO_ZEROES = 2;

/** Option numbers. */
export const Opt = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  PEEK_EXPORT: 4,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  LIST_META_CONTEXT: 9,
  SET_META_CONTEXT: 10,
  EXTENDED_HEADERS: 11,
} as const;

/** Option reply types. */
export const Rep = {
  ACK: 1,
  SERVER: 2,
  INFO: 3,
  META_CONTEXT: 4,
  ERR_UNSUP: 0x80000001,
  ERR_POLICY: 0x80000002,
  ERR_INVALID: 0x80000003,
  ERR_PLATFORM: 0x80000004,
  ERR_TLS_REQD: 0x80000005,
  ERR_UNKNOWN: 0x80000006,
  ERR_SHUTDOWN: 0x80000007,
  ERR_BLOCK_SIZE_REQD: 0x80000008,
  ERR_TOO_BIG: 0x80000009,
} as const;

/** Info types inside an `INFO` option reply. */
export const Info = { EXPORT: 0, NAME: 1, DESCRIPTION: 2, BLOCK_SIZE: 3 } as const;

/** Transmission flags (u16). */
export const TxFlag = {
  HAS_FLAGS: 0x1,
  READ_ONLY: 0x2,
  SEND_FLUSH: 0x4,
  SEND_FUA: 0x8,
  ROTATIONAL: 0x10,
  SEND_TRIM: 0x20,
  SEND_WRITE_ZEROES: 0x40,
  SEND_DF: 0x80,
  CAN_MULTI_CONN: 0x100,
  SEND_RESIZE: 0x200,
  SEND_CACHE: 0x400,
  SEND_FAST_ZERO: 0x800,
} as const;

/** Command types. */
export const Cmd = {
  READ: 0,
  WRITE: 1,
  DISC: 2,
  FLUSH: 3,
  TRIM: 4,
  CACHE: 5,
  WRITE_ZEROES: 6,
  BLOCK_STATUS: 7,
} as const;

/** Command flags. */
export const CmdFlag = {
  FUA: 0x1,
  NO_HOLE: 0x2,
  DF: 0x4,
  REQ_ONE: 0x8,
  FAST_ZERO: 0x10,
} as const;

/** Structured reply chunk types and flags. */
export const Chunk = {
  FLAG_DONE: 1,
  NONE: 0,
  OFFSET_DATA: 1,
  OFFSET_HOLE: 2,
  BLOCK_STATUS: 5,
  ERROR: 0x8001,
  ERROR_OFFSET: 0x8002,
} as const;

/** `base:allocation` status flags. */
export const StatusFlag = { HOLE: 1, ZERO: 2 } as const;

/** The one meta context this server knows. */
export const BASE_ALLOCATION = "base:allocation";

/** NBD error values (not the host's errno numbers, though they coincide on Linux). */
export const Errno = {
  EPERM: 1,
  EIO: 5,
  ENOMEM: 12,
  EINVAL: 22,
  ENOSPC: 28,
  EOVERFLOW: 75,
  ENOTSUP: 95,
  ESHUTDOWN: 108,
} as const;

/** Size of a compact request header. */
export const REQUEST_SIZE = 28;
/** Size of a simple reply header. */
export const SIMPLE_REPLY_SIZE = 16;
/** Size of a structured reply chunk header. */
export const CHUNK_HEADER_SIZE = 20;
/** Largest option payload accepted before the connection is dropped. */
export const MAX_OPTION_LENGTH = 64 * 1024;
/** Longest string (export name, query) the spec allows. */
export const MAX_STRING = 4096;
