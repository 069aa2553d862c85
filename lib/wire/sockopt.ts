/**
 * drbd.conf's `sndbuf-size` and `rcvbuf-size` on peer sockets. Deno has no setsockopt, so
 * libc's is called through FFI on the descriptor that socket_fd.ts finds. Buffer sizes are an
 * optimisation: when FFI is not permitted, libc is missing or the descriptor cannot be found,
 * a warning is logged once and the socket keeps the kernel's autotuning.
 *
 * @module
 */

import { findSocketFd, type SocketAddresses } from "./socket_fd.ts";

// Linux's values on every architecture Deno runs on (x86_64, aarch64: asm-generic/socket.h).
const SOL_SOCKET = 1;
const OPTION = {
  sndbuf: { plain: 7, force: 32 }, // SO_SNDBUF, SO_SNDBUFFORCE
  rcvbuf: { plain: 8, force: 33 }, // SO_RCVBUF, SO_RCVBUFFORCE
} as const;
const EPERM = 1;
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  9: "EBADF",
  22: "EINVAL",
  88: "ENOTSOCK",
  92: "ENOPROTOOPT",
};

const SYMBOLS = {
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Which socket buffer: send (SO_SNDBUF) or receive (SO_RCVBUF). */
export type BufferKind = keyof typeof OPTION;

/** A failed setsockopt/getsockopt, with the C errno. */
export class SockoptError extends Error {
  /** The errno the call left (EPERM 1, EBADF 9, ...). */
  readonly errno: number;

  /** `call` names the call and option, e.g. `setsockopt(SO_SNDBUFFORCE)`. */
  constructor(call: string, errno: number) {
    super(`${call} failed: ${ERRNO_NAMES[errno] ?? `errno ${errno}`}`);
    this.name = "SockoptError";
    this.errno = errno;
  }
}

/**
 * Why socket options cannot be set from this process (not Linux, FFI not permitted), or
 * undefined when they can. Queries the permission rather than triggering a prompt.
 */
export function sockoptUnavailable(): string | undefined {
  if (Deno.build.os !== "linux") return `setsockopt through FFI is Linux-only here`;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return "udrbd runs without FFI permission (--allow-ffi, or -A)";
    }
  } catch {
    return "the FFI permission cannot be queried";
  }
  return undefined;
}

/**
 * Runs `fn` with libc's socket calls. The library is opened for the call and closed after
 * (libc is loaded anyway; this only counts references), so no handle outlives its use.
 */
function withLibc<T>(fn: (c: Libc) => T): T {
  const lib = Deno.dlopen("libc.so.6", SYMBOLS);
  try {
    return fn(lib.symbols);
  } finally {
    lib.close();
  }
}

function errno(c: Libc): number {
  const p = c.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function optionName(kind: BufferKind, force: boolean): string {
  return `SO_${kind.toUpperCase()}${force ? "FORCE" : ""}`;
}

/**
 * Asks the kernel for a `bytes` socket buffer on descriptor `fd`, as setsockopt(2) does: Linux
 * doubles the value (for its bookkeeping) and, unless `force` (SO_*BUFFORCE, CAP_NET_ADMIN),
 * first caps it at net.core.wmem_max / rmem_max. The buffer then no longer autotunes.
 * Throws {@link SockoptError}.
 */
export function setSocketBuffer(
  fd: number,
  kind: BufferKind,
  bytes: number,
  options: { force?: boolean } = {},
): void {
  const force = options.force ?? false;
  const value = new Uint8Array(4);
  new DataView(value.buffer).setInt32(0, Math.min(bytes, 0x7fff_ffff), true);
  withLibc((c) => {
    const opt = force ? OPTION[kind].force : OPTION[kind].plain;
    if (c.setsockopt(fd, SOL_SOCKET, opt, value, 4) !== 0) {
      throw new SockoptError(`setsockopt(${optionName(kind, force)})`, errno(c));
    }
  });
}

/** The kernel's current buffer size of descriptor `fd` (getsockopt(2); what `ss -m` shows). */
export function getSocketBuffer(fd: number, kind: BufferKind): number {
  const value = new Uint8Array(4);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 4, true);
  return withLibc((c) => {
    if (c.getsockopt(fd, SOL_SOCKET, OPTION[kind].plain, value, len) !== 0) {
      throw new SockoptError(`getsockopt(${optionName(kind, false)})`, errno(c));
    }
    return new DataView(value.buffer).getInt32(0, true);
  });
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
  const kinds = (["sndbuf", "rcvbuf"] as const).filter((k) => sizes[k] > 0);
  if (kinds.length === 0) return undefined;
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
  const what = kinds.map((k) => CONF_NAME[k]).join(" and ");
  const unavailable = sockoptUnavailable();
  if (unavailable) {
    warn(`${what} not applied: ${unavailable}; the kernel's autotuning stays in effect`);
    return undefined;
  }
  const fd = findSocketFd(addrs);
  if (fd === undefined) {
    warn(
      `${what} not applied: the socket's file descriptor was not found through ` +
        `/proc/self/net/tcp and /proc/self/fd; the kernel's autotuning stays in effect`,
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
        setSocketBuffer(fd, kind, request, { force: true });
      } catch (e) {
        if (!(e instanceof SockoptError && e.errno === EPERM)) throw e;
        setSocketBuffer(fd, kind, request); // without CAP_NET_ADMIN: capped by the sysctl
      }
      const got = getSocketBuffer(fd, kind);
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
