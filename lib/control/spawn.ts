/**
 * Starting the daemon on demand, as the first drbdsetup command that needs the kernel module
 * would load it: the same program, detached in its own session, logging to its file.
 *
 * @module
 */
import { ensureRunDir } from "./paths.ts";

/** The argument by which `udrbd daemon` knows it is the detached child and runs in place. */
export const DETACHED_FLAG = "--detached";

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * The command line that runs `udrbd daemon`: `deno run -A <mod.ts> daemon` when this process
 * runs from source under deno, or `<binary> daemon` in a `deno compile`d binary.
 */
export function daemonCommand(): string[] {
  const exec = Deno.execPath();
  if (/^deno(\.exe)?$/.test(basename(exec))) {
    const mod = new URL("../../mod.ts", import.meta.url);
    return [exec, "run", "-A", decodeURIComponent(mod.pathname), "daemon"];
  }
  return [exec, "daemon"];
}

/** Options of {@link startDaemon}. */
export interface StartDaemonOptions {
  /** The program to run instead of {@link daemonCommand} (tests run their own daemon script). */
  command?: string[];
  /** Further arguments for the daemon, e.g. `["--log-level", "debug"]`. */
  args?: string[];
}

function findProgram(name: string): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/bin", "/bin"]);
  for (const dir of dirs) {
    if (!dir) continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Starts the daemon for the run directory `dir` in the background and returns without waiting
 * for it to answer (see `connectDaemon` for that). It runs in its own session (`setsid -f`
 * when util-linux is there), with stdin, stdout and stderr on /dev/null, and the run
 * directory in `$UDRBD_RUN_DIR`; it reports into its log file.
 */
export async function startDaemon(dir: string, options: StartDaemonOptions = {}): Promise<void> {
  // the daemon runs in "/": a relative run directory must mean the same place there
  const abs = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  ensureRunDir(abs);
  const argv = [...(options.command ?? daemonCommand()), DETACHED_FLAG, ...(options.args ?? [])];
  const common = {
    env: { UDRBD_RUN_DIR: abs },
    // a daemon must not keep the caller's directory (a mount point, say) busy
    cwd: "/",
    stdin: "null",
    stdout: "null",
    stderr: "null",
  } as const;
  const setsid = findProgram("setsid");
  if (setsid) {
    // -f: setsid forks and exits at once, so the daemon is nobody's child here
    const status = await new Deno.Command(setsid, { ...common, args: ["-f", ...argv] }).spawn()
      .status;
    if (!status.success) {
      throw new Error(`could not start the udrbd daemon: setsid exited with ${status.code}`);
    }
    return;
  }
  const child = new Deno.Command(argv[0], { ...common, args: argv.slice(1), detached: true })
    .spawn();
  child.unref();
}
