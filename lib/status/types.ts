/**
 * The node's state snapshot that every status surface formats. Its keys are the keys that
 * `drbdsetup status --json` (drbd-utils 9.22) prints, with the same units: sizes and I/O counters
 * in KiB, resync fields in sectors and milliseconds. Values that 9.22's JSON derives from others
 * ("suspended", "percent-in-sync", "want", "db/dt [MiB/s]"…) are not stored; the formatters
 * compute them. Data that the JSON lacks but other surfaces need (backing device path, wire
 * protocol letter, paths, epochs) lives in a separate optional `udrbd` object on each level, so
 * the JSON printer can reproduce drbdsetup's shape exactly.
 *
 * Order: `resources` and each resource's `connections` are in creation order (events2 depends on
 * it); the text and JSON formatters sort by name as drbdsetup does.
 *
 * @module
 */
import type { ConnectionState, DiskState, ReplicationState, Role } from "../engine/states.ts";

/** The write-ordering method a resource currently uses (`write-ordering:` in status). */
export type WriteOrdering = "none" | "drain" | "flush" | "barrier";

/** Why a resync is suspended, as drbdsetup spells it: "no" or a comma list of user, peer, dependency. */
export type ResyncSuspended =
  | "no"
  | "user"
  | "peer"
  | "user,peer"
  | "dependency"
  | "user,dependency"
  | "peer,dependency"
  | "user,peer,dependency";

/** Which side of a device blocks I/O: "no", "upper", "lower" or "upper,lower". */
export type Blocked = "no" | "upper" | "lower" | "upper,lower";

/** One resource on this node: role, suspension, its volumes and its connections. */
export interface ResourceStatus {
  name: string;
  /** This node's node-id; -1 when the resource has none yet (JSON prints -1, text omits it). */
  "node-id": number;
  role: Role;
  "suspended-user": boolean;
  "suspended-no-data": boolean;
  "suspended-fencing": boolean;
  "suspended-quorum": boolean;
  "force-io-failures": boolean;
  "write-ordering": WriteOrdering;
  devices: DeviceStatus[];
  connections: ConnectionStatus[];
  udrbd?: ResourceExtras;
}

/** udrbd's additions to a resource (nothing yet; reserved so the shape stays uniform). */
export type ResourceExtras = Record<string, never>;

/** One volume (minor) of a resource: local disk state and I/O statistics. */
export interface DeviceStatus {
  volume: number;
  minor: number;
  "disk-state": DiskState;
  /** Intentionally diskless (a DRBD client). */
  client: boolean;
  quorum: boolean;
  /** Usable size in KiB. */
  size: number;
  /** KiB read from the local disk. */
  read: number;
  /** KiB written to the local disk. */
  written: number;
  "al-writes": number;
  "bm-writes": number;
  "upper-pending": number;
  "lower-pending": number;
  /** Not in 9.22's JSON; text status prints it with --verbose --statistics. */
  "al-suspended": boolean;
  /** Not in 9.22's JSON; text status prints it with --verbose or when not "no". */
  blocked: Blocked;
  udrbd?: DeviceExtras;
}

/** udrbd's additions to a device. */
export interface DeviceExtras {
  /** Backing device path (`backing_dev:` in verbose status and events2); absent means "none". */
  backingDev?: string;
}

/** The connection to one peer node of a resource. */
export interface ConnectionStatus {
  "peer-node-id": number;
  /** Connection name (the peer's host name unless configured otherwise). */
  name: string;
  "connection-state": ConnectionState;
  congested: boolean;
  "peer-role": Role;
  "ap-in-flight": number;
  "rs-in-flight": number;
  peer_devices: PeerDeviceStatus[];
  udrbd?: ConnectionExtras;
}

/** udrbd's additions to a connection. */
export interface ConnectionExtras {
  /** Wire protocol (net `protocol`), shown in /proc/drbd and drbd-overview; absent when unconfigured. */
  protocol?: "A" | "B" | "C";
  /** Write epochs in flight (/proc/drbd `ep:`); 1 when idle, as DRBD 8.4 shows. */
  epochs?: number;
  /** The connection's network paths (events2 `path` lines), in creation order. */
  paths?: PathStatus[];
}

/** One network path of a connection, addresses as drbdsetup prints them ("ipv4:10.0.0.1:7789"). */
export interface PathStatus {
  local: string;
  peer: string;
  established: boolean;
}

/**
 * One volume as seen through one connection: replication state, the peer's disk, traffic and,
 * while a resync or online verify runs, its progress. The resync fields follow the kernel's
 * statistics (sectors, milliseconds) and are present only while there is something left to do
 * (`rs-total` > 0), exactly when 9.22 prints them.
 */
export interface PeerDeviceStatus {
  volume: number;
  "replication-state": ReplicationState;
  "peer-disk-state": DiskState;
  /** The peer is intentionally diskless. */
  "peer-client": boolean;
  "resync-suspended": ResyncSuspended;
  /** KiB received from the peer. */
  received: number;
  /** KiB sent to the peer. */
  sent: number;
  /** KiB out of sync with the peer. */
  "out-of-sync": number;
  pending: number;
  unacked: number;
  /** Sectors to resync or verify in total; 0 or absent when nothing runs. */
  "rs-total"?: number;
  "rs-dt-start-ms"?: number;
  "rs-paused-ms"?: number;
  /** Time and progress since the older sync mark (DRBD 8.4's ~18 s average). */
  "rs-dt0-ms"?: number;
  "rs-db0-sectors"?: number;
  /** Time and progress since the newest sync mark (DRBD 8.4's ~3 s average). */
  "rs-dt1-ms"?: number;
  "rs-db1-sectors"?: number;
  /** Sectors that failed to resync. */
  "rs-failed"?: number;
  "rs-same-csum"?: number;
  "ov-start-sector"?: number;
  "ov-stop-sector"?: number;
  "ov-position"?: number;
  /** Sectors left to verify; non-zero only during online verify. */
  "ov-left"?: number;
  "ov-skipped"?: number;
  /**
   * The dynamic resync controller's current rate in KiB/s (kernel `c_sync_rate`; 9.22 prints it
   * as JSON `want` in MiB/s, /proc/drbd as `want:`). Set only for SyncTarget and VerifyS.
   */
  "rs-c-sync-rate"?: number;
}

/** Whether a peer device carries resync/verify progress (9.22's "has-sync-details"). */
export function hasSyncDetails(pd: PeerDeviceStatus): boolean {
  return (pd["rs-total"] ?? 0) !== 0;
}

/** Spell resync suspension reasons as drbdsetup does ("no", "user,peer", …). */
export function resyncSuspendedText(
  reasons: { user?: boolean; peer?: boolean; dependency?: boolean },
): ResyncSuspended {
  const parts = [];
  if (reasons.user) parts.push("user");
  if (reasons.peer) parts.push("peer");
  if (reasons.dependency) parts.push("dependency");
  return (parts.length ? parts.join(",") : "no") as ResyncSuspended;
}

/** Spell a resource's suspension as drbdsetup does ("no", "user,no-data", …, "…,quorum"). */
export function suspendedText(r: ResourceStatus): string {
  const parts = [];
  if (r["suspended-user"]) parts.push("user");
  if (r["suspended-no-data"]) parts.push("no-data");
  if (r["suspended-fencing"]) parts.push("fencing");
  if (r["suspended-quorum"]) parts.push("quorum");
  return parts.length ? parts.join(",") : "no";
}

/** Whether any suspension reason is set (9.22's JSON "suspended"). */
export function isSuspended(r: ResourceStatus): boolean {
  return r["suspended-user"] || r["suspended-no-data"] || r["suspended-fencing"] ||
    r["suspended-quorum"];
}
