/**
 * Kernel attach of a volume's NBD export: connects a free `/dev/nbdN` to the export's Unix socket
 * and makes the links udev makes for a real DRBD minor (`/dev/drbd<minor>`,
 * `/dev/drbd/by-res/<res>/<vol>`, `/dev/drbd/by-disk/<disk>`), and undoes both on down. Without
 * the kernel's nbd driver the socket stays the device, and that is said once in the log.
 *
 * Why `nbd-client` and not the generic-netlink `nbd` family directly: `NBD_CMD_CONNECT` takes
 * already-negotiated socket file descriptors, so we would need an NBD client handshake, an
 * `AF_NETLINK` socket and fd passing, none of which Deno offers without FFI (`--unstable-ffi`,
 * libc `socket`/`sendmsg`). `nbd-client` (Debian package `nbd-client`, 3.17 and later) does the
 * handshake and the netlink configure in one short-lived process, then exits: the kernel holds
 * the socket, not a helper daemon. The flags it gets are chosen in {@link nbdClientArgv}.
 *
 * The daemon must keep serving the export while `nbd-client` runs (the kernel reads the
 * partition table through it), so everything here that waits is asynchronous. Attach after the
 * export listens; detach before the export closes.
 *
 * @module
 */

import { exists } from "../util/fs.ts";

/** The logger this module needs; the daemon's logger fits it. */
export interface KernelLogger {
  info(m: string): void;
  warn(m: string): void;
}

/** Where sysfs is (tests point it at a temporary tree). Default "/sys". */
export interface SysfsOptions {
  sysRoot?: string;
}

/** Whether the kernel's nbd driver is loaded (`/sys/module/nbd` or `/sys/block/nbd0` exists). */
export function nbdDriverPresent(opts: SysfsOptions = {}): boolean {
  const sys = opts.sysRoot ?? "/sys";
  return exists(`${sys}/module/nbd`) || exists(`${sys}/block/nbd0`);
}

/** Options of {@link findFreeNbd}. */
export interface FindFreeNbdOptions extends SysfsOptions {
  /** Devices not to return (e.g. ones an attempt just failed on). */
  skip?: Iterable<string>;
}

/**
 * The lowest-numbered `/dev/nbdN` that is not connected (no `/sys/block/nbdN/pid`) and has size
 * 0, or undefined when every nbd device is in use.
 */
export function findFreeNbd(opts: FindFreeNbdOptions = {}): string | undefined {
  const sys = opts.sysRoot ?? "/sys";
  const skip = new Set(opts.skip ?? []);
  const numbers: number[] = [];
  try {
    for (const e of Deno.readDirSync(`${sys}/block`)) {
      const m = /^nbd(\d+)$/.exec(e.name);
      if (m) numbers.push(Number(m[1]));
    }
  } catch {
    return undefined;
  }
  numbers.sort((a, b) => a - b);
  for (const n of numbers) {
    const device = `/dev/nbd${n}`;
    if (skip.has(device) || nbdConnected(n, sys)) continue;
    if (readText(`${sys}/block/nbd${n}/size`)?.trim() === "0") return device;
  }
  return undefined;
}

/** Options of {@link nbdClientArgv}. */
export interface NbdClientArgvOptions {
  /** The export's Unix socket. */
  socketPath: string;
  /** The `/dev/nbdN` to connect (nbd-client's netlink mode only accepts this form). */
  device: string;
  /** Export name to ask for (NBD_OPT_GO). */
  exportName: string;
  /** Tell the kernel the device is read-only. */
  readOnly?: boolean;
  /** Logical block size: 512, 1024, 2048 or 4096. Default 512. */
  blockSize?: number;
  /** Per-request timeout in seconds; default none (see {@link nbdClientArgv}). */
  timeoutSeconds?: number;
}

/**
 * The `nbd-client` arguments (without the program name) that connect `device` to the export.
 *
 * - `-b 512` by default: DRBD shows its backing device's logical block size, almost always 512;
 *   a file system made with 512-byte sectors (xfs `sectsz=512`) will not mount on a device with
 *   bigger ones. Given explicitly because older nbd-client versions defaulted to 1024.
 * - no `-t` unless asked: without a timeout the kernel keeps waiting for a slow request (and
 *   warns), which is DRBD's behaviour (I/O waits, e.g. under `suspend-io`); with one, it fails
 *   I/O to the file system instead.
 * - no `-persist`: in netlink mode nbd-client exits after configuring and cannot reconnect, and
 *   a daemon restart is a node reboot in which the role may have changed; I/O on a device whose
 *   daemon died must fail rather than carry on.
 * - no `-C`: one connection keeps the write order the replication relies on.
 */
export function nbdClientArgv(opts: NbdClientArgvOptions): string[] {
  const bs = opts.blockSize ?? 512;
  if (![512, 1024, 2048, 4096].includes(bs)) {
    throw new RangeError(`nbd block size ${bs} must be 512, 1024, 2048 or 4096`);
  }
  const args = ["-unix", opts.socketPath, opts.device, "-N", opts.exportName, "-b", String(bs)];
  if (opts.timeoutSeconds !== undefined) {
    if (!Number.isInteger(opts.timeoutSeconds) || opts.timeoutSeconds < 1) {
      throw new RangeError(`nbd timeout ${opts.timeoutSeconds} must be a whole number ≥ 1`);
    }
    args.push("-t", String(opts.timeoutSeconds));
  }
  if (opts.readOnly) args.push("-readonly");
  return args;
}

/** The `nbd-client` arguments that disconnect `device`. */
export function nbdDisconnectArgv(device: string): string[] {
  return ["-d", device];
}

/** Options of {@link drbdLinks}: what `drbdadm sh-udev` would tell udev about one volume. */
export interface DrbdLinkOptions {
  minor: number;
  resource: string;
  volume: number;
  /** The configured `device` path; `/dev/drbd_<name>` adds a `drbd_<name>` link. */
  device?: string;
  /** The configured backing `disk`; gives the by-disk link. Absent or "none": no such link. */
  disk?: string;
  /** The volume is implicit (no `volume` section): by-res link without the volume number. */
  implicitVolume?: boolean;
  /** Where the links go. Default "/dev". */
  devRoot?: string;
}

/**
 * The absolute paths of the links drbd-utils' udev rules make for a DRBD minor: `drbd<minor>`
 * (the kernel's own node name), `drbd_<name>` for a named device, `drbd/by-res/<res>/<vol>` (or
 * `drbd/by-res/<res>` for an implicit volume) and `drbd/by-disk/<disk without /dev/>`. A name
 * that would leave the link folder (`..`, `/` in a resource name) gets no link.
 */
export function drbdLinks(opts: DrbdLinkOptions): string[] {
  const root = trimSlashes(opts.devRoot ?? "/dev");
  const links = [`${root}/drbd${opts.minor}`];
  const dev = opts.device;
  if (dev?.startsWith("/dev/drbd_") && dev.length > 10 && safeParts(dev.slice(5)).length === 1) {
    links.push(`${root}/${dev.slice(5)}`);
  }
  if (safeParts(opts.resource).length === 1 && !opts.resource.includes("/")) {
    links.push(
      opts.implicitVolume
        ? `${root}/drbd/by-res/${opts.resource}`
        : `${root}/drbd/by-res/${opts.resource}/${opts.volume}`,
    );
  }
  if (opts.disk && opts.disk !== "none") {
    const rel = opts.disk.startsWith("/dev/") ? opts.disk.slice(5) : opts.disk;
    const parts = safeParts(rel);
    if (parts.length > 0) links.push(`${root}/drbd/by-disk/${parts.join("/")}`);
  }
  return links;
}

/** The relative symlink text (as udev writes it) that makes `linkPath` point at `target`. */
export function relativeTarget(linkPath: string, target: string): string {
  const from = trimSlashes(linkPath).split("/").filter(Boolean).slice(0, -1);
  const to = trimSlashes(target).split("/").filter(Boolean);
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  return [...Array(from.length - common).fill(".."), ...to.slice(common)].join("/");
}

/** Options of {@link makeLinks} and {@link removeLinks}. */
export interface LinkOptions extends SysfsOptions {
  /** Top of the link tree: empty folders are pruned up to, not including, this one. */
  devRoot?: string;
  log: KernelLogger;
}

/**
 * Creates relative symlinks from each of `links` to `target`, with their folders, and returns
 * the ones it made (only those are ours to remove). A stale link (dangling, or to an nbd device
 * that is no longer connected) is replaced; anything else already there is left alone with a
 * warning, so that two nodes on one host, or a loaded DRBD module, keep their devices.
 */
export function makeLinks(target: string, links: readonly string[], opts: LinkOptions): string[] {
  const made: string[] = [];
  for (const link of links) {
    const text = relativeTarget(link, target);
    try {
      Deno.mkdirSync(dirname(link), { recursive: true });
      const st = lstat(link);
      if (st && !st.isSymlink) {
        opts.log.warn(`${link} exists and is not a symlink; leaving it`);
        continue;
      }
      const cur = st ? Deno.readLinkSync(link) : undefined;
      if (cur !== undefined && cur !== text) {
        if (!staleLink(link, cur, opts.sysRoot ?? "/sys")) {
          opts.log.warn(`${link} already points at ${cur}; leaving it`);
          continue;
        }
        opts.log.info(`replacing stale link ${link} (was ${cur})`);
        Deno.removeSync(link);
      }
      // A link already pointing at our device is a leftover of ours: adopt it.
      if (cur !== text) Deno.symlinkSync(text, link);
      made.push(link);
    } catch (e) {
      opts.log.warn(`cannot link ${link} to ${target}: ${message(e)}`);
    }
  }
  return made;
}

/**
 * Removes those of `links` that still point at `target` (a link replaced by someone else
 * stays), then the folders left empty by that, up to `devRoot`.
 */
export function removeLinks(target: string, links: readonly string[], opts: LinkOptions): void {
  const root = trimSlashes(opts.devRoot ?? "/dev");
  for (const link of links) {
    try {
      if (!lstat(link)?.isSymlink || Deno.readLinkSync(link) !== relativeTarget(link, target)) {
        continue;
      }
      Deno.removeSync(link);
    } catch (e) {
      opts.log.warn(`cannot remove ${link}: ${message(e)}`);
      continue;
    }
    for (let dir = dirname(link); dir.startsWith(root + "/"); dir = dirname(dir)) {
      try {
        Deno.removeSync(dir); // fails when not empty: somebody else's links live there
      } catch {
        break;
      }
    }
  }
}

/** Options of {@link attach}. */
export interface AttachOptions extends SysfsOptions {
  /** The export's Unix socket (`$UDRBD_RUN_DIR/nbd/drbd<minor>.sock`). */
  socketPath: string;
  exportName: string;
  minor: number;
  resource: string;
  volume: number;
  log: KernelLogger;
  readOnly?: boolean;
  /** Configured `device` and `disk`, and whether the volume is implicit (see {@link drbdLinks}). */
  device?: string;
  disk?: string;
  implicitVolume?: boolean;
  /** See {@link nbdClientArgv}. */
  blockSize?: number;
  timeoutSeconds?: number;
  /** Where the links go. Default "/dev". */
  devRoot?: string;
  /** The nbd-client program. Default: found in /usr/sbin, /sbin, /usr/bin, /bin, then PATH. */
  nbdClient?: string;
}

/**
 * One volume's kernel attachment, as {@link attach} made it: the connected `/dev/nbdN` and the
 * links to it, or, when there is no kernel device, just the socket and the reason why.
 */
export class KernelAttachment {
  /** The export's Unix socket; the device itself when {@link socketOnly}. */
  readonly socketPath: string;
  /** The connected `/dev/nbdN`, if any. */
  readonly device: string | undefined;
  /** Why there is no kernel device (undefined when there is one). */
  readonly reason: string | undefined;
  #links: string[];
  #nbdClient: string | undefined;
  #opts: LinkOptions;

  /** Use {@link attach}; this records what it did. */
  constructor(init: {
    socketPath: string;
    device?: string;
    reason?: string;
    links?: string[];
    nbdClient?: string;
    linkOptions: LinkOptions;
  }) {
    this.socketPath = init.socketPath;
    this.device = init.device;
    this.reason = init.reason;
    this.#links = init.links ?? [];
    this.#nbdClient = init.nbdClient;
    this.#opts = init.linkOptions;
  }

  /** True when the volume is reachable only through its socket. */
  get socketOnly(): boolean {
    return this.device === undefined;
  }

  /** The links this attachment made (absolute paths). */
  get links(): readonly string[] {
    return this.#links;
  }

  /**
   * Disconnects the nbd device (`nbd-client -d`) and removes the links this attachment made and
   * the folders they leave empty. Safe to call twice; does nothing when socket-only.
   */
  async detach(): Promise<void> {
    const device = this.device, client = this.#nbdClient;
    if (device === undefined || client === undefined) return;
    const links = this.#links;
    this.#links = [];
    this.#nbdClient = undefined;
    const r = await runProgram(this.#opts.log, client, nbdDisconnectArgv(device));
    if (r.code !== 0) this.#opts.log.warn(`nbd-client -d ${device} failed: ${r.output}`);
    removeLinks(device, links, this.#opts);
  }
}

/**
 * Connects a free `/dev/nbdN` to the volume's export and makes the DRBD links to it. Never
 * fails the volume: without the nbd driver (said once per logger), without nbd-client, or when
 * no device connects, the result is socket-only, with the reason logged.
 */
export async function attach(opts: AttachOptions): Promise<KernelAttachment> {
  const linkOptions: LinkOptions = { devRoot: opts.devRoot, sysRoot: opts.sysRoot, log: opts.log };
  const socketOnly = (reason: string) =>
    new KernelAttachment({ socketPath: opts.socketPath, reason, linkOptions });
  if (!nbdDriverPresent(opts)) {
    once(opts.log, "driver", () =>
      opts.log.info(
        "no nbd kernel driver (modprobe nbd): volumes are served on their NBD sockets only, " +
          "without /dev/drbd<minor>",
      ));
    return socketOnly("the nbd kernel driver is not loaded");
  }
  const client = findProgram(opts.nbdClient ?? "nbd-client");
  if (client === undefined) {
    once(opts.log, "client", () =>
      opts.log.warn(
        "the nbd driver is loaded but nbd-client is not installed (Debian: apt-get install " +
          "nbd-client): volumes are served on their NBD sockets only, without /dev/drbd<minor>",
      ));
    return socketOnly("nbd-client is not installed");
  }
  const name = `drbd${opts.minor}`;
  const tried: string[] = [];
  let lastError = "no free /dev/nbdN (load nbd with a larger nbds_max)";
  // Another node's daemon on this host may take the same free device between our look and
  // nbd-client's connect; the kernel then refuses it and the next one is tried.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const device = findFreeNbd({ sysRoot: opts.sysRoot, skip: tried });
    if (device === undefined) break;
    tried.push(device);
    const args = nbdClientArgv({ ...opts, device });
    const r = await runProgram(opts.log, client, args);
    if (r.code !== 0) {
      lastError = `nbd-client ${args.join(" ")} failed: ${r.output}`;
      continue;
    }
    if (!(await waitConnected(device, opts.sysRoot ?? "/sys"))) {
      lastError = `${device} did not show as connected after nbd-client`;
      await runProgram(opts.log, client, nbdDisconnectArgv(device));
      continue;
    }
    const links = makeLinks(device, drbdLinks(opts), linkOptions);
    opts.log.info(`${name}: ${device} connected to ${opts.socketPath}; links ${links.join(" ")}`);
    return new KernelAttachment({
      socketPath: opts.socketPath,
      device,
      links,
      nbdClient: client,
      linkOptions,
    });
  }
  opts.log.warn(`${name}: no kernel device, serving ${opts.socketPath} only: ${lastError}`);
  return socketOnly(lastError);
}

const MAX_ATTEMPTS = 4;
/** nbd-client normally finishes in milliseconds; a hung one is killed after this. */
const CLIENT_TIMEOUT_MS = 30_000;
/** How long the device may take to show its `pid` file after nbd-client returned. */
const CONNECT_WAIT_MS = 2_000;

const noticed = new WeakMap<KernelLogger, Set<string>>();
function once(log: KernelLogger, key: string, f: () => void): void {
  let keys = noticed.get(log);
  if (!keys) noticed.set(log, keys = new Set());
  if (keys.has(key)) return;
  keys.add(key);
  f();
}

async function runProgram(
  log: KernelLogger,
  program: string,
  args: string[],
): Promise<{ code: number; output: string }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), CLIENT_TIMEOUT_MS);
  try {
    const out = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    const dec = new TextDecoder();
    // One log line: nbd-client spreads its error and progress over several.
    const output = (dec.decode(out.stderr) + " " + dec.decode(out.stdout)).replace(/\s+/g, " ")
      .trim();
    if (abort.signal.aborted) {
      return { code: -1, output: `killed after ${CLIENT_TIMEOUT_MS / 1000} s; ${output}` };
    }
    return { code: out.code, output };
  } catch (e) {
    log.warn(`cannot run ${program}: ${message(e)}`);
    return { code: -1, output: message(e) };
  } finally {
    clearTimeout(timer);
  }
}

async function waitConnected(device: string, sys: string): Promise<boolean> {
  const n = Number(/nbd(\d+)$/.exec(device)?.[1]);
  for (let waited = 0; waited <= CONNECT_WAIT_MS; waited += 50) {
    if (nbdConnected(n, sys)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function nbdConnected(n: number, sys: string): boolean {
  return exists(`${sys}/block/nbd${n}/pid`);
}

/** A link of ours from an earlier life: dangling, or to an nbd device nobody has connected. */
function staleLink(link: string, text: string, sys: string): boolean {
  const abs = text.startsWith("/") ? text : `${dirname(link)}/${text}`;
  if (!exists(abs)) return true;
  const m = /\/nbd(\d+)$/.exec(abs);
  return m !== null && !nbdConnected(Number(m[1]), sys);
}

function findProgram(name: string): string | undefined {
  if (name.includes("/")) return isFile(name) ? name : undefined;
  const dirs = [
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
    "/bin",
    ...(Deno.env.get("PATH") ?? "").split(":"),
  ];
  for (const dir of dirs) {
    if (dir && isFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/** Path components of `p`, or none at all if any would climb out (`.`, `..`). */
function safeParts(p: string): string[] {
  const parts = p.split("/").filter(Boolean);
  return parts.some((x) => x === "." || x === "..") ? [] : parts;
}

/** `p` without trailing slashes ("/" becomes ""), so that `${root}/x` is always one slash. */
function trimSlashes(p: string): string {
  return p.replace(/\/+$/, "");
}

function dirname(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

function lstat(p: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(p);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

function readText(p: string): string | undefined {
  try {
    return Deno.readTextFileSync(p);
  } catch {
    return undefined;
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
