/**
 * drbd-overview as a tool: asks the node daemon for its status snapshot, finds what is mounted
 * from each minor and how full it is, lists the minors drbd.conf configures for this host, and
 * prints {@link formatOverview}'s DRBD 8.4 layout.
 *
 * The daemon plays the kernel module's part: when none runs, it prints "drbd not loaded" and
 * succeeds, as the script did without /proc/drbd. With a daemon, the minors drbd.conf
 * configures that are not up show as Unconfigured. Trouble reading drbd.conf or sizing a file
 * system only shows with `-d`, as the script sent stderr to /dev/null unless given `-d`.
 *
 * @module
 */
import type { Console } from "../cli/io.ts";
import { connectDaemon } from "../control/client.ts";
import { ControlError } from "../control/protocol.ts";
import { formatOverview, type MountInfo } from "./overview.ts";
import type { ResourceStatus } from "./types.ts";

/** Sizes of a mounted file system, as statvfs reports them (see {@link MountInfo}). */
export type FsSizes = Pick<MountInfo, "totalBytes" | "freeBytes" | "availBytes">;

/** Options of {@link overviewMain}. */
export interface OverviewMainOptions {
  /** The daemon's run directory (default: `$UDRBD_RUN_DIR` or /run/udrbd). */
  runDir?: string;
  /**
   * drbd.conf to take this host's configured minors from; default: the first of drbdadm's
   * default files that exists. `null`: none.
   */
  configFile?: string | null;
  /** The mount table (default /proc/mounts). */
  mountsPath?: string;
  /** Where the device nodes and their links are (default /dev). */
  devRoot?: string;
  /** Sizes a mounted file system (default {@link dfSizes}). */
  sizes?: (mountPoint: string) => Promise<FsSizes | undefined>;
}

const USAGE = `USAGE: drbd-overview [-d]

Shows every DRBD minor of this host on one line, in DRBD 8.4's drbd-overview layout:
minor:resource/volume, connection state, roles, disk states, protocol, flags and what is
mounted from it (mount point, type, size, used, available, use%), with the resync progress
under a syncing minor. Minors drbd.conf configures for this host that are not up show as
Unconfigured.

  -d          show error messages (hidden by default, as drbd-overview 8.4 did)
  -h, --help  show this text

It asks the udrbd daemon (run directory $UDRBD_RUN_DIR, default /run/udrbd); when no daemon
runs, it prints "drbd not loaded", as drbd-overview does without the kernel module.
'drbdadm status' shows DRBD 9's view with every peer.
`;

/** Runs drbd-overview with `args`; resolves to the exit code. */
export async function overviewMain(
  args: string[],
  io: Console,
  options: OverviewMainOptions = {},
): Promise<number> {
  let verbose = false;
  for (const arg of args) {
    if (arg === "-d") verbose = true;
    else if (arg === "-h" || arg === "--help") {
      io.out(USAGE);
      return 0;
    } else {
      io.err(`drbd-overview: unknown argument '${arg}'\n${USAGE}`);
      return 20;
    }
  }
  const note = (text: string) => {
    if (verbose) io.err(`drbd-overview: ${text}\n`);
  };
  let resources: ResourceStatus[] | undefined;
  try {
    resources = await daemonStatus(options.runDir);
  } catch (e) {
    // a daemon that runs but cannot be asked (permissions, say) would make a wrong overview
    io.err(`drbd-overview: ${e instanceof Error ? e.message : e}\n`);
    return e instanceof ControlError ? e.exitCode : 20;
  }
  if (!resources) {
    io.out(NOT_LOADED);
    return 0;
  }
  const configured = await configuredMinors(options.configFile, note);
  const devRoot = options.devRoot ?? "/dev";
  let table: MountEntry[] = [];
  try {
    table = parseProcMounts(Deno.readTextFileSync(options.mountsPath ?? "/proc/mounts"));
  } catch (e) {
    note(`cannot read the mount table: ${e instanceof Error ? e.message : e}`);
  }
  const sizes = options.sizes ?? dfSizes;
  const mounts = new Map<number, MountInfo>();
  for (const [minor, m] of mountsByMinor(resources, table, { devRoot })) {
    const s = await sizes(m.mountPoint).catch((e) => {
      note(`cannot size ${m.mountPoint}: ${e instanceof Error ? e.message : e}`);
      return undefined;
    });
    if (s) mounts.set(minor, { ...m, ...s });
  }
  io.out(formatOverview(resources, { mounts, configured }));
  return 0;
}

/**
 * What drbd-overview prints when no daemon runs: the script's words for a host without the
 * kernel module (it exits 0 then).
 */
export const NOT_LOADED = "drbd not loaded\n";

/** The daemon's status snapshot of every resource; undefined when no daemon runs. */
export async function daemonStatus(runDir?: string): Promise<ResourceStatus[] | undefined> {
  const client = await connectDaemon({ runDir, start: false });
  if (!client) return undefined;
  try {
    return await client.call<ResourceStatus[]>("status", { args: {} });
  } finally {
    await client.close();
  }
}

/** A configured minor of this host (see {@link configuredMinors}). */
export interface ConfiguredMinor {
  minor: number;
  resource: string;
  volume: number;
}

/**
 * The minors drbd.conf gives this host (`UDRBD_HOSTNAME` or `uname -n`), what 8.4's script
 * learnt from `drbdadm sh-status`. Empty when there is no configuration or it does not load;
 * `note` hears why.
 */
export async function configuredMinors(
  configFile: string | null | undefined,
  note: (text: string) => void = () => {},
): Promise<ConfiguredMinor[]> {
  // drbd.conf's parser is big: load it only here, not at the tool's start
  const [{ loadConfig }, { DEFAULT_CONFIG_FILES }] = await Promise.all([
    import("../config/load.ts"),
    import("../adm/run.ts"),
  ]);
  const file = configFile === undefined
    ? DEFAULT_CONFIG_FILES.find((f) => {
      try {
        return Deno.statSync(f).isFile;
      } catch {
        return false;
      }
    })
    : configFile;
  if (!file) return [];
  try {
    const { config } = loadConfig(file, {
      command: "sh-resources",
      resources: [],
      resNameRequired: false,
      tty: false,
    });
    const out: ConfiguredMinor[] = [];
    for (const r of config.resources) {
      if (r.ignore || !r.me) continue;
      for (const v of r.me.volumes) {
        if (v.minor >= 0) out.push({ minor: v.minor, resource: r.name, volume: v.vnr });
      }
    }
    return out;
  } catch (e) {
    const messages = (e as { messages?: unknown }).messages;
    note(
      `cannot read ${file}: ${
        Array.isArray(messages) ? messages.join("\n") : e instanceof Error ? e.message : e
      }`,
    );
    return [];
  }
}

/** One line of /proc/mounts. */
export interface MountEntry {
  device: string;
  mountPoint: string;
  fsType: string;
}

/** The entries of a /proc/mounts text, with its octal escapes (`\040` for a space) undone. */
export function parseProcMounts(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 3) continue;
    out.push({ device: unescapeMount(f[0]), mountPoint: unescapeMount(f[1]), fsType: f[2] });
  }
  return out;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Options of {@link mountsByMinor}. */
export interface MountsByMinorOptions {
  /** Where the device nodes and their links are (default /dev). */
  devRoot?: string;
}

/**
 * The first mount of each minor of the snapshot. A mount belongs to a minor when its device is
 * one of the minor's names (`/dev/drbd<minor>`, `/dev/drbd/by-res/<res>/<vol>`,
 * `/dev/drbd/by-res/<res>`), resolves to the same file as one of them (mount(8) records the
 * `/dev/nbdN` a link points at), or is the same block device. A file system mounted through
 * nbdfuse and a loop device has no such tie to the minor and is not found.
 */
export function mountsByMinor(
  resources: readonly ResourceStatus[],
  table: readonly MountEntry[],
  options: MountsByMinorOptions = {},
): Map<number, Pick<MountInfo, "mountPoint" | "fsType">> {
  const root = (options.devRoot ?? "/dev").replace(/\/+$/, "");
  const byName = new Map<string, number>();
  const byRdev = new Map<number, number>();
  for (const r of resources) {
    for (const d of r.devices) {
      const names = [
        `${root}/drbd${d.minor}`,
        `${root}/drbd/by-res/${r.name}/${d.volume}`,
        `${root}/drbd/by-res/${r.name}`,
      ];
      for (const name of names) {
        if (!byName.has(name)) byName.set(name, d.minor);
        const real = realPath(name);
        if (real !== undefined && !byName.has(real)) byName.set(real, d.minor);
        const rdev = blockRdev(name);
        if (rdev !== undefined && !byRdev.has(rdev)) byRdev.set(rdev, d.minor);
      }
    }
  }
  const out = new Map<number, Pick<MountInfo, "mountPoint" | "fsType">>();
  if (byName.size === 0) return out;
  for (const m of table) {
    if (!m.device.startsWith("/")) continue; // tmpfs, proc, server:/export ...
    let minor = byName.get(m.device);
    if (minor === undefined) {
      const real = realPath(m.device);
      if (real !== undefined) minor = byName.get(real);
    }
    if (minor === undefined && byRdev.size > 0) {
      const rdev = blockRdev(m.device);
      if (rdev !== undefined) minor = byRdev.get(rdev);
    }
    if (minor !== undefined && !out.has(minor)) {
      out.set(minor, { mountPoint: m.mountPoint, fsType: m.fsType });
    }
  }
  return out;
}

function realPath(path: string): string | undefined {
  try {
    return Deno.realPathSync(path);
  } catch {
    return undefined;
  }
}

function blockRdev(path: string): number | undefined {
  try {
    const st = Deno.statSync(path);
    return st.isBlockDevice && st.rdev ? st.rdev : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The sizes of the file system mounted at `mountPoint`, from `df -P -B1` (Deno has no
 * statvfs); undefined when df fails. Used = total − free, as df computes it, so free is
 * recovered from df's used column.
 */
export async function dfSizes(mountPoint: string): Promise<FsSizes | undefined> {
  const out = await new Deno.Command("df", {
    args: ["-P", "-B1", "--", mountPoint],
    stdout: "piped",
    stderr: "null",
    env: { LC_ALL: "C" },
  }).output();
  if (!out.success) return undefined;
  const lines = new TextDecoder().decode(out.stdout).trimEnd().split("\n");
  // the device column may hold spaces, the mount point too: count from "NNN%"
  const f = (lines[1] ?? "").split(/\s+/);
  const pct = f.findIndex((x, i) => i >= 4 && /^(\d+%|-)$/.test(x));
  if (pct < 0) return undefined;
  const [total, used, avail] = f.slice(pct - 3, pct).map(Number);
  if (![total, used, avail].every(Number.isFinite)) return undefined;
  return { totalBytes: total, freeBytes: Math.max(0, total - used), availBytes: avail };
}
