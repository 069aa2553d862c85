/**
 * Finding the file descriptor behind a Deno TCP socket. Deno hands out no descriptors, but
 * /proc/self/fd lists every descriptor of this process, sockets as links to `socket:[inode]`;
 * asking each socket its own and its peer's address (getsockname, getpeername) finds the one
 * with the addresses Deno reports. (The kernel's socket tables /proc/self/net/tcp and tcp6
 * would name the inode too, but reading them walks the whole TCP hash table: about 5 ms a
 * file on a small host, against well under a millisecond for this.)
 *
 * @module
 */

import { getIntOption, type Libc, SO, SOCK_STREAM, socketName, withLibc } from "./libc.ts";

/** Where a socket is: `remote` for a connection, none for a listener. */
export interface SocketAddresses {
  local: Deno.NetAddr;
  remote?: Deno.NetAddr;
}

/** An address as 16 bytes (IPv4 as ::ffff:a.b.c.d) and a port. */
export interface IpPort {
  ip: Uint8Array;
  port: number;
}

const AF_INET = 2;
const AF_INET6 = 10;

function mapped(v4: Uint8Array): Uint8Array {
  const ip = new Uint8Array(16);
  ip[10] = 0xff;
  ip[11] = 0xff;
  ip.set(v4, 12);
  return ip;
}

/**
 * The 16 bytes of an IP address as Deno prints it (`127.0.0.1`, `::1`, `::ffff:10.0.0.1`,
 * `fe80::1%eth0`); IPv4 as an IPv4-mapped IPv6 address, so that an IPv4 peer of a dual-stack
 * socket compares equal however it is written. Undefined for text that is not an address.
 */
export function ipBytes(hostname: string): Uint8Array | undefined {
  const host = hostname.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  const v4 = (t: string) => {
    const parts = t.split(".");
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
      return undefined;
    }
    return Uint8Array.from(parts, Number);
  };
  if (!host.includes(":")) {
    const b = v4(host);
    return b && mapped(b);
  }
  const halves = host.split("::");
  if (halves.length > 2) return undefined;
  const groups = (t: string): number[] | undefined => {
    if (t === "") return [];
    const out: number[] = [];
    const parts = t.split(":");
    for (const [i, p] of parts.entries()) {
      if (i === parts.length - 1 && p.includes(".")) {
        const b = v4(p);
        if (!b) return undefined;
        out.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const ip = new Uint8Array(16);
  all.forEach((g, i) => {
    ip[2 * i] = g >> 8;
    ip[2 * i + 1] = g & 0xff;
  });
  return ip;
}

/**
 * The address and port of a raw `struct sockaddr` (Linux layout: family in host order, port
 * in network order); undefined for families other than IPv4 and IPv6.
 */
export function sockaddrAddress(bytes: Uint8Array): IpPort | undefined {
  if (bytes.length < 8) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const family = bytes[0] | (bytes[1] << 8); // sa_family_t, little-endian on x86_64/aarch64
  const port = v.getUint16(2, false);
  if (family === AF_INET) return { ip: mapped(bytes.slice(4, 8)), port };
  if (family === AF_INET6 && bytes.length >= 24) return { ip: bytes.slice(8, 24), port };
  return undefined;
}

function same(a: IpPort | undefined, b: IpPort): boolean {
  return a !== undefined && a.port === b.port && a.ip.every((x, i) => x === b.ip[i]);
}

/** The descriptors of this process that are sockets, from /proc/self/fd. */
export function socketFds(): number[] {
  const fds: number[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`).startsWith("socket:")) {
        fds.push(Number(e.name));
      }
    } catch {
      // closed while we looked (the directory listing's own descriptor, for one)
    }
  }
  return fds;
}

/**
 * The file descriptor of a TCP socket of this process: a connection given its local and
 * remote address, a listener given its local address only. Undefined when there is none
 * (a socket already closed, an address that is not an IP address). `c` is an open libc
 * binding; without one, a binding is opened for the search.
 */
export function findSocketFd(addrs: SocketAddresses, c?: Libc): number | undefined {
  if (!c) return withLibc((lib) => findSocketFd(addrs, lib));
  const lip = ipBytes(addrs.local.hostname);
  const rip = addrs.remote && ipBytes(addrs.remote.hostname);
  if (!lip || (addrs.remote && !rip)) return undefined;
  const local = { ip: lip, port: addrs.local.port };
  const remote = rip && { ip: rip, port: addrs.remote!.port };
  let fds: number[];
  try {
    fds = socketFds();
  } catch {
    return undefined; // no /proc
  }
  for (const fd of fds) {
    try {
      const own = socketName(c, fd, "sock");
      if (!own || !same(sockaddrAddress(own), local)) continue;
      if (getIntOption(c, fd, SO.TYPE, "SO_TYPE") !== SOCK_STREAM) continue;
      if (remote) {
        const peer = socketName(c, fd, "peer");
        if (peer && same(sockaddrAddress(peer), remote)) return fd;
      } else if (getIntOption(c, fd, SO.ACCEPTCONN, "SO_ACCEPTCONN") === 1) return fd;
    } catch {
      // closed meanwhile, or not an IP socket: not the one
    }
  }
  return undefined;
}
