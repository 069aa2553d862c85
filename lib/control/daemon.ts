/**
 * The node daemon's lifecycle: one per run directory (held by a lock on `daemon.pid`), serving
 * the control socket until SIGTERM, SIGINT, SIGHUP or `daemon.stop`, then shutting the engine
 * down in order and removing its files.
 *
 * @module
 */
import { Logger, type LogLevel } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { tryHello } from "./client.ts";
import {
  ensureRunDir,
  NOT_STARTED,
  PUBLIC_FILE_MODE,
  runDir as defaultRunDir,
  type RunFiles,
} from "./paths.ts";
import type { ControlHandler, HelloResult } from "./protocol.ts";
import { ControlServer } from "./server.ts";

export { runDir } from "./paths.ts";
export { startDaemon } from "./spawn.ts";

/** Options of {@link runDaemon}. */
export interface RunDaemonOptions {
  /** The run directory (default: `$UDRBD_RUN_DIR` or /run/udrbd). */
  runDir?: string;
  /** Log to stderr as well as to the log file. */
  foreground?: boolean;
  /** The least important level logged (default "info"). */
  logLevel?: LogLevel;
  /** Creates the engine once the daemon holds its run directory. */
  createHandler: (log: Logger) => Promise<ControlHandler>;
  /** Stop on SIGTERM, SIGINT and SIGHUP (default true). */
  signals?: boolean;
  /** Stops the daemon like SIGTERM when it fires (for running it inside another program). */
  signal?: AbortSignal;
  /**
   * How long to wait for a daemon that holds the run directory to answer before giving up
   * with an error (default 10 000 ms; it may be still creating its engine).
   */
  busyTimeoutMs?: number;
  /** How long the control server lets cancelled calls answer at shutdown (default 5000 ms). */
  closeGraceMs?: number;
}

/** Exit code of a daemon that stopped in order, or found another one serving its directory. */
export const DAEMON_EXIT_OK = 0;
/** Exit code of a daemon that could not start or whose shutdown failed. */
export const DAEMON_EXIT_FAILED = 1;

function describe(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * Opens and locks `path` exclusively; undefined when another process holds the lock. The
 * lock is on the file now at `path`: a stopping daemon unlinks its pid file before unlocking,
 * so a lock won on an unlinked file is dropped and tried again.
 */
function lockPidFile(path: string): Deno.FsFile | undefined {
  for (let attempt = 0; attempt < 100; attempt++) {
    const f = Deno.openSync(path, {
      read: true,
      write: true,
      create: true,
      mode: PUBLIC_FILE_MODE,
    });
    let locked = false;
    try {
      locked = f.tryLockSync(true);
      if (locked) {
        const held = f.statSync();
        const now = Deno.statSync(path);
        if (held.ino === now.ino && held.dev === now.dev) return f;
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        f.close();
        throw e;
      }
    }
    f.close();
    if (!locked) return undefined;
  }
  throw new Error(`cannot lock ${path}: it keeps being replaced`);
}

/**
 * Makes a file readable by everyone whatever the umask, as the kernel log and a pid file are;
 * a file someone else owns keeps its mode (only its owner may change it).
 */
function publish(path: string): void {
  try {
    Deno.chmodSync(path, PUBLIC_FILE_MODE);
  } catch (e) {
    if (!(e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound)) throw e;
  }
}

function readPid(path: string): string {
  try {
    return Deno.readTextFileSync(path).trim() || "?";
  } catch {
    return "?";
  }
}

/**
 * Waits for the run directory's lock, or for the daemon holding it to answer. Returns the
 * locked pid file, or the other daemon's hello.
 */
async function acquire(
  files: RunFiles,
  timeoutMs: number,
): Promise<{ lock: Deno.FsFile } | { other: HelloResult } | { busy: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lock = lockPidFile(files.pid);
    if (lock) return { lock };
    const answer = await tryHello(files.socket);
    if (answer) {
      await answer.client.close();
      return { other: answer.hello };
    }
    if (Date.now() >= deadline) return { busy: readPid(files.pid) };
    await new Promise((r) => setTimeout(r, 100));
  }
}

function release(files: RunFiles, lock: Deno.FsFile): void {
  try {
    Deno.removeSync(files.pid);
  } catch {
    // gone already
  }
  lock.close(); // closing drops the lock
}

/**
 * Runs the daemon until it is told to stop; resolves to the process's exit code. It locks
 * `daemon.pid` so that two daemons never share a run directory (a second one ends with exit
 * code 0 when the first answers, as when two commands start it at once), writes its pid,
 * creates the engine with `createHandler`, listens on `control.sock`, and on SIGTERM, SIGINT,
 * SIGHUP or `daemon.stop` stops accepting, lets `handler.shutdown()` finish, and removes
 * `control.sock` and `daemon.pid`.
 */
export async function runDaemon(options: RunDaemonOptions): Promise<number> {
  const files = ensureRunDir(options.runDir ?? defaultRunDir());
  const log = Logger.open(files.log, {
    level: options.logLevel ?? "info",
    stderr: options.foreground ?? false,
  });
  publish(files.log);
  const state = { listening: false };
  try {
    return await serve(files, log, options, state);
  } catch (e) {
    log.error(`${state.listening ? "daemon failed: " : NOT_STARTED}${describe(e)}`);
    return DAEMON_EXIT_FAILED;
  } finally {
    log.close();
  }
}

async function serve(
  files: RunFiles,
  log: Logger,
  options: RunDaemonOptions,
  state: { listening: boolean },
): Promise<number> {
  const got = await acquire(files, options.busyTimeoutMs ?? 10_000);
  if ("other" in got) {
    log.info(`another udrbd daemon (pid ${got.other.pid}) already serves ${files.dir}`);
    return DAEMON_EXIT_OK;
  }
  if ("busy" in got) {
    log.error(
      `${NOT_STARTED}${files.dir} is held by process ${got.busy} (${files.pid} is locked), ` +
        `which does not answer on ${files.socket}; not starting a second daemon`,
    );
    return DAEMON_EXIT_FAILED;
  }
  const lock = got.lock;
  publish(files.pid);
  lock.truncateSync(0);
  lock.writeSync(new TextEncoder().encode(`${Deno.pid}\n`));

  let stopRequested!: (why: string) => void;
  const stop = new Promise<string>((resolve) => stopRequested = resolve);
  let stopping = false;
  const onSignal = (name: string) => () => {
    if (stopping) log.info(`${name}: already stopping`);
    else stopRequested(`received ${name}`);
  };
  const signalListeners: [Deno.Signal, () => void][] = options.signals === false
    ? []
    : (["SIGTERM", "SIGINT", "SIGHUP"] as const).map((s) => [s, onSignal(s)]);
  const onAbort = () => stopRequested("asked to stop");
  // a bug in one request must not take every resource of the host down with it
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    log.error(`unhandled rejection: ${describe(e.reason)}`);
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    log.error(`uncaught exception: ${describe(e.error ?? e.message)}`);
  };
  for (const [s, f] of signalListeners) Deno.addSignalListener(s, f);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);

  let server: ControlServer | undefined;
  let handler: ControlHandler | undefined;
  let code = DAEMON_EXIT_OK;
  try {
    log.info(`udrbd ${VERSION} daemon starting: pid ${Deno.pid}, run directory ${files.dir}`);
    handler = await options.createHandler(log);
    server = await ControlServer.listen(files.socket, handler, {
      log,
      onStop: () => stopRequested("asked to stop over the control socket"),
      closeGraceMs: options.closeGraceMs,
    });
    state.listening = true;
    log.info(`listening on ${files.socket}`);
    const why = await stop;
    stopping = true;
    log.info(`stopping (${why})`);
  } catch (e) {
    log.error(`${state.listening ? "daemon failed: " : NOT_STARTED}${describe(e)}`);
    code = DAEMON_EXIT_FAILED;
  }
  try {
    server?.stopAccepting();
    if (handler) {
      try {
        await handler.shutdown();
      } catch (e) {
        log.error(`shutdown failed: ${describe(e)}`);
        code = DAEMON_EXIT_FAILED;
      }
    }
    await server?.close();
  } finally {
    release(files, lock);
    for (const [s, f] of signalListeners) Deno.removeSignalListener(s, f);
    options.signal?.removeEventListener("abort", onAbort);
    globalThis.removeEventListener("unhandledrejection", onRejection);
    globalThis.removeEventListener("error", onError);
  }
  log.info(code === DAEMON_EXIT_OK ? "stopped" : "stopped after errors");
  return code;
}
