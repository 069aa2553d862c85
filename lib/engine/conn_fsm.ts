/**
 * The connection state machine of one peer link, as DRBD 9 runs it (drbd_state.c's
 * is_valid_conn_transition and the receiver's connect/disconnect path): `connect` takes a
 * StandAlone connection to Unconnected and the link to Connecting; a loss passes through the
 * state that names its cause (Timeout, BrokenPipe, NetworkFailure, ProtocolError, TearDown)
 * and then Unconnected before connecting again; a disconnect, `down`, split brain or
 * incompatible settings pass through Disconnecting to StandAlone. A pure function of (state,
 * event): the caller keeps the state (Connection.state) and applies what this returns.
 *
 * @module
 */

import { DisconnectCode } from "../wire/constants.ts";
import type { ConnectionState } from "./states.ts";

const { NORMAL, PROTOCOL_ERROR, TIMEOUT } = DisconnectCode;

/** Why an established connection ended, each with the state DRBD shows for it. */
export type LossCause =
  /** ko-count × timeout without a completed request (C_TIMEOUT). */
  | "timeout"
  /** The peer shut its socket down (a short read; C_BROKEN_PIPE). */
  | "broken-pipe"
  /** A socket error or a missed PingAck (C_NETWORK_FAILURE). */
  | "network-failure"
  /** A malformed or unexpected packet, a receive handler failed (C_PROTOCOL_ERROR). */
  | "protocol-error"
  /** The peer said it is disconnecting (its Disconnecting becomes our TearDown). */
  | "tear-down";

/** Something that moves a connection's state. */
export type ConnEvent =
  /** drbdsetup connect: the connection is configured and may connect. */
  | { type: "connect" }
  /** The link starts listening and dialing (again). */
  | { type: "connecting" }
  /** One connect attempt failed; the link keeps trying every connect-int. */
  | { type: "attempt-failed" }
  /** A socket pair passed the handshake. */
  | { type: "established" }
  /** The connection ended for `cause`. */
  | { type: "lost"; cause: LossCause }
  /** The link finished cleaning up after a loss or a disconnect (DRBD's conn_disconnect). */
  | { type: "disconnected" }
  /** drbdsetup disconnect. */
  | { type: "disconnect" }
  /** drbdsetup down or del-peer: like disconnect, and nothing to do when StandAlone already. */
  | { type: "down" }
  /** The sync decision found split brain that no policy resolves: give up the connection. */
  | { type: "split-brain" }
  /** The peer's settings, sizes or data are incompatible with ours: give up the connection. */
  | { type: "incompatible" };

/** What an event does to a state: the next state, or a refusal saying why not. */
export type ConnTransition =
  | { ok: true; from: ConnectionState; to: ConnectionState; changed: boolean }
  | { ok: false; from: ConnectionState; event: ConnEvent; reason: string };

const LOSS_STATE: Record<LossCause, ConnectionState> = {
  "timeout": "Timeout",
  "broken-pipe": "BrokenPipe",
  "network-failure": "NetworkFailure",
  "protocol-error": "ProtocolError",
  "tear-down": "TearDown",
};

/** The states a loss passes through: only Unconnected or Disconnecting may follow them. */
const AFTER_LOSS = new Set<ConnectionState>([
  "Timeout",
  "BrokenPipe",
  "NetworkFailure",
  "ProtocolError",
  "TearDown",
]);

/** Whether `state` is one of the states that name why a connection was lost. */
export function isLossState(state: ConnectionState): boolean {
  return AFTER_LOSS.has(state);
}

/**
 * The state `event` takes a connection in `state` to, or a refusal: events that make no sense
 * in a state (established while StandAlone, connecting during Disconnecting...) are reported,
 * never applied, so a caller's bug shows instead of a status that lies.
 */
export function nextConnState(state: ConnectionState, event: ConnEvent): ConnTransition {
  const to = (next: ConnectionState): ConnTransition => ({
    ok: true,
    from: state,
    to: next,
    changed: next !== state,
  });
  const refuse = (reason: string): ConnTransition => ({ ok: false, from: state, event, reason });
  switch (event.type) {
    case "connect":
      // DRBD: from StandAlone a connection starts with Unconnected, and only from there.
      return state === "StandAlone" ? to("Unconnected") : refuse("already configured");
    case "connecting":
      return state === "Unconnected" ? to("Connecting") : refuse("not Unconnected");
    case "attempt-failed":
      return state === "Connecting" ? to("Connecting") : refuse("not Connecting");
    case "established":
      return state === "Connecting" ? to("Connected") : refuse("not Connecting");
    case "lost":
      // A handshake can fail after the sockets met, so a loss may also end Connecting.
      return state === "Connected" || state === "Connecting"
        ? to(LOSS_STATE[event.cause])
        : refuse("no connection to lose");
    case "disconnected":
      if (state === "Disconnecting") return to("StandAlone");
      return AFTER_LOSS.has(state) ? to("Unconnected") : refuse("nothing was lost");
    case "down":
      return to(state === "StandAlone" ? "StandAlone" : "Disconnecting");
    case "disconnect":
    case "split-brain":
    case "incompatible":
      if (state === "StandAlone") return refuse("already StandAlone");
      // After Disconnecting only StandAlone may follow; a second reason changes nothing.
      return to("Disconnecting");
  }
}

/**
 * The cause of a loss from how the wire connection closed (`by`, `code` as in the wire's
 * CloseInfo and DisconnectCode): the peer's own Disconnect with code 0 is a tear-down, any other
 * close by the peer looks to DRBD like a socket the peer shut (BrokenPipe), as does a socket that
 * ended or failed under us (`broken`: a killed peer); protocol errors and the ko-count timeout
 * keep their names; everything else (a ping timeout) is a network failure.
 */
export function lossCause(
  info: { by: "local" | "peer" | "lost"; code: number; broken?: boolean },
): LossCause {
  if (info.code === PROTOCOL_ERROR && info.by !== "peer") return "protocol-error";
  if (info.by === "peer") return info.code === NORMAL ? "tear-down" : "broken-pipe";
  if (info.broken) return "broken-pipe";
  if (info.by === "local" && info.code === TIMEOUT) return "timeout";
  return "network-failure";
}
