/**
 * The daemon's run directory and the files in it: `control.sock`, `daemon.pid`, `daemon.log`,
 * the /proc/drbd-format `proc` and the `nbd/` folder of the volumes' export sockets.
 *
 * Modes follow what the kernel module offers: anyone may read /proc/drbd and the kernel log, so
 * the directory is 0755 and `proc`, `daemon.log` and `daemon.pid` are 0644; only the daemon's
 * owner may change state or reach the devices, so `control.sock` is 0600 and `nbd/` 0700 (its
 * sockets 0600).
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
  /** The control socket drbdsetup talks to ({@link SOCKET_MODE}). */
  socket: string;
  /** The daemon's pid, locked while it runs ({@link PUBLIC_FILE_MODE}). */
  pid: string;
  /** The daemon's log ({@link PUBLIC_FILE_MODE}). */
  log: string;
  /** The folder of the volumes' NBD export sockets ({@link NBD_DIR_MODE}). */
  nbd: string;
  /** The daemon's state in DRBD 8.4's /proc/drbd format ({@link PUBLIC_FILE_MODE}). */
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

/** The run directory's mode: everyone may look in, as everyone may read /proc/drbd. */
export const RUN_DIR_MODE = 0o755;
/** The mode of `nbd/`: the volumes' exports are for the daemon's owner only. */
export const NBD_DIR_MODE = 0o700;
/** The mode of `proc`, `daemon.log` and `daemon.pid`: readable by everyone. */
export const PUBLIC_FILE_MODE = 0o644;
/** The mode of `control.sock` and the export sockets: the daemon's owner only. */
export const SOCKET_MODE = 0o600;

/**
 * Creates the run directory ({@link RUN_DIR_MODE}) and its `nbd/` folder ({@link NBD_DIR_MODE})
 * when missing, whatever the umask; returns its files. An existing directory keeps its mode: an
 * administrator may have chosen another.
 */
export function ensureRunDir(dir: string): RunFiles {
  const files = runFiles(dir);
  makeDir(files.dir, RUN_DIR_MODE);
  makeDir(files.nbd, NBD_DIR_MODE);
  return files;
}

function makeDir(path: string, mode: number): void {
  try {
    Deno.lstatSync(path);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  Deno.mkdirSync(path, { recursive: true, mode });
  // mkdir's mode passes through the umask; a umask of 077 would hide proc from other users
  Deno.chmodSync(path, mode);
}
