/**
 * drbd-overview in DRBD 8.4's format (drbd 8.4's drbd-overview.pl): one aligned row per minor,
 * built from the minor's /proc/drbd line, followed by what uses the device (mount point, file
 * system type, size, used, available, use% as `df -h` shows them), and the resync progress bar
 * under a syncing minor:
 *
 * ```
 *   0:r0/0  Connected Primary/Secondary UpToDate/UpToDate C r----- /mnt ext4 976M 2.6M 907M 1%
 * ```
 *
 * Every column is padded to its widest entry plus one space, as the Perl script's printf did
 * (so rows end in a space). Stacked devices, LVM, Xen and libvirt users are not reported.
 *
 * @module
 */
import { minors84 } from "./proc.ts";
import type { ResourceStatus } from "./types.ts";

/** What is mounted from a minor, as the caller reads it from /proc/mounts and statfs. */
export interface MountInfo {
  mountPoint: string;
  fsType: string;
  /** File system size in bytes (f_blocks × f_frsize). */
  totalBytes: number;
  /** Free bytes including the reserved ones (f_bfree × f_frsize). */
  freeBytes: number;
  /** Bytes available to unprivileged users (f_bavail × f_frsize). */
  availBytes: number;
}

/** Options of {@link formatOverview}. */
export interface OverviewOptions {
  /** Mounts by minor number (only the first mount of each minor is shown, as df shows one). */
  mounts?: ReadonlyMap<number, MountInfo>;
  /** Minors configured in drbd.conf whose resource is not up: shown as Unconfigured. */
  configured?: readonly { minor: number; resource: string; volume: number }[];
}

/**
 * Render drbd-overview's 8.4 output for a snapshot (an empty string when there are no minors).
 */
export function formatOverview(
  resources: readonly ResourceStatus[],
  options: OverviewOptions = {},
): string {
  const rows = new Map<number, { name: string; state: string; sync?: string }>();
  for (const m of minors84(resources)) {
    rows.set(m.minor, {
      name: `${m.resource}/${m.volume}`,
      state: overviewState(m.stateLine),
      sync: m.progressLine,
    });
  }
  for (const c of options.configured ?? []) {
    if (!rows.has(c.minor)) {
      rows.set(c.minor, { name: `${c.resource}/${c.volume}`, state: "Unconfigured . . . ." });
    }
  }
  const out: string[][] = [];
  const widths: number[] = [];
  for (const minor of [...rows.keys()].sort((a, b) => a - b)) {
    const row = rows.get(minor)!;
    const mount = options.mounts?.get(minor);
    const cells = [
      `${String(minor).padStart(3)}:${row.name}`,
      "",
      ...splitWords(row.state),
      ...(mount ? dfColumns(mount) : []),
    ];
    cells.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length + 1));
    out.push(cells);
    if (row.sync !== undefined) out.push([row.sync]);
  }
  return out.map((cells) => cells.map((c, i) => c.padEnd(widths[i])).join("") + "\n").join("");
}

/** The Perl script's rewrite of a /proc/drbd state line into overview columns. */
function overviewState(line: string): string {
  let s = line;
  // written for 8.3's four flag letters: with 8.4's six it never matches, so a missing
  // protocol letter just vanishes between the columns
  s = s.replace(/^(.* cs:.*\S) {3}([rs]...)$/, "$1 - $2");
  s = s.replace(/^(.* )cs:([^ ]* )(?:st|ro):([^ ]* )ds:([^ ]*)/, "$1$2$3$4");
  s = s.replace(/^(.* )cs:([^ ]*)$/, "$1$2");
  s = s.replace(/^ *\d+:\s+/, "");
  s = s.replace(/Unconfigured$/, "Unconfigured . . . .");
  return s;
}

function splitWords(s: string): string[] {
  const words = s.split(/\s+/);
  while (words.length && words[words.length - 1] === "") words.pop();
  return words;
}

/** df -TPh's columns for a mount: mount point, type, size, used, avail, use%. */
export function dfColumns(m: MountInfo): string[] {
  const used = Math.max(0, m.totalBytes - m.freeBytes);
  const u100 = BigInt(used) * 100n;
  const denom = BigInt(used + m.availBytes);
  // df rounds the percentage up, in integers
  const pct = denom === 0n ? "-" : `${u100 / denom + (u100 % denom ? 1n : 0n)}%`;
  return [
    m.mountPoint,
    m.fsType,
    dfHuman(m.totalBytes),
    dfHuman(used),
    dfHuman(m.availBytes),
    pct,
  ];
}

const UNITS = ["", "K", "M", "G", "T", "P", "E", "Z", "Y"];

/** A byte count as `df -h` prints it: powers of 1024, rounded up, one decimal below 10. */
export function dfHuman(bytes: number): string {
  const n = BigInt(Math.max(0, Math.trunc(bytes)));
  if (n < 1024n) return String(n);
  let exp = 0;
  let div = 1n;
  while (n >= div * 1024n && exp < UNITS.length - 1) {
    div *= 1024n;
    exp++;
  }
  const tenths = (n * 10n + div - 1n) / div;
  if (tenths < 100n) return `${tenths / 10n}.${tenths % 10n}${UNITS[exp]}`;
  const whole = (n + div - 1n) / div;
  if (whole >= 1024n && exp < UNITS.length - 1) return `1.0${UNITS[exp + 1]}`;
  return `${whole}${UNITS[exp]}`;
}
