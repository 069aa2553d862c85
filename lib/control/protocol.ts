/**
 * The control protocol between `drbdsetup` (and drbdadm in-process) and the node daemon: the
 * part the kernel's netlink family plays for real DRBD.
 *
 * Newline-delimited JSON over a Unix stream socket. Every message carries `"v": 1`. A client
 * sends requests `{ v, id, op, args? }`; the daemon answers each with zero or more events
 * `{ v, id, event }` and then exactly one final response `{ v, id, ok, result? | error }`.
 * Several requests may be in flight on one connection; responses are matched by `id`.
 *
 * @module
 */

/** The control protocol version this code speaks; every message carries it as `v`. */
export const CONTROL_VERSION = 1;

/**
 * The longest line either side accepts from a client, newline excluded (1 MiB). Requests are
 * small; a longer line is a broken or hostile client.
 */
export const MAX_REQUEST_LINE = 1 << 20;

/**
 * The longest line a client accepts from the daemon (64 MiB): results such as the status of
 * every resource are larger than requests, but still bounded.
 */
export const MAX_RESPONSE_LINE = 64 << 20;

/**
 * The id the daemon answers with when it cannot tell which request a broken line was (bad
 * JSON, an oversized line). Clients number their requests from 1.
 */
export const UNKNOWN_ID = 0;

/** The exit code drbdsetup uses for errors that carry no more specific one. */
export const EXIT_GENERIC = 20;

/** A request from a client. */
export interface ControlRequest {
  v: typeof CONTROL_VERSION;
  /** Chosen by the client, unique among its requests in flight on this connection. */
  id: number;
  /** What to do, e.g. `new-resource`, `events2`, or a built-in op (`hello`, `cancel`, `daemon.stop`). */
  op: string;
  args?: Record<string, unknown>;
}

/** One streamed event of a request still in flight (events2, wait-connect, ...). */
export interface ControlEvent {
  v: typeof CONTROL_VERSION;
  id: number;
  event: unknown;
}

/** What went wrong, as drbdsetup reports it. */
export interface ControlErrorBody {
  /** The exit code drbdsetup ends with. */
  exitCode: number;
  /** The text drbdsetup prints on stderr, possibly several lines. */
  message: string;
  /** DRBD's SS_ or ERR_ code, when there is one. */
  retcode?: number;
}

/** The final, successful response to a request. */
export interface ControlOk {
  v: typeof CONTROL_VERSION;
  id: number;
  ok: true;
  result?: unknown;
}

/** The final, failed response to a request. */
export interface ControlFailure {
  v: typeof CONTROL_VERSION;
  id: number;
  ok: false;
  error: ControlErrorBody;
}

/** A final response. */
export type ControlResponse = ControlOk | ControlFailure;

/** Anything the daemon sends. */
export type ControlMessage = ControlEvent | ControlResponse;

/** The result of the built-in `hello` op. */
export interface HelloResult {
  /** Every control protocol version the daemon speaks. */
  versions: number[];
  /** The udrbd release of the daemon. */
  version: string;
  /** The daemon's process id. */
  pid: number;
}

/**
 * An error with the exit code drbdsetup should end with. A handler throws it to produce an
 * error response; the client rejects a call with it when the response is an error.
 */
export class ControlError extends Error {
  /** The exit code drbdsetup ends with. */
  readonly exitCode: number;
  /** DRBD's SS_ or ERR_ code, when there is one. */
  readonly retcode?: number;

  constructor(exitCode: number, message: string, retcode?: number) {
    super(message);
    this.name = "ControlError";
    this.exitCode = exitCode;
    if (retcode !== undefined) this.retcode = retcode;
  }

  /** The error as it travels in a response. */
  toJSON(): ControlErrorBody {
    const body: ControlErrorBody = { exitCode: this.exitCode, message: this.message };
    if (this.retcode !== undefined) body.retcode = this.retcode;
    return body;
  }

  /** The error a response's `error` member describes. */
  static fromBody(body: ControlErrorBody): ControlError {
    return new ControlError(body.exitCode, body.message, body.retcode);
  }
}

/** What a handler may do besides returning its result. */
export interface HandlerContext {
  /** Streams one event to the client before the final response (events2, wait-*). */
  emit(event: unknown): void;
  /** Fires when the client cancels the call, closes its connection, or the daemon stops. */
  signal: AbortSignal;
}

/** What the daemon's control server hands every non-built-in request to: the engine. */
export interface ControlHandler {
  /**
   * Performs `op`; resolves to the result of a successful response. Throws a
   * {@link ControlError} for an error response; any other error becomes exit code 20 with its
   * message, and is logged.
   */
  handle(op: string, args: Record<string, unknown>, ctx: HandlerContext): Promise<unknown>;
  /** Orderly shutdown: flush, mark metadata clean, close exports. */
  shutdown(): Promise<void>;
}

/** Serializes one message as a protocol line (with its newline). */
export function encodeLine(message: ControlRequest | ControlMessage): string {
  return JSON.stringify(message) + "\n";
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isId(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** The outcome of {@link parseRequest}: a request, or an error to answer (and maybe close). */
export type ParsedRequest =
  | { ok: true; request: ControlRequest }
  | {
    ok: false;
    /** The request's id when it could be read, else {@link UNKNOWN_ID}. */
    id: number;
    error: ControlError;
    /** Whether the connection can no longer be trusted and should be closed. */
    fatal: boolean;
  };

/** Parses and validates one request line (without its newline). */
export function parseRequest(line: string): ParsedRequest {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return bad(UNKNOWN_ID, `malformed control message (not JSON: ${why})`, true);
  }
  if (!isObject(msg)) return bad(UNKNOWN_ID, "malformed control message (not an object)", true);
  const id = isId(msg.id) ? msg.id : undefined;
  if (msg.v !== CONTROL_VERSION) {
    return bad(
      id ?? UNKNOWN_ID,
      `unsupported control protocol version ${JSON.stringify(msg.v ?? null)} ` +
        `(this daemon speaks ${CONTROL_VERSION})`,
      // a newer client may fall back to version 1 on the same connection
      false,
    );
  }
  if (id === undefined) {
    return bad(UNKNOWN_ID, "malformed control message (no numeric id)", true);
  }
  if (typeof msg.op !== "string" || msg.op === "") {
    return bad(id, "malformed control message (no op)", true);
  }
  if (msg.args !== undefined && !isObject(msg.args)) {
    return bad(id, `malformed control message (args of ${msg.op} is not an object)`, true);
  }
  const request: ControlRequest = { v: CONTROL_VERSION, id, op: msg.op };
  if (msg.args !== undefined) request.args = msg.args;
  return { ok: true, request };
}

function bad(id: number, message: string, fatal: boolean): ParsedRequest {
  return { ok: false, id, error: new ControlError(EXIT_GENERIC, message), fatal };
}

/** Parses one line from the daemon; undefined when it is not a valid message. */
export function parseMessage(line: string): ControlMessage | undefined {
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(msg) || msg.v !== CONTROL_VERSION || !isId(msg.id)) return undefined;
  if ("event" in msg) return msg as unknown as ControlEvent;
  if (msg.ok === true) return msg as unknown as ControlOk;
  if (msg.ok === false && isObject(msg.error)) {
    const e = msg.error;
    if (typeof e.exitCode !== "number" || typeof e.message !== "string") return undefined;
    return msg as unknown as ControlFailure;
  }
  return undefined;
}
