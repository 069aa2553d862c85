/**
 * An application writing to a udrbd device through NBD, with a log of what it was told: an nbdsh
 * (libnbd) client that writes 4 KiB blocks whose content names the write (a sequence number) and
 * the block, and prints a line for every write the server acknowledged. The test steers it over
 * stdin — a burst of synchronous writes, writes left in flight (aio), an endless stream — so a
 * fault can be injected at a known point, and afterwards every block read back from either node
 * tells which write put it there.
 *
 * @module
 */
import assert from "node:assert/strict";
import { nbdUri } from "./helpers.ts";

/** Bytes per block the writer writes. */
export const BLOCK = 4096;

const PATH = "/usr/bin:/bin:/usr/sbin:/sbin:" + (Deno.env.get("PATH") ?? "");

/** A write the NBD server acknowledged: its sequence number (from 1) and its block. */
export interface Ack {
  seq: number;
  block: number;
}

// Block content: the pair (seq, block) as two little-endian u32, repeated over 4 KiB. Commands
// on stdin, one per line: `write FIRST COUNT` (synchronous, one after another), `aio FIRST COUNT`
// (issued, not waited for), `wait` (until every aio write is done), `flush`, `stream FIRST COUNT` (blocks
// FIRST.. round and round until the next command), `stop` (ends a stream). Each command answers
// with a `done` line; acknowledged writes print `ack SEQ BLOCK`.
const SCRIPT = `
import os, sys, select
h.connect_uri(os.environ["NBD_URI"])
seq = 0
def out(*a):
    print(*a, flush=True)
def data(s, b):
    return (s.to_bytes(4, "little") + b.to_bytes(4, "little")) * ${BLOCK / 8}
def write(b):
    global seq
    seq += 1
    h.pwrite(data(seq, b), b * ${BLOCK})
    out("ack", seq, b)
def aio(b):
    global seq
    seq += 1
    s = seq
    def done(err, s=s, b=b):
        if err.value == 0:
            out("ack", s, b)
        return 1
    h.aio_pwrite(data(s, b), b * ${BLOCK}, completion=done)
stream = None
while True:
    if stream is not None and not select.select([sys.stdin], [], [], 0)[0]:
        write(stream[0] + stream[2] % stream[1])
        stream[2] += 1
        continue
    line = sys.stdin.readline()
    if not line:
        break
    cmd = line.split()
    if cmd[0] == "write":
        for b in range(int(cmd[1]), int(cmd[1]) + int(cmd[2])):
            write(b)
    elif cmd[0] == "aio":
        for b in range(int(cmd[1]), int(cmd[1]) + int(cmd[2])):
            aio(b)
    elif cmd[0] == "wait":
        while h.aio_in_flight() > 0:
            h.poll(-1)
    elif cmd[0] == "flush":
        h.flush()
    elif cmd[0] == "stream":
        stream = [int(cmd[1]), int(cmd[2]), 0]
    elif cmd[0] == "stop":
        stream = None
    out("done", cmd[0])
`;

/** Starts nbdsh running `script` against the export on the unix socket `socket`, all pipes open. */
function spawnNbdsh(script: string, socket: string): Deno.ChildProcess {
  return new Deno.Command("nbdsh", {
    args: ["-c", script],
    env: { PATH, LC_ALL: "C", NBD_URI: nbdUri(socket) },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** A running writer (see the module text); {@link BlockWriter.close} ends it. */
export class BlockWriter {
  /** Every acknowledged write so far, in the order the client saw the acks. */
  readonly acks: Ack[] = [];
  #child: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #done: string[] = [];
  #stderr: Promise<string>;
  #reading: Promise<void>;
  #ended = false;
  /** Called after each chunk of output (the reader can starve timers, so waits are woken here). */
  #wake: (() => void)[] = [];

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#stderr = new Response(child.stderr).text();
    this.#reading = this.#read();
  }

  /** Starts nbdsh connected to the NBD export on the unix socket `socket`. */
  static start(socket: string): BlockWriter {
    return new BlockWriter(spawnNbdsh(SCRIPT, socket));
  }

  /** Whether the client has exited (e.g. its server died under it). */
  get ended(): boolean {
    return this.#ended;
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        const [what, a, b] = line.split(" ");
        if (what === "ack") this.acks.push({ seq: Number(a), block: Number(b) });
        else if (what === "done") this.#done.push(a);
      }
      this.#notify();
    }
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    for (const wake of this.#wake.splice(0)) wake();
  }

  /** Waits until `cond()` holds after some output; fails after `timeoutMs` (a hung writer). */
  async #until(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
    });
    try {
      while (!cond()) {
        await Promise.race([new Promise<void>((r) => this.#wake.push(r)), timeout]);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends one command line and waits for its `done` (a hung writer fails the test). */
  async #command(line: string, timeoutMs = 30_000): Promise<void> {
    const before = this.#done.length;
    await this.#stdin.write(new TextEncoder().encode(line + "\n"));
    await this.#until(
      () => this.#done.length > before || this.#ended,
      `the writer to finish "${line}"`,
      timeoutMs,
    );
    if (this.#done.length === before) {
      throw new Error(`the writer died during "${line}": ${await this.#stderr}`);
    }
  }

  /** Writes blocks first..first+count-1 one after another; resolves when all are acked. */
  write(first: number, count: number): Promise<void> {
    return this.#command(`write ${first} ${count}`);
  }

  /** Issues writes of blocks first..first+count-1 all at once, without waiting for them. */
  aio(first: number, count: number): Promise<void> {
    return this.#command(`aio ${first} ${count}`);
  }

  /** Waits until every write issued by {@link aio} is acknowledged. */
  wait(): Promise<void> {
    return this.#command("wait");
  }

  /** Flushes the device (NBD FLUSH); resolves when the server has answered. */
  flush(): Promise<void> {
    return this.#command("flush");
  }

  /** Writes blocks first..first+count-1 round and round until {@link stopStream}. */
  async stream(first: number, count: number): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(`stream ${first} ${count}\n`));
  }

  /** Ends a stream; resolves when its last write is acked. */
  stopStream(): Promise<void> {
    return this.#command("stop");
  }

  /** Resolves once at least `n` writes are acknowledged. */
  async acked(n: number, timeoutMs = 30_000): Promise<void> {
    await this.#until(
      () => this.acks.length >= n || this.#ended,
      `${n} acknowledged writes`,
      timeoutMs,
    );
    if (this.acks.length < n) throw new Error(`the writer ended early: ${await this.#stderr}`);
  }

  /** Ends the client (closing stdin) and waits for it; resolves to its exit code. */
  async close(): Promise<number> {
    await this.#stdin.close().catch(() => {});
    const status = await this.#child.status;
    await this.#reading;
    await this.#stderr;
    return status.code;
  }

  /** Kills the client (if it still runs) and waits for it. */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.close();
  }
}

/**
 * Reads `blocks` through the NBD export on `socket` and tells, for each, which write is in it:
 * its sequence number, 0 for a block that is all zeroes (never written), -1 for anything else.
 */
export async function readBlocks(socket: string, blocks: number[]): Promise<Map<number, number>> {
  const script = `
import os, sys
h.connect_uri(os.environ["NBD_URI"])
zero = bytes(${BLOCK})
for b in map(int, sys.stdin.read().split()):
    d = h.pread(${BLOCK}, b * ${BLOCK})
    s = int.from_bytes(d[:4], "little")
    if d == zero:
        print(b, 0)
    elif d == (d[:4] + b.to_bytes(4, "little")) * ${BLOCK / 8}:
        print(b, s)
    else:
        print(b, -1)
`;
  const child = spawnNbdsh(script, socket);
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(blocks.join("\n")));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  assert.equal(out.code, 0, dec.decode(out.stderr));
  const found = new Map<number, number>();
  for (const line of dec.decode(out.stdout).trim().split("\n")) {
    const [b, s] = line.split(" ").map(Number);
    found.set(b, s);
  }
  assert.equal(found.size, new Set(blocks).size);
  return found;
}
