/**
 * drbd.conf's `sndbuf-size` and `rcvbuf-size` on peer sockets. Deno has no setsockopt, so
 * libc's is called through FFI (libc.ts) on the descriptor that socket_fd.ts finds. Buffer sizes are an
 * optimisation: when FFI is not permitted, libc is missing or the descriptor cannot be found,
 * a warning is logged once and the socket keeps the kernel's autotuning.
 *
 * @module
 */

import {
  ERRNO,
  getIntOption,
  type Libc,
  LibcError,
  libcUnavailable,
  setIntOption,
  SO,
  withLibc,
} from "./libc.ts";
import { findSocketFd, type SocketAddresses } from "./socket_fd.ts";

/** Which socket buffer: send (SO_SNDBUF) or receive (SO_RCVBUF). */
export type BufferKind = "sndbuf" | "rcvbuf";

const OPTION = {
  sndbuf: { plain: SO.SNDBUF, force: SO.SNDBUFFORCE },
  rcvbuf: { plain: SO.RCVBUF, force: SO.RCVBUFFORCE },
} as const;

function optionName(kind: BufferKind, force: boolean): string {
  return `SO_${kind.toUpperCase()}${force ? "FORCE" : ""}`;
}

function setBuffer(c: Libc, fd: number, kind: BufferKind, bytes: number, force: boolean): void {
  const opt = force ? OPTION[kind].force : OPTION[kind].plain;
  setIntOption(c, fd, opt, optionName(kind, force), Math.min(bytes, 0x7fff_ffff));
}

function getBuffer(c: Libc, fd: number, kind: BufferKind): number {
  return getIntOption(c, fd, OPTION[kind].plain, optionName(kind, false));
}

/**
 * Asks the kernel for a `bytes` socket buffer on descriptor `fd`, as setsockopt(2) does: Linux
 * doubles the value (for its bookkeeping) and, unless `force` (SO_*BUFFORCE, CAP_NET_ADMIN),
 * first caps it at net.core.wmem_max / rmem_max. The buffer then no longer autotunes.
 * Throws {@link LibcError}.
 */
export function setSocketBuffer(
  fd: number,
  kind: BufferKind,
  bytes: number,
  options: { force?: boolean } = {},
): void {
  withLibc((c) => setBuffer(c, fd, kind, bytes, options.force ?? false));
}

/** The kernel's current buffer size of descriptor `fd` (getsockopt(2); what `ss -m` shows). */
export function getSocketBuffer(fd: number, kind: BufferKind): number {
  return withLibc((c) => getBuffer(c, fd, kind));
}

/** `sndbuf-size` and `rcvbuf-size` in bytes; 0 leaves the kernel's autotuning. */
export interface BufferSizes {
  sndbuf: number;
  rcvbuf: number;
}

/** Options of {@link applyBufferSizes}. */
export interface ApplyBufferOptions {
  /** Hears each distinct warning once (not applied, or capped by a sysctl). */
  onWarning?: (message: string) => void;
  /** Warnings already given; default: one set for the whole process. */
  warned?: Set<string>;
  /**
   * The sizes the socket was given before (a change by net-options on a live socket): a size
   * that goes back to 0 there cannot be applied, so a warning says it waits for the next
   * connection.
   */
  previous?: BufferSizes;
}

const WARNED = new Set<string>();

const CONF_NAME: Record<BufferKind, string> = { sndbuf: "sndbuf-size", rcvbuf: "rcvbuf-size" };
const SYSCTL: Record<BufferKind, string> = { sndbuf: "wmem_max", rcvbuf: "rmem_max" };

/** What {@link applyBufferSizes} did: the descriptor and the sizes the kernel reports. */
export interface AppliedBuffers {
  fd: number;
  sndbuf?: number;
  rcvbuf?: number;
}

/**
 * Gives the socket at `addrs` (a listener: local address only) the configured buffer sizes as
 * DRBD does: the kernel buffer becomes exactly the configured size, and a size of 0 leaves
 * it autotuning. Never throws: what cannot be done is reported through `onWarning` (once per
 * distinct message) and the socket is left as it is. Returns what was applied, if anything.
 */
export function applyBufferSizes(
  addrs: SocketAddresses,
  sizes: BufferSizes,
  options: ApplyBufferOptions = {},
): AppliedBuffers | undefined {
  const warned = options.warned ?? WARNED;
  const warn = (message: string) => {
    if (warned.has(message)) return;
    warned.add(message);
    try {
      options.onWarning?.(message);
    } catch {
      // a logging callback must not break connecting
    }
  };
  for (const kind of ["sndbuf", "rcvbuf"] as const) {
    const before = options.previous?.[kind] ?? 0;
    // DRBD clears the kernel's buffer lock and the socket autotunes again; setsockopt has no
    // way back to autotuning (any value, 0 included, fixes the size).
    if (sizes[kind] === 0 && before > 0) {
      warn(
        `${CONF_NAME[kind]} 0 (autotuning) takes effect at the next connection: ` +
          `a socket whose buffer is fixed cannot autotune again; it keeps ${before} bytes`,
      );
    }
  }
  const kinds = (["sndbuf", "rcvbuf"] as const).filter((k) => sizes[k] > 0);
  if (kinds.length === 0) return undefined;
  const what = kinds.map((k) => CONF_NAME[k]).join(" and ");
  const unavailable = libcUnavailable();
  if (unavailable) {
    warn(`${what} not applied: ${unavailable}; the kernel's autotuning stays in effect`);
    return undefined;
  }
  try {
    return withLibc((c) => apply(c, addrs, sizes, kinds, what, warn));
  } catch (e) {
    warn(`${what} not applied: ${(e as Error).message}; the kernel's autotuning stays in effect`);
    return undefined;
  }
}

function apply(
  c: Libc,
  addrs: SocketAddresses,
  sizes: BufferSizes,
  kinds: BufferKind[],
  what: string,
  warn: (message: string) => void,
): AppliedBuffers | undefined {
  const fd = findSocketFd(addrs, c);
  if (fd === undefined) {
    warn(
      `${what} not applied: the socket's file descriptor was not found in /proc/self/fd; ` +
        `the kernel's autotuning stays in effect`,
    );
    return undefined;
  }
  const applied: AppliedBuffers = { fd };
  for (const kind of kinds) {
    // DRBD sets the kernel's sk_sndbuf/sk_rcvbuf to the size itself; setsockopt doubles what
    // it is given, so ask for half to end with the size drbd.conf names.
    const request = Math.max(1, Math.floor(sizes[kind] / 2));
    try {
      try {
        setBuffer(c, fd, kind, request, true);
      } catch (e) {
        if (!(e instanceof LibcError && e.errno === ERRNO.EPERM)) throw e;
        setBuffer(c, fd, kind, request, false); // without CAP_NET_ADMIN: capped by the sysctl
      }
      const got = getBuffer(c, fd, kind);
      applied[kind] = got;
      if (got < request * 2) {
        warn(
          `${CONF_NAME[kind]} ${sizes[kind]} is limited to ${got} bytes by ` +
            `net.core.${SYSCTL[kind]} (udrbd lacks CAP_NET_ADMIN to exceed it)`,
        );
      }
    } catch (e) {
      warn(
        `${CONF_NAME[kind]} not applied: ${(e as Error).message}; ` +
          `the kernel's autotuning stays in effect`,
      );
    }
  }
  return applied;
}

/**
 * One connection's `sndbuf-size` and `rcvbuf-size` as they are now. `net-options` may change
 * them while the connection is being made or is up; whoever holds its sockets (the listeners,
 * the established connection) watches for changes and applies them at once, as DRBD's TCP
 * transport changes the sockets of a live connection.
 */
export class LiveBufferSizes {
  #sizes: BufferSizes;
  #watchers = new Set<(sizes: BufferSizes, previous: BufferSizes) => void>();

  /** Starts with `sizes` (bytes; 0 leaves the kernel's autotuning). */
  constructor(sizes: BufferSizes) {
    this.#sizes = { sndbuf: sizes.sndbuf, rcvbuf: sizes.rcvbuf };
  }

  /** The sizes now (a copy). */
  get sizes(): BufferSizes {
    return { ...this.#sizes };
  }

  /** Changes the sizes; every watcher hears the new and the previous ones (if they differ). */
  set(sizes: BufferSizes): void {
    const previous = this.#sizes;
    if (previous.sndbuf === sizes.sndbuf && previous.rcvbuf === sizes.rcvbuf) return;
    this.#sizes = { sndbuf: sizes.sndbuf, rcvbuf: sizes.rcvbuf };
    for (const watcher of [...this.#watchers]) {
      try {
        watcher(this.sizes, { ...previous });
      } catch {
        // one socket holder failing must not keep the change from the others
      }
    }
  }

  /** Calls `watcher` on every later change until the returned function is called. */
  watch(watcher: (sizes: BufferSizes, previous: BufferSizes) => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }
}
