/**
 * The raw-copy anchor of the replication bench: the least work that moves a disk's bytes from
 * one host to another. The sender reads a file in 1 MiB pieces and writes them to one TCP
 * connection; the receiver writes what arrives into a file and ends with one fdatasync, as a
 * finished resync ends with its metadata (and so the file) made durable. Both use the same
 * runtime and the same synchronous positional file I/O as the daemon, so the gap between this
 * and a full sync is our protocol and engine, not Deno, the link or the file system.
 *
 *     deno run -A bench/raw_copy.ts recv --port PORT --file FILE --bytes N
 *     deno run -A bench/raw_copy.ts send --host HOST --port PORT --file FILE --bytes N
 *
 * Without `--file` both ends stay in memory (zeros sent, bytes discarded, no fdatasync): the
 * link's own ceiling for a stream of 1 MiB writes. `pong`/`ping` measure the other ceiling, a
 * 4 KiB request answered by a 16-byte reply over the link, one at a time (what a protocol C
 * write adds to a local one at queue depth 1, apart from the peer's disk write):
 *
 *     deno run -A bench/raw_copy.ts pong --port PORT
 *     deno run -A bench/raw_copy.ts ping --host HOST --port PORT --count N
 *
 * The receiver (and pong) prints "listening" once it accepts; the receiver prints "done" after
 * the fdatasync, with the milliseconds from accepting to there and the CPU milliseconds it spent
 * in that time; the sender prints "sent" and its CPU milliseconds from connecting to the end;
 * ping prints the mean round trip in microseconds.
 *
 * @module
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";
import { cpuMs } from "./cpu.ts";

const CHUNK = 1 << 20;

/**
 * Accepts one connection on `port` and writes `bytes` from it into `file` (then fdatasync), or
 * discards them without a file; resolves to the milliseconds from accepting to the end.
 */
export async function receive(
  port: number,
  file: string | undefined,
  bytes: number,
): Promise<{ ms: number; cpuMs: number }> {
  const listener = Deno.listen({ hostname: "0.0.0.0", port });
  console.log("listening");
  const conn = await listener.accept();
  const t0 = performance.now();
  const cpu0 = cpuMs(Deno.pid) ?? NaN;
  listener.close();
  const fd = file === undefined ? -1 : fs.openSync(file, "w");
  try {
    const buf = new Uint8Array(CHUNK);
    let done = 0;
    while (done < bytes) {
      const n = await conn.read(buf.subarray(0, Math.min(CHUNK, bytes - done)));
      if (n === null) throw new Error(`the sender stopped after ${done} of ${bytes} bytes`);
      let w = fd < 0 ? n : 0;
      while (w < n) w += fs.writeSync(fd, buf, w, n - w, done + w);
      done += n;
    }
    if (fd >= 0) fs.fdatasyncSync(fd);
    return { ms: performance.now() - t0, cpuMs: (cpuMs(Deno.pid) ?? NaN) - cpu0 };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    conn.close();
  }
}

/**
 * Sends the first `bytes` of `file` (or zeros, without a file) to `host:port`; resolves to the
 * CPU milliseconds this process spent from connecting to the end.
 */
export async function send(
  host: string,
  port: number,
  file: string | undefined,
  bytes: number,
): Promise<number> {
  const conn = await Deno.connect({ hostname: host, port });
  const cpu0 = cpuMs(Deno.pid) ?? NaN;
  const fd = file === undefined ? -1 : fs.openSync(file, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    for (let off = 0; off < bytes; off += CHUNK) {
      const len = Math.min(CHUNK, bytes - off);
      let r = fd < 0 ? len : 0;
      while (r < len) r += fs.readSync(fd, buf, r, len - r, off + r);
      let w = 0;
      while (w < len) w += await conn.write(buf.subarray(w, len));
    }
    return (cpuMs(Deno.pid) ?? NaN) - cpu0;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    conn.close();
  }
}

const PING = 4096, PONG = 16;

async function readFull(conn: Deno.Conn, buf: Uint8Array): Promise<boolean> {
  let got = 0;
  while (got < buf.length) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) return false;
    got += n;
  }
  return true;
}

/** Answers every 4 KiB that arrives on one connection with 16 bytes, until it closes. */
export async function pong(port: number): Promise<void> {
  const listener = Deno.listen({ hostname: "0.0.0.0", port });
  console.log("listening");
  const conn = await listener.accept();
  listener.close();
  conn.setNoDelay(true);
  try {
    const req = new Uint8Array(PING), reply = new Uint8Array(PONG);
    while (await readFull(conn, req)) await conn.write(reply);
  } finally {
    conn.close();
  }
}

/** Sends `count` 4 KiB requests one at a time; the mean round trip in microseconds. */
export async function ping(host: string, port: number, count: number): Promise<number> {
  const conn = await Deno.connect({ hostname: host, port });
  conn.setNoDelay(true);
  try {
    const req = new Uint8Array(PING), reply = new Uint8Array(PONG);
    // the first requests warm up both ends and are not counted
    const warm = Math.min(100, count);
    let t0 = 0;
    for (let i = 0; i < count + warm; i++) {
      if (i === warm) t0 = performance.now();
      let w = 0;
      while (w < PING) w += await conn.write(req.subarray(w));
      if (!(await readFull(conn, reply))) throw new Error("pong closed the connection");
    }
    return (performance.now() - t0) * 1000 / count;
  } finally {
    conn.close();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      file: { type: "string" },
      bytes: { type: "string" },
      count: { type: "string", default: "2000" },
    },
  });
  const port = Number(values.port), bytes = Number(values.bytes), host = values.host;
  const mode = positionals[0];
  if (!(port > 0)) {
    console.error("usage: raw_copy.ts recv|send|pong|ping --port PORT [...] (see its header)");
    Deno.exit(2);
  }
  if (mode === "recv" && bytes > 0) {
    const { ms, cpuMs } = await receive(port, values.file, bytes);
    console.log(`done ${ms.toFixed(1)} ${cpuMs.toFixed(0)}`);
  } else if (mode === "send" && host && bytes > 0) {
    console.log(`sent ${(await send(host, port, values.file, bytes)).toFixed(0)}`);
  } else if (mode === "pong") {
    await pong(port);
  } else if (mode === "ping" && host) {
    console.log((await ping(host, port, Number(values.count))).toFixed(1));
  } else {
    console.error(`raw_copy.ts: ${mode}: missing arguments (see its header)`);
    Deno.exit(2);
  }
}

if (import.meta.main) await main();
