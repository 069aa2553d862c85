/**
 * The terminal a tool talks to: stdout, stderr and (for confirmations) stdin.
 *
 * Every tool writes through a `Console` instead of `console.log`, so that drbdadm can run
 * drbdmeta and drbdsetup in-process and tests can capture exactly what a user would see.
 */

const encoder = new TextEncoder();

/** Where a tool's output goes and where its confirmations come from. */
export interface Console {
  /**
   * Writes text to standard output (buffered; flushed before stderr and at exit). Bytes are
   * written as they are: drbdadm's escaped step lines need not be valid UTF-8.
   */
  out(text: string | Uint8Array): void;
  /** Writes text to standard error (after flushing standard output). */
  err(text: string): void;
  /** Whether standard input is a terminal a person can answer questions on. */
  stdinIsTerminal(): boolean;
  /** Reads one line from standard input without its newline; null at end of input. */
  readLine(): string | null;
  /** Flushes buffered standard output. */
  flush(): void;
}

function writeAll(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** A `Console` on the process's real stdin, stdout and stderr. */
export class ProcessConsole implements Console {
  #pending: (string | Uint8Array)[] = [];
  #pendingLength = 0;

  out(text: string | Uint8Array): void {
    this.#pending.push(text);
    this.#pendingLength += text.length;
    if (this.#pendingLength >= 1 << 16) this.flush();
  }

  err(text: string): void {
    this.flush();
    writeAll(Deno.stderr, encoder.encode(text));
  }

  stdinIsTerminal(): boolean {
    return Deno.stdin.isTerminal();
  }

  readLine(): string | null {
    this.flush();
    const bytes: number[] = [];
    const one = new Uint8Array(1);
    for (;;) {
      const n = Deno.stdin.readSync(one);
      if (n === null || n === 0) {
        return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
      }
      if (one[0] === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
      bytes.push(one[0]);
    }
  }

  flush(): void {
    if (this.#pending.length === 0) return;
    const parts = this.#pending;
    this.#pending = [];
    this.#pendingLength = 0;
    if (parts.every((p) => typeof p === "string")) {
      writeAll(Deno.stdout, encoder.encode(parts.join("")));
      return;
    }
    const chunks = parts.map((p) => typeof p === "string" ? encoder.encode(p) : p);
    const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    writeAll(Deno.stdout, bytes);
  }
}

/**
 * A `Console` that records output in memory and answers from a fixed list of input lines.
 * Bytes written to stdout are recorded UTF-8 decoded, a byte that is no character as U+FFFD
 * (what reading the real tool's output as text gives).
 */
export class MemoryConsole implements Console {
  stdout = "";
  stderr = "";
  #input: string[];
  #terminal: boolean;

  constructor(options: { input?: string[]; terminal?: boolean } = {}) {
    this.#input = [...(options.input ?? [])];
    this.#terminal = options.terminal ?? false;
  }

  out(text: string | Uint8Array): void {
    this.stdout += typeof text === "string" ? text : new TextDecoder().decode(text);
  }

  err(text: string): void {
    this.stderr += text;
  }

  stdinIsTerminal(): boolean {
    return this.#terminal;
  }

  readLine(): string | null {
    return this.#input.shift() ?? null;
  }

  flush(): void {}
}

/** Thrown by a tool to end with an exit code after it has printed its message. */
export class ExitError extends Error {
  constructor(readonly code: number, message = `exit ${code}`) {
    super(message);
    this.name = "ExitError";
  }
}

/** `io` with its stderr dropped: what a quiet step (drbdadm's hidden helper calls) shows. */
export function withoutStderr(io: Console): Console {
  return {
    out: (t) => io.out(t),
    err: () => {},
    stdinIsTerminal: () => io.stdinIsTerminal(),
    readLine: () => io.readLine(),
    flush: () => io.flush(),
  };
}
