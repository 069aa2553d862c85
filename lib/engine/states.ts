/**
 * DRBD 9's state names, exactly as drbdsetup and the kernel print them. Status text, JSON,
 * events2, /proc/drbd and the state machines all use these values; nothing else spells a state.
 *
 * @module
 */

/** A resource's role on this node (`drbdsetup role`). */
export const ROLES = ["Unknown", "Primary", "Secondary"] as const;
export type Role = typeof ROLES[number];

/** A volume's local disk state, also the peer's disk state as seen from here. */
export const DISK_STATES = [
  "Diskless",
  "Attaching",
  "Detaching",
  "Failed",
  "Negotiating",
  "Inconsistent",
  "Outdated",
  "DUnknown",
  "Consistent",
  "UpToDate",
] as const;
export type DiskState = typeof DISK_STATES[number];

/** A connection's state (`drbdsetup cstate`). */
export const CONNECTION_STATES = [
  "StandAlone",
  "Disconnecting",
  "Unconnected",
  "Timeout",
  "BrokenPipe",
  "NetworkFailure",
  "ProtocolError",
  "TearDown",
  "Connecting",
  "Connected",
] as const;
export type ConnectionState = typeof CONNECTION_STATES[number];

/** A peer device's replication state. */
export const REPLICATION_STATES = [
  "Off",
  "Established",
  "StartingSyncS",
  "StartingSyncT",
  "WFBitMapS",
  "WFBitMapT",
  "WFSyncUUID",
  "SyncSource",
  "SyncTarget",
  "VerifyS",
  "VerifyT",
  "PausedSyncS",
  "PausedSyncT",
  "Ahead",
  "Behind",
] as const;
export type ReplicationState = typeof REPLICATION_STATES[number];

/** Whether the replication state is one of the resync states (status shows progress). */
export function isSyncing(state: ReplicationState): boolean {
  return state === "SyncSource" || state === "SyncTarget" || state === "PausedSyncS" ||
    state === "PausedSyncT";
}
