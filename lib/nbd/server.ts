/**
 * The NBD server core: fixed newstyle handshake and transmission phase over Unix sockets and
 * TCP, serving one {@link BlockDevice} per server. It knows nothing about what is behind the
 * device.
 *
 * @module
 */
import { type BlockDevice, type Extent, type NbdClientInfo, nbdErrno } from "./block_device.ts";
import {
  BASE_ALLOCATION,
  Chunk,
  CHUNK_HEADER_SIZE,
  Cmd,
  CmdFlag,
  Errno,
  FLAG_C_FIXED_NEWSTYLE,
  FLAG_C_NO_ZEROES,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  Info,
  MAX_OPTION_LENGTH,
  MAX_STRING,
  NBD_MAGIC,
  Opt,
  OPT_REPLY_MAGIC,
  Rep,
  REQUEST_MAGIC,
  REQUEST_SIZE,
  SIMPLE_REPLY_MAGIC,
  SIMPLE_REPLY_SIZE,
  STRUCTURED_REPLY_MAGIC,
  TxFlag,
} from "./protocol.ts";

/** Options of {@link NbdServer}. */
export interface NbdServerOptions {
  /** The storage to export. */
  device: BlockDevice;
  /** Export name; the empty name "" is always accepted as well. Default "". */
  name?: string;
  /** Free-text description sent with `NBD_INFO_DESCRIPTION`. */
  description?: string;
  /** Unix socket path to listen on (created with mode 0600; a stale socket file is replaced). */
  path?: string;
  /** TCP address to listen on as well (TCP_NODELAY is set on every connection). */
  tcp?: { hostname?: string; port: number };
  /** Most connections at once; further ones are closed at once. Default 64. */
  maxConnections?: number;
  /** Most requests in flight per connection (back-pressure on the client). Default 128. */
  maxInFlight?: number;
  /** Most payload bytes in flight per connection (reads and writes). Default 64 MiB. */
  maxInFlightBytes?: number;
  /** Time allowed for the handshake before the connection is dropped. Default 30 s. */
  handshakeTimeoutMs?: number;
  /** Time allowed to drain in-flight requests after DISC or at close. Default 30 s. */
  drainTimeoutMs?: number;
  /**
   * A client that reads none of its replies for this long is disconnected (its requests hold
   * server memory). Default 120 s; 0 disables.
   */
  replyTimeoutMs?: number;
  /** Called with every connection-level problem (malformed input, I/O errors); default quiet. */
  log?: (message: string) => void;
}

const CONTEXT_ID = 1;
/** A WRITE with a payload above the maximum but at most this is read, discarded and refused. */
const DISCARD_CAP = 64 * 1024 * 1024;
const READ_BUFFER = 256 * 1024;
const STAGE_SIZE = 256 * 1024;
/** Most bytes one read brings into the request buffer (the rest stays in the socket). */
const FILL_AHEAD = 64 * 1024;
/** Replies up to this size are copied into the coalescing stage instead of written alone. */
const COPY_LIMIT = 32 * 1024;
const MAX_EXTENTS = 1 << 16;
/** Room for a reply header in front of pooled payload buffers. */
const HEADROOM = 64;

class Closed extends Error {
  constructor() {
    super("connection closed");
  }
}

/**
 * Size-classed free lists of byte buffers shared by the connections of one server. Every buffer
 * is a power of two (at least 4 KiB) plus {@link HEADROOM} bytes, so a reply header fits in front
 * of a power-of-two payload without doubling the allocation.
 */
class BufferPool {
  #free: Uint8Array[][] = [];
  static #class(n: number): number {
    const body = n - HEADROOM;
    return body <= 4096 ? 12 : 32 - Math.clz32(body - 1);
  }
  get(n: number): Uint8Array {
    const cls = BufferPool.#class(n);
    return this.#free[cls]?.pop() ?? new Uint8Array(2 ** cls + HEADROOM);
  }
  put(buf: Uint8Array): void {
    const cls = BufferPool.#class(buf.length);
    if (2 ** cls + HEADROOM !== buf.length) return;
    const list = (this.#free[cls] ??= []);
    if (list.length < (cls <= 16 ? 64 : cls <= 20 ? 16 : 2)) list.push(buf);
  }
}

/** Buffered exact reads from a connection. */
class Reader {
  #conn: Deno.Conn;
  buf = new Uint8Array(READ_BUFFER);
  view = new DataView(this.buf.buffer);
  pos = 0;
  end = 0;
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }
  /**
   * Ensures `n` (≤ buffer size) bytes are buffered at `pos`; the promise (only returned when the
   * socket must be read) rejects with Closed at EOF.
   */
  need(n: number): Promise<void> | undefined {
    if (this.end - this.pos >= n) return;
    return this.#fill(n);
  }

  async #fill(n: number): Promise<void> {
    if (this.pos + n > this.buf.length) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    while (this.end - this.pos < n) {
      // Read ahead at most FILL_AHEAD: what a read brings beyond the request header may be the
      // start of a large WRITE payload, which readInto would then have to copy out again.
      const stop = Math.min(this.buf.length, Math.max(this.pos + n, this.end + FILL_AHEAD));
      const got = await this.#conn.read(this.buf.subarray(this.end, stop));
      if (got === null) throw new Closed();
      this.end += got;
    }
  }
  /** Fills `dest` from the stream. */
  async readInto(dest: Uint8Array): Promise<void> {
    const have = Math.min(this.end - this.pos, dest.length);
    dest.set(this.buf.subarray(this.pos, this.pos + have));
    this.pos += have;
    let done = have;
    while (done < dest.length) {
      const got = await this.#conn.read(dest.subarray(done));
      if (got === null) throw new Closed();
      done += got;
    }
  }
  /** Skips `n` bytes of the stream. */
  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.end === this.pos) {
        this.pos = this.end = 0;
        await this.need(1);
      }
      const k = Math.min(n, this.end - this.pos);
      this.pos += k;
      n -= k;
    }
  }
}

interface Queued {
  bytes: Uint8Array;
  cost: number;
  /** Pool buffer to give back once written. */
  pooled?: Uint8Array;
}

/**
 * Serialized replies: small messages are appended to a stage buffer (double-buffered, so they
 * coalesce into one socket write while the previous one is in progress), large ones are queued
 * as they are. `retire` is told how many messages and bytes have left, for back-pressure.
 */
class Writer {
  #conn: Deno.Conn;
  #stage = new Uint8Array(STAGE_SIZE);
  #spare = new Uint8Array(STAGE_SIZE);
  stageView = new DataView(this.#stage.buffer);
  stageLen = 0;
  #stageCount = 0;
  #stageCost = 0;
  #queue: Queued[] = [];
  #busy = false;
  #broken = false;
  #idle: (() => void)[] = [];
  #retire: (count: number, bytes: number) => void;
  #onError: (e: unknown) => void;
  #pool: BufferPool;

  constructor(
    conn: Deno.Conn,
    pool: BufferPool,
    retire: (count: number, bytes: number) => void,
    onError: (e: unknown) => void,
  ) {
    this.#conn = conn;
    this.#pool = pool;
    this.#retire = retire;
    this.#onError = onError;
  }

  get broken(): boolean {
    return this.#broken;
  }

  /** Reserves `n` bytes in the stage and returns their offset, or -1 if they do not fit. */
  reserve(n: number): number {
    if (this.stageLen + n > STAGE_SIZE) return -1;
    const at = this.stageLen;
    this.stageLen += n;
    return at;
  }

  get stage(): Uint8Array {
    return this.#stage;
  }

  /** Commits a message written into reserved stage bytes. */
  commitStaged(cost: number): void {
    this.#stageCount++;
    this.#stageCost += cost;
    this.#kick();
  }

  /** Sends a whole message; `pooled` goes back to the pool once its bytes are not needed. */
  send(bytes: Uint8Array, cost: number, pooled?: Uint8Array): void {
    if (this.#broken) {
      if (pooled) this.#pool.put(pooled);
      this.#retire(1, cost);
      return;
    }
    if (bytes.length <= COPY_LIMIT) {
      const at = this.reserve(bytes.length);
      if (at >= 0) {
        this.#stage.set(bytes, at);
        if (pooled) this.#pool.put(pooled);
        this.commitStaged(cost);
        return;
      }
    }
    this.#queue.push({ bytes, cost, pooled });
    this.#kick();
  }

  #kick(): void {
    if (this.#busy) return;
    if (this.#broken) {
      this.#dropAll();
      return;
    }
    this.#busy = true;
    this.#drain().catch((e) => {
      this.#broken = true;
      this.#dropAll();
      this.#onError(e);
    }).finally(() => {
      this.#busy = false;
      if (!this.#broken && (this.stageLen > 0 || this.#queue.length > 0)) this.#kick();
      else this.#wake();
    });
  }

  async #drain(): Promise<void> {
    while (this.stageLen > 0 || this.#queue.length > 0) {
      if (this.stageLen > 0) {
        const out = this.#stage;
        const len = this.stageLen, count = this.#stageCount, cost = this.#stageCost;
        this.#stage = this.#spare;
        this.#spare = out;
        this.stageView = new DataView(this.#stage.buffer);
        this.stageLen = this.#stageCount = this.#stageCost = 0;
        await this.#writeAll(out.subarray(0, len));
        this.#retire(count, cost);
      } else {
        const item = this.#queue.shift()!;
        try {
          await this.#writeAll(item.bytes);
        } finally {
          if (item.pooled) this.#pool.put(item.pooled);
          this.#retire(1, item.cost);
        }
      }
    }
  }

  /** When the oldest unfinished socket write started (performance.now()), or 0. */
  writingSince = 0;

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let done = 0;
    this.writingSince = performance.now();
    while (done < bytes.length) {
      const n = await this.#conn.write(bytes.subarray(done));
      done += n;
      if (n > 0) this.writingSince = performance.now();
    }
    this.writingSince = 0;
  }

  #dropAll(): void {
    if (this.#stageCount > 0) this.#retire(this.#stageCount, this.#stageCost);
    this.stageLen = this.#stageCount = this.#stageCost = 0;
    for (const item of this.#queue.splice(0)) {
      if (item.pooled) this.#pool.put(item.pooled);
      this.#retire(1, item.cost);
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#idle.splice(0)) w();
  }

  /** Marks the writer broken (connection closing): pending replies are dropped. */
  abort(): void {
    this.#broken = true;
    if (!this.#busy) this.#dropAll();
  }

  /** Resolves when nothing is pending. */
  idle(): Promise<void> {
    if (!this.#busy && this.stageLen === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** One client connection: handshake, then the transmission loop. */
class Connection {
  readonly info: { id: number; transport: string; remote: string; exportName: string };
  #server: NbdServer;
  #conn: Deno.Conn;
  #dev: BlockDevice;
  #reader: Reader;
  #writer: Writer;
  #closed = false;
  #structured = false;
  #noZeroes = false;
  #metaAllocation = false;
  #connected = false;
  #inFlight = 0;
  #inFlightBytes = 0;
  #waiter: (() => void) | null = null;
  #maxInFlight: number;
  #maxInFlightBytes: number;
  #maxPayload: number;
  #minBlock: number;

  constructor(server: NbdServer, conn: Deno.Conn, id: number, transport: string, remote: string) {
    this.#server = server;
    this.#conn = conn;
    this.#dev = server.device;
    this.info = { id, transport, remote, exportName: "" };
    this.#reader = new Reader(conn);
    this.#writer = new Writer(
      conn,
      server.pool,
      (count, bytes) => this.#retire(count, bytes),
      (e) => this.#fail("write", e),
    );
    this.#maxInFlight = server.options.maxInFlight ?? 128;
    this.#maxInFlightBytes = server.options.maxInFlightBytes ?? 64 * 1024 * 1024;
    this.#maxPayload = this.#dev.blockSize.maximum;
    this.#minBlock = this.#dev.blockSize.minimum;
  }

  /** Runs the connection to its end; never throws. */
  async run(): Promise<void> {
    const timeout = this.#server.options.handshakeTimeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      this.#server.log(`connection ${this.info.id}: handshake timed out`);
      this.close();
    }, timeout);
    let ok = false;
    try {
      ok = await this.#handshake();
    } catch (e) {
      this.#fail("handshake", e);
    } finally {
      clearTimeout(timer);
    }
    if (ok && !this.#closed) {
      try {
        this.#connected = true;
        await this.#dev.connect?.(this.info);
        await this.#transmission();
      } catch (e) {
        this.#fail("transmission", e);
      }
      await this.#drain();
    }
    this.close();
    if (this.#connected) {
      try {
        await this.#dev.disconnect?.(this.info);
      } catch (e) {
        this.#server.log(`connection ${this.info.id}: disconnect hook failed: ${e}`);
      }
    }
  }

  #fail(phase: string, e: unknown): void {
    if (this.#closed || e instanceof Closed) return;
    if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
    if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) return;
    this.#server.log(`connection ${this.info.id}: ${phase}: ${e instanceof Error ? e.message : e}`);
  }

  /** Whether a reply has been stuck in the socket for longer than `ms`. */
  stalled(now: number, ms: number): boolean {
    const since = this.#writer.writingSince;
    return since !== 0 && now - since > ms;
  }

  /** Closes the socket; in-flight device calls finish but their replies are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.abort();
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  async #drain(): Promise<void> {
    const ms = this.#server.options.drainTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((r) => timer = setTimeout(r, ms));
    const done = (async () => {
      while (this.#inFlight > 0 && !this.#closed) {
        await new Promise<void>((r) => this.#waiter = r);
      }
      if (!this.#closed) await this.#writer.idle();
    })();
    await Promise.race([done, timedOut]);
    clearTimeout(timer);
    this.close();
    // Unblock the drain loop if it is still waiting.
    this.#waiter?.();
    await done;
  }

  // ---- handshake -------------------------------------------------------------------------

  async #writeRaw(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) done += await this.#conn.write(bytes.subarray(done));
  }

  async #optReply(opt: number, type: number, data?: Uint8Array): Promise<void> {
    const len = data?.length ?? 0;
    const b = new Uint8Array(20 + len);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, OPT_REPLY_MAGIC);
    v.setUint32(8, opt);
    v.setUint32(12, type);
    v.setUint32(16, len);
    if (data) b.set(data, 20);
    await this.#writeRaw(b);
  }

  #optError(opt: number, type: number, message: string): Promise<void> {
    return this.#optReply(opt, type, enc.encode(message));
  }

  #txFlags(): number {
    const d = this.#dev;
    let f = TxFlag.HAS_FLAGS | TxFlag.SEND_FLUSH | TxFlag.SEND_FUA;
    if (d.readOnly) f |= TxFlag.READ_ONLY;
    else {
      if (d.canTrim) f |= TxFlag.SEND_TRIM;
      if (d.canZero) {
        f |= TxFlag.SEND_WRITE_ZEROES;
        if (d.canFastZero) f |= TxFlag.SEND_FAST_ZERO;
      }
    }
    if (this.#structured) f |= TxFlag.SEND_DF;
    if (d.canMultiConn) f |= TxFlag.CAN_MULTI_CONN;
    if (d.canCache) f |= TxFlag.SEND_CACHE;
    return f;
  }

  #knownName(name: string): boolean {
    return name === "" || name === this.#server.name;
  }

  /** Returns true when transmission should start. */
  async #handshake(): Promise<boolean> {
    const g = new Uint8Array(18);
    const gv = new DataView(g.buffer);
    gv.setBigUint64(0, NBD_MAGIC);
    gv.setBigUint64(8, IHAVEOPT);
    gv.setUint16(16, FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES);
    await this.#writeRaw(g);
    const r = this.#reader;
    await r.need(4);
    const cflags = r.view.getUint32(r.pos);
    r.pos += 4;
    if (cflags & ~(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES)) {
      this.#server.log(`connection ${this.info.id}: unknown client flags 0x${cflags.toString(16)}`);
      return false;
    }
    const fixed = (cflags & FLAG_C_FIXED_NEWSTYLE) !== 0;
    this.#noZeroes = (cflags & FLAG_C_NO_ZEROES) !== 0;
    for (;;) {
      await r.need(16);
      const magic = r.view.getBigUint64(r.pos);
      const opt = r.view.getUint32(r.pos + 8);
      const len = r.view.getUint32(r.pos + 12);
      r.pos += 16;
      if (magic !== IHAVEOPT) {
        this.#server.log(`connection ${this.info.id}: bad option magic`);
        return false;
      }
      if (len > MAX_OPTION_LENGTH) {
        this.#server.log(`connection ${this.info.id}: option ${opt} too long (${len} bytes)`);
        return false;
      }
      const data = new Uint8Array(len);
      await r.readInto(data);
      if (!fixed && opt !== Opt.EXPORT_NAME) return false;
      switch (opt) {
        case Opt.EXPORT_NAME: {
          const name = this.#decodeName(data);
          if (name === null || !this.#knownName(name)) return false;
          this.info.exportName = name;
          const b = new Uint8Array(this.#noZeroes ? 10 : 134);
          const v = new DataView(b.buffer);
          v.setBigUint64(0, BigInt(this.#dev.size));
          v.setUint16(8, this.#txFlags());
          await this.#writeRaw(b);
          return true;
        }
        case Opt.ABORT:
          await this.#optReply(opt, Rep.ACK).catch(() => {});
          return false;
        case Opt.LIST:
          if (len !== 0) {
            await this.#optError(opt, Rep.ERR_INVALID, "LIST takes no data");
            break;
          }
          {
            const name = enc.encode(this.#server.name);
            const b = new Uint8Array(4 + name.length);
            new DataView(b.buffer).setUint32(0, name.length);
            b.set(name, 4);
            await this.#optReply(opt, Rep.SERVER, b);
            await this.#optReply(opt, Rep.ACK);
          }
          break;
        case Opt.STARTTLS:
          await this.#optError(opt, Rep.ERR_POLICY, "TLS is not available on this server");
          break;
        case Opt.INFO:
        case Opt.GO:
          if (await this.#infoGo(opt, data)) return true;
          break;
        case Opt.STRUCTURED_REPLY:
          if (len !== 0) {
            await this.#optError(opt, Rep.ERR_INVALID, "STRUCTURED_REPLY takes no data");
            break;
          }
          this.#structured = true;
          await this.#optReply(opt, Rep.ACK);
          break;
        case Opt.LIST_META_CONTEXT:
        case Opt.SET_META_CONTEXT:
          await this.#metaContext(opt, data);
          break;
        default:
          await this.#optError(opt, Rep.ERR_UNSUP, `option ${opt} is not supported`);
      }
    }
  }

  #decodeName(bytes: Uint8Array): string | null {
    if (bytes.length > MAX_STRING) return null;
    try {
      return dec.decode(bytes);
    } catch {
      return null;
    }
  }

  async #infoGo(opt: number, data: Uint8Array): Promise<boolean> {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    if (data.length < 6) {
      await this.#optError(opt, Rep.ERR_INVALID, "INFO/GO request too short");
      return false;
    }
    const nameLen = v.getUint32(0);
    if (nameLen > data.length - 6) {
      await this.#optError(opt, Rep.ERR_INVALID, "export name length exceeds the option");
      return false;
    }
    const n = v.getUint16(4 + nameLen);
    if (4 + nameLen + 2 + 2 * n !== data.length) {
      await this.#optError(opt, Rep.ERR_INVALID, "info request count does not match the length");
      return false;
    }
    const name = this.#decodeName(data.subarray(4, 4 + nameLen));
    if (name === null) {
      await this.#optError(opt, Rep.ERR_INVALID, "export name is not valid UTF-8 or too long");
      return false;
    }
    const wanted = new Set<number>();
    for (let i = 0; i < n; i++) wanted.add(v.getUint16(4 + nameLen + 2 + 2 * i));
    if (!this.#knownName(name)) {
      await this.#optError(opt, Rep.ERR_UNKNOWN, `no export named '${name}'`);
      return false;
    }
    const bs = this.#dev.blockSize;
    const blk = new Uint8Array(14);
    const bv = new DataView(blk.buffer);
    bv.setUint16(0, Info.BLOCK_SIZE);
    bv.setUint32(2, bs.minimum);
    bv.setUint32(6, bs.preferred);
    bv.setUint32(10, bs.maximum);
    await this.#optReply(opt, Rep.INFO, blk);
    if (wanted.has(Info.NAME)) {
      const s = enc.encode(this.#server.name);
      const b = new Uint8Array(2 + s.length);
      new DataView(b.buffer).setUint16(0, Info.NAME);
      b.set(s, 2);
      await this.#optReply(opt, Rep.INFO, b);
    }
    if (wanted.has(Info.DESCRIPTION) && this.#server.description) {
      const s = enc.encode(this.#server.description);
      const b = new Uint8Array(2 + s.length);
      new DataView(b.buffer).setUint16(0, Info.DESCRIPTION);
      b.set(s, 2);
      await this.#optReply(opt, Rep.INFO, b);
    }
    const ex = new Uint8Array(12);
    const ev = new DataView(ex.buffer);
    ev.setUint16(0, Info.EXPORT);
    ev.setBigUint64(2, BigInt(this.#dev.size));
    ev.setUint16(10, this.#txFlags());
    await this.#optReply(opt, Rep.INFO, ex);
    await this.#optReply(opt, Rep.ACK);
    if (opt === Opt.GO) {
      this.info.exportName = name;
      return true;
    }
    return false;
  }

  async #metaContext(opt: number, data: Uint8Array): Promise<void> {
    const set = opt === Opt.SET_META_CONTEXT;
    if (set) this.#metaAllocation = false;
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const bad = () => this.#optError(opt, Rep.ERR_INVALID, "malformed meta context request");
    if (data.length < 8) return await bad();
    const nameLen = v.getUint32(0);
    if (nameLen > data.length - 8) return await bad();
    const name = this.#decodeName(data.subarray(4, 4 + nameLen));
    if (name === null) return await bad();
    let p = 4 + nameLen;
    const count = v.getUint32(p);
    p += 4;
    const queries: string[] = [];
    for (let i = 0; i < count; i++) {
      if (p + 4 > data.length) return await bad();
      const qlen = v.getUint32(p);
      p += 4;
      if (qlen > data.length - p) return await bad();
      const q = this.#decodeName(data.subarray(p, p + qlen));
      if (q === null) return await bad();
      queries.push(q);
      p += qlen;
    }
    if (p !== data.length) return await bad();
    if (set && !this.#structured) {
      return await this.#optError(opt, Rep.ERR_INVALID, "structured replies not negotiated");
    }
    if (!this.#knownName(name)) {
      return await this.#optError(opt, Rep.ERR_UNKNOWN, `no export named '${name}'`);
    }
    const match = set
      ? queries.includes(BASE_ALLOCATION)
      : queries.length === 0 || queries.some((q) => q === "base:" || q === BASE_ALLOCATION);
    if (match) {
      const s = enc.encode(BASE_ALLOCATION);
      const b = new Uint8Array(4 + s.length);
      new DataView(b.buffer).setUint32(0, set ? CONTEXT_ID : 0);
      b.set(s, 4);
      await this.#optReply(opt, Rep.META_CONTEXT, b);
      if (set) this.#metaAllocation = true;
    }
    await this.#optReply(opt, Rep.ACK);
  }

  // ---- transmission ----------------------------------------------------------------------

  #retire(count: number, bytes: number): void {
    this.#inFlight -= count;
    this.#inFlightBytes -= bytes;
    const w = this.#waiter;
    if (w) {
      this.#waiter = null;
      w();
    }
  }

  /** Counts a request in flight; the promise (only when over a limit) waits for room. */
  #admit(bytes: number): Promise<void> | undefined {
    if (
      this.#inFlight === 0 ||
      (this.#inFlight < this.#maxInFlight && this.#inFlightBytes + bytes <= this.#maxInFlightBytes)
    ) {
      this.#inFlight++;
      this.#inFlightBytes += bytes;
      return;
    }
    return this.#admitSlow(bytes);
  }

  async #admitSlow(bytes: number): Promise<void> {
    while (
      this.#inFlight > 0 &&
      (this.#inFlight >= this.#maxInFlight ||
        this.#inFlightBytes + bytes > this.#maxInFlightBytes)
    ) {
      await new Promise<void>((r) => this.#waiter = r);
      if (this.#closed) throw new Closed();
    }
    this.#inFlight++;
    this.#inFlightBytes += bytes;
  }

  async #transmission(): Promise<void> {
    const r = this.#reader;
    const pool = this.#server.pool;
    const dev = this.#dev;
    const size = dev.size;
    for (;;) {
      if (this.#closed || this.#writer.broken) return;
      const more = r.need(REQUEST_SIZE);
      if (more) await more;
      const v = r.view, p = r.pos;
      const magic = v.getUint32(p);
      const flags = v.getUint16(p + 4);
      const type = v.getUint16(p + 6);
      const cookieHi = v.getUint32(p + 8), cookieLo = v.getUint32(p + 12);
      const offHi = v.getUint32(p + 16);
      const offset = offHi * 0x100000000 + v.getUint32(p + 20);
      const length = v.getUint32(p + 24);
      r.pos += REQUEST_SIZE;
      if (magic !== REQUEST_MAGIC) {
        this.#server.log(`connection ${this.info.id}: bad request magic 0x${magic.toString(16)}`);
        return;
      }
      if (type === Cmd.DISC) return;
      const inRange = offHi < 0x200000 && offset + length <= size;

      if (type === Cmd.WRITE) {
        if (length > this.#maxPayload) {
          if (length > DISCARD_CAP) {
            this.#server.log(`connection ${this.info.id}: WRITE of ${length} bytes, closing`);
            return;
          }
          await r.skip(length);
          await this.#admit(0);
          this.#error(cookieHi, cookieLo, Errno.EINVAL, "request too large");
          continue;
        }
        const wait = this.#admit(length);
        if (wait) await wait;
        // The block lands behind HEADROOM scratch bytes, where a replicating device can put
        // its network header (WriteFlags.headroom).
        const buf = pool.get(length + HEADROOM);
        try {
          await r.readInto(buf.subarray(HEADROOM, HEADROOM + length));
        } catch (e) {
          pool.put(buf);
          this.#retire(1, length);
          throw e;
        }
        const err = flags & ~CmdFlag.FUA ? Errno.EINVAL : this.#writeCheck(inRange, offset, length);
        if (err) {
          pool.put(buf);
          this.#inFlightBytes -= length;
          this.#error(cookieHi, cookieLo, err, "");
          continue;
        }
        this.#doWrite(cookieHi, cookieLo, buf, offset, length, (flags & CmdFlag.FUA) !== 0);
        continue;
      }

      if (type === Cmd.READ) {
        const allowed = CmdFlag.FUA | (this.#structured ? CmdFlag.DF : 0);
        let err = 0;
        if (flags & ~allowed) err = Errno.EINVAL;
        else if (length > this.#maxPayload) err = Errno.EINVAL;
        else if (!inRange) err = Errno.EINVAL;
        else if (!this.#aligned(offset, length)) err = Errno.EINVAL;
        const head = this.#structured ? CHUNK_HEADER_SIZE + 8 : SIMPLE_REPLY_SIZE;
        const wait = this.#admit(err ? 0 : length + head);
        if (wait) await wait;
        if (err) this.#error(cookieHi, cookieLo, err, "");
        else this.#doRead(cookieHi, cookieLo, offset, length);
        continue;
      }

      const wait = this.#admit(0);
      if (wait) await wait;
      let err = 0;
      switch (type) {
        case Cmd.FLUSH:
          if (flags & ~CmdFlag.FUA) err = Errno.EINVAL;
          else this.#run(cookieHi, cookieLo, () => dev.flush());
          break;
        case Cmd.TRIM: {
          err = flags & ~CmdFlag.FUA || !dev.canTrim
            ? Errno.EINVAL
            : this.#readOnlyCheck() || (inRange ? 0 : Errno.EINVAL) ||
              (this.#aligned(offset, length) ? 0 : Errno.EINVAL);
          const fua = (flags & CmdFlag.FUA) !== 0;
          if (!err) {
            this.#run(
              cookieHi,
              cookieLo,
              () => length ? dev.trim(offset, length, { fua }) : undefined,
            );
          }
          break;
        }
        case Cmd.WRITE_ZEROES: {
          let allowed = CmdFlag.FUA | CmdFlag.NO_HOLE;
          if (dev.canFastZero) allowed |= CmdFlag.FAST_ZERO;
          err = flags & ~allowed || !dev.canZero
            ? Errno.EINVAL
            : this.#writeCheck(inRange, offset, length);
          const zf = {
            fua: (flags & CmdFlag.FUA) !== 0,
            mayTrim: (flags & CmdFlag.NO_HOLE) === 0,
            fast: (flags & CmdFlag.FAST_ZERO) !== 0,
          };
          if (!err) {
            this.#run(cookieHi, cookieLo, () => length ? dev.zero(offset, length, zf) : undefined);
          }
          break;
        }
        case Cmd.CACHE:
          err = flags || !dev.canCache
            ? Errno.EINVAL
            : (inRange ? 0 : Errno.EINVAL) || (this.#aligned(offset, length) ? 0 : Errno.EINVAL);
          if (!err) {
            this.#run(cookieHi, cookieLo, () => length ? dev.cache?.(offset, length) : undefined);
          }
          break;
        case Cmd.BLOCK_STATUS:
          err = flags & ~CmdFlag.REQ_ONE || !this.#metaAllocation || length === 0 || !inRange ||
              !this.#aligned(offset, length)
            ? Errno.EINVAL
            : 0;
          if (!err) {
            this.#doBlockStatus(
              cookieHi,
              cookieLo,
              offset,
              length,
              (flags & CmdFlag.REQ_ONE) !== 0,
            );
          }
          break;
        default:
          err = Errno.EINVAL;
      }
      if (err) this.#error(cookieHi, cookieLo, err, "");
    }
  }

  #aligned(offset: number, length: number): boolean {
    const m = this.#minBlock;
    return m === 1 || (offset % m === 0 && length % m === 0);
  }

  #readOnlyCheck(): number {
    return this.#dev.readOnly || !this.#dev.writable() ? Errno.EPERM : 0;
  }

  #writeCheck(inRange: boolean, offset: number, length: number): number {
    return this.#readOnlyCheck() || (inRange ? 0 : Errno.ENOSPC) ||
      (this.#aligned(offset, length) ? 0 : Errno.EINVAL);
  }

  #simple(cookieHi: number, cookieLo: number, err: number): void {
    const w = this.#writer;
    const at = w.reserve(SIMPLE_REPLY_SIZE);
    if (at < 0) {
      const b = new Uint8Array(SIMPLE_REPLY_SIZE);
      writeSimple(new DataView(b.buffer), 0, err, cookieHi, cookieLo);
      w.send(b, 0);
      return;
    }
    writeSimple(w.stageView, at, err, cookieHi, cookieLo);
    w.commitStaged(0);
  }

  #error(cookieHi: number, cookieLo: number, err: number, message: string): void {
    if (!this.#structured) return this.#simple(cookieHi, cookieLo, err);
    const msg = enc.encode(message);
    const b = new Uint8Array(CHUNK_HEADER_SIZE + 6 + msg.length);
    const v = new DataView(b.buffer);
    writeChunkHeader(v, 0, Chunk.FLAG_DONE, Chunk.ERROR, cookieHi, cookieLo, 6 + msg.length);
    v.setUint32(CHUNK_HEADER_SIZE, err);
    v.setUint16(CHUNK_HEADER_SIZE + 4, msg.length);
    b.set(msg, CHUNK_HEADER_SIZE + 6);
    this.#writer.send(b, 0);
  }

  /** Runs a payload-less command and answers with a simple reply or an error. */
  #run(cookieHi: number, cookieLo: number, fn: () => Promise<void> | void): void {
    let r: Promise<void> | void;
    try {
      r = fn();
    } catch (e) {
      this.#error(cookieHi, cookieLo, nbdErrno(e), "");
      return;
    }
    if (r instanceof Promise) {
      r.then(
        () => this.#simple(cookieHi, cookieLo, 0),
        (e) => this.#error(cookieHi, cookieLo, nbdErrno(e), ""),
      );
    } else this.#simple(cookieHi, cookieLo, 0);
  }

  #doWrite(
    cookieHi: number,
    cookieLo: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    fua: boolean,
  ): void {
    let r: Promise<void> | void;
    try {
      r = length
        ? this.#dev.pwrite(buf.subarray(HEADROOM, HEADROOM + length), offset, {
          fua,
          headroom: HEADROOM,
        })
        : undefined;
    } catch (e) {
      this.#writeDone(buf, length, cookieHi, cookieLo, e);
      return;
    }
    if (r instanceof Promise) {
      r.then(
        () => this.#writeDone(buf, length, cookieHi, cookieLo, null),
        (e) => this.#writeDone(buf, length, cookieHi, cookieLo, e ?? new Error("write failed")),
      );
    } else this.#writeDone(buf, length, cookieHi, cookieLo, null);
  }

  #writeDone(buf: Uint8Array, length: number, cookieHi: number, cookieLo: number, e: unknown) {
    this.#server.pool.put(buf);
    this.#inFlightBytes -= length;
    if (e === null) this.#simple(cookieHi, cookieLo, 0);
    else this.#error(cookieHi, cookieLo, nbdErrno(e), "");
  }

  #doRead(cookieHi: number, cookieLo: number, offset: number, length: number): void {
    const structured = this.#structured;
    const head = structured ? CHUNK_HEADER_SIZE + 8 : SIMPLE_REPLY_SIZE;
    const cost = length + head;
    if (length === 0) {
      this.#retireBytes(cost);
      if (!structured) return this.#simple(cookieHi, cookieLo, 0);
      const b = new Uint8Array(CHUNK_HEADER_SIZE);
      writeChunkHeader(
        new DataView(b.buffer),
        0,
        Chunk.FLAG_DONE,
        Chunk.NONE,
        cookieHi,
        cookieLo,
        0,
      );
      this.#writer.send(b, 0);
      return;
    }
    const buf = this.#server.pool.get(cost);
    let r: Promise<void> | void;
    try {
      r = this.#dev.pread(buf.subarray(head, cost), offset);
    } catch (e) {
      this.#readFailed(buf, cost, cookieHi, cookieLo, e);
      return;
    }
    if (r instanceof Promise) {
      r.then(
        () => this.#readDone(buf, head, cookieHi, cookieLo, offset, length),
        (e) => this.#readFailed(buf, cost, cookieHi, cookieLo, e),
      );
    } else this.#readDone(buf, head, cookieHi, cookieLo, offset, length);
  }

  #readDone(
    buf: Uint8Array,
    head: number,
    cookieHi: number,
    cookieLo: number,
    offset: number,
    length: number,
  ): void {
    if (head === SIMPLE_REPLY_SIZE) {
      put32(buf, 0, SIMPLE_REPLY_MAGIC);
      put32(buf, 4, 0);
    } else {
      put32(buf, 0, STRUCTURED_REPLY_MAGIC);
      put32(buf, 4, (Chunk.FLAG_DONE << 16) | Chunk.OFFSET_DATA);
    }
    put32(buf, 8, cookieHi);
    put32(buf, 12, cookieLo);
    if (head !== SIMPLE_REPLY_SIZE) {
      put32(buf, 16, 8 + length);
      put32(buf, 20, Math.floor(offset / 0x100000000));
      put32(buf, 24, offset >>> 0);
    }
    this.#writer.send(buf.subarray(0, head + length), head + length, buf);
  }

  #readFailed(buf: Uint8Array, cost: number, cookieHi: number, cookieLo: number, e: unknown) {
    this.#server.pool.put(buf);
    this.#retireBytes(cost);
    this.#error(cookieHi, cookieLo, nbdErrno(e), "");
  }

  /** Gives back admitted bytes of a request whose reply carries none. */
  #retireBytes(bytes: number): void {
    this.#inFlightBytes -= bytes;
  }

  #doBlockStatus(
    cookieHi: number,
    cookieLo: number,
    offset: number,
    length: number,
    reqOne: boolean,
  ): void {
    const dev = this.#dev;
    const send = (extents: Extent[]) => {
      let list = extents.filter((e) => e.length > 0);
      if (list.length === 0) list = [{ length, flags: 0 }];
      if (reqOne) list = [{ length: Math.min(list[0].length, length), flags: list[0].flags }];
      if (list.length > MAX_EXTENTS) list = list.slice(0, MAX_EXTENTS);
      const b = new Uint8Array(CHUNK_HEADER_SIZE + 4 + 8 * list.length);
      const v = new DataView(b.buffer);
      writeChunkHeader(
        v,
        0,
        Chunk.FLAG_DONE,
        Chunk.BLOCK_STATUS,
        cookieHi,
        cookieLo,
        4 + 8 * list.length,
      );
      v.setUint32(CHUNK_HEADER_SIZE, CONTEXT_ID);
      let p = CHUNK_HEADER_SIZE + 4;
      for (const e of list) {
        v.setUint32(p, Math.min(e.length, 0xffffffff));
        v.setUint32(p + 4, e.flags);
        p += 8;
      }
      this.#writer.send(b, 0);
    };
    if (!dev.blockStatus) return send([]);
    try {
      const r = dev.blockStatus(offset, length);
      if (r instanceof Promise) {
        r.then(send, (e) => this.#error(cookieHi, cookieLo, nbdErrno(e), ""));
      } else send(r);
    } catch (e) {
      this.#error(cookieHi, cookieLo, nbdErrno(e), "");
    }
  }
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

function writeSimple(v: DataView, at: number, err: number, hi: number, lo: number): void {
  v.setUint32(at, SIMPLE_REPLY_MAGIC);
  v.setUint32(at + 4, err);
  v.setUint32(at + 8, hi);
  v.setUint32(at + 12, lo);
}

function writeChunkHeader(
  v: DataView,
  at: number,
  flags: number,
  type: number,
  hi: number,
  lo: number,
  len: number,
): void {
  v.setUint32(at, STRUCTURED_REPLY_MAGIC);
  v.setUint16(at + 4, flags);
  v.setUint16(at + 6, type);
  v.setUint32(at + 8, hi);
  v.setUint32(at + 12, lo);
  v.setUint32(at + 16, len);
}

/**
 * An NBD server exporting one {@link BlockDevice} on a Unix socket and/or a TCP address. Start
 * it with {@link NbdServer.listen}; stop it with {@link NbdServer.close}, which also closes
 * every client connection.
 */
export class NbdServer {
  /** The exported device. */
  readonly device: BlockDevice;
  /** The export name ("" is accepted as well). */
  readonly name: string;
  /** Export description. */
  readonly description: string;
  /** The options the server was created with. */
  readonly options: NbdServerOptions;
  /** @internal Buffers shared by the connections. */
  readonly pool: BufferPool = new BufferPool();
  #listeners: Deno.Listener[] = [];
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #conns = new Map<number, Connection>();
  #tasks = new Set<Promise<void>>();
  #nextId = 1;
  #closing = false;

  private constructor(options: NbdServerOptions) {
    this.options = options;
    this.device = options.device;
    this.name = options.name ?? "";
    this.description = options.description ?? "";
    validateBlockSizes(this.device);
  }

  /** Creates the listeners and starts accepting clients. */
  static listen(options: NbdServerOptions): NbdServer {
    if (!options.path && !options.tcp) {
      throw new TypeError("NbdServer: give a Unix socket path, a TCP address or both");
    }
    const s = new NbdServer(options);
    try {
      if (options.path) {
        removeStaleSocket(options.path);
        const l = Deno.listen({ transport: "unix", path: options.path });
        s.#listeners.push(l);
        Deno.chmodSync(options.path, 0o600);
      }
      if (options.tcp) {
        s.#listeners.push(
          Deno.listen({ hostname: options.tcp.hostname ?? "127.0.0.1", port: options.tcp.port }),
        );
      }
    } catch (e) {
      for (const l of s.#listeners) l.close();
      throw e;
    }
    for (const l of s.#listeners) s.#track(s.#accept(l));
    const replyTimeout = options.replyTimeoutMs ?? 120_000;
    if (replyTimeout > 0) {
      s.#watchdog = setInterval(() => {
        const now = performance.now();
        for (const c of s.#conns.values()) {
          if (c.stalled(now, replyTimeout)) {
            s.log(`connection ${c.info.id}: client read no reply for ${replyTimeout} ms, closing`);
            c.close();
          }
        }
      }, Math.min(1000, replyTimeout));
    }
    return s;
  }

  /** The bound addresses (useful with TCP port 0). */
  get addrs(): Deno.Addr[] {
    return this.#listeners.map((l) => l.addr);
  }

  /** Number of open client connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** The clients connected right now (handshake finished or not). */
  get clients(): NbdClientInfo[] {
    return [...this.#conns.values()].map((c) => ({ ...c.info }));
  }

  /** @internal */
  log(message: string): void {
    this.options.log?.(message);
  }

  #track(p: Promise<void>): void {
    this.#tasks.add(p);
    p.finally(() => this.#tasks.delete(p));
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    const max = this.options.maxConnections ?? 64;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#closing || e instanceof Deno.errors.BadResource) return;
        this.log(`accept failed: ${e}`);
        continue;
      }
      if (this.#closing || this.#conns.size >= max) {
        if (!this.#closing) this.log(`refusing a connection: ${max} clients already`);
        conn.close();
        continue;
      }
      let transport = "unix", remote = this.options.path ?? "";
      if (conn.remoteAddr.transport === "tcp") {
        transport = "tcp";
        remote = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // not fatal
        }
      }
      const id = this.#nextId++;
      const c = new Connection(this, conn, id, transport, remote);
      this.#conns.set(id, c);
      this.#track(c.run().finally(() => this.#conns.delete(id)));
    }
  }

  /** Stops listening, closes every connection and waits for them to end. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#watchdog);
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch {
        // already closed
      }
    }
    for (const c of this.#conns.values()) c.close();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
    if (this.options.path) {
      try {
        Deno.removeSync(this.options.path);
      } catch {
        // gone already
      }
    }
  }
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function validateBlockSizes(dev: BlockDevice): void {
  const { minimum, preferred, maximum } = dev.blockSize;
  if (!isPowerOfTwo(minimum) || minimum > 65536) {
    throw new RangeError(`block size minimum ${minimum} must be a power of two ≤ 65536`);
  }
  if (!isPowerOfTwo(preferred) || preferred < Math.max(minimum, 512)) {
    throw new RangeError(`preferred block size ${preferred} must be a power of two ≥ 512`);
  }
  if (maximum < preferred || maximum > 0xffffffff || maximum % minimum !== 0) {
    throw new RangeError(`maximum block size ${maximum} must be ≥ preferred`);
  }
  if (dev.size % minimum !== 0) {
    throw new RangeError(`device size ${dev.size} is not a multiple of ${minimum}`);
  }
}

function removeStaleSocket(path: string): void {
  try {
    const st = Deno.lstatSync(path);
    if (st.isSocket) Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
