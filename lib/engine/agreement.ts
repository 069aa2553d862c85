/**
 * What two peers must agree on right after connecting, as DRBD's receive_protocol and
 * receive_sizes check it: the connection's settings (replication protocol, after-sb policies,
 * allow-two-primaries, data-integrity-alg, who discards its data) and the device size. Pure
 * functions of both sides' facts, so both sides reach the same verdict without a round trip.
 *
 * @module
 */

import {
  AFTER_SB_0PRI,
  AFTER_SB_1PRI,
  AFTER_SB_2PRI,
  ProtocolFlag,
  type ProtocolPacket,
  type ReplicationProtocol,
} from "../wire/mod.ts";

/** Picks `text` from `values`, else the first value (drbd.conf's default). */
function pick<T extends string>(values: readonly T[], text: string | undefined): T {
  return values.includes(text as T) ? text as T : values[0];
}

/**
 * The Protocol packet this node sends on a connection with net options `net`; `discardMyData`
 * is the one-shot flag of `connect --discard-my-data`.
 */
export function protocolPacketOf(
  net: Readonly<Record<string, string>>,
  discardMyData: boolean,
): ProtocolPacket {
  let flags = discardMyData ? ProtocolFlag.DISCARD_MY_DATA : 0;
  if (net["allow-two-primaries"] === "yes") flags |= ProtocolFlag.ALLOW_TWO_PRIMARIES;
  if (net["always-asbp"] === "yes") flags |= ProtocolFlag.ALWAYS_ASBP;
  return {
    type: "Protocol",
    protocol: pick<ReplicationProtocol>(["C", "A", "B"], net.protocol),
    afterSb0pri: pick(AFTER_SB_0PRI, net["after-sb-0pri"]),
    afterSb1pri: pick(AFTER_SB_1PRI, net["after-sb-1pri"]),
    afterSb2pri: pick(AFTER_SB_2PRI, net["after-sb-2pri"]),
    flags,
    integrityAlg: net["data-integrity-alg"] ?? "",
  };
}

/** The peer's after-sb-0pri as it reads from our side: discard-local there is discard-remote here. */
function mirrored(policy: ProtocolPacket["afterSb0pri"]): ProtocolPacket["afterSb0pri"] {
  if (policy === "discard-local") return "discard-remote";
  if (policy === "discard-remote") return "discard-local";
  return policy;
}

/**
 * Compares the peer's Protocol packet with ours as DRBD's receive_protocol does, and returns
 * DRBD's complaint ("incompatible protocol settings", "incompatible after-sb-0pri settings",
 * "incompatible discard-my-data settings" ...) for the first mismatch, or undefined when the
 * connection may go on. Both sides asking for discard-my-data is a mismatch; one is not.
 */
export function protocolMismatch(local: ProtocolPacket, peer: ProtocolPacket): string | undefined {
  const bad = (what: string) => `incompatible ${what} settings`;
  if (peer.protocol !== local.protocol) return bad("protocol");
  if (mirrored(peer.afterSb0pri) !== local.afterSb0pri) return bad("after-sb-0pri");
  if (peer.afterSb1pri !== local.afterSb1pri) return bad("after-sb-1pri");
  if (peer.afterSb2pri !== local.afterSb2pri) return bad("after-sb-2pri");
  if (peer.flags & local.flags & ProtocolFlag.DISCARD_MY_DATA) return bad("discard-my-data");
  const two = ProtocolFlag.ALLOW_TWO_PRIMARIES;
  if ((peer.flags & two) !== (local.flags & two)) return bad("allow-two-primaries");
  if (peer.integrityAlg !== local.integrityAlg) return bad("data-integrity-alg");
  return undefined;
}

/** One side's sizes, in 512-byte sectors (the fields of the Sizes packet). */
export interface SideSizes {
  /** The data area its disk can hold (DRBD's d_size, max capacity); 0 when diskless. */
  backing: number;
  /** The `size` option (0: none). */
  user: number;
  /** The size its device has now (0: none yet). */
  current: number;
}

/** Facts besides the sizes that decide whether a smaller size is acceptable. */
export interface SizeContext {
  /** The local disk holds usable data (Outdated or better): it must not shrink on connect. */
  localHasData: boolean;
  /** This Sizes packet belongs to the connect handshake (or the peer just attached a disk). */
  handshake: boolean;
}

/** The outcome of {@link agreeSize}. */
export type SizeAgreement =
  | { ok: true; size: number; userSize: number }
  | { ok: false; reason: string };

/**
 * The device size two nodes agree on, as DRBD's receive_sizes and drbd_new_dev_size compute it
 * for two nodes: the smaller of both data areas, capped by the `size` option where either side
 * sets one. A node whose device already exposes usable data refuses to shrink it on connect
 * ("The peer's disk size is too small!"). A diskless local side takes the peer's current size.
 */
export function agreeSize(local: SideSizes, peer: SideSizes, ctx: SizeContext): SizeAgreement {
  if (
    (peer.backing && peer.current > peer.backing) || (peer.user && peer.current > peer.user)
  ) {
    return { ok: false, reason: "Peer sent bogus sizes, disconnecting" };
  }
  if (local.backing === 0) return { ok: true, size: peer.current, userSize: 0 };
  let userSize = peer.user;
  if (ctx.handshake) userSize = minNotZero(local.user, peer.user);
  // A diskless peer always sends 0: it does not reset our size option.
  if (userSize === 0 && peer.backing === 0) userSize = local.user;
  let size = peer.backing > 0 ? Math.min(local.backing, peer.backing) : local.backing;
  // A diskless peer's device may already be smaller (it agreed with another node before).
  if (peer.backing === 0 && peer.current > 0) size = Math.min(size, peer.current);
  if (userSize > 0) size = Math.min(size, userSize);
  if (size < local.current && ctx.localHasData && ctx.handshake) {
    return {
      ok: false,
      reason: `The peer's disk size is too small! (${size} < ${local.current} sectors)`,
    };
  }
  return { ok: true, size, userSize };
}

function minNotZero(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}
