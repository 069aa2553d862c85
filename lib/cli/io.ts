/**
 * The terminal a tool talks to: stdout, stderr and (for confirmations) stdin.
 *
 * Every tool writes through a `Console` instead of `console.log`, so that drbdadm can run
 * drbdmeta and drbdsetup in-process and tests can capture exactly what a user would see.
 */

const encoder = new TextEncoder();

/** Where a tool's output goes and where its confirmations come from. */
export interface Console {
  /** Writes text to standard output (buffered; flushed before stderr and at exit). */
  out(text: string): void;
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
  #pending: string[] = [];
  #pendingLength = 0;

  out(text: string): void {
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
    const text = this.#pending.join("");
    this.#pending = [];
    this.#pendingLength = 0;
    writeAll(Deno.stdout, encoder.encode(text));
  }
}

/** A `Console` that records output in memory and answers from a fixed list of input lines. */
export class MemoryConsole implements Console {
  stdout = "";
  stderr = "";
  #input: string[];
  #terminal: boolean;

  constructor(options: { input?: string[]; terminal?: boolean } = {}) {
    this.#input = [...(options.input ?? [])];
    this.#terminal = options.terminal ?? false;
  }

  out(text: string): void {
    this.stdout += text;
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
