/**
 * /proc/drbd in DRBD 8.4's layout, the text that monitoring scripts and drbd-overview parse:
 *
 * ```
 * version: 8.4.11 (api:1/proto:86-101)
 * GIT-hash: … build by …
 *  0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
 *     ns:1130496 nr:0 dw:0 dr:1131168 al:0 bm:0 lo:0 pe:4 ua:0 ap:0 ep:1 wo:f oos:3062620
 * 	[====>...............] sync'ed: 27.1% (3062620/4193116)K
 * 	finish: 0:00:42 speed: 71,936 (71,936) K/sec
 * ```
 *
 * DRBD 8.4 knew one peer per minor; a minor shows its resource's first connection (in creation
 * order) that has a peer device for its volume. DRBD 9 states map onto 8.4's words:
 *
 * | DRBD 9                                   | 8.4 `cs:`                         |
 * | ---------------------------------------- | --------------------------------- |
 * | no connection                            | StandAlone                        |
 * | Connecting                               | WFConnection                      |
 * | Connected, replication Off (handshake)   | WFReportParams                    |
 * | Connected, replication Established       | Connected                         |
 * | Connected, any other replication state   | that state (SyncSource, VerifyT…) |
 * | StandAlone, Disconnecting, Unconnected, Timeout, BrokenPipe, NetworkFailure, ProtocolError, TearDown | the same word |
 *
 * Disk `Detaching` (new in DRBD 9) shows as 8.4's `Failed`; roles are unchanged; a peer that is
 * not connected shows `Unknown`/`DUnknown`. A Secondary, Diskless, StandAlone minor is
 * `cs:Unconfigured`, as 8.4 prints it. The flag letters are 8.4's: `s` suspended (else `r`),
 * `a`/`p`/`u` resync suspended by dependency/peer/user, `n` network congested, `s` activity log
 * suspended.
 *
 * @module
 */
import type { DiskState } from "../engine/states.ts";
import { VERSION } from "../version.ts";
import { groupThousands } from "./printf.ts";
import type { ConnectionStatus, DeviceStatus, PeerDeviceStatus, ResourceStatus } from "./types.ts";

/** The header lines of /proc/drbd. */
export interface ProcVersion {
  /** Release shown after `version:` (default "8.4.11": readers pick the 8.4 parser by it). */
  version?: string;
  api?: number;
  protoMin?: number;
  protoMax?: number;
  /** The second line (8.4: `GIT-hash: … build by …`). */
  buildTag?: string;
}

/** One minor's state in DRBD 8.4 terms, shared by /proc/drbd and drbd-overview. */
export interface Minor84 {
  minor: number;
  resource: string;
  volume: number;
  /** The ` 0: cs:… ro:… ds:… C r-----` line (no newline). */
  stateLine: string;
  /** The `    ns:…` line, absent for Unconfigured minors. */
  countersLine?: string;
  /** The progress bar line (starts with a tab), during resync or verify. */
  progressLine?: string;
  /** The `finish:` line (starts with a tab), during resync or verify. */
  finishLine?: string;
}

/** Map a DRBD 9 connection + replication state onto 8.4's single connection-state word. */
export function connectionState84(c: ConnectionStatus | undefined, pd?: PeerDeviceStatus): string {
  if (!c) return "StandAlone";
  const cs = c["connection-state"];
  if (cs === "Connecting") return "WFConnection";
  if (cs !== "Connected") return cs;
  const repl = pd?.["replication-state"] ?? "Off";
  if (repl === "Off") return "WFReportParams";
  if (repl === "Established") return "Connected";
  return repl;
}

/** Map a DRBD 9 disk state onto 8.4's words (Detaching did not exist: it was Failed). */
export function diskState84(d: DiskState): string {
  return d === "Detaching" ? "Failed" : d;
}

const WO_CHAR = { none: "n", drain: "d", flush: "f", barrier: "b" } as const;

/** Every minor of the snapshot in 8.4 terms, sorted by minor. */
export function minors84(resources: readonly ResourceStatus[]): Minor84[] {
  const out: Minor84[] = [];
  for (const r of resources) {
    for (const d of r.devices) out.push(minor84(r, d));
  }
  return out.sort((a, b) => a.minor - b.minor);
}

function minor84(r: ResourceStatus, d: DeviceStatus): Minor84 {
  let conn: ConnectionStatus | undefined;
  let pd: PeerDeviceStatus | undefined;
  for (const c of r.connections) {
    const found = c.peer_devices.find((p) => p.volume === d.volume);
    if (found) {
      conn = c;
      pd = found;
      break;
    }
  }
  conn ??= r.connections[0];
  const cs = connectionState84(conn, pd);
  const disk = diskState84(d["disk-state"]);
  const base = { minor: d.minor, resource: r.name, volume: d.volume };
  const num = String(d.minor).padStart(2);
  if (cs === "StandAlone" && disk === "Diskless" && r.role === "Secondary") {
    return { ...base, stateLine: `${num}: cs:Unconfigured` };
  }
  const connected = conn?.["connection-state"] === "Connected";
  const peerRole = connected ? conn!["peer-role"] : "Unknown";
  const peerDisk = pd && connected ? diskState84(pd["peer-disk-state"]) : "DUnknown";
  const susp = pd?.["resync-suspended"] ?? "no";
  const suspended = r["suspended-user"] || r["suspended-no-data"] || r["suspended-fencing"] ||
    r["suspended-quorum"];
  const flags = (suspended ? "s" : "r") +
    (susp.includes("dependency") ? "a" : "-") +
    (susp.includes("peer") ? "p" : "-") +
    (susp.includes("user") ? "u" : "-") +
    (conn?.congested ? "n" : "-") +
    (d["al-suspended"] ? "s" : "-");
  const stateLine = `${num}: cs:${cs} ro:${r.role}/${peerRole} ds:${disk}/${peerDisk} ` +
    `${conn?.udrbd?.protocol ?? " "} ${flags}`;
  const countersLine = `    ns:${pd?.sent ?? 0} nr:${pd?.received ?? 0} dw:${d.written} ` +
    `dr:${d.read} al:${d["al-writes"]} bm:${d["bm-writes"]} lo:${d["lower-pending"]} ` +
    `pe:${pd?.pending ?? 0} ua:${pd?.unacked ?? 0} ap:${d["upper-pending"]} ` +
    `ep:${conn?.udrbd?.epochs ?? 1} wo:${WO_CHAR[r["write-ordering"]]} ` +
    `oos:${pd?.["out-of-sync"] ?? 0}`;
  const minor: Minor84 = { ...base, stateLine, countersLine };
  if (pd && (cs === "SyncSource" || cs === "SyncTarget" || cs === "VerifyS" || cs === "VerifyT")) {
    const [progress, finish] = progressLines(pd, cs);
    minor.progressLine = progress;
    minor.finishLine = finish;
  }
  return minor;
}

/**
 * 8.4's progress bar and finish/speed lines of a peer device in resync or verify (`cs`: its
 * 8.4 connection state, see {@link connectionState84}), each starting with a tab, computed in
 * 4 KiB bitmap bits as 8.4 did.
 */
export function progressLines(pd: PeerDeviceStatus, cs: string): [string, string] {
  const verify = cs === "VerifyS" || cs === "VerifyT";
  const rsTotal = Math.floor((pd["rs-total"] ?? 0) / 8);
  let left = verify
    ? Math.floor((pd["ov-left"] ?? 0) / 8)
    : Math.floor((pd["out-of-sync"] * 2 - (pd["rs-failed"] ?? 0)) / 8);
  let perMil: number;
  if (left > rsTotal) {
    // 8.4's guard for a race between the state change and the reset of rs_total
    left = rsTotal;
    perMil = rsTotal ? 0 : 1000;
  } else {
    const shift = rsTotal > 0xffffffff ? 2 ** 16 : 2 ** 10;
    const total = 1 + Math.floor(rsTotal / shift);
    perMil = 1000 - Math.floor(Math.floor(left / shift) * 1000 / total);
  }
  const x = Math.floor(perMil / 50);
  const bar = "=".repeat(Math.max(0, x - 1)) + ">" + ".".repeat(Math.max(0, 20 - x));
  const pct = `${String(Math.floor(perMil / 10)).padStart(3)}.${perMil % 10}%`;
  const amounts = rsTotal > 4 * 2 ** 18
    ? `(${Math.floor(left / 1024) * 4}/${Math.floor(rsTotal / 1024) * 4})M`
    : `(${left * 4}/${rsTotal * 4})K`;
  const progress = `\t[${bar}] ${verify ? "verified:" : "sync'ed:"}${pct} ${amounts}`;

  let dt = Math.floor((pd["rs-dt0-ms"] ?? 0) / 1000);
  const stalled = dt > 180;
  if (!dt) dt = 1;
  let db = Math.max(0, Math.floor((pd["rs-db0-sectors"] ?? 0) / 8));
  const rt = Math.floor(dt * Math.floor(left / (Math.floor(db / 100) + 1)) / 100);
  const hms = `${Math.floor(rt / 3600)}:${String(Math.floor(rt % 3600 / 60)).padStart(2, "0")}:` +
    String(rt % 60).padStart(2, "0");
  let finish = `\tfinish: ${hms} speed: ${groupThousands(Math.floor(db / dt) * 4)} (`;
  dt = Math.floor(((pd["rs-dt-start-ms"] ?? 0) - (pd["rs-paused-ms"] ?? 0)) / 1000) || 1;
  db = Math.max(0, rsTotal - left);
  finish += `${groupThousands(Math.floor(db / dt) * 4)})`;
  if (cs === "SyncTarget" || cs === "VerifyS") {
    finish += ` want: ${groupThousands(pd["rs-c-sync-rate"] ?? 0)}`;
  }
  finish += ` K/sec${stalled ? " (stalled)" : ""}`;
  return [progress, finish];
}

/**
 * Render /proc/drbd in DRBD 8.4's format for a snapshot: the version lines, then each minor
 * (a blank line where minor numbers skip), with resync/verify progress where one runs.
 */
export function formatProcDrbd(
  resources: readonly ResourceStatus[],
  version: ProcVersion = {},
): string {
  let out = `version: ${version.version ?? "8.4.11"} (api:${version.api ?? 1}/proto:` +
    `${version.protoMin ?? 86}-${version.protoMax ?? 101})\n` +
    `${version.buildTag ?? `GIT-hash: udrbd-${VERSION} build by udrbd`}\n`;
  let prev = -1;
  for (const m of minors84(resources)) {
    if (prev !== m.minor - 1) out += "\n";
    prev = m.minor;
    out += m.stateLine + "\n";
    if (m.countersLine) out += m.countersLine + "\n";
    if (m.progressLine) out += m.progressLine + "\n" + m.finishLine + "\n";
  }
  return out;
}
