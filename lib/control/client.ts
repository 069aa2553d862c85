/**
 * The client's side of the control channel, used by drbdsetup (and drbdadm in-process):
 * connects to the daemon's socket, starting the daemon on demand, and makes calls.
 *
 * @module
 */
import { LineReader, LineTooLongError } from "./lines.ts";
import { NOT_STARTED, runDir as defaultRunDir, runFiles } from "./paths.ts";
import {
  CONTROL_VERSION,
  ControlError,
  type ControlRequest,
  encodeLine,
  EXIT_GENERIC,
  type HelloResult,
  MAX_RESPONSE_LINE,
  parseMessage,
} from "./protocol.ts";
import { startDaemon } from "./spawn.ts";

/** Options of {@link ControlClient.call}. */
export interface CallOptions {
  /** Receives each event the daemon streams before its final response. */
  onEvent?: (event: unknown) => void;
  /** Cancels the call: the daemon is told, and the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: unknown): void;
  onEvent?: (event: unknown) => void;
}

const encoder = new TextEncoder();

/**
 * A connection to the daemon's control socket. Calls may overlap; each resolves with its
 * result or rejects with a {@link ControlError} carrying the exit code drbdsetup should use.
 */
export class ControlClient {
  #conn: Deno.Conn;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #writes: Promise<void> = Promise.resolve();
  #closed = false;
  #reading: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#reading = this.#read();
  }

  /**
   * Connects to the control socket at `path`. Rejects with `Deno.errors.NotFound` or
   * `Deno.errors.ConnectionRefused` when no daemon listens there.
   */
  static async connect(path: string): Promise<ControlClient> {
    const conn = await Deno.connect({ transport: "unix", path });
    return new ControlClient(conn);
  }

  /** Whether the connection is closed (by {@link close} or by the daemon). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Asks the daemon to perform `op`; resolves with its result. Events streamed before the
   * final response go to `options.onEvent`.
   */
  call<T = unknown>(
    op: string,
    args?: Record<string, unknown>,
    options: CallOptions = {},
  ): Promise<T> {
    const { signal, onEvent } = options;
    if (this.#closed) return Promise.reject(lost());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#pending.delete(id)) return;
        reject(signal!.reason);
        this.#sendCancel(id);
      };
      const finish = () => signal?.removeEventListener("abort", onAbort);
      this.#pending.set(id, {
        resolve: (r) => {
          finish();
          resolve(r as T);
        },
        reject: (e) => {
          finish();
          reject(e);
        },
        onEvent,
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      const req: ControlRequest = { v: CONTROL_VERSION, id, op };
      if (args !== undefined) req.args = args;
      this.#write(req);
    });
  }

  /** Tells the daemon that call `id` is no longer wanted; its answer will be ignored. */
  #sendCancel(id: number): void {
    if (this.#closed) return;
    this.#write({ v: CONTROL_VERSION, id: this.#nextId++, op: "cancel", args: { id } });
  }

  #write(req: ControlRequest): void {
    const bytes = encoder.encode(encodeLine(req));
    this.#writes = this.#writes.then(async () => {
      if (this.#closed) return;
      try {
        let off = 0;
        while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
      } catch {
        this.#end(lost());
      }
    });
  }

  async #read(): Promise<void> {
    const reader = new LineReader(this.#conn, MAX_RESPONSE_LINE);
    let why: ControlError = lost();
    try {
      for (;;) {
        const line = await reader.next();
        if (line === null) break;
        if (line.trim() === "") continue;
        const msg = parseMessage(line);
        if (!msg) {
          why = new ControlError(EXIT_GENERIC, "the udrbd daemon sent a malformed message");
          break;
        }
        const p = this.#pending.get(msg.id);
        if (!p) continue; // cancelled by us, or an answer to a cancel
        if ("event" in msg) {
          try {
            p.onEvent?.(msg.event);
          } catch (e) {
            // the caller's event handler failed: the call is over for it
            this.#pending.delete(msg.id);
            p.reject(e);
            this.#sendCancel(msg.id);
          }
          continue;
        }
        this.#pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(ControlError.fromBody(msg.error));
      }
    } catch (e) {
      if (e instanceof LineTooLongError) {
        why = new ControlError(EXIT_GENERIC, "the udrbd daemon sent an over-long message");
      }
    }
    this.#end(why);
  }

  /** Fails every call in flight with `why` and closes the socket. */
  #end(why: ControlError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(why);
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Closes the connection; calls still in flight reject (the daemon cancels them). */
  async close(): Promise<void> {
    this.#end(lost());
    await this.#reading;
    await this.#writes;
  }
}

function lost(): ControlError {
  return new ControlError(EXIT_GENERIC, "lost the connection to the udrbd daemon");
}

/** Whether a connect error means that no daemon listens (rather than, say, no permission). */
function nobodyListens(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound || e instanceof Deno.errors.ConnectionRefused;
}

/** Options of {@link connectDaemon}. */
export interface ConnectDaemonOptions {
  /** The run directory (default: `$UDRBD_RUN_DIR` or /run/udrbd). */
  runDir?: string;
  /** Start the daemon when none runs (what drbdsetup does for commands that need it). */
  start: boolean;
  /** The daemon program to start instead of this one (tests). */
  command?: string[];
  /** Further arguments for a daemon started here, e.g. `["--log-level", "debug"]`. */
  args?: string[];
  /** How long to wait for a started daemon to answer (default 10 000 ms). */
  timeoutMs?: number;
}

/**
 * Connects to the daemon of the run directory. When nothing listens: with `start`, starts
 * the daemon and waits until it answers `hello`; without, resolves to undefined. Rejects with
 * a {@link ControlError} when the daemon cannot be reached or does not come up.
 */
export async function connectDaemon(
  options: ConnectDaemonOptions,
): Promise<ControlClient | undefined> {
  const dir = options.runDir ?? defaultRunDir();
  const { socket, log } = runFiles(dir);
  try {
    return await ControlClient.connect(socket);
  } catch (e) {
    if (!nobodyListens(e)) throw cannotReach(socket, e);
  }
  if (!options.start) return undefined;
  const logStart = fileSize(log);
  try {
    await startDaemon(dir, { command: options.command, args: options.args });
  } catch (e) {
    throw new ControlError(
      EXIT_GENERIC,
      `cannot start the udrbd daemon: ${e instanceof Error ? e.message : e}`,
    );
  }
  const timeout = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeout;
  let pause = 20;
  for (;;) {
    const answer = await tryHello(socket);
    if (answer) return answer.client;
    const failure = startFailure(log, logStart);
    if (failure) {
      throw new ControlError(
        EXIT_GENERIC,
        `the udrbd daemon did not start: ${failure}\n(see ${log})`,
      );
    }
    if (Date.now() >= deadline) {
      throw new ControlError(
        EXIT_GENERIC,
        `the udrbd daemon did not answer within ${timeout / 1000} s after it was started; ` +
          `see ${log}`,
      );
    }
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 200);
  }
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch {
    return 0;
  }
}

/** The reason a daemon we started logged for giving up, if it did so after `offset`. */
function startFailure(log: string, offset: number): string | undefined {
  let text: string;
  try {
    using f = Deno.openSync(log, { read: true });
    const size = f.statSync().size;
    if (size <= offset) return undefined;
    f.seekSync(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(Math.min(size - offset, 1 << 20));
    let n = 0;
    while (n < buf.length) {
      const got = f.readSync(buf.subarray(n));
      if (got === null) break;
      n += got;
    }
    text = new TextDecoder().decode(buf.subarray(0, n));
  } catch {
    return undefined;
  }
  const at = text.indexOf(NOT_STARTED);
  if (at < 0) return undefined;
  const end = text.indexOf("\n", at);
  return text.slice(at + NOT_STARTED.length, end < 0 ? undefined : end);
}

/**
 * A client on `socket` and the daemon's answer to `hello`, or undefined if no daemon answers
 * there (yet).
 */
export async function tryHello(
  socket: string,
): Promise<{ client: ControlClient; hello: HelloResult } | undefined> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect(socket);
  } catch (e) {
    if (nobodyListens(e)) return undefined;
    throw cannotReach(socket, e);
  }
  try {
    const hello = await client.call<HelloResult>("hello");
    return { client, hello };
  } catch {
    // a daemon that is just stopping, or a socket about to be replaced
    await client.close();
    return undefined;
  }
}

function cannotReach(socket: string, e: unknown): ControlError {
  const why = e instanceof Error ? e.message : String(e);
  return new ControlError(EXIT_GENERIC, `cannot connect to the udrbd daemon at ${socket}: ${why}`);
}
