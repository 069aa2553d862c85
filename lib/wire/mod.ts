/**
 * The udrbd peer protocol: packets and their codecs, framing, handshake with cram-hmac
 * authentication, and the two-socket transport (data + meta) between two nodes. The replication
 * engine uses {@link connectPeer} or {@link listenPeer}, then {@link PeerConnection.send} and
 * {@link PeerConnection.packets}. lib/wire/README.md documents the wire format.
 *
 * @module
 */

export {
  ALL_FEATURES,
  BarrierFlag,
  type Channel,
  DisconnectCode,
  DpFlag,
  Feature,
  HEADER_SIZE,
  MAGIC,
  MAX_DATA_SIZE,
  MAX_PAYLOAD,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  ProtocolFlag,
  SECTOR_SIZE,
} from "./constants.ts";
export { ConnectionClosedError, HandshakeError, ProtocolError } from "./errors.ts";
export * from "./packets.ts";
export {
  decodeHeader,
  decodePacket,
  decodePayload,
  encodeInto,
  encodePacket,
  encodePacketBytes,
  type Header,
  packetSize,
} from "./codec.ts";
export { encodeRuns, forEachSetRun, mergeBitmapChunk, type RunChunk } from "./bitmap.ts";
export { PacketReader } from "./reader.ts";
export { PacketWriter } from "./writer.ts";
export { type AuthConfig, CRAM_HMAC_ALGS } from "./auth.ts";
export { type Clock, ManualClock, systemClock, type TimerHandle } from "./clock.ts";
export {
  type CloseInfo,
  type ConnectionInfo,
  META_MAX_PAYLOAD,
  PeerConnection,
} from "./connection.ts";
export {
  type Address,
  type ConnectOptions,
  connectPeer,
  type ListenOptions,
  listenPeer,
  type PathAddresses,
  PeerListener,
  type PeerOptions,
} from "./transport.ts";
export { type BufferSizes, LiveBufferSizes } from "./sockopt.ts";
