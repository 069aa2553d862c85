/**
 * The control server and client over a real Unix socket, with the test handler standing in for
 * the engine: overlapping calls, streamed events, cancellation, broken clients, socket files.
 */
import assert from "node:assert/strict";
import { connectDaemon, ControlClient } from "../../lib/control/client.ts";
import { ControlError, type HelloResult } from "../../lib/control/protocol.ts";
import { ControlServer, type ControlServerOptions } from "../../lib/control/server.ts";
import { Logger } from "../../lib/util/log.ts";
import { VERSION } from "../../lib/version.ts";
import { exists, rejects, tempRunDir, TestHandler, until } from "./helpers.ts";

interface Setup {
  dir: string;
  path: string;
  handler: TestHandler;
  server: ControlServer;
  logged: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function setup(options: ControlServerOptions = {}): Promise<Setup> {
  const dir = tempRunDir();
  const path = `${dir}/control.sock`;
  const logged: string[] = [];
  const log = new Logger({ level: "debug", write: (l) => logged.push(l) });
  const handler = new TestHandler();
  const server = await ControlServer.listen(path, handler, { log, ...options });
  return {
    dir,
    path,
    handler,
    server,
    logged,
    async [Symbol.asyncDispose]() {
      await server.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A client speaking raw bytes, to send what a well-behaved client never would. */
class Raw {
  #buf = "";
  #eof = false;
  private constructor(readonly conn: Deno.Conn) {}

  static async open(path: string): Promise<Raw> {
    return new Raw(await Deno.connect({ transport: "unix", path }));
  }

  async send(text: string): Promise<void> {
    const bytes = enc.encode(text);
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** The next line from the server, parsed; null at end of stream. */
  async line(): Promise<Record<string, unknown> | null> {
    for (;;) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return JSON.parse(line);
      }
      if (this.#eof) return null;
      const chunk = new Uint8Array(65536);
      let n: number | null;
      try {
        n = await this.conn.read(chunk);
      } catch {
        n = null; // reset by the server
      }
      if (n === null) this.#eof = true;
      else this.#buf += dec.decode(chunk.subarray(0, n));
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed
    }
  }
}

Deno.test("drbdsetup gets the daemon's version and pid from hello", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  const hello = await client.call<HelloResult>("hello");
  await client.close();
  assert.deepEqual(hello, { versions: [1], version: VERSION, pid: Deno.pid });
});

Deno.test("a quick command is answered while a slow one waits on the same connection", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  const slow = client.call("gate", { key: "a" });
  assert.deepEqual(await client.call("echo", { x: 1 }), { x: 1 });
  assert.deepEqual(await client.call("release", { key: "a" }), { found: true });
  assert.deepEqual(await slow, { released: "a" });
  await client.close();
});

Deno.test("one command's wait does not block another drbdsetup's connection", async () => {
  await using s = await setup();
  const one = await ControlClient.connect(s.path);
  const two = await ControlClient.connect(s.path);
  const waiting = Promise.all([one.call("gate", { key: "1" }), two.call("gate", { key: "2" })]);
  await until(() => s.handler.seen.filter((o) => o === "gate").length === 2, "both gates");
  await two.call("release", { key: "1" });
  await one.call("release", { key: "2" });
  assert.deepEqual(await waiting, [{ released: "1" }, { released: "2" }]);
  await one.close();
  await two.close();
});

Deno.test("events2-style calls deliver every event, in order, before the final result", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  const events: unknown[] = [];
  const result = await client.call("stream", { count: 500, payload: "x".repeat(100) }, {
    onEvent: (e) => events.push(e),
  });
  await client.close();
  assert.deepEqual(result, { ended: "done", count: 500 });
  assert.deepEqual(events.length, 500);
  events.forEach((e, i) => assert.deepEqual(e, { n: i, payload: "x".repeat(100) }));
});

Deno.test("cancelling a streaming call stops it in the daemon; the connection stays usable", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  const ctl = new AbortController();
  const events: unknown[] = [];
  const call = client.call("stream", { count: 1, follow: true, tag: "ev" }, {
    signal: ctl.signal,
    onEvent: (e) => {
      events.push(e);
      ctl.abort();
    },
  });
  await rejects(() => call, DOMException);
  await s.handler.whenAborted("ev");
  assert.deepEqual(events.length, 1);
  assert.deepEqual(await client.call("echo", { still: "here" }), { still: "here" });
  await client.close();
});

Deno.test("the cancel op answers whether there was such a call", async () => {
  await using s = await setup();
  const raw = await Raw.open(s.path);
  await raw.send(`{"v":1,"id":1,"op":"gate","args":{"key":"k"}}\n`);
  await until(() => s.handler.seen.includes("gate"), "the gate call");
  await raw.send(`{"v":1,"id":2,"op":"cancel","args":{"id":1}}\n`);
  await raw.send(`{"v":1,"id":3,"op":"cancel","args":{"id":99}}\n`);
  const lines = [await raw.line(), await raw.line(), await raw.line()];
  raw.close();
  const byId = new Map(lines.map((l) => [l!.id, l]));
  assert.deepEqual(byId.get(2), { v: 1, id: 2, ok: true, result: { cancelled: true } });
  assert.deepEqual(byId.get(3), { v: 1, id: 3, ok: true, result: { cancelled: false } });
  assert.deepEqual((byId.get(1) as { ok: boolean }).ok, false);
});

Deno.test("killing drbdsetup (closing its socket) cancels its call in the daemon", async () => {
  await using s = await setup();
  const raw = await Raw.open(s.path);
  await raw.send(`{"v":1,"id":7,"op":"gate","args":{"key":"gone"}}\n`);
  await until(() => s.handler.seen.includes("gate"), "the gate call");
  raw.close();
  await s.handler.whenAborted("gone");
  await until(() => s.server.connections === 0, "the connection to end");
});

Deno.test("malformed JSON gets an error and closes only that connection", async () => {
  await using s = await setup();
  const good = await ControlClient.connect(s.path);
  const waiting = good.call("gate", { key: "g" });
  await until(() => s.handler.seen.includes("gate"), "the gate call");
  const bad = await Raw.open(s.path);
  await bad.send(`{"v":1,"id":1,"op":"echo"\n{"v":1,"id":2,"op":"echo"}\n`);
  const reply = await bad.line();
  assert.deepEqual(reply?.id, 0);
  assert.deepEqual(reply?.ok, false);
  assert.match((reply?.error as { message: string }).message, /malformed control message/);
  assert.deepEqual(await bad.line(), null, "the broken connection is closed");
  bad.close();
  assert.deepEqual(await good.call("echo", { ok: 1 }), { ok: 1 });
  await good.call("release", { key: "g" });
  assert.deepEqual(await waiting, { released: "g" });
  await good.close();
});

Deno.test("a line over 1 MiB closes only that connection", async () => {
  await using s = await setup();
  const good = await ControlClient.connect(s.path);
  const bad = await Raw.open(s.path);
  // the server may close while this is still being written
  const sending = bad.send(`{"v":1,"id":1,"op":"echo","args":{"a":"${"y".repeat(1_200_000)}`)
    .catch(() => {});
  const replies: unknown[] = [];
  for (let l = await bad.line(); l !== null; l = await bad.line()) replies.push(l);
  await sending;
  bad.close();
  for (const r of replies) assert.deepEqual((r as { ok: boolean }).ok, false);
  assert.ok(s.logged.some((l) => l.includes("request line over 1048576 bytes")));
  assert.deepEqual(await good.call("echo", { ok: 2 }), { ok: 2 });
  await good.close();
});

Deno.test("an unknown protocol version is refused and the connection stays usable", async () => {
  await using s = await setup();
  const raw = await Raw.open(s.path);
  await raw.send(`{"v":2,"id":1,"op":"hello"}\n`);
  assert.deepEqual(await raw.line(), {
    v: 1,
    id: 1,
    ok: false,
    error: {
      exitCode: 20,
      message: "unsupported control protocol version 2 (this daemon speaks 1)",
    },
  });
  await raw.send(`{"v":1,"id":2,"op":"echo","args":{"a":1}}\n`);
  assert.deepEqual(await raw.line(), { v: 1, id: 2, ok: true, result: { a: 1 } });
  raw.close();
});

Deno.test("a request without an op is answered with an error for its id, then closed", async () => {
  await using s = await setup();
  const raw = await Raw.open(s.path);
  await raw.send(`{"v":1,"id":5}\n{"v":1,"id":6,"op":"echo"}\n`);
  const reply = await raw.line();
  assert.deepEqual(reply?.id, 5);
  assert.deepEqual(
    (reply?.error as { message: string }).message,
    "malformed control message (no op)",
  );
  assert.deepEqual(await raw.line(), null);
  raw.close();
});

Deno.test("engine errors reach drbdsetup with their exit code, message and retcode", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  const e = await rejects(
    () => client.call("fail", { exitCode: 11, message: "line one\nline two", retcode: -4 }),
    ControlError,
  );
  assert.deepEqual([e.exitCode, e.message, e.retcode], [11, "line one\nline two", -4]);
  const crash = await rejects(() => client.call("crash", { message: "kaputt" }), ControlError);
  assert.deepEqual([crash.exitCode, crash.message, crash.retcode], [20, "kaputt", undefined]);
  assert.ok(s.logged.some((l) => /error crash failed: TypeError: kaputt/.test(l)), "bug is logged");
  const cycle = await rejects(() => client.call("cycle"), ControlError);
  assert.deepEqual(cycle.exitCode, 20);
  assert.deepEqual(await client.call("echo", {}), {}, "the daemon keeps serving");
  await client.close();
});

Deno.test("the control socket is created with mode 0600", async () => {
  const umask = Deno.umask();
  await using s = await setup();
  assert.equal(Deno.umask(), umask, "the process umask is restored");
  const st = Deno.statSync(s.path);
  assert.ok(st.isSocket);
  assert.deepEqual(st.mode! & 0o777, 0o600);
});

Deno.test("a socket left by a dead daemon is replaced; a live one is not", async () => {
  const dir = tempRunDir();
  const path = `${dir}/control.sock`;
  try {
    // a socket file nobody listens on any more: its process was killed
    const owner = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `await Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} }).accept();`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await until(() => exists(path), "the other process's socket");
    owner.kill("SIGKILL");
    await owner.status;
    assert.ok(exists(path));
    const first = await ControlServer.listen(path, new TestHandler());
    await rejects(
      () => ControlServer.listen(path, new TestHandler()),
      Deno.errors.AddrInUse,
    );
    const client = await ControlClient.connect(path);
    assert.deepEqual(
      await client.call("echo", { a: 1 }),
      { a: 1 },
      "the first server still serves",
    );
    await client.close();
    await first.close();
    assert.ok(!exists(path), "close removes the socket file");
    Deno.writeTextFileSync(path, "not a socket");
    await rejects(
      () => ControlServer.listen(path, new TestHandler()),
      Deno.errors.AlreadyExists,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("stopping the server ends streaming calls with their final answer", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  const events: unknown[] = [];
  const call = client.call("stream", { count: 2, follow: true }, {
    onEvent: (e) => events.push(e),
  });
  await until(() => events.length === 2, "the first events");
  s.server.stopAccepting();
  const refused = await rejects(() => client.call("echo", {}), ControlError);
  assert.deepEqual(refused.message, "the udrbd daemon is stopping");
  await s.server.close();
  assert.deepEqual(await call, { ended: "cancelled" });
  await rejects(() => client.call("echo", {}), ControlError);
  await client.close();
});

Deno.test("daemon.stop is answered even when the daemon closes its server at once", async () => {
  const ref: { server?: ControlServer } = {};
  let stops = 0;
  await using s = await setup({
    onStop: () => {
      stops++;
      ref.server!.close();
    },
  });
  ref.server = s.server;
  const client = await ControlClient.connect(s.path);
  assert.equal(await client.call("daemon.stop"), undefined);
  await until(() => client.closed, "the daemon to close the connection");
  assert.equal(stops, 1);
  await client.close();
});

Deno.test("without a stop hook, daemon.stop is refused", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  await rejects(() => client.call("daemon.stop"), ControlError, "cannot be stopped");
  await client.close();
});

Deno.test("a client that does not read its events is disconnected, not buffered for", async () => {
  await using s = await setup({ maxQueuedBytes: 64 * 1024 });
  const raw = await Raw.open(s.path);
  await raw.send(
    `{"v":1,"id":1,"op":"stream","args":{"count":1000,"payload":"${"z".repeat(1000)}"}}\n`,
  );
  let final = false;
  for (let l = await raw.line(); l !== null; l = await raw.line()) if ("ok" in l) final = true;
  raw.close();
  assert.ok(!final, "the stream was cut off");
  assert.ok(s.logged.some((l) => l.includes("not reading")));
  const client = await ControlClient.connect(s.path);
  assert.deepEqual(await client.call("echo", { b: 1 }), { b: 1 });
  await client.close();
});

Deno.test("a call in flight fails with exit code 20 when the connection is closed", async () => {
  await using s = await setup();
  const client = await ControlClient.connect(s.path);
  const call = client.call("gate", { key: "c" });
  await until(() => s.handler.seen.includes("gate"), "the gate call");
  const failed = rejects(() => call, ControlError);
  await client.close();
  assert.equal((await failed).exitCode, 20);
  await s.handler.whenAborted("c");
});

Deno.test("without start, connectDaemon says no daemon runs instead of starting one", async () => {
  const dir = tempRunDir();
  try {
    assert.deepEqual(await connectDaemon({ runDir: dir, start: false }), undefined);
    assert.ok(!exists(`${dir}/daemon.pid`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("connections and calls in flight are bounded; the bound is reported, not a hang", async () => {
  await using s = await setup({ maxConnections: 2, maxCallsPerConnection: 2 });
  const a = await ControlClient.connect(s.path);
  const b = await ControlClient.connect(s.path);
  await a.call("echo", {});
  await b.call("echo", {});
  const c = await Raw.open(s.path);
  assert.equal(await c.line(), null, "the third client is disconnected");
  c.close();
  assert.ok(s.logged.some((l) => l.includes("refusing a client, 2 connected")));
  const gates = [a.call("gate", { key: "1" }), a.call("gate", { key: "2" })];
  await rejects(() => a.call("gate", { key: "3" }), ControlError, "too many requests in flight");
  await b.call("release", { key: "1" });
  await b.call("release", { key: "2" });
  assert.deepEqual(await Promise.all(gates), [{ released: "1" }, { released: "2" }]);
  await a.close();
  await b.close();
});
