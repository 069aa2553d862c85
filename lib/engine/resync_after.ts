/**
 * resync-after: a volume's resync waits while the volume it names (by minor, as drbdadm
 * resolves `resync-after res/vol`) resyncs, verifies or is held back itself, along the whole
 * chain. DRBD keeps this as the peer devices' resync_susp_dependency flag, set by
 * drbd_pause_after and cleared by drbd_resume_next whenever a resync starts, ends or pauses;
 * a held peer device shows `resync-suspended:dependency` and a resync in it is PausedSyncS/T.
 * Pure functions over a snapshot of the node's minors; the caller applies the changes.
 *
 * @module
 */

import { ERR } from "./errors.ts";
import type { PeerDevice } from "./resource.ts";
import { isSyncing, type ReplicationState } from "./states.ts";

/** What the dependency rules need to know of one minor. */
export interface DependencyMinor {
  /** The minor this one resyncs after (its `resync-after` disk option); -1 or absent for none. */
  resyncAfter?: number;
  /** Whether the minor has a local disk (a diskless minor depends on nothing). */
  hasDisk: boolean;
  /** Its peer devices, one per connection. */
  peers: PeerDevice[];
}

/** Resync and verify, running or paused: DRBD's SyncSource … PausedSyncT. */
function busy(state: ReplicationState): boolean {
  return isSyncing(state) || state === "VerifyS" || state === "VerifyT";
}

function holdsOthers(pd: PeerDevice): boolean {
  return busy(pd.replication) || pd.resyncSuspDependency || pd.resyncSuspPeer ||
    pd.resyncSuspUser;
}

/**
 * The kernel's log of a peer device whose dependency flag just changed, `resync-susp( no ->
 * after dependency )`, or undefined when it was suspended before and after for other reasons.
 */
export function dependencyChangeText(pd: PeerDevice): string | undefined {
  if (pd.resyncSuspUser || pd.resyncSuspPeer) return undefined;
  const [from, to] = pd.resyncSuspDependency
    ? ["no", "after dependency"]
    : ["after dependency", "no"];
  return `resync-susp( ${from} -> ${to} )`;
}

/**
 * Whether `minor` may resync now (DRBD's __drbd_may_sync_now): no minor up its resync-after
 * chain has a peer device that resyncs, verifies, or is suspended for any reason. A chain that
 * loops (drbdsetup refuses to make one) ends where it returns to a minor already seen.
 */
export function maySyncNow(minor: number, minors: ReadonlyMap<number, DependencyMinor>): boolean {
  const seen = new Set<number>([minor]);
  let m = minors.get(minor);
  while (m?.hasDisk) {
    const after = m.resyncAfter ?? -1;
    if (after < 0 || seen.has(after)) return true;
    seen.add(after);
    m = minors.get(after);
    if (m?.peers.some(holdsOthers)) return false;
  }
  return true;
}

/**
 * Why `minor` may not resync after `after` (disk-options or attach `--resync-after`), as
 * drbd_resync_after_valid decides: below -1 is no minor (ERR_RESYNC_AFTER), a chain that leads
 * back to `minor` is a cycle (ERR_RESYNC_AFTER_CYCLE). A minor that does not exist or has no
 * disk ends the chain: DRBD lets a volume depend on one that is configured later.
 */
export function resyncAfterRefusal(
  minor: number,
  after: number,
  minors: ReadonlyMap<number, DependencyMinor>,
): number | undefined {
  if (after === -1) return undefined;
  if (after < -1) return ERR.RESYNC_AFTER;
  const seen = new Set<number>();
  let next = after;
  while (next !== -1 && !seen.has(next)) {
    if (next === minor) return ERR.RESYNC_AFTER_CYCLE;
    seen.add(next);
    const m = minors.get(next);
    if (!m?.hasDisk) break;
    next = m.resyncAfter ?? -1;
  }
  return undefined;
}

/**
 * Brings every connected peer device's dependency flag in line with the chains (pause where a
 * minor may not sync, resume where it may), repeating until nothing changes, as
 * suspend_other_sg and resume_next_sg do (one round more than there are minors: every chain
 * has settled by then). Returns the peer devices whose flag changed.
 */
export function updateDependencies(minors: ReadonlyMap<number, DependencyMinor>): Set<PeerDevice> {
  const changed = new Set<PeerDevice>();
  for (let round = 0; round <= minors.size; round++) {
    let moved = false;
    for (const [minor, m] of minors) {
      if (!m.hasDisk) continue;
      const may = maySyncNow(minor, minors);
      for (const pd of m.peers) {
        if (pd.replication === "Off" || pd.resyncSuspDependency === !may) continue;
        pd.resyncSuspDependency = !may;
        changed.add(pd);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return changed;
}
