/**
 * The digest algorithms two peers must share, as DRBD's SyncParam packet carries them
 * (drbd_send_sync_param, receive_SyncParam): each side sends its `verify-alg` and `csums-alg`
 * per volume before Sizes, and again when net options change while connected. During the
 * handshake (replication still Off) a difference ends the connection; on an established one
 * the receiver adopts the peer's algorithm, so a `net-options --verify-alg` on one node is enough.
 *
 * @module
 */

import type { SyncParamPacket } from "../wire/mod.ts";
import { ERR } from "./errors.ts";
import { isSyncing, type ReplicationState } from "./states.ts";
import { digestFor } from "./verify.ts";

/** The net options SyncParam carries. */
const ALGS = [
  { option: "verify-alg", field: "verifyAlg" },
  { option: "csums-alg", field: "csumsAlg" },
] as const;

/** ENOENT, what the kernel's crypto_alloc_shash returns for an algorithm it does not know. */
const ENOENT = -2;

/** What a received SyncParam means for the connection. */
export type SyncParamOutcome =
  /** Both sides use the same algorithms. */
  | { kind: "agree" }
  /** The connection must end (`log` is DRBD's error line). */
  | { kind: "refuse"; log: string }
  /** The peer changed algorithms: take its values (`set`), logging `logs` as DRBD does. */
  | { kind: "adopt"; set: Record<string, string>; logs: string[] };

/** The SyncParam packet of `volume` for the connection's net options `net`. */
export function syncParamPacketOf(net: Record<string, string>, volume: number): SyncParamPacket {
  return {
    type: "SyncParam",
    volume,
    verifyAlg: net["verify-alg"] ?? "",
    csumsAlg: net["csums-alg"] ?? "",
  };
}

/**
 * Compares the peer's algorithms with ours (`net`), as receive_SyncParam does: a difference
 * while `handshake` (replication Off) is refused ("Different verify-alg settings. me=... peer=..."),
 * later the peer's algorithm is adopted if this build computes it (an unknown one is refused,
 * an empty one ignored, as the kernel allocates no digest for it).
 */
export function checkSyncParam(
  net: Record<string, string>,
  p: SyncParamPacket,
  handshake: boolean,
): SyncParamOutcome {
  const set: Record<string, string> = {};
  const logs: string[] = [];
  for (const { option, field } of ALGS) {
    const mine = net[option] ?? "";
    const theirs = p[field];
    if (mine === theirs) continue;
    if (handshake) {
      return {
        kind: "refuse",
        log: `Different ${option} settings. me="${mine}" peer="${theirs}"`,
      };
    }
    if (!theirs) continue;
    if (!digestFor(theirs)) {
      return {
        kind: "refuse",
        log: `Can not allocate "${theirs}" as ${option} (reason: ${ENOENT})`,
      };
    }
    set[option] = theirs;
    logs.push(`using ${option}: "${theirs}"`);
  }
  return logs.length ? { kind: "adopt", set, logs } : { kind: "agree" };
}

/**
 * Why net-options may not change a connection's algorithms from `old` to `next` now, as
 * drbd_adm_net_opts checks before taking anything over: a different csums-alg while any of its
 * volumes resyncs, paused or not (ERR_CSUMS_RESYNC_RUNNING), a different verify-alg while one
 * verifies (ERR_VERIFY_RUNNING). `states` are the replication states of the connection's peer
 * devices; undefined when the change may go ahead.
 */
export function algChangeRefusal(
  old: Record<string, string>,
  next: Record<string, string>,
  states: Iterable<ReplicationState>,
): number | undefined {
  const running = [...states];
  const changed = (option: string) => (old[option] ?? "") !== (next[option] ?? "");
  if (changed("csums-alg") && running.some(isSyncing)) {
    return ERR.CSUMS_RESYNC_RUNNING;
  }
  if (changed("verify-alg") && running.some((s) => s === "VerifyS" || s === "VerifyT")) {
    return ERR.VERIFY_RUNNING;
  }
  return undefined;
}
