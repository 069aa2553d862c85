/**
 * The few libc socket calls Deno lacks (setsockopt, getsockopt, getsockname, getpeername),
 * reached through `Deno.dlopen` (FFI, Linux). Opened for a batch of calls and closed after:
 * libc is loaded in every process anyway, so this only costs Deno's binding (about a
 * millisecond), and no library handle outlives its use.
 *
 * @module
 */

const SYMBOLS = {
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** libc's socket calls, valid inside {@link withLibc}. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

// Linux's values on every architecture Deno runs on (x86_64, aarch64: asm-generic).
/** SOL_SOCKET, the socket-level option namespace. */
export const SOL_SOCKET = 1;
/** Socket-level options used here. */
export const SO = {
  TYPE: 3,
  SNDBUF: 7,
  RCVBUF: 8,
  ACCEPTCONN: 30,
  SNDBUFFORCE: 32,
  RCVBUFFORCE: 33,
} as const;
/** SOCK_STREAM, the SO_TYPE of a TCP socket. */
export const SOCK_STREAM = 1;
/** errno values the callers tell apart. */
export const ERRNO = { EPERM: 1, EBADF: 9, EINVAL: 22, ENOTSOCK: 88, ENOTCONN: 107 } as const;

const ERRNO_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(ERRNO).map(([name, n]) => [n, name]),
);

/** A failed libc call, with the C errno. */
export class LibcError extends Error {
  /** The errno the call left (EPERM 1, EBADF 9, ...). */
  readonly errno: number;

  /** `call` names the call, e.g. `setsockopt(SO_SNDBUFFORCE)`. */
  constructor(call: string, errno: number) {
    super(`${call} failed: ${ERRNO_NAMES[errno] ?? `errno ${errno}`}`);
    this.name = "LibcError";
    this.errno = errno;
  }
}

/**
 * Why libc cannot be called from this process (not Linux, FFI not permitted), or undefined
 * when it can. Queries the permission rather than triggering a prompt.
 */
export function libcUnavailable(): string | undefined {
  if (Deno.build.os !== "linux") return "setsockopt through FFI is Linux-only here";
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return "udrbd runs without FFI permission (--allow-ffi, or -A)";
    }
  } catch {
    return "the FFI permission cannot be queried";
  }
  return undefined;
}

/** Runs `fn` with libc's socket calls; throws what `Deno.dlopen` throws (no permission...). */
export function withLibc<T>(fn: (c: Libc) => T): T {
  const lib = Deno.dlopen("libc.so.6", SYMBOLS);
  try {
    return fn(lib.symbols);
  } finally {
    lib.close();
  }
}

/** The calling thread's errno after a failed call. */
export function errno(c: Libc): number {
  const p = c.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** getsockopt of an int option; throws {@link LibcError}. */
export function getIntOption(c: Libc, fd: number, option: number, name: string): number {
  const value = new Uint8Array(4);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 4, true);
  if (c.getsockopt(fd, SOL_SOCKET, option, value, len) !== 0) {
    throw new LibcError(`getsockopt(${name})`, errno(c));
  }
  return new DataView(value.buffer).getInt32(0, true);
}

/** setsockopt of an int option; throws {@link LibcError}. */
export function setIntOption(
  c: Libc,
  fd: number,
  option: number,
  name: string,
  value: number,
): void {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, true);
  if (c.setsockopt(fd, SOL_SOCKET, option, bytes, 4) !== 0) {
    throw new LibcError(`setsockopt(${name})`, errno(c));
  }
}

/**
 * A socket's own (`"sock"`) or peer's (`"peer"`) address as raw sockaddr bytes, or undefined
 * when it has none (ENOTCONN: a listener has no peer); throws {@link LibcError} otherwise.
 */
export function socketName(c: Libc, fd: number, which: "sock" | "peer"): Uint8Array | undefined {
  const addr = new Uint8Array(128); // sizeof(struct sockaddr_storage)
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, addr.length, true);
  const rc = which === "sock" ? c.getsockname(fd, addr, len) : c.getpeername(fd, addr, len);
  if (rc !== 0) {
    const e = errno(c);
    if (e === ERRNO.ENOTCONN) return undefined;
    throw new LibcError(`get${which}name`, e);
  }
  return addr.subarray(0, Math.min(addr.length, new DataView(len.buffer).getUint32(0, true)));
}
