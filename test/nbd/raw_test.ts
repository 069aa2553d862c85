import assert from "node:assert/strict";
import { type BlockDevice, BlockDeviceError, Errno, NbdServer } from "../../lib/nbd/mod.ts";
import { startExport } from "./helpers.ts";

const IHAVEOPT = 0x49484156454f5054n;
const REP_MAGIC = 0x0003e889045565a9n;

/** A hand-rolled client that can send what real clients never do. */
class Raw {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }
  static async unix(path: string): Promise<Raw> {
    return new Raw(await Deno.connect({ transport: "unix", path }));
  }
  static async tcp(port: number): Promise<Raw> {
    return new Raw(await Deno.connect({ hostname: "127.0.0.1", port }));
  }
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // closed
    }
  }
  async write(b: Uint8Array): Promise<void> {
    let done = 0;
    while (done < b.length) done += await this.#conn.write(b.subarray(done));
  }
  /** Exactly n bytes, or null at EOF / reset. */
  async read(n: number): Promise<Uint8Array | null> {
    while (this.#buf.length < n) {
      const chunk = new Uint8Array(65536);
      let got: number | null;
      try {
        got = await this.#conn.read(chunk);
      } catch {
        return null;
      }
      if (got === null) return null;
      const next = new Uint8Array(this.#buf.length + got);
      next.set(this.#buf);
      next.set(chunk.subarray(0, got), this.#buf.length);
      this.#buf = next;
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }
  /** Resolves true when the server closes the connection within 5 s. */
  async closedByServer(): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const t = new Promise<boolean>((r) => timer = setTimeout(() => r(false), 5000));
    const eof = (async () => {
      for (;;) if ((await this.read(1)) === null) return true;
    })();
    const r = await Promise.race([eof, t]);
    clearTimeout(timer);
    this.close();
    await eof;
    return r;
  }
  async greet(flags = 3): Promise<void> {
    const g = await this.read(18);
    assert.ok(g);
    const v = new DataView(g.buffer);
    assert.equal(v.getBigUint64(0), 0x4e42444d41474943n);
    assert.equal(v.getBigUint64(8), IHAVEOPT);
    assert.equal(v.getUint16(16), 3);
    await this.write(u32(flags));
  }
  async option(opt: number, data = new Uint8Array(0), magic = IHAVEOPT): Promise<void> {
    const b = new Uint8Array(16 + data.length);
    const v = new DataView(b.buffer);
    v.setBigUint64(0, magic);
    v.setUint32(8, opt);
    v.setUint32(12, data.length);
    b.set(data, 16);
    await this.write(b);
  }
  async reply(): Promise<{ opt: number; type: number; data: Uint8Array }> {
    const h = await this.read(20);
    assert.ok(h, "connection closed while waiting for an option reply");
    const v = new DataView(h.buffer);
    assert.equal(v.getBigUint64(0), REP_MAGIC);
    const data = (await this.read(v.getUint32(16)))!;
    return { opt: v.getUint32(8), type: v.getUint32(12), data };
  }
  /** GO on the default export; returns the transmission flags. */
  async go(name = ""): Promise<number> {
    const n = new TextEncoder().encode(name);
    const d = new Uint8Array(4 + n.length + 2);
    new DataView(d.buffer).setUint32(0, n.length);
    d.set(n, 4);
    await this.option(7, d);
    let flags = -1;
    for (;;) {
      const r = await this.reply();
      if (r.type === 1) return flags;
      assert.equal(r.type, 3, `GO failed with reply type 0x${r.type.toString(16)}`);
      const v = new DataView(r.data.buffer);
      if (v.getUint16(0) === 0) flags = v.getUint16(10);
    }
  }
  async request(type: number, cookie: number, offset: number, length: number, flags = 0) {
    const b = new Uint8Array(28);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x25609513);
    v.setUint16(4, flags);
    v.setUint16(6, type);
    v.setBigUint64(8, BigInt(cookie));
    v.setBigUint64(16, BigInt(offset));
    v.setUint32(24, length);
    await this.write(b);
  }
  /** A simple reply: error and cookie (data, if any, is left unread). */
  async simple(): Promise<{ error: number; cookie: number }> {
    const h = await this.read(16);
    assert.ok(h, "connection closed while waiting for a reply");
    const v = new DataView(h.buffer);
    assert.equal(v.getUint32(0), 0x67446698);
    return { error: v.getUint32(4), cookie: Number(v.getBigUint64(8)) };
  }
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

async function ready(path: string): Promise<Raw> {
  const c = await Raw.unix(path);
  await c.greet();
  await c.go();
  return c;
}

/** A connected client still reads and writes correctly. */
async function stillWorks(c: Raw, cookie: number): Promise<void> {
  await c.request(1, cookie, 4096, 4);
  await c.write(new Uint8Array([1, 2, 3, 4]));
  assert.deepEqual(await c.simple(), { error: 0, cookie });
  await c.request(0, cookie + 1, 4096, 4);
  assert.deepEqual(await c.simple(), { error: 0, cookie: cookie + 1 });
  assert.deepEqual(await c.read(4), new Uint8Array([1, 2, 3, 4]));
}

Deno.test("garbage in the handshake or in transmission drops only that client", async () => {
  const ex = await startExport({ size: 1 << 20 });
  const good = await ready(ex.socket);
  try {
    // Garbage instead of the client flags.
    let bad = await Raw.unix(ex.socket);
    await bad.read(18);
    await bad.write(new Uint8Array(300).fill(0xee));
    assert.ok(await bad.closedByServer());

    // Garbage instead of an option.
    bad = await Raw.unix(ex.socket);
    await bad.greet();
    await bad.write(crypto.getRandomValues(new Uint8Array(4000)));
    assert.ok(await bad.closedByServer());

    // Garbage after a few good requests.
    bad = await ready(ex.socket);
    await stillWorks(bad, 10);
    await bad.write(crypto.getRandomValues(new Uint8Array(5000)));
    assert.ok(await bad.closedByServer());

    // Half a WRITE payload, then gone.
    bad = await ready(ex.socket);
    await bad.request(1, 1, 0, 65536);
    await bad.write(new Uint8Array(1000));
    bad.close();

    // A WRITE header announcing far too much payload.
    bad = await ready(ex.socket);
    await bad.request(1, 1, 0, 0xfffffff0);
    assert.ok(await bad.closedByServer());

    await stillWorks(good, 100);
  } finally {
    good.close();
    await ex.close();
  }
});

Deno.test("unknown client flags, bad option magic and huge options close the connection", async () => {
  const ex = await startExport({ size: 1 << 20 });
  try {
    let c = await Raw.unix(ex.socket);
    await c.greet(0x80000003);
    assert.ok(await c.closedByServer());
    c = await Raw.unix(ex.socket);
    await c.greet();
    await c.option(7, new Uint8Array(6), 0x1234n);
    assert.ok(await c.closedByServer());
    c = await Raw.unix(ex.socket);
    await c.greet();
    await c.write(new Uint8Array([...new Uint8Array(8).fill(0), 0, 0, 0, 7, 0x10, 0, 0, 0]));
    assert.ok(await c.closedByServer());
    c = await Raw.unix(ex.socket);
    await c.greet();
    await c.option(2);
    assert.equal((await c.reply()).type, 1);
    assert.ok(await c.closedByServer());
    c = await ready(ex.socket);
    await stillWorks(c, 1);
    c.close();
  } finally {
    await ex.close();
  }
});

Deno.test("malformed and unknown options get error replies and the handshake goes on", async () => {
  const ex = await startExport({ size: 1 << 20, name: "drbd3" });
  const c = await Raw.unix(ex.socket);
  try {
    await c.greet();
    const ask = async (opt: number, data: number[]) => {
      await c.option(opt, new Uint8Array(data));
      return (await c.reply()).type;
    };
    assert.equal(await ask(7, [0, 0, 0]), 0x80000003, "GO too short");
    assert.equal(await ask(7, [0, 0, 0, 9, 0, 0]), 0x80000003, "name longer than the option");
    assert.equal(await ask(6, [0, 0, 0, 0, 0, 5, 0, 1]), 0x80000003, "info count mismatch");
    assert.equal(await ask(7, [0, 0, 0, 1, 0x78, 0, 0]), 0x80000006, "unknown export");
    assert.equal(await ask(99, [1, 2, 3]), 0x80000001, "unknown option");
    assert.equal(await ask(5, []), 0x80000002, "STARTTLS without TLS");
    assert.equal(await ask(11, []), 0x80000001, "extended headers");
    assert.equal(await ask(3, [1]), 0x80000003, "LIST with data");
    assert.equal(await ask(8, [1]), 0x80000003, "STRUCTURED_REPLY with data");
    const meta = [
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      15,
      ...new TextEncoder().encode("base:allocation"),
    ];
    assert.equal(await ask(10, meta), 0x80000003, "SET_META_CONTEXT before STRUCTURED_REPLY");
    assert.equal(await ask(9, meta.slice(0, 10)), 0x80000003, "truncated query");
    await c.option(9, new Uint8Array(meta));
    assert.equal((await c.reply()).type, 4);
    assert.equal((await c.reply()).type, 1);
    await c.option(3);
    const srv = await c.reply();
    assert.equal(srv.type, 2);
    assert.equal(new TextDecoder().decode(srv.data.subarray(4)), "drbd3");
    assert.equal((await c.reply()).type, 1);
    const flags = await c.go("drbd3");
    assert.equal(flags & 1, 1);
    assert.equal(flags & 2, 0);
    await stillWorks(c, 1);
  } finally {
    c.close();
    await ex.close();
  }
});

Deno.test("bad requests in transmission: EINVAL and the connection stays, bad magic closes", async () => {
  const ex = await startExport({ size: 1 << 20 });
  const c = await ready(ex.socket);
  try {
    await c.request(99, 7, 0, 512);
    assert.deepEqual(await c.simple(), { error: 22, cookie: 7 });
    await c.request(0, 8, 0, 512, 0x40);
    assert.deepEqual(await c.simple(), { error: 22, cookie: 8 });
    await c.request(7, 9, 0, 512);
    assert.deepEqual(await c.simple(), { error: 22, cookie: 9 }, "BLOCK_STATUS without context");
    await c.request(0, 10, 0, 512, 4);
    assert.deepEqual(await c.simple(), { error: 22, cookie: 10 }, "DF without structured replies");
    await c.request(1, 11, 0, 40 << 20);
    await c.write(new Uint8Array(40 << 20));
    assert.deepEqual(await c.simple(), { error: 22, cookie: 11 }, "oversized WRITE");
    await c.request(1, 12, (1 << 20) - 2, 4);
    await c.write(new Uint8Array(4));
    assert.deepEqual(await c.simple(), { error: 28, cookie: 12 }, "WRITE past the end");
    await c.request(0, 13, 2 ** 53, 4);
    assert.deepEqual(await c.simple(), { error: 22, cookie: 13 }, "READ at 2^53");
    await stillWorks(c, 20);
    const b = new Uint8Array(28);
    new DataView(b.buffer).setUint32(0, 0x12345678);
    await c.write(b);
    assert.ok(await c.closedByServer());
  } finally {
    c.close();
    await ex.close();
  }
});

Deno.test("DISC answers the requests sent before it, then closes", async () => {
  const ex = await startExport({ size: 1 << 20 });
  const c = await ready(ex.socket);
  try {
    for (let i = 0; i < 16; i++) await c.request(0, i, i * 65536, 65536);
    await c.request(2, 99, 0, 0);
    const seen = new Set<number>();
    for (let i = 0; i < 16; i++) {
      const r = await c.simple();
      assert.equal(r.error, 0);
      seen.add(r.cookie);
      assert.ok(await c.read(65536));
    }
    assert.equal(seen.size, 16);
    assert.ok(await c.closedByServer());
  } finally {
    c.close();
    await ex.close();
  }
});

Deno.test("TCP clients are served, and a silent client is dropped after the handshake timeout", async () => {
  const ex = await startExport({ size: 1 << 20, tcp: true, server: { handshakeTimeoutMs: 200 } });
  try {
    const port = (ex.server.addrs.find((a) => a.transport === "tcp") as Deno.NetAddr).port;
    const c = await Raw.tcp(port);
    await c.greet();
    await c.go();
    await stillWorks(c, 1);
    c.close();
    const silent = await Raw.unix(ex.socket);
    assert.ok(await silent.closedByServer());
    assert.equal(Deno.statSync(ex.socket).mode! & 0o777, 0o600);
  } finally {
    await ex.close();
  }
});

Deno.test("a client that never reads its replies is dropped after the reply timeout", async () => {
  const ex = await startExport({ size: 64 << 20, server: { replyTimeoutMs: 300 } });
  const c = await ready(ex.socket);
  const good = await ready(ex.socket);
  try {
    // 64 MiB of replies cannot fit in the socket buffers: the server's writes stall.
    for (let i = 0; i < 32; i++) await c.request(0, i, i << 21, 2 << 20);
    const t0 = performance.now();
    for (;;) {
      if (ex.server.connections === 1) break;
      assert.ok(performance.now() - t0 < 5000, "stalled client still connected");
      await new Promise((r) => setTimeout(r, 50));
    }
    await stillWorks(good, 1);
    assert.ok(ex.log.some((m) => m.includes("read no reply")));
  } finally {
    c.close();
    good.close();
    await ex.close();
  }
});

Deno.test("connections beyond the limit are closed, and a non-socket file is never replaced", async () => {
  const ex = await startExport({ size: 1 << 20, server: { maxConnections: 1 } });
  const first = await ready(ex.socket);
  try {
    const second = await Raw.unix(ex.socket);
    assert.ok(await second.closedByServer());
    await stillWorks(first, 1);
    const plain = `${ex.dir}/plain`;
    await Deno.writeTextFile(plain, "keep me");
    assert.throws(
      () => NbdServer.listen({ device: ex.device, path: plain }),
      Deno.errors.AddrInUse,
    );
    assert.equal(await Deno.readTextFile(plain), "keep me");
  } finally {
    first.close();
    await ex.close();
  }
});

Deno.test("slow requests do not hold up fast ones: replies come back out of order, errors reach the client", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-nbd-ooo-" });
  let releaseSlow: () => void = () => {};
  const slow = new Promise<void>((r) => releaseSlow = r);
  const device: BlockDevice = {
    size: 1 << 20,
    blockSize: { minimum: 512, preferred: 4096, maximum: 1 << 20 },
    readOnly: false,
    canTrim: false,
    canZero: false,
    canFastZero: false,
    canCache: false,
    canMultiConn: false,
    writable: () => true,
    pread: async (buf, offset) => {
      if (offset === 0) await slow;
      if (offset === 8192) throw new BlockDeviceError(Errno.EIO, "medium error");
      buf.fill(offset >> 12);
    },
    pwrite: () => Promise.reject(Object.assign(new Error("quota"), { code: "EDQUOT" })),
    flush: () => {},
    trim: () => {},
    zero: () => {},
  };
  const server = NbdServer.listen({ device, path: `${dir}/s.sock` });
  const c = await ready(`${dir}/s.sock`);
  try {
    await c.request(0, 1, 0, 4096);
    await c.request(0, 2, 4096, 4096);
    assert.deepEqual(await c.simple(), { error: 0, cookie: 2 });
    assert.deepEqual(await c.read(4096), new Uint8Array(4096).fill(1));
    await c.request(0, 3, 8192, 512);
    assert.deepEqual(await c.simple(), { error: 5, cookie: 3 });
    await c.request(1, 4, 0, 512);
    await c.write(new Uint8Array(512));
    assert.deepEqual(await c.simple(), { error: 28, cookie: 4 });
    releaseSlow();
    assert.deepEqual(await c.simple(), { error: 0, cookie: 1 });
    assert.deepEqual(await c.read(4096), new Uint8Array(4096));
  } finally {
    c.close();
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
