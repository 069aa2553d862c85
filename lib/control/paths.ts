/**
 * The daemon's run directory and the files in it: `control.sock`, `daemon.pid`, `daemon.log`
 * and the `nbd/` folder of the volumes' export sockets.
 *
 * @module
 */

/** The run directory used when `$UDRBD_RUN_DIR` is not set. */
export const DEFAULT_RUN_DIR = "/run/udrbd";

/** The run directory: `$UDRBD_RUN_DIR`, or `/run/udrbd`. */
export function runDir(): string {
  return Deno.env.get("UDRBD_RUN_DIR") || DEFAULT_RUN_DIR;
}

/**
 * How the daemon's log line begins when the daemon gave up before it listened; a client
 * that started it looks for it to report the reason at once instead of waiting in vain.
 */
export const NOT_STARTED = "daemon not started: ";

/** The paths of the files in a run directory. */
export interface RunFiles {
  /** The run directory itself. */
  dir: string;
  /** The control socket drbdsetup talks to (mode 0600). */
  socket: string;
  /** The daemon's pid, locked while it runs. */
  pid: string;
  /** The daemon's log. */
  log: string;
  /** The folder of the volumes' NBD export sockets. */
  nbd: string;
  /** The daemon's state in DRBD 8.4's /proc/drbd format. */
  proc: string;
}

/** The paths of the files in the run directory `dir`. */
export function runFiles(dir: string): RunFiles {
  const base = dir.endsWith("/") && dir.length > 1 ? dir.slice(0, -1) : dir;
  return {
    dir: base,
    socket: `${base}/control.sock`,
    pid: `${base}/daemon.pid`,
    log: `${base}/daemon.log`,
    nbd: `${base}/nbd`,
    proc: `${base}/proc`,
  };
}

/**
 * Creates the run directory (mode 0700) and its `nbd/` folder when missing; returns its
 * files. An existing directory keeps its mode.
 */
export function ensureRunDir(dir: string): RunFiles {
  const files = runFiles(dir);
  Deno.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  Deno.mkdirSync(files.nbd, { recursive: true, mode: 0o700 });
  return files;
}
