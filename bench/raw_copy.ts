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
 * The receiver prints "listening" once it accepts, and "done" after the fdatasync.
 *
 * @module
 */
import * as fs from "node:fs";
import { parseArgs } from "node:util";

const CHUNK = 1 << 20;

/** Accepts one connection on `port` and writes `bytes` from it into `file`, then fdatasync. */
export async function receive(port: number, file: string, bytes: number): Promise<void> {
  const listener = Deno.listen({ hostname: "0.0.0.0", port });
  console.log("listening");
  const conn = await listener.accept();
  listener.close();
  const fd = fs.openSync(file, "w");
  try {
    const buf = new Uint8Array(CHUNK);
    let done = 0;
    while (done < bytes) {
      const n = await conn.read(buf.subarray(0, Math.min(CHUNK, bytes - done)));
      if (n === null) throw new Error(`the sender stopped after ${done} of ${bytes} bytes`);
      let w = 0;
      while (w < n) w += fs.writeSync(fd, buf, w, n - w, done + w);
      done += n;
    }
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
    conn.close();
  }
}

/** Sends the first `bytes` of `file` to `host:port`. */
export async function send(host: string, port: number, file: string, bytes: number): Promise<void> {
  const conn = await Deno.connect({ hostname: host, port });
  const fd = fs.openSync(file, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    for (let off = 0; off < bytes; off += CHUNK) {
      const len = Math.min(CHUNK, bytes - off);
      let r = 0;
      while (r < len) r += fs.readSync(fd, buf, r, len - r, off + r);
      let w = 0;
      while (w < len) w += await conn.write(buf.subarray(w, len));
    }
  } finally {
    fs.closeSync(fd);
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
    },
  });
  const port = Number(values.port), bytes = Number(values.bytes), file = values.file;
  if (!file || !(port > 0) || !(bytes > 0)) {
    console.error("usage: raw_copy.ts recv|send [--host HOST] --port PORT --file FILE --bytes N");
    Deno.exit(2);
  }
  if (positionals[0] === "recv") {
    await receive(port, file, bytes);
    console.log("done");
  } else if (positionals[0] === "send" && values.host) {
    await send(values.host, port, file, bytes);
  } else {
    console.error("raw_copy.ts: say recv, or send with --host");
    Deno.exit(2);
  }
}

if (import.meta.main) await main();
