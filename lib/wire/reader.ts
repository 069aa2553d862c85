/**
 * Reads whole packets from a byte stream (a socket) into one reusable buffer and decodes them in
 * place. A packet's views (Data payloads, digests, bitmap bodies) stay valid until the next call
 * of {@link PacketReader.next}.
 *
 * @module
 */

import { HEADER_SIZE } from "./constants.ts";
import { decodeHeader, decodePayload } from "./codec.ts";
import { ProtocolError } from "./errors.ts";
import type { Packet } from "./packets.ts";

/** Anything packets can be read from (Deno.Conn fits). */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

const MIN_BUFFER = 64 * 1024;

/** Sequential packet reader with a payload limit that can be raised after authentication. */
export class PacketReader {
  #src: ByteSource;
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;
  #end = 0;
  #maxPayload: number;
  #total = 0;

  /** Reads from `src`, refusing packets whose payload exceeds `maxPayload`. */
  constructor(src: ByteSource, maxPayload: number) {
    this.#src = src;
    this.#maxPayload = maxPayload;
    this.#buf = new Uint8Array(Math.max(MIN_BUFFER, HEADER_SIZE + maxPayload));
    this.#view = new DataView(this.#buf.buffer);
  }

  /** The largest payload accepted. */
  get maxPayload(): number {
    return this.#maxPayload;
  }

  /** Changes the payload limit (after authentication); grows the buffer, keeping buffered bytes. */
  set maxPayload(n: number) {
    this.#maxPayload = n;
    if (HEADER_SIZE + n > this.#buf.length) {
      const buf = new Uint8Array(HEADER_SIZE + n);
      buf.set(this.#buf.subarray(this.#pos, this.#end));
      this.#end -= this.#pos;
      this.#pos = 0;
      this.#buf = buf;
      this.#view = new DataView(buf.buffer);
    }
  }

  /** Bytes consumed so far (whole packets). */
  get bytesRead(): number {
    return this.#total;
  }

  /**
   * The next packet, or null when the stream ends cleanly between packets. Throws
   * {@link ProtocolError} for a malformed, oversized or truncated packet; read errors of the
   * source pass through.
   */
  async next(): Promise<Packet | null> {
    if (this.#end - this.#pos < HEADER_SIZE && !(await this.#fill(HEADER_SIZE))) return null;
    const header = decodeHeader(this.#view, this.#pos, this.#maxPayload);
    const size = HEADER_SIZE + header.length;
    if (this.#end - this.#pos < size && !(await this.#fill(size))) {
      throw new ProtocolError(
        `truncated ${header.type} packet: the connection ended after ${
          this.#end - this.#pos
        } of ${size} bytes`,
      );
    }
    const packet = decodePayload(header, this.#view, this.#buf, this.#pos + HEADER_SIZE);
    this.#pos += size;
    this.#total += size;
    return packet;
  }

  /** Buffers `n` bytes at #pos; false at EOF (partial data at EOF is a ProtocolError). */
  async #fill(n: number): Promise<boolean> {
    if (this.#pos + n > this.#buf.length || this.#pos === this.#end) {
      // Move the partial packet to the front; earlier packets' views are released by now.
      this.#buf.copyWithin(0, this.#pos, this.#end);
      this.#end -= this.#pos;
      this.#pos = 0;
    }
    while (this.#end - this.#pos < n) {
      const got = await this.#src.read(this.#buf.subarray(this.#end));
      if (got === null) {
        if (this.#end === this.#pos) return false;
        if (n === HEADER_SIZE) {
          throw new ProtocolError(
            `truncated packet header: the connection ended after ${this.#end - this.#pos} bytes`,
          );
        }
        return false;
      }
      this.#end += got;
    }
    return true;
  }
}
