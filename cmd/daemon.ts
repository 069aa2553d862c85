/**
 * `udrbd daemon`: the node daemon that holds every DRBD resource of this host, as the kernel
 * module does for real DRBD. Starts it in the background (the default), runs it in the
 * foreground (for a service manager), or stops it.
 *
 * @module
 */
import type { Console } from "../lib/cli/io.ts";
import { connectDaemon } from "../lib/control/client.ts";
import { runDir, runFiles } from "../lib/control/paths.ts";
import { ControlError, type HelloResult } from "../lib/control/protocol.ts";
import { DETACHED_FLAG } from "../lib/control/spawn.ts";
import { LOG_LEVELS, type LogLevel, parseLogLevel } from "../lib/util/log.ts";
import { processAlive } from "../lib/util/process.ts";

const HELP = `USAGE: udrbd daemon [--foreground] [--stop] [--log-level LEVEL]

The udrbd node daemon holds every DRBD resource of this host, as the drbd kernel module does;
drbdsetup and drbdadm talk to it over its control socket and start it when it is not running.

  (no option)          start the daemon in the background; return once it answers
  --foreground         run the daemon in this process (for a service manager); log to stderr
                       as well as to the log file; stop it with SIGTERM or SIGINT
  --stop               stop the running daemon in order and wait until it has exited
  --log-level LEVEL    ${LOG_LEVELS.join(", ")} (default info)
  -h, --help           show this text

Run directory: $UDRBD_RUN_DIR, or /run/udrbd. It holds control.sock, daemon.pid, daemon.log
and the volumes' NBD sockets in nbd/.
`;

/** How long `--stop` waits for the daemon's process to go. */
const STOP_TIMEOUT_MS = 30_000;

interface DaemonArgs {
  foreground: boolean;
  detached: boolean;
  stop: boolean;
  help: boolean;
  logLevel?: LogLevel;
}

function parseArgs(args: string[]): DaemonArgs | string {
  const out: DaemonArgs = { foreground: false, detached: false, stop: false, help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    switch (name) {
      case "--foreground":
        out.foreground = true;
        break;
      case DETACHED_FLAG:
        out.detached = true;
        break;
      case "--stop":
        out.stop = true;
        break;
      case "-h":
      case "--help":
        out.help = true;
        break;
      case "--log-level": {
        const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
        if (value === undefined) return "--log-level needs a level";
        const level = parseLogLevel(value);
        if (!level) return `unknown log level '${value}' (use ${LOG_LEVELS.join(", ")})`;
        out.logLevel = level;
        break;
      }
      default:
        return `unknown argument '${arg}'`;
    }
  }
  if (out.stop && (out.foreground || out.detached)) return "--stop cannot be combined";
  return out;
}

/** Runs `udrbd daemon` with `args` (everything after the tool name); resolves to the exit code. */
export async function main(args: string[], io: Console): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    io.err(`udrbd daemon: ${parsed}\n${HELP}`);
    return 20;
  }
  if (parsed.help) {
    io.out(HELP);
    return 0;
  }
  const dir = runDir();
  try {
    if (parsed.stop) return await stop(dir, io);
    if (parsed.foreground || parsed.detached) return await runHere(dir, parsed);
    return await startDetached(dir, parsed, io);
  } catch (e) {
    io.err(`udrbd daemon: ${e instanceof Error ? e.message : e}\n`);
    return e instanceof ControlError ? e.exitCode : 20;
  }
}

async function runHere(dir: string, args: DaemonArgs): Promise<number> {
  const { runDaemon } = await import("../lib/control/daemon.ts");
  return await runDaemon({
    runDir: dir,
    foreground: args.foreground,
    logLevel: args.logLevel,
    createHandler: async (log) => {
      const { createNode } = await import("../lib/engine/node.ts");
      return await createNode({ runDir: dir, log });
    },
  });
}

async function startDetached(dir: string, args: DaemonArgs, io: Console): Promise<number> {
  const running = await connectDaemon({ runDir: dir, start: false });
  if (running) {
    const hello = await running.call<HelloResult>("hello").finally(() => running.close());
    io.out(`udrbd daemon already running (pid ${hello.pid}, run directory ${dir})\n`);
    return 0;
  }
  const client = await connectDaemon({
    runDir: dir,
    start: true,
    args: args.logLevel ? ["--log-level", args.logLevel] : [],
  });
  const hello = await client!.call<HelloResult>("hello").finally(() => client!.close());
  io.out(`udrbd daemon started (pid ${hello.pid}, log ${runFiles(dir).log})\n`);
  return 0;
}

async function stop(dir: string, io: Console): Promise<number> {
  const client = await connectDaemon({ runDir: dir, start: false });
  if (!client) {
    io.out(`no udrbd daemon is running (run directory ${dir})\n`);
    return 0;
  }
  // a daemon whose event loop hangs accepts connections but never answers
  const signal = AbortSignal.timeout(STOP_TIMEOUT_MS);
  let pid: number;
  try {
    pid = (await client.call<HelloResult>("hello", undefined, { signal })).pid;
    await client.call("daemon.stop", undefined, { signal });
  } catch (e) {
    if (!signal.aborted) throw e;
    io.err(
      `udrbd daemon: the daemon did not answer within ${STOP_TIMEOUT_MS / 1000} s; ` +
        `see ${runFiles(dir).log}\n`,
    );
    return 1;
  } finally {
    await client.close();
  }
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) {
      io.err(
        `udrbd daemon: pid ${pid} is still running ${STOP_TIMEOUT_MS / 1000} s after it was ` +
          `asked to stop; see ${runFiles(dir).log}\n`,
      );
      return 1;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  io.out(`udrbd daemon stopped (pid ${pid})\n`);
  return 0;
}
