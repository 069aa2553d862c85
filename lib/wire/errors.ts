/**
 * Errors of the peer protocol. Each carries a message a user can act on; the transport turns
 * them into the reason a connection was refused or lost.
 *
 * @module
 */

import { DisconnectCode, FATAL_CODES } from "./constants.ts";

/** A malformed, oversized, truncated or unexpected packet; the connection is closed. */
export class ProtocolError extends Error {
  /** Creates the error with a message naming what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * A connection attempt that was refused: by us (the peer's Hello or authentication did not
 * match) or by the peer (its Disconnect packet during the handshake). `code` is a
 * {@link DisconnectCode}; `fatal` says retrying cannot help until the configuration changes.
 */
export class HandshakeError extends Error {
  /** The {@link DisconnectCode} describing the failure. */
  readonly code: number;
  /** True when the failure comes from configuration (versions, peer identity, authentication). */
  readonly fatal: boolean;
  /** True when the peer refused (we received its Disconnect), false when we did. */
  readonly byPeer: boolean;

  /**
   * Creates the error; `byPeer` marks a refusal received from the peer; `fatal` defaults to
   * whether the code is a configuration error.
   */
  constructor(code: number, message: string, byPeer = false, fatal = FATAL_CODES.has(code)) {
    super(message);
    this.name = "HandshakeError";
    this.code = code;
    this.fatal = fatal;
    this.byPeer = byPeer;
  }
}

/** `send()` on a connection that is closed or being closed; `reason` says why it ended. */
export class ConnectionClosedError extends Error {
  /** Why the connection ended. */
  readonly reason: string;
  /** Creates the error for a connection that ended for `reason`. */
  constructor(reason: string) {
    super(`connection closed: ${reason}`);
    this.name = "ConnectionClosedError";
    this.reason = reason;
  }
}

/** The {@link DisconnectCode} that describes `err` on the wire. */
export function disconnectCodeOf(err: unknown): number {
  if (err instanceof HandshakeError) return err.code;
  if (err instanceof ProtocolError) return DisconnectCode.PROTOCOL_ERROR;
  return DisconnectCode.NORMAL;
}
