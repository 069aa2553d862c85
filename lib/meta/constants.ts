/**
 * Numbers of DRBD's on-disk metadata format (drbd-utils 9.22, DRBD 9 kernel module).
 *
 * @module
 */

/** Base magic; the metadata magics are offsets from it. */
export const DRBD_MAGIC = 0x83740267;
/** Superblock magic of format v07. */
export const MD_MAGIC_07 = DRBD_MAGIC + 3;
/** Superblock magic of format v08 (clean). */
export const MD_MAGIC_08 = DRBD_MAGIC + 4;
/** Superblock magic of format v08 written by DRBD 8.4 while attached ("unclean"). */
export const MD_MAGIC_84_UNCLEAN = DRBD_MAGIC + 5;
/** Superblock magic of format v09. */
export const MD_MAGIC_09 = DRBD_MAGIC + 6;

/** Magic of a 4 KiB activity-log transaction block. */
export const AL_MAGIC = 0x69cb65a2;
/** Magic of the persistent-memory activity-log layout. */
export const AL_PMEM_MAGIC = 0x6aa667a6;
/** Transaction type of an update transaction. */
export const AL_TR_UPDATE = 0;
/** Transaction type of a block initialized by create-md. */
export const AL_TR_INITIALIZED = 0xffff;
/** Update slots per activity-log transaction. */
export const AL_UPDATES_PER_TRANSACTION = 64;
/** Context entries per activity-log transaction. */
export const AL_CONTEXT_PER_TRANSACTION = 919;
/** Highest number of activity-log slots (al-extents). */
export const AL_EXTENTS_MAX = 65534;
/** Bitmap bytes covered by one activity-log extent (4 MiB of data, one bitmap slot). */
export const BM_BYTES_PER_AL_EXT = 128;

/** Peer slots in a v09 superblock (node ids 0..31). */
export const DRBD_NODE_ID_MAX = 32;
/** Highest number of bitmap slots (max-peers). */
export const DRBD_PEERS_MAX_SLOTS = 31;
/** Current UUID of freshly created metadata. */
export const UUID_JUST_CREATED = 4n;
/** The al_nr_extents value create-md and restore-md write. */
export const AL_NR_EXTENTS_DEFAULT = 257;
/** Bytes of storage per bitmap bit. */
export const DEFAULT_BM_BLOCK_SIZE = 4096;
/** Bytes of the device start that the existing-data check reads; also the minimum size. */
export const SO_MUCH = 68 * 1024;
/** I/O window of the tool (bitmap dump and restore windows, AL size limit). */
export const BUFFER_SIZE = 32 * 1024 * 1024;

/** Sector offset of the AL in external (and v07) layouts. */
export const MD_AL_OFFSET_07 = 8;
/** Sectors of an index-external slot (128 MiB). */
export const MD_RESERVED_SECT_07 = 128 * 2048;
/** Largest flexible bitmap per slot, in bytes (64-bit build). */
export const MD_BM_MAX_BYTE_FLEX = 2 ** 35;

/** Placement index of internal metadata (v08/v09 use flexible internal). */
export const MD_INDEX_FLEX_INT = -3;
/** Placement index of flexible external metadata. */
export const MD_INDEX_FLEX_EXT = -2;
/** Placement index of v07 fixed-size internal metadata. */
export const MD_INDEX_INTERNAL = -1;

/** Superblock flags (MDF_*). */
export const MDF = {
  CONSISTENT: 1 << 0,
  PRIMARY_IND: 1 << 1,
  CONNECTED_IND: 1 << 2,
  FULL_SYNC: 1 << 3,
  WAS_UP_TO_DATE: 1 << 4,
  PEER_OUT_DATED: 1 << 5,
  CRASHED_PRIMARY: 1 << 6,
  AL_CLEAN: 1 << 7,
  AL_DISABLED: 1 << 8,
  PRIMARY_LOST_QUORUM: 1 << 9,
} as const;

/** Per-peer flags of a v09 peer slot (MDF_PEER_*). */
export const MDF_PEER = {
  CONNECTED: 1 << 0,
  OUTDATED: 1 << 1,
  FENCING: 1 << 2,
  FULL_SYNC: 1 << 3,
  DEVICE_SEEN: 1 << 4,
  NODE_EXISTS: 1 << 16,
} as const;

/** The metadata format versions drbdmeta names. */
export type MdFormat = "v08" | "v09";
