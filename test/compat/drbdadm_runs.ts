/**
 * One drbdadm command line run by drbd-utils 9.22's drbdadm and by ours, in the form every
 * drbdadm comparison compares: the corpus test and the three fuzzers (configurations drbdadm
 * rejects, configurations it accepts, command lines).
 *
 * @module
 */
import { main } from "../../cmd/drbdadm.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { exists } from "../../lib/util/fs.ts";

/** Where drbd-utils installs drbdadm. */
export const REAL_PATH = "/usr/sbin/drbdadm";
/** True when drbd-utils' drbdadm is installed; the comparisons skip without it. */
export const HAVE_REAL = exists(REAL_PATH);

/** The commands the shared compat script runs with `-d` for each resource. */
export const STEP_COMMANDS = [
  "adjust",
  "status",
  "up",
  "down",
  "create-md",
  "attach",
  "detach",
  "connect",
  "disconnect",
  "primary",
  "secondary",
  "verify",
  "invalidate",
  "invalidate-remote",
  "resize",
  "apply-al",
  "wipe-md",
  "dump-md",
  "new-current-uuid",
  "outdate",
  "pause-sync",
  "resume-sync",
  "net-options",
  "disk-options",
  "resource-options",
  "show-gi",
  "get-gi",
  "check-resize",
];
/** The `sh-*` queries the shared compat script runs for each resource. */
export const SH_COMMANDS = ["sh-dev", "sh-ll-dev", "sh-md-dev", "sh-md-idx", "sh-minor"];

/** Lines the real drbdadm prints about kernel modules this machine doesn't have. */
const NOISE = /modinfo: not found|modprobe: not found|Failed to modprobe/;

/** What one run printed and returned, with the work folder written as `@DIR@`. */
export interface Outcome {
  stdout: string;
  code: number;
  /** All of stderr, without the module-loading noise. */
  stderr: string;
  /** The first line of that stderr. */
  first: string;
  /** The file:line named in the first line of stderr, for failures; empty otherwise. */
  where: string;
}

/** The outcome of a run that printed `stdout` and `stderr` and exited with `code`. */
export function outcome(stdout: string, stderr: string, code: number, work: string): Outcome {
  const kept = stderr.split("\n").filter((l) => !NOISE.test(l));
  const first = kept[0] ?? "";
  return {
    stdout: stdout.replaceAll(work, "@DIR@"),
    code,
    stderr: kept.join("\n").replaceAll(work, "@DIR@"),
    first: first.replaceAll(work, "@DIR@"),
    where: code === 0 ? "" : /[A-Za-z0-9_.-]+\.(conf|res|inc):[0-9]+/.exec(first)?.[0] ?? "",
  };
}

/** Runs the real drbdadm with `args` (paths inside `work`). */
export async function runReal(args: string[], work: string): Promise<Outcome> {
  // through sh, so that argv[0] is the bare name as when a person types it
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", 'exec drbdadm "$@"', "drbdadm", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  const dec = new TextDecoder();
  return outcome(dec.decode(out.stdout), dec.decode(out.stderr), out.code, work);
}

/** Runs our drbdadm in-process with `args`, as host `host`. */
export async function runOurs(args: string[], work: string, host: string): Promise<Outcome> {
  const io = new MemoryConsole();
  const code = await main(args, io, { hostname: host, tty: false });
  return outcome(io.stdout, io.stderr, code, work);
}

/** Maps `items` through `f` with at most `parallel` calls under way; results in item order. */
export async function pool<T, R>(
  items: T[],
  f: (t: T) => Promise<R>,
  parallel = 8,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  return results;
}

/** This machine's node name, as drbdadm reads it (`uname -n`). */
export function hostname(): string {
  return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
}
