/**
 * The daemon's lifecycle with real processes: start on demand, one daemon per run directory,
 * orderly stop on signals and on request, recovery after kill -9, and `udrbd daemon --stop`.
 * The daemon here is test_daemon.ts: runDaemon with the test handler in place of the engine.
 */
import assert from "node:assert/strict";
import { connectDaemon, tryHello } from "../../lib/control/client.ts";
import { runDaemon } from "../../lib/control/daemon.ts";
import { runFiles } from "../../lib/control/paths.ts";
import { ControlError, type HelloResult } from "../../lib/control/protocol.ts";
import {
  alive,
  exists,
  rejects,
  tempRunDir,
  testDaemonCommand,
  TestHandler,
  until,
} from "./helpers.ts";

const MOD_TS = decodeURIComponent(new URL("../../mod.ts", import.meta.url).pathname);

/** Starts test_daemon.ts as a child of this process (not detached). */
function spawnDaemon(
  dir: string,
  env: Record<string, string> = {},
  stderr: "null" | "piped" = "null",
): Deno.ChildProcess {
  const [cmd, ...args] = testDaemonCommand();
  return new Deno.Command(cmd, {
    args: [...args, "--foreground"],
    env: { UDRBD_RUN_DIR: dir, ...env },
    stdin: "null",
    stdout: "null",
    stderr,
  }).spawn();
}

/** Waits until a daemon answers on the run directory; returns its hello. */
async function answering(dir: string): Promise<HelloResult> {
  let hello: HelloResult | undefined;
  await until(async () => {
    const a = await tryHello(runFiles(dir).socket);
    if (!a) return false;
    hello = a.hello;
    await a.client.close();
    return true;
  }, "the daemon to answer");
  return hello!;
}

function log(dir: string): string {
  try {
    return Deno.readTextFileSync(runFiles(dir).log);
  } catch {
    return "";
  }
}

/** Kills whatever daemon still runs on `dir` and removes the directory. */
function cleanup(dir: string, pids: number[] = []): void {
  for (const pid of pids) {
    if (alive(pid)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
  Deno.removeSync(dir, { recursive: true });
}

Deno.test("drbdsetup's first command starts the daemon on demand and it stops on request", async () => {
  const dir = tempRunDir();
  const files = runFiles(dir);
  const pids: number[] = [];
  try {
    const client = await connectDaemon({ runDir: dir, start: true, command: testDaemonCommand() });
    assert.ok(client);
    const hello = await client.call<HelloResult>("hello");
    pids.push(hello.pid);
    assert.notEqual(hello.pid, Deno.pid);
    assert.equal(Deno.readTextFileSync(files.pid).trim(), String(hello.pid));
    assert.equal(Deno.statSync(files.socket).mode! & 0o777, 0o600);
    assert.ok(Deno.statSync(files.nbd).isDirectory);
    assert.deepEqual(await client.call("echo", { up: true }), { up: true });
    await client.call("daemon.stop");
    await client.close();
    await until(() => !alive(hello.pid), "the daemon to exit");
    assert.ok(!exists(files.socket) && !exists(files.pid), "control.sock and daemon.pid removed");
    assert.match(log(dir), /stopping \(asked to stop over the control socket\)/);
    assert.match(log(dir), /test handler: shutdown done/);
  } finally {
    cleanup(dir, pids);
  }
});

Deno.test("a relative UDRBD_RUN_DIR means the same directory to the daemon it starts", async () => {
  const dir = tempRunDir();
  const parent = dir.slice(0, dir.lastIndexOf("/"));
  const name = dir.slice(dir.lastIndexOf("/") + 1);
  const client = new URL("../../lib/control/client.ts", import.meta.url).href;
  // drbdsetup run from the run directory's parent, naming it relatively
  const code = `
    import { connectDaemon } from ${JSON.stringify(client)};
    const c = await connectDaemon({ runDir: ${JSON.stringify(name)}, start: true,
      command: ${JSON.stringify(testDaemonCommand())} });
    console.log((await c.call("hello")).pid);
    await c.close();`;
  const pids: number[] = [];
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      cwd: parent,
      stdin: "null",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const pid = Number(new TextDecoder().decode(out.stdout).trim());
    pids.push(pid);
    assert.equal(Deno.readTextFileSync(runFiles(dir).pid).trim(), String(pid));
    const c = (await connectDaemon({ runDir: dir, start: false }))!;
    await c.call("daemon.stop");
    await c.close();
    await until(() => !alive(pid), "the daemon to exit");
  } finally {
    cleanup(dir, pids);
  }
});

Deno.test("two commands starting the daemon at once end up with one daemon", async () => {
  const dir = tempRunDir();
  const pids: number[] = [];
  try {
    const opts = { runDir: dir, start: true, command: testDaemonCommand() };
    const clients = await Promise.all([connectDaemon(opts), connectDaemon(opts)]);
    const hellos = await Promise.all(clients.map((c) => c!.call<HelloResult>("hello")));
    pids.push(hellos[0].pid);
    assert.equal(hellos[0].pid, hellos[1].pid);
    // both found no daemon and started one; the second saw the first and left quietly
    await until(() => log(dir).includes("already serves"), "the second daemon to give way");
    await clients[0]!.call("daemon.stop");
    for (const c of clients) await c!.close();
    await until(() => !alive(hellos[0].pid), "the daemon to exit");
  } finally {
    cleanup(dir, pids);
  }
});

Deno.test("a second daemon on the same run directory leaves the first one running", async () => {
  const dir = tempRunDir();
  const first = spawnDaemon(dir);
  try {
    const hello = await answering(dir);
    const second = spawnDaemon(dir, {}, "piped");
    const [status, stderr] = await Promise.all([
      second.status,
      new Response(second.stderr).text(),
    ]);
    assert.equal(status.code, 0);
    assert.match(stderr, new RegExp(`another udrbd daemon \\(pid ${hello.pid}\\) already serves`));
    assert.deepEqual(await answering(dir), hello, "the first daemon still serves");
    assert.equal(Deno.readTextFileSync(runFiles(dir).pid).trim(), String(hello.pid));
    first.kill("SIGTERM");
    assert.equal((await first.status).code, 0);
  } finally {
    try {
      first.kill("SIGKILL");
    } catch {
      // exited
    }
    await first.status;
    cleanup(dir);
  }
});

Deno.test("SIGTERM waits for the engine's shutdown, ends event streams, removes the files", async () => {
  const dir = tempRunDir();
  const files = runFiles(dir);
  const mark = `${dir}/shutdown.mark`;
  const child = spawnDaemon(dir, { UDRBD_TEST_SHUTDOWN_MS: "300", UDRBD_TEST_MARK: mark });
  try {
    const hello = await answering(dir);
    const client = (await connectDaemon({ runDir: dir, start: false }))!;
    const events: unknown[] = [];
    const stream = client.call("stream", { count: 1, follow: true }, {
      onEvent: (e) => events.push(e),
    });
    await until(() => events.length === 1, "the first event");
    child.kill("SIGTERM");
    assert.deepEqual(await stream, { ended: "cancelled" }, "events2 gets its final answer");
    await client.close();
    assert.equal((await child.status).code, 0);
    assert.equal(Deno.readTextFileSync(mark), `shutdown done by ${hello.pid}\n`);
    assert.ok(!exists(files.socket), "control.sock removed");
    assert.ok(!exists(files.pid), "daemon.pid removed");
    assert.match(log(dir), /stopping \(received SIGTERM\)/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    cleanup(dir);
  }
});

Deno.test("Ctrl-C (SIGINT) on a foreground daemon stops it in order", async () => {
  const dir = tempRunDir();
  const mark = `${dir}/shutdown.mark`;
  const child = spawnDaemon(dir, { UDRBD_TEST_MARK: mark });
  try {
    await answering(dir);
    child.kill("SIGINT");
    assert.equal((await child.status).code, 0);
    assert.ok(exists(mark), "shutdown ran");
    assert.ok(!exists(runFiles(dir).socket));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    cleanup(dir);
  }
});

Deno.test("after kill -9 the next daemon takes over the stale pid file and socket", async () => {
  const dir = tempRunDir();
  const files = runFiles(dir);
  let child = spawnDaemon(dir);
  try {
    const old = await answering(dir);
    child.kill("SIGKILL");
    await child.status;
    assert.ok(exists(files.socket) && exists(files.pid), "the dead daemon left its files");
    assert.equal(await connectDaemon({ runDir: dir, start: false }), undefined, "nobody answers");
    child = spawnDaemon(dir);
    const now = await answering(dir);
    assert.notEqual(now.pid, old.pid);
    assert.equal(Deno.readTextFileSync(files.pid).trim(), String(now.pid));
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
    assert.ok(!exists(files.socket) && !exists(files.pid));
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    cleanup(dir);
  }
});

Deno.test("udrbd daemon --stop stops the running daemon and waits for it to exit", async () => {
  const dir = tempRunDir();
  const child = spawnDaemon(dir, { UDRBD_TEST_SHUTDOWN_MS: "200" });
  const udrbd = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD_TS, "daemon", ...args],
      env: { UDRBD_RUN_DIR: dir },
      stdin: "null",
    }).output();
  const dec = new TextDecoder();
  try {
    const hello = await answering(dir);
    const out = await udrbd("--stop");
    assert.equal(out.code, 0, dec.decode(out.stderr));
    assert.equal(dec.decode(out.stdout), `udrbd daemon stopped (pid ${hello.pid})\n`);
    assert.ok(!alive(hello.pid), "it has exited when --stop returns");
    assert.equal((await child.status).code, 0);
    const again = await udrbd("--stop");
    assert.equal(again.code, 0);
    assert.equal(dec.decode(again.stdout), `no udrbd daemon is running (run directory ${dir})\n`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    cleanup(dir);
  }
});

Deno.test("udrbd daemon starts the node daemon in the background; --stop ends it", async () => {
  const dir = tempRunDir();
  const udrbd = (...args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD_TS, "daemon", ...args],
      env: { UDRBD_RUN_DIR: dir },
      stdin: "null",
    }).output();
  const dec = new TextDecoder();
  const pids: number[] = [];
  try {
    const started = await udrbd();
    assert.equal(started.code, 0, dec.decode(started.stderr));
    const hello = await answering(dir);
    pids.push(hello.pid);
    assert.equal(
      dec.decode(started.stdout),
      `udrbd daemon started (pid ${hello.pid}, log ${runFiles(dir).log})\n`,
    );
    const again = await udrbd();
    assert.equal(again.code, 0);
    assert.equal(
      dec.decode(again.stdout),
      `udrbd daemon already running (pid ${hello.pid}, run directory ${dir})\n`,
    );
    const stopped = await udrbd("--stop");
    assert.equal(stopped.code, 0, dec.decode(stopped.stderr));
    assert.ok(!alive(hello.pid));
    assert.ok(!exists(runFiles(dir).socket) && !exists(runFiles(dir).pid));
  } finally {
    cleanup(dir, pids);
  }
});

Deno.test("udrbd daemon explains its options and refuses unknown ones", async () => {
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD_TS, "daemon", ...args],
      stdin: "null",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  };
  const help = await run("--help");
  assert.equal(help.code, 0);
  assert.match(
    help.stdout,
    /USAGE: udrbd daemon \[--foreground\] \[--stop\] \[--log-level LEVEL\]/,
  );
  const bad = await run("--log-level", "loud");
  assert.equal(bad.code, 20);
  assert.match(bad.stderr, /unknown log level 'loud'/);
  const unknown = await run("--bogus");
  assert.equal(unknown.code, 20);
  assert.match(unknown.stderr, /unknown argument '--bogus'/);
});

Deno.test("a daemon that does not come up is reported with a pointer to its log", async () => {
  const dir = tempRunDir();
  try {
    const e = await rejects(
      () => connectDaemon({ runDir: dir, start: true, command: ["/bin/true"], timeoutMs: 300 }),
      ControlError,
    );
    assert.equal(e.exitCode, 20);
    assert.match(e.message, /did not answer within 0.3 s .*daemon\.log/);
  } finally {
    cleanup(dir);
  }
});

Deno.test("a daemon that gives up at start-up is reported at once, with its reason", async () => {
  const dir = tempRunDir();
  try {
    const e = await rejects(
      () =>
        connectDaemon({
          runDir: dir,
          start: true,
          command: [...testDaemonCommand(), "--fail-start"],
        }),
      ControlError,
    );
    assert.match(
      e.message,
      /^the udrbd daemon did not start: Error: backing device \/dev\/nowhere missing\n\(see .*daemon\.log\)$/,
    );
  } finally {
    cleanup(dir);
  }
});

Deno.test("a run directory held by a process that does not answer is not taken over", async () => {
  const dir = tempRunDir();
  const files = runFiles(dir);
  const holder = Deno.openSync(files.pid, { read: true, write: true, create: true });
  try {
    assert.ok(holder.tryLockSync(true));
    Deno.writeTextFileSync(files.pid, "4242\n");
    let created = false;
    const code = await runDaemon({
      runDir: dir,
      signals: false,
      busyTimeoutMs: 200,
      createHandler: () => {
        created = true;
        return Promise.resolve(new TestHandler());
      },
    });
    assert.equal(code, 1);
    assert.ok(!created, "no engine was started");
    assert.ok(!exists(files.socket));
    assert.match(log(dir), /is held by process 4242 .* which does not answer/);
    assert.equal(Deno.readTextFileSync(files.pid), "4242\n", "the holder's pid file is left alone");
  } finally {
    holder.close();
    cleanup(dir);
  }
});

Deno.test("a daemon whose engine fails to start exits 1 and leaves no files behind", async () => {
  const dir = tempRunDir();
  const files = runFiles(dir);
  try {
    const code = await runDaemon({
      runDir: dir,
      signals: false,
      createHandler: () => Promise.reject(new Error("metadata unreadable")),
    });
    assert.equal(code, 1);
    assert.ok(!exists(files.socket) && !exists(files.pid));
    assert.match(log(dir), /error daemon not started: Error: metadata unreadable/);
  } finally {
    cleanup(dir);
  }
});

Deno.test("a daemon run inside another program serves until its abort signal fires", async () => {
  const dir = tempRunDir();
  const files = runFiles(dir);
  try {
    const stop = new AbortController();
    const handler = new TestHandler();
    const running = runDaemon({
      runDir: dir,
      signals: false,
      signal: stop.signal,
      createHandler: () => Promise.resolve(handler),
    });
    const hello = await answering(dir);
    assert.equal(hello.pid, Deno.pid);
    assert.equal(Deno.statSync(dir).mode! & 0o777, 0o700);
    stop.abort();
    assert.equal(await running, 0);
    assert.ok(handler.shutdownDone);
    assert.ok(!exists(files.socket) && !exists(files.pid));
  } finally {
    cleanup(dir);
  }
});
