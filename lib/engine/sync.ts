/**
 * The sync decision two peers make on connect from their generation UUIDs, after DRBD's
 * drbd_uuid_compare(): who is SyncSource, whether the resync is bitmap-based or full, and when
 * the data sets diverged (split brain) or are unrelated. Both sides run it on the same inputs
 * (mirrored) and so reach mirrored answers without a further round trip.
 *
 * Simplified against DRBD: two crashed primaries after a common power failure are left alone
 * (DRBD breaks the tie by resolve-conflicts), history is compared in full rather than in DRBD's
 * fixed rules.
 *
 * @module
 */

/** The UUIDs and disk facts of one side, as seen towards the other. */
export interface SyncSide {
  current: bigint;
  /** The bitmap UUID towards the other side (0 when none). */
  bitmap: bigint;
  /** History UUIDs, newest first. */
  history: readonly bigint[];
  /** Whether the side's data may serve as a resync source (UpToDate, or Consistent/Outdated). */
  usable: boolean;
  /** The side was Primary when it crashed; its hot activity log extents are out of sync. */
  crashedPrimary?: boolean;
  /** The side lost a connection to the other and has run on since (UUID_FLAG_RECONNECT). */
  reconnected?: boolean;
}

/** The outcome of {@link decideSync}, from the local side's point of view. */
export type SyncDecision =
  | { kind: "none" }
  | { kind: "bitmap"; role: "source" | "target"; rule: string }
  | { kind: "full"; role: "source" | "target"; rule: string }
  | { kind: "split-brain"; rule: string }
  | { kind: "unrelated"; rule: string };

/** The UUID DRBD gives data that was never written ("just created"). */
export const UUID_JUST_CREATED = 4n;

/** Bit 0 of a UUID says "created while Primary"; comparisons ignore it, as DRBD does. */
function same(a: bigint, b: bigint): boolean {
  return a !== 0n && (a & ~1n) === (b & ~1n);
}

/**
 * Decides how `local` and `peer` sync. Equal current UUIDs: nothing to do. One side just
 * created: full sync from the other. The local bitmap UUID equals the peer's current: the peer
 * missed only what our bitmap records (bitmap resync, we are source); and mirrored. The peer's
 * current in our history (or ours in theirs): the peer is an older state of ours but without a
 * bitmap for the gap (full sync). Anything else: both changed since they parted (split brain),
 * or, with no common ancestor at all, unrelated data.
 */
export function decideSync(local: SyncSide, peer: SyncSide): SyncDecision {
  const lc = local.current, pc = peer.current;
  const localNew = (lc & ~1n) === UUID_JUST_CREATED || lc === 0n;
  const peerNew = (pc & ~1n) === UUID_JUST_CREATED || pc === 0n;
  if (localNew && peerNew) return { kind: "none" };
  if (localNew) return { kind: "full", role: "target", rule: "local disk just created" };
  if (peerNew) return { kind: "full", role: "source", rule: "peer disk just created" };
  if (same(lc, pc)) return equalUuids(local, peer);
  if (same(local.bitmap, pc)) {
    return { kind: "bitmap", role: "source", rule: "local bitmap UUID is the peer's current" };
  }
  if (same(peer.bitmap, lc)) {
    return { kind: "bitmap", role: "target", rule: "peer bitmap UUID is our current" };
  }
  if (local.history.some((h) => same(h, pc))) {
    return { kind: "full", role: "source", rule: "peer's current UUID is in our history" };
  }
  if (peer.history.some((h) => same(h, lc))) {
    return { kind: "full", role: "target", rule: "our current UUID is in the peer's history" };
  }
  const related = [lc, local.bitmap, ...local.history].some((u) =>
    [pc, peer.bitmap, ...peer.history].some((v) => same(u, v))
  );
  return related
    ? { kind: "split-brain", rule: "both sides changed their data since they parted" }
    : { kind: "unrelated", rule: "the UUIDs share no ancestor" };
}

/**
 * Equal current UUIDs: the data is the same except where a crashed Primary's activity log says
 * writes may have been in flight. Those extents resync from the side that survived the crash,
 * or, when both were off (a common power failure), from the crashed Primary (DRBD 9's rules).
 */
function equalUuids(local: SyncSide, peer: SyncSide): SyncDecision {
  const lcp = local.crashedPrimary === true, pcp = peer.crashedPrimary === true;
  if (pcp && local.reconnected) {
    return { kind: "bitmap", role: "source", rule: "the peer crashed as primary, we survived" };
  }
  if (lcp && peer.reconnected) {
    return { kind: "bitmap", role: "target", rule: "we crashed as primary, the peer survived" };
  }
  if (local.reconnected || peer.reconnected || lcp === pcp) return { kind: "none" };
  return lcp
    ? { kind: "bitmap", role: "source", rule: "both were off, we crashed as primary" }
    : { kind: "bitmap", role: "target", rule: "both were off, the peer crashed as primary" };
}
