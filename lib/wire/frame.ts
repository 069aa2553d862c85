/**
 * In-place framing of large Data packets: the header is written into the bytes just in front
 * of the block (its `headroom`), so the block goes to the socket as part of one write without
 * first being copied into the writer's buffer. On a 1 MiB write that copy was a memmove of the
 * whole block per packet on the Primary's busiest thread.
 *
 * One block can be on its way to several peers at once, each connection with its own header
 * (block ids differ), so a block's headroom is claimed by one writer at a time; the others copy.
 *
 * @module
 */

import { encodeInto, packetSize } from "./codec.ts";
import { HEADER_SIZE } from "./constants.ts";
import type { DataPacket, Packet } from "./packets.ts";

/** Bytes of a Data packet between the header and the block (sector, block id, seq, flags). */
const DATA_FIELDS = 24;

/** Smaller blocks are copied: coalescing them with their neighbours saves more than the copy. */
export const IN_PLACE_MIN = 64 * 1024;

/** Buffers whose headroom a writer is using right now. */
const claimed = new WeakSet<ArrayBufferLike>();

/** A packet framed in place: the bytes to write, and the claim to give back once written. */
export interface InPlaceFrame {
  /** The prefix, header and payload, contiguous, over the payload's own buffer. */
  bytes: Uint8Array;
  /** Gives the headroom back (call once the write has finished or failed). */
  release(): void;
}

/**
 * Frames `packet` in its payload's headroom when it is a large enough Data packet with room for
 * its header there and no other writer is framing the same buffer; otherwise undefined (the
 * caller copies it as usual). `prefix` (encoded packets that go first, such as the Barrier that
 * closed the previous epoch) is copied in front of the header when it fits too, so both go out
 * in one write. Throws RangeError as encodeInto does for a packet the wire cannot carry.
 */
export function frameInPlace(
  packet: Packet,
  prefix: Uint8Array = new Uint8Array(0),
): InPlaceFrame | undefined {
  if (!framable(packet, prefix.length)) return undefined;
  const payload = (packet as DataPacket).payload;
  const size = packetSize(packet);
  const buffer = payload.buffer;
  const start = payload.byteOffset - (size - payload.length);
  encodeInto(packet, new DataView(buffer, start, size), new Uint8Array(buffer, start, size), 0);
  const bytes = new Uint8Array(buffer, start - prefix.length, prefix.length + size);
  bytes.set(prefix);
  claimed.add(buffer);
  return { bytes, release: () => claimed.delete(buffer) };
}

/**
 * Whether {@link frameInPlace} would frame `packet` now, with `prefixBytes` in front of its
 * header (without claiming it).
 */
export function framable(packet: Packet, prefixBytes = 0): boolean {
  if (packet.type !== "Data" || !packet.headroom) return false;
  const payload = packet.payload;
  const room = HEADER_SIZE + DATA_FIELDS + prefixBytes;
  return payload.length >= IN_PLACE_MIN && room <= packet.headroom &&
    room <= payload.byteOffset && !claimed.has(payload.buffer);
}
