/**
 * The daemon's `$UDRBD_RUN_DIR/proc`: the node's state in DRBD 8.4's /proc/drbd format, for
 * monitoring scripts, `watch -n1 cat`, and anyone who learnt DRBD from /proc/drbd. The kernel
 * computes /proc/drbd when it is read; a plain file cannot, so the daemon rewrites it every
 * second and right after each state change.
 *
 * @module
 */
import { runFiles } from "../control/paths.ts";
import { formatProcDrbd } from "../status/proc.ts";
import type { ResourceStatus } from "../status/types.ts";

/** The part of the daemon's logger the proc file uses. */
export interface ProcFileLog {
  warn(message: string): void;
}

/** A running proc file; see {@link startProcFile}. */
export interface ProcFile {
  /** The path of the file (`<runDir>/proc`). */
  readonly path: string;
  /** Rewrites the file soon (after the current task), e.g. after a state change. */
  touch(): void;
  /** Rewrites the file now, if its text changed. */
  refresh(): void;
  /** Stops rewriting and removes the file, as /proc/drbd goes when the module unloads. */
  stop(): void;
}

/** Options of {@link startProcFile}. */
export interface ProcFileOptions {
  /** How often the file is rewritten without being asked (default 1000 ms). */
  intervalMs?: number;
}

/** The name of the /proc/drbd-format file in a run directory. */
export const PROC_FILE_NAME = "proc";

/**
 * Writes `snapshot()` in /proc/drbd's format to `<runDir>/proc` (mode 0644) now, every second,
 * and soon after each {@link ProcFile.touch}. Each write goes to a temporary file renamed over
 * the old one, so a reader always sees one whole snapshot. Failures are logged (once per
 * distinct reason) and retried on the next tick; they never reach the caller.
 */
export function startProcFile(
  runDir: string,
  snapshot: () => readonly ResourceStatus[],
  log: ProcFileLog,
  options: ProcFileOptions = {},
): ProcFile {
  const { dir, proc: path } = runFiles(runDir);
  // pid in the name: two daemons mistakenly pointed at one directory must not share a temp file
  const temp = `${dir}/.${PROC_FILE_NAME}.${Deno.pid}.tmp`;
  const encoder = new TextEncoder();
  let written: string | undefined;
  let lastError: string | undefined;
  let scheduled = false;
  let stopped = false;

  const refresh = () => {
    if (stopped) return;
    let text: string;
    try {
      text = formatProcDrbd(snapshot());
    } catch (e) {
      failed("cannot build", e);
      return;
    }
    // an unchanged file needs no write, unless someone removed or replaced it
    const bytes = encoder.encode(text);
    if (text === written && sameFile(path, bytes.length)) return;
    try {
      Deno.writeFileSync(temp, bytes, { mode: 0o644 });
      // the mode given to open() is filtered by the umask; readers need 0644
      Deno.chmodSync(temp, 0o644);
      Deno.renameSync(temp, path);
      written = text;
      lastError = undefined;
    } catch (e) {
      written = undefined;
      failed("cannot write", e);
      try {
        Deno.removeSync(temp);
      } catch {
        // never created
      }
    }
  };

  const failed = (what: string, e: unknown) => {
    const why = `${what} ${path}: ${e instanceof Error ? e.message : e}`;
    if (why !== lastError) log.warn(why);
    lastError = why;
  };

  const timer = setInterval(refresh, options.intervalMs ?? 1000);
  refresh();

  return {
    path,
    touch() {
      if (scheduled || stopped) return;
      scheduled = true;
      // coalesces the several notifications one request causes into one write
      queueMicrotask(() => {
        scheduled = false;
        refresh();
      });
    },
    refresh,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      for (const p of [path, temp]) {
        try {
          Deno.removeSync(p);
        } catch {
          // not there
        }
      }
    },
  };
}

/** Whether `path` still is a regular file of `length` bytes. */
function sameFile(path: string, length: number): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && st.size === length;
  } catch {
    return false;
  }
}
