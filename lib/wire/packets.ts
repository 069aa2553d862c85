/**
 * The packets of the udrbd peer protocol as TypeScript values. Every packet is a plain object
 * whose `type` names it; `volume` is present on packets that concern one volume. Byte layouts
 * are in lib/wire/README.md; the codecs are in codec.ts.
 *
 * @module
 */

import type { ConnectionState, DiskState, ReplicationState, Role } from "../engine/states.ts";
import type { Channel } from "./constants.ts";

/** A replicated write from the Primary (P_DATA). `payload` is the block, a multiple of 512 bytes. */
export interface DataPacket {
  type: "Data";
  volume: number;
  /** First sector (512 bytes) of the write. */
  sector: number;
  /** Sender's id of the request, echoed in the ack. */
  blockId: number;
  /** Sequence number for conflict detection between two primaries. */
  seq: number;
  /** {@link DpFlag} bits (FUA, FLUSH, SEND_RECEIVE_ACK, SEND_WRITE_ACK, ...). */
  flags: number;
  /** The block; on receive a view valid until the next packet of the channel is pulled. */
  payload: Uint8Array;
  /**
   * Sending only: bytes in front of `payload` in its buffer that the transport may overwrite
   * with the packet's header until `send` settles, so that header and block go to the socket
   * in one write without copying the block (see lib/wire/frame.ts). Never set on receive.
   */
  headroom?: number;
}

/** A discard or write-zeroes request (P_TRIM): like Data, with a size instead of a payload. */
export interface TrimPacket {
  type: "Trim";
  volume: number;
  sector: number;
  blockId: number;
  seq: number;
  /** {@link DpFlag} bits; DISCARD or ZEROES says which. */
  flags: number;
  /** Bytes to trim (a multiple of 512). */
  size: number;
}

/** A block sent in answer to a DataRequest (DataReply) or ResyncRequest (ResyncData). */
export interface BlockReplyPacket {
  type: "DataReply" | "ResyncData";
  volume: number;
  sector: number;
  /** The blockId of the request answered. */
  blockId: number;
  /** The block; on receive a view valid until the next packet of the channel is pulled. */
  payload: Uint8Array;
}

/** A request for a block: a diskless node's read, a resync target's pull, a verify probe. */
export interface BlockRequestPacket {
  type: "DataRequest" | "ResyncRequest" | "VerifyRequest";
  volume: number;
  sector: number;
  blockId: number;
  /** Bytes requested (a multiple of 512, at most 1 MiB). */
  size: number;
}

/**
 * A request or answer carrying a digest of a block: CsumResyncRequest (checksum-based resync:
 * "send the block unless it has this digest") and VerifyReply (the peer's digest for verify).
 */
export interface DigestPacket {
  type: "CsumResyncRequest" | "VerifyReply";
  volume: number;
  sector: number;
  blockId: number;
  size: number;
  /** Digest bytes (at most 64); on receive a view valid until the next pull. */
  digest: Uint8Array;
}

/** Acknowledgements and negative acknowledgements of one block request, sent on the meta socket. */
export interface BlockAckPacket {
  type:
    | "RecvAck"
    | "WriteAck"
    | "RsWriteAck"
    | "NegAck"
    | "NegDataReply"
    | "NegRsDataReply"
    | "RsIsInSync";
  volume: number;
  sector: number;
  blockId: number;
  size: number;
  /** The seq of the Data packet acknowledged (0 for others). */
  seq: number;
}

/** The outcome of verifying one block (P_OV_RESULT). */
export interface VerifyResultPacket {
  type: "VerifyResult";
  volume: number;
  sector: number;
  size: number;
  inSync: boolean;
}

/** Marks a range out of sync on the peer (protocol A/Ahead mode, P_OUT_OF_SYNC). */
export interface OutOfSyncPacket {
  type: "OutOfSync";
  volume: number;
  sector: number;
  size: number;
}

/** Closes a write epoch: the peer acks with BarrierAck once every earlier write is stable. */
export interface BarrierPacket {
  type: "Barrier";
  /** Epoch number. */
  barrier: number;
  /** {@link BarrierFlag} bits (FLUSH: the epoch was closed by a flush). */
  flags: number;
}

/** The peer's answer to Barrier: the epoch and how many writes it contained. */
export interface BarrierAckPacket {
  type: "BarrierAck";
  barrier: number;
  /** Number of writes in the epoch. */
  setSize: number;
}

/** The state fields one node reports about one volume (names from lib/engine/states.ts). */
export interface PeerState {
  role: Role;
  disk: DiskState;
  connection: ConnectionState;
  replication: ReplicationState;
  /** Extra state bits (suspended, user-isolated, ...), owned by the engine. */
  flags: number;
}

/** The sender's current state of a volume (P_STATE). */
export interface StatePacket {
  type: "State";
  volume: number;
  state: PeerState;
}

/** A request to change state (P_STATE_CHG_REQ): the fields present are the ones to change. */
export interface StateChangePacket {
  type: "StateChange";
  volume: number;
  /** Transaction id, echoed by the reply. */
  tid: number;
  /** Request flags, owned by the engine (e.g. hard/verbose/serialize). */
  txFlags: number;
  change: Partial<PeerState>;
}

/** The answer to StateChange: `result` ≥ 0 success, < 0 a refusal code (DRBD's SS_* values). */
export interface StateChangeReplyPacket {
  type: "StateChangeReply";
  volume: number;
  tid: number;
  result: number;
}

/** Generation UUIDs of a volume (P_UUIDS): decide sync direction and split brain. */
export interface UuidsPacket {
  type: "Uuids";
  volume: number;
  current: bigint;
  /** The bitmap UUID towards the receiving peer. */
  bitmap: bigint;
  /** Number of bits set in the bitmap towards the receiving peer. */
  dirtyBits: bigint;
  /** UUID flags (DRBD's UUID_FLAG_* bits), owned by the engine. */
  flags: bigint;
  /** History UUIDs, newest first (at most 64). */
  history: bigint[];
}

/** The new current UUID a sync source uses for a resync (P_SYNC_UUID). */
export interface SyncUuidPacket {
  type: "SyncUuid";
  volume: number;
  uuid: bigint;
}

/** Device sizes, in 512-byte sectors, and the largest request the sender accepts. */
export interface SizesPacket {
  type: "Sizes";
  volume: number;
  /** Size of the backing device (0 when diskless). */
  backingSize: number;
  /** `size` the user configured (0: none). */
  userSize: number;
  /** Size the device currently has. */
  currentSize: number;
  /** Largest request in bytes. */
  maxBioSize: number;
  /** Size flags, owned by the engine. */
  flags: number;
}

/**
 * A chunk of a volume's bitmap (one bit per 4 KiB). `plain`: `body` holds `bitCount` bits, bit i
 * at byte i>>3, bit i&7 (least significant first). `rle`: `body` holds unsigned LEB128 run
 * lengths, alternating clear/set runs, the first run set when `firstRunSet`; see bitmap.ts.
 */
export interface BitmapPacket {
  type: "Bitmap";
  volume: number;
  encoding: "plain" | "rle";
  /** First bit covered by this chunk. */
  bitOffset: number;
  /** Number of bits covered. */
  bitCount: number;
  /** rle only: whether the first run is of set bits. */
  firstRunSet: boolean;
  /** Last chunk of the transfer. */
  last: boolean;
  /** On receive a view valid until the next pull. */
  body: Uint8Array;
}

/** Replication protocol letter. */
export type ReplicationProtocol = "A" | "B" | "C";

/** After-split-brain policy with no primary, in drbd.conf's spelling. */
export const AFTER_SB_0PRI = [
  "disconnect",
  "discard-younger-primary",
  "discard-older-primary",
  "discard-zero-changes",
  "discard-least-changes",
  "discard-local",
  "discard-remote",
] as const;
/** After-split-brain policy with one primary. */
export const AFTER_SB_1PRI = [
  "disconnect",
  "consensus",
  "discard-secondary",
  "call-pri-lost-after-sb",
  "violently-as0p",
] as const;
/** After-split-brain policy with two primaries. */
export const AFTER_SB_2PRI = ["disconnect", "call-pri-lost-after-sb", "violently-as0p"] as const;

/** The connection's net settings both sides must agree on (P_PROTOCOL). */
export interface ProtocolPacket {
  type: "Protocol";
  protocol: ReplicationProtocol;
  afterSb0pri: typeof AFTER_SB_0PRI[number];
  afterSb1pri: typeof AFTER_SB_1PRI[number];
  afterSb2pri: typeof AFTER_SB_2PRI[number];
  /** {@link ProtocolFlag} bits (discard-my-data, allow-two-primaries, ...). */
  flags: number;
  /** `data-integrity-alg`, "" for none. */
  integrityAlg: string;
}

/**
 * The digest algorithms of one volume's peer device (DRBD's P_SYNC_PARAM89, sent before Sizes
 * and again when net options change): both sides must use the same verify-alg and csums-alg.
 */
export interface SyncParamPacket {
  type: "SyncParam";
  volume: number;
  /** `verify-alg`, "" for none. */
  verifyAlg: string;
  /** `csums-alg`, "" for none. */
  csumsAlg: string;
}

/** A cluster-wide state change in two phases: Prepare, then Commit or Abort. */
export interface TwoPcRequestPacket {
  type: "TwoPcPrepare" | "TwoPcCommit" | "TwoPcAbort";
  tid: number;
  initiatorNodeId: number;
  /** Node the change concerns, -1 for all. */
  targetNodeId: number;
  /** Bit per node id that the request must reach. */
  nodesToReach: bigint;
  change: Partial<PeerState>;
}

/** A node's vote on a TwoPcPrepare. */
export interface TwoPcReplyPacket {
  type: "TwoPcReply";
  tid: number;
  initiatorNodeId: number;
  vote: "yes" | "no" | "retry";
  /** Bit per node id reachable from the voter. */
  reachableNodes: bigint;
}

/** Keep-alive probe on the meta socket, answered at once with PingAck (handled by the transport). */
export interface PingPacket {
  type: "Ping" | "PingAck";
}

/** Tells the peer why we close (either socket); `code` is a {@link DisconnectCode}. */
export interface DisconnectPacket {
  type: "Disconnect";
  code: number;
  /** Human-readable reason, at most 1024 bytes of UTF-8. */
  message: string;
}

/** First packet on each socket: who we are, what we speak, which socket this is. */
export interface HelloPacket {
  type: "Hello";
  protocolMin: number;
  protocolMax: number;
  /** {@link Feature} bits. */
  features: number;
  /** Sender's node id. */
  nodeId: number;
  /** Node id the sender expects the receiver to have. */
  peerNodeId: number;
  /** Which socket of the pair this is. */
  channel: Channel;
  /** Pairs the data socket with the meta socket of the same attempt (16 bytes). */
  nonce: Uint8Array;
  /** Resource name. */
  resource: string;
  /** `cram-hmac-alg` the sender requires, "" for none. */
  authAlg: string;
}

/** Authentication: a random challenge, and the HMAC answer to the peer's challenge. */
export interface AuthPacket {
  type: "AuthChallenge" | "AuthResponse";
  bytes: Uint8Array;
}

/** Sent by the higher node id on the data socket of the pair it keeps after a connect race. */
export interface PairCommitPacket {
  type: "PairCommit";
}

/** Any packet of the protocol. */
export type Packet =
  | DataPacket
  | TrimPacket
  | BlockReplyPacket
  | BlockRequestPacket
  | DigestPacket
  | BlockAckPacket
  | VerifyResultPacket
  | OutOfSyncPacket
  | BarrierPacket
  | BarrierAckPacket
  | StatePacket
  | StateChangePacket
  | StateChangeReplyPacket
  | UuidsPacket
  | SyncUuidPacket
  | SizesPacket
  | BitmapPacket
  | ProtocolPacket
  | SyncParamPacket
  | TwoPcRequestPacket
  | TwoPcReplyPacket
  | PingPacket
  | DisconnectPacket
  | HelloPacket
  | AuthPacket
  | PairCommitPacket;

/** A packet type name. */
export type PacketType = Packet["type"];

type Select<P, T> = P extends { type: infer U } ? (T extends U ? P & { type: T } : never) : never;
/** The packet object of type name `T`. */
export type PacketOf<T extends PacketType> = Select<Packet, T>;

/** Where a packet may travel: one socket, either, or only during the handshake. */
export type Route = Channel | "any" | "handshake";

/** Command number and route of every packet type. */
export const COMMANDS: { readonly [T in PacketType]: { cmd: number; route: Route } } = {
  Data: { cmd: 0x00, route: "data" },
  DataReply: { cmd: 0x01, route: "data" },
  ResyncData: { cmd: 0x02, route: "data" },
  Barrier: { cmd: 0x03, route: "data" },
  Bitmap: { cmd: 0x04, route: "data" },
  DataRequest: { cmd: 0x08, route: "data" },
  ResyncRequest: { cmd: 0x09, route: "data" },
  SyncParam: { cmd: 0x0a, route: "data" },
  Protocol: { cmd: 0x0b, route: "data" },
  Sizes: { cmd: 0x0d, route: "data" },
  State: { cmd: 0x0e, route: "data" },
  SyncUuid: { cmd: 0x0f, route: "data" },
  AuthChallenge: { cmd: 0x10, route: "handshake" },
  AuthResponse: { cmd: 0x11, route: "handshake" },
  StateChange: { cmd: 0x12, route: "data" },
  Ping: { cmd: 0x13, route: "meta" },
  PingAck: { cmd: 0x14, route: "meta" },
  RecvAck: { cmd: 0x15, route: "meta" },
  WriteAck: { cmd: 0x16, route: "meta" },
  RsWriteAck: { cmd: 0x17, route: "meta" },
  NegAck: { cmd: 0x19, route: "meta" },
  NegDataReply: { cmd: 0x1a, route: "meta" },
  NegRsDataReply: { cmd: 0x1b, route: "meta" },
  BarrierAck: { cmd: 0x1c, route: "meta" },
  StateChangeReply: { cmd: 0x1d, route: "meta" },
  VerifyRequest: { cmd: 0x1e, route: "data" },
  VerifyReply: { cmd: 0x1f, route: "data" },
  VerifyResult: { cmd: 0x20, route: "meta" },
  CsumResyncRequest: { cmd: 0x21, route: "data" },
  RsIsInSync: { cmd: 0x22, route: "meta" },
  OutOfSync: { cmd: 0x28, route: "data" },
  TwoPcPrepare: { cmd: 0x2e, route: "data" },
  TwoPcAbort: { cmd: 0x2f, route: "data" },
  Trim: { cmd: 0x31, route: "data" },
  Uuids: { cmd: 0x42, route: "data" },
  TwoPcReply: { cmd: 0x45, route: "meta" },
  TwoPcCommit: { cmd: 0x47, route: "data" },
  Disconnect: { cmd: 0xfff0, route: "any" },
  PairCommit: { cmd: 0xfff1, route: "handshake" },
  Hello: { cmd: 0xfffe, route: "handshake" },
};

/** The socket a packet type is sent on after the handshake (Disconnect: meta). */
export function channelOf(type: PacketType): Channel {
  const route = COMMANDS[type].route;
  return route === "data" ? "data" : "meta";
}
