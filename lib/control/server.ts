/**
 * The daemon's side of the control channel: accepts connections on a Unix socket, reads
 * requests, answers the built-in ops itself and hands the rest to a {@link ControlHandler}.
 *
 * @module
 */
import { Logger } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { LineReader, LineTooLongError } from "./lines.ts";
import {
  CONTROL_VERSION,
  ControlError,
  type ControlHandler,
  type ControlMessage,
  type ControlRequest,
  encodeLine,
  EXIT_GENERIC,
  type HelloResult,
  MAX_REQUEST_LINE,
  parseRequest,
  UNKNOWN_ID,
} from "./protocol.ts";

/** Options of {@link ControlServer.listen}. */
export interface ControlServerOptions {
  /** Where connection trouble and handler failures are logged (default: nowhere). */
  log?: Logger;
  /**
   * Called once a client's `daemon.stop` has been answered; without it, `daemon.stop` is
   * refused. The daemon starts its orderly shutdown here.
   */
  onStop?: () => void;
  /**
   * Bytes that may wait for a client that does not read (default 16 MiB); past that the
   * client is disconnected instead of growing the daemon's memory.
   */
  maxQueuedBytes?: number;
  /** How long {@link ControlServer.close} lets cancelled calls finish (default 5000 ms). */
  closeGraceMs?: number;
  /** Clients connected at once (default 256); more are disconnected at once, and logged. */
  maxConnections?: number;
  /** Calls in flight on one connection (default 1024); more are refused with an error. */
  maxCallsPerConnection?: number;
}

const encoder = new TextEncoder();

function describe(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

/** One client connection and the calls in flight on it. */
class Connection {
  readonly id: number;
  #server: ControlServer;
  #conn: Deno.Conn;
  #log: Logger;
  #calls = new Map<number, AbortController>();
  #callTasks = new Set<Promise<void>>();
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing: Promise<void> | undefined;
  #closed = false;
  #force!: () => void;
  #forced = new Promise<void>((resolve) => this.#force = resolve);

  constructor(server: ControlServer, conn: Deno.Conn, id: number, log: Logger) {
    this.#server = server;
    this.#conn = conn;
    this.id = id;
    this.#log = log;
  }

  /** Serves the connection until the client goes away or the server closes it. */
  async run(): Promise<void> {
    const reader = new LineReader(this.#conn, MAX_REQUEST_LINE);
    try {
      for (;;) {
        let line: string | null;
        try {
          line = await reader.next();
        } catch (e) {
          if (e instanceof LineTooLongError) {
            this.#log.warn(`client ${this.id}: request line over ${MAX_REQUEST_LINE} bytes`);
            this.#fail(UNKNOWN_ID, new ControlError(EXIT_GENERIC, `control message too long`));
          } else if (!this.#closed) {
            this.#log.debug(`client ${this.id}: read failed: ${e}`);
          }
          break;
        }
        if (line === null) break;
        if (line.trim() === "") continue;
        const parsed = parseRequest(line);
        if (!parsed.ok) {
          this.#log.warn(`client ${this.id}: ${parsed.error.message}`);
          this.#fail(parsed.id, parsed.error);
          if (parsed.fatal) break;
          continue;
        }
        if (!this.#dispatch(parsed.request)) break;
      }
    } finally {
      // Whatever ended the reading, in-flight calls are no longer wanted.
      for (const c of this.#calls.values()) c.abort(new DOMException("client gone", "AbortError"));
      await Promise.race([Promise.allSettled([...this.#callTasks]), this.#forced]);
      await Promise.race([this.#drain(), this.#forced]);
      this.#shut();
    }
  }

  /** Resolves once no call is in flight and every answer has been written. */
  async settled(): Promise<void> {
    while (this.#callTasks.size > 0) await Promise.allSettled([...this.#callTasks]);
    await this.#drain();
  }

  /** Aborts every call in flight (the daemon is stopping). */
  abortAll(reason: string): void {
    for (const c of this.#calls.values()) c.abort(new DOMException(reason, "AbortError"));
  }

  /** Closes the connection now, whatever is still in flight. */
  forceClose(): void {
    this.#force();
    this.#shut();
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  /** Handles one request; false when the connection must end. */
  #dispatch(req: ControlRequest): boolean {
    const { id, op } = req;
    if (this.#calls.has(id)) {
      this.#fail(id, new ControlError(EXIT_GENERIC, `request id ${id} is already in flight`));
      return false;
    }
    const args = req.args ?? {};
    switch (op) {
      case "hello": {
        const hello: HelloResult = {
          versions: [CONTROL_VERSION],
          version: VERSION,
          pid: Deno.pid,
        };
        this.#send({ v: CONTROL_VERSION, id, ok: true, result: hello });
        return true;
      }
      case "cancel": {
        const target = args.id;
        if (typeof target !== "number") {
          this.#fail(id, new ControlError(EXIT_GENERIC, "cancel: args.id must be a request id"));
          return true;
        }
        const call = this.#calls.get(target);
        call?.abort(new DOMException("cancelled by the client", "AbortError"));
        this.#send({ v: CONTROL_VERSION, id, ok: true, result: { cancelled: call !== undefined } });
        return true;
      }
      case "daemon.stop": {
        const onStop = this.#server.options.onStop;
        if (!onStop) {
          this.#fail(id, new ControlError(EXIT_GENERIC, "this daemon cannot be stopped remotely"));
          return true;
        }
        this.#log.info(`client ${this.id}: asked the daemon to stop`);
        this.#send({ v: CONTROL_VERSION, id, ok: true });
        // answer first, so that the client sees its request succeed before the socket goes
        this.#drain().finally(onStop);
        return true;
      }
    }
    if (this.#server.stopping) {
      this.#fail(id, new ControlError(EXIT_GENERIC, "the udrbd daemon is stopping"));
      return true;
    }
    const limit = this.#server.options.maxCallsPerConnection ?? 1024;
    if (this.#calls.size >= limit) {
      this.#fail(id, new ControlError(EXIT_GENERIC, `too many requests in flight (${limit})`));
      return true;
    }
    this.#startCall(id, op, args);
    return true;
  }

  #startCall(id: number, op: string, args: Record<string, unknown>): void {
    const ctl = new AbortController();
    this.#calls.set(id, ctl);
    let done = false;
    const ctx = {
      signal: ctl.signal,
      emit: (event: unknown) => {
        if (done) return;
        this.#send({ v: CONTROL_VERSION, id, event }, op);
      },
    };
    this.#log.debug(`client ${this.id}: ${op} (id ${id})`);
    const task = (async () => {
      try {
        const result = await this.#server.handler.handle(op, args, ctx);
        done = true;
        this.#send({ v: CONTROL_VERSION, id, ok: true, result }, op);
      } catch (e) {
        done = true;
        if (e instanceof ControlError) {
          this.#fail(id, e);
        } else {
          this.#log.error(`${op} failed: ${describe(e)}`);
          const msg = e instanceof Error ? e.message : String(e);
          this.#fail(id, new ControlError(EXIT_GENERIC, msg));
        }
      } finally {
        this.#calls.delete(id);
      }
    })();
    this.#callTasks.add(task);
    task.finally(() => this.#callTasks.delete(task));
  }

  #fail(id: number, error: ControlError): void {
    this.#send({ v: CONTROL_VERSION, id, ok: false, error: error.toJSON() });
  }

  /** Queues one message; `op` names the call for the log when it cannot be encoded. */
  #send(msg: ControlMessage, op?: string): void {
    if (this.#closed) return;
    let line: string;
    try {
      line = encodeLine(msg);
    } catch (e) {
      // a result the engine cannot serialize (a cycle, a BigInt) is a bug; the client still
      // gets its answer
      this.#log.error(
        `${op ?? "reply"}: cannot encode ${"event" in msg ? "an event" : "the result"}: ${e}`,
      );
      if ("event" in msg) return;
      line = encodeLine({
        v: CONTROL_VERSION,
        id: msg.id,
        ok: false,
        error: { exitCode: EXIT_GENERIC, message: `${op}: the daemon could not encode its reply` },
      });
    }
    const bytes = encoder.encode(line);
    this.#queued += bytes.length;
    if (this.#queued > this.#server.maxQueuedBytes) {
      this.#log.warn(
        `client ${this.id}: not reading (${this.#queued} bytes waiting), disconnecting`,
      );
      this.forceClose();
      return;
    }
    this.#queue.push(bytes);
    this.#writing ??= this.#flush().finally(() => this.#writing = undefined);
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const chunk = this.#queue.length === 1 ? this.#queue[0] : concat(this.#queue);
      this.#queue = [];
      try {
        let off = 0;
        while (off < chunk.length) off += await this.#conn.write(chunk.subarray(off));
      } catch (e) {
        if (!this.#closed) this.#log.debug(`client ${this.id}: write failed: ${e}`);
        this.#shut();
        return;
      }
      this.#queued -= chunk.length;
    }
  }

  /** Resolves once everything queued has been written (or the connection is gone). */
  async #drain(): Promise<void> {
    while (this.#writing) await this.#writing;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Whether something answers on the Unix socket at `path`. */
async function answers(path: string): Promise<boolean> {
  try {
    const c = await Deno.connect({ transport: "unix", path });
    c.close();
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.NotFound) {
      return false;
    }
    throw e;
  }
}

/** Removes a socket file left by a process that died; refuses to touch a live one. */
async function removeStaleSocket(path: string): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (!st.isSocket) {
    throw new Deno.errors.AlreadyExists(`${path} exists and is not a socket; not replacing it`);
  }
  if (await answers(path)) {
    throw new Deno.errors.AddrInUse(`another process is listening on ${path}`);
  }
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Listens with a umask that makes the socket 0600 from its first moment. */
function listenPrivate(path: string): Deno.Listener {
  let old: number | undefined;
  try {
    old = Deno.umask(0o177);
  } catch {
    // no umask permission: the chmod below still protects it
  }
  try {
    return Deno.listen({ transport: "unix", path });
  } finally {
    if (old !== undefined) Deno.umask(old);
  }
}

/**
 * The control server of the daemon. Start it with {@link ControlServer.listen}; stop
 * accepting with {@link ControlServer.stopAccepting} and end it with
 * {@link ControlServer.close}.
 */
export class ControlServer {
  /** The Unix socket path it listens on. */
  readonly path: string;
  /** The handler every non-built-in request goes to. */
  readonly handler: ControlHandler;
  /** The options it was started with. */
  readonly options: ControlServerOptions;
  /** @internal */
  readonly maxQueuedBytes: number;
  #log: Logger;
  #listener: Deno.Listener;
  #ino: number | null;
  #conns = new Map<number, Connection>();
  #tasks = new Set<Promise<void>>();
  #nextId = 1;
  #stopping = false;
  #closed: Promise<void> | undefined;

  private constructor(
    path: string,
    handler: ControlHandler,
    options: ControlServerOptions,
    listener: Deno.Listener,
  ) {
    this.path = path;
    this.handler = handler;
    this.options = options;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 16 << 20;
    this.#log = options.log ?? Logger.silent();
    this.#listener = listener;
    this.#ino = Deno.lstatSync(path).ino;
  }

  /**
   * Listens on the Unix socket `path` (mode 0600) and serves `handler`. A socket file left by
   * a dead process is replaced; a live one is an `AddrInUse` error.
   */
  static async listen(
    path: string,
    handler: ControlHandler,
    options: ControlServerOptions = {},
  ): Promise<ControlServer> {
    await removeStaleSocket(path);
    const listener = listenPrivate(path);
    let s: ControlServer;
    try {
      Deno.chmodSync(path, 0o600);
      s = new ControlServer(path, handler, options, listener);
    } catch (e) {
      listener.close();
      throw e;
    }
    s.#track(s.#accept());
    return s;
  }

  /** Whether the server no longer accepts connections and refuses new engine calls. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Number of open client connections. */
  get connections(): number {
    return this.#conns.size;
  }

  #track(p: Promise<void>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#stopping || e instanceof Deno.errors.BadResource) return;
        this.#log.warn(`control socket: accept failed: ${e}`);
        continue;
      }
      const max = this.options.maxConnections ?? 256;
      if (this.#stopping || this.#conns.size >= max) {
        if (!this.#stopping) this.#log.warn(`control socket: refusing a client, ${max} connected`);
        conn.close();
        continue;
      }
      const id = this.#nextId++;
      const c = new Connection(this, conn, id, this.#log);
      this.#conns.set(id, c);
      this.#track(
        c.run().catch((e) => this.#log.error(`client ${id}: ${describe(e)}`))
          .finally(() => this.#conns.delete(id)),
      );
    }
  }

  /**
   * Stops accepting connections and refuses new engine calls on open ones ("the daemon is
   * stopping"); calls in flight, events and built-in ops go on. The socket file is removed.
   */
  stopAccepting(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.#removeSocket();
  }

  #removeSocket(): void {
    try {
      // only our own socket: a new daemon may already have bound a new one at this path
      if (Deno.lstatSync(this.path).ino === this.#ino) Deno.removeSync(this.path);
    } catch {
      // gone already
    }
  }

  /**
   * Stops accepting, cancels every call in flight (their signals fire), gives them the grace
   * period to answer, then closes every connection and waits for them to end.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.stopAccepting();
    for (const c of this.#conns.values()) c.abortAll("the udrbd daemon is stopping");
    const grace = this.options.closeGraceMs ?? 5000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((resolve) => timer = setTimeout(resolve, grace));
    const finished = (async () => {
      while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    })();
    // the clients may keep their sockets open: wait only for the answers to go out
    await Promise.race([Promise.all([...this.#conns.values()].map((c) => c.settled())), expired]);
    clearTimeout(timer);
    for (const c of this.#conns.values()) c.forceClose();
    await finished;
  }
}
