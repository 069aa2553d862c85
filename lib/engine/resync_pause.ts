/**
 * pause-sync / resume-sync: DRBD's "isp" (inhibit sync pause) flags of a peer device. The user
 * flag is set here by drbdsetup; the peer's user flag arrives in its State packets and becomes
 * our peer flag; a resync-after dependency (resync_after.ts) is a third flag, sent to the peer
 * like the user's. While any is set a SyncSource is PausedSyncS and a SyncTarget PausedSyncT,
 * on both nodes, and the resync sends nothing until all are clear.
 *
 * @module
 */

import { DrbdError, ERR } from "./errors.ts";
import type { PeerDevice } from "./resource.ts";
import type { ReplicationState } from "./states.ts";

/** Bits of the State packet's `flags` (PeerState.flags) that udrbd's engine uses. */
export const StateFlag = {
  /** The sender's user paused the resync with this peer (DRBD's user_isp). */
  USER_ISP: 1,
  /** A resync-after dependency holds the sender's resync back (DRBD's aftr_isp). */
  AFTR_ISP: 2,
} as const;

/** Whether the resync of a peer device is suspended for any reason. */
export function resyncSuspended(pd: PeerDevice): boolean {
  return pd.resyncSuspUser || pd.resyncSuspPeer || pd.resyncSuspDependency;
}

/** The State packet flags that tell the peer why our resync is held back. */
export function pauseFlags(pd: PeerDevice): number {
  return (pd.resyncSuspUser ? StateFlag.USER_ISP : 0) |
    (pd.resyncSuspDependency ? StateFlag.AFTR_ISP : 0);
}

/**
 * The replication state a resync state becomes with the suspension `suspended`: SyncSource ↔
 * PausedSyncS, SyncTarget ↔ PausedSyncT; every other state stays as it is.
 */
export function pausedReplication(
  state: ReplicationState,
  suspended: boolean,
): ReplicationState {
  if (state === "SyncSource" || state === "PausedSyncS") {
    return suspended ? "PausedSyncS" : "SyncSource";
  }
  if (state === "SyncTarget" || state === "PausedSyncT") {
    return suspended ? "PausedSyncT" : "SyncTarget";
  }
  return state;
}

/**
 * Sets or clears the user's pause flag of a peer device, refused as drbdsetup 9.22 reports it
 * when there is nothing to change: pausing twice is "Sync-pause flag is already set" (134),
 * resuming an unpaused device "... already cleared" (135), (156) when a resync-after
 * dependency holds it, or (157) when only the peer paused.
 */
export function setUserPause(pd: PeerDevice, pause: boolean, objname: string): void {
  if (pd.resyncSuspUser === pause) {
    if (pause) throw new DrbdError(objname, ERR.PAUSE_IS_SET);
    const paused = pd.replication === "PausedSyncS" || pd.replication === "PausedSyncT";
    throw new DrbdError(
      objname,
      !paused
        ? ERR.PAUSE_IS_CLEAR
        : pd.resyncSuspDependency
        ? ERR.PIC_AFTER_DEP
        : pd.resyncSuspPeer
        ? ERR.PIC_PEER_DEP
        : ERR.PAUSE_IS_CLEAR,
    );
  }
  pd.resyncSuspUser = pause;
}
