/**
 * Whether `invalidate` (this node becomes SyncTarget of a connected peer) or `invalidate-remote`
 * (this node becomes SyncSource) may start a resync now, and DRBD's refusal code when not: the
 * checks DRBD's state engine makes for a change to StartingSyncT / StartingSyncS
 * (is_valid_state and is_valid_transition in drbd_state.c).
 *
 * One deviation: DRBD lets a Primary become SyncTarget while a peer is UpToDate (it reads
 * through the peer meanwhile). This engine serves a Primary's reads from its own disk only, so
 * a Primary is refused as a SyncTarget with SS_NO_UP_TO_DATE_DISK, the code DRBD gives when no
 * peer holds UpToDate data either.
 *
 * @module
 */

import { SS } from "./errors.ts";
import type { ConnectionState, DiskState, ReplicationState, Role } from "./states.ts";

/** What the resync start is checked against: the volume here and its peer device. */
export interface ResyncStartFacts {
  /** "target": invalidate (data from the peer); "source": invalidate-remote. */
  as: "target" | "source";
  role: Role;
  disk: DiskState;
  connection: ConnectionState;
  replication: ReplicationState;
  peerRole: Role;
  peerDisk: DiskState;
}

/** The SS_ code that refuses the resync start, or undefined when it may start. */
export function resyncStartRefusal(f: ResyncStartFacts): number | undefined {
  if (f.connection !== "Connected" || f.replication === "Off") return SS.NEED_CONNECTION;
  if (f.replication !== "Established") return SS.RESYNC_RUNNING;
  if (f.disk === "Diskless") return SS.NO_LOCAL_DISK;
  if (f.peerDisk === "Diskless") return SS.NO_REMOTE_DISK;
  // The side that becomes SyncTarget loses its data: someone must still have UpToDate data,
  // and (see the module text) the target must not be a Primary.
  const [source, target] = f.as === "target"
    ? [{ disk: f.peerDisk }, { role: f.role }]
    : [{ disk: f.disk }, { role: f.peerRole }];
  if (source.disk !== "UpToDate" || target.role === "Primary") return SS.NO_UP_TO_DATE_DISK;
  return undefined;
}
