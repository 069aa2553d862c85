/**
 * The send side of one socket: a bounded FIFO of packets (DRBD's `max-buffers` idea applied to
 * sending) drained by one writer that coalesces small packets into one write (large blocks with
 * headroom are framed in place and written alone, see frame.ts). `send()` waits while the queue
 * is full and resolves once the packet has been handed to the kernel.
 *
 * @module
 */

import { HEADER_SIZE, MAX_PAYLOAD } from "./constants.ts";
import { encodeInto, packetSize } from "./codec.ts";
import { ConnectionClosedError } from "./errors.ts";
import { framable, frameInPlace, type InPlaceFrame } from "./frame.ts";
import type { Packet } from "./packets.ts";

/** Anything packets can be written to (Deno.Conn fits). */
export interface ByteSink {
  write(p: Uint8Array): Promise<number>;
}

interface Entry {
  packet: Packet;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** Bounded, ordered packet sender for one socket. */
export class PacketWriter {
  #sink: ByteSink;
  #max: number;
  #queue: Entry[] = [];
  #waiting: Entry[] = [];
  #buf: Uint8Array;
  #view: DataView;
  #running = false;
  #closed: ConnectionClosedError | undefined;
  #onError: (e: unknown) => void;
  #highWater = 0;
  #drained: (() => void)[] = [];
  #idle: (() => void)[] = [];

  /**
   * Writes to `sink`; at most `maxQueued` packets wait in the queue; `onError` hears a failed
   * write (the connection is lost; the owner then calls {@link PacketWriter.close}).
   */
  constructor(sink: ByteSink, maxQueued: number, onError: (e: unknown) => void) {
    if (!(maxQueued >= 1)) throw new RangeError("maxQueued must be at least 1");
    this.#sink = sink;
    this.#max = maxQueued;
    this.#onError = onError;
    // One buffer holds the largest packet, so every packet is a single write.
    this.#buf = new Uint8Array(HEADER_SIZE + MAX_PAYLOAD);
    this.#view = new DataView(this.#buf.buffer);
  }

  /** Packets accepted and not yet written (never more than the bound). */
  get queued(): number {
    return this.#queue.length;
  }

  /** Senders waiting for room in the queue. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** The most packets the queue ever held. */
  get highWater(): number {
    return this.#highWater;
  }

  /**
   * Queues `packet`, waiting while the queue is full; resolves when it has been written to the
   * socket, rejects with {@link ConnectionClosedError} if the connection ends first and with
   * RangeError if the packet cannot be encoded. The caller must not change the packet's buffers
   * until then.
   */
  send(packet: Packet): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const entry = { packet, resolve, reject };
    if (this.#waiting.length === 0 && this.#queue.length < this.#max) this.#enqueue(entry);
    else this.#waiting.push(entry);
    return promise;
  }

  /** Resolves when everything accepted so far has been written (or the writer closed). */
  flushed(): Promise<void> {
    if (this.#queue.length === 0 && this.#waiting.length === 0) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#drained.push(resolve);
    return promise;
  }

  /** Resolves when no write is in progress (after {@link PacketWriter.close}: the last one ended). */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#idle.push(resolve);
    return promise;
  }

  /** Rejects every queued and waiting packet with `reason`; later sends reject at once. */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = new ConnectionClosedError(reason);
    for (const e of this.#queue.splice(0)) e.reject(this.#closed);
    for (const e of this.#waiting.splice(0)) e.reject(this.#closed);
    for (const r of this.#drained.splice(0)) r();
  }

  #enqueue(entry: Entry): void {
    this.#queue.push(entry);
    if (this.#queue.length > this.#highWater) this.#highWater = this.#queue.length;
    if (!this.#running) {
      this.#running = true;
      // Started on a microtask so that packets sent in the same tick share one write.
      queueMicrotask(() => this.#run());
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        let used = 0, count = 0;
        let frame: InPlaceFrame | undefined;
        while (count < this.#queue.length) {
          const entry = this.#queue[count];
          let size: number;
          try {
            // A large block is framed in its own headroom, with the small packets before it when
            // they fit there too (a Barrier), or else written alone after them.
            if (count > 0 && framable(entry.packet)) {
              frame = frameInPlace(entry.packet, this.#buf.subarray(0, used));
              if (frame) count++;
              break;
            }
            if (count === 0 && (frame = frameInPlace(entry.packet))) {
              count = 1;
              break;
            }
            size = packetSize(entry.packet);
            if (used + size > this.#buf.length) break;
            used += encodeInto(entry.packet, this.#view, this.#buf, used);
          } catch (e) {
            // A packet the wire cannot carry is the sender's bug: refuse it alone.
            this.#queue.splice(count, 1);
            entry.reject(e as Error);
            continue;
          }
          count++;
        }
        // (a frame includes the `used` bytes it took as its prefix)
        const out = frame ? frame.bytes : this.#buf.subarray(0, used);
        try {
          let done = 0;
          while (done < out.length) done += await this.#sink.write(out.subarray(done));
        } finally {
          frame?.release();
        }
        if (this.#closed) return;
        for (const e of this.#queue.splice(0, count)) e.resolve();
        while (this.#waiting.length > 0 && this.#queue.length < this.#max) {
          const e = this.#waiting.shift()!;
          this.#queue.push(e);
          if (this.#queue.length > this.#highWater) this.#highWater = this.#queue.length;
        }
      }
    } catch (e) {
      if (!this.#closed) this.#onError(e);
    } finally {
      this.#running = false;
      for (const r of this.#idle.splice(0)) r();
      if (this.#queue.length === 0 && this.#waiting.length === 0) {
        for (const r of this.#drained.splice(0)) r();
      }
    }
  }
}
