/**
 * What happens after the UUIDs say split brain, as in DRBD's drbd_sync_handshake: without an
 * instruction the connection is dropped ("Split-Brain detected but unresolved, dropping
 * connection!"); with `connect --discard-my-data` on exactly one side, that side becomes
 * SyncTarget ("Split-Brain detected, manually solved. Sync from peer node"). When both sides
 * parted from the same data (equal bitmap UUIDs), their bitmaps together name every block
 * either side changed, and the resync covers exactly their union; otherwise only a full sync
 * is safe.
 *
 * The automatic after-sb policies are not applied here (a later issue): they are agreed on in
 * the Protocol packet, but any split brain without discard-my-data is left unresolved.
 *
 * @module
 */

import type { SyncDecision, SyncSide } from "./sync.ts";

/** The outcome of {@link resolveSplitBrain}: a sync to start, or the connection to drop. */
export type SplitBrainOutcome =
  | { resolved: true; decision: Extract<SyncDecision, { kind: "bitmap" | "full" }>; log: string }
  | { resolved: false; log: string };

/** Bit 0 of a UUID says "created while Primary"; comparisons ignore it. */
function same(a: bigint, b: bigint): boolean {
  return a !== 0n && (a & ~1n) === (b & ~1n);
}

/**
 * Decides a detected split brain from both sides' discard-my-data flags: the side that
 * discards becomes SyncTarget (bitmap-based when both bitmaps start at the same UUID, full
 * otherwise); no flag (both flags are refused earlier, by the Protocol check) leaves it
 * unresolved. `log` is DRBD's log line for the outcome.
 */
export function resolveSplitBrain(
  local: SyncSide,
  peer: SyncSide,
  discard: { local: boolean; peer: boolean },
): SplitBrainOutcome {
  const role = discard.local && !discard.peer
    ? "target"
    : !discard.local && discard.peer
    ? "source"
    : undefined;
  if (!role) {
    return { resolved: false, log: "Split-Brain detected but unresolved, dropping connection!" };
  }
  const full = !same(local.bitmap, peer.bitmap);
  const rule = full
    ? "split brain resolved by discard-my-data, no common bitmap UUID"
    : "split brain resolved by discard-my-data, bitmaps of both sides";
  return {
    resolved: true,
    decision: { kind: full ? "full" : "bitmap", role, rule },
    log: `Split-Brain detected, manually solved. ${full ? "Full sync" : "Sync"} from ${
      role === "target" ? "peer" : "this"
    } node`,
  };
}
