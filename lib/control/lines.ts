/**
 * Reads newline-terminated lines from a byte stream with a bound on their length, so that a
 * peer that never sends a newline cannot make the reader buffer without limit.
 *
 * @module
 */

/** Thrown by {@link LineReader.next} when a line grows past the limit without a newline. */
export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`line longer than ${limit} bytes`);
    this.name = "LineTooLongError";
  }
}

/** Something bytes can be read from, such as a `Deno.Conn`. */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/** Yields the lines of a byte stream one by one, decoded as UTF-8, without their newlines. */
export class LineReader {
  #src: ByteSource;
  #limit: number;
  #buf = new Uint8Array(CHUNK);
  #start = 0;
  #end = 0;
  #scanned = 0;
  #decoder = new TextDecoder();

  /** Reads from `src`; a line longer than `limit` bytes (newline excluded) is an error. */
  constructor(src: ByteSource, limit: number) {
    this.#src = src;
    this.#limit = limit;
  }

  /**
   * The next line; null at the end of the stream (an unterminated last line is returned as a
   * line). Throws {@link LineTooLongError} for an over-long line.
   */
  async next(): Promise<string | null> {
    for (;;) {
      const at = this.#buf.subarray(0, this.#end).indexOf(NEWLINE, this.#scanned);
      if (at >= 0) {
        const line = this.#decoder.decode(this.#buf.subarray(this.#start, at));
        this.#start = this.#scanned = at + 1;
        return line;
      }
      this.#scanned = this.#end;
      if (this.#end - this.#start > this.#limit) throw new LineTooLongError(this.#limit);
      this.#makeRoom();
      const n = await this.#src.read(this.#buf.subarray(this.#end));
      if (n === null) {
        if (this.#end === this.#start) return null;
        const line = this.#decoder.decode(this.#buf.subarray(this.#start, this.#end));
        this.#start = this.#end = this.#scanned = 0;
        return line;
      }
      this.#end += n;
    }
  }

  /** Ensures at least CHUNK free bytes after #end, moving or growing the buffer. */
  #makeRoom(): void {
    if (this.#buf.length - this.#end >= CHUNK) return;
    const used = this.#end - this.#start;
    let target = this.#buf;
    if (used + CHUNK > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < used + CHUNK) size *= 2;
      target = new Uint8Array(size);
    }
    target.set(this.#buf.subarray(this.#start, this.#end));
    this.#buf = target;
    this.#scanned -= this.#start;
    this.#start = 0;
    this.#end = used;
  }
}
