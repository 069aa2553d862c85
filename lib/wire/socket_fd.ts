/**
 * Finding the file descriptor behind a Deno TCP socket. Deno hands out no descriptors, but
 * Linux lists every TCP socket of the network namespace in /proc/self/net/tcp and tcp6 (with
 * its addresses and inode) and every descriptor of this process in /proc/self/fd (a link to
 * `socket:[inode]`); the addresses lead to the inode, the inode to the descriptor.
 *
 * @module
 */

/** The TCP state /proc/net/tcp prints for a listening socket (TCP_LISTEN). */
const TCP_LISTEN = 0x0a;

/** One socket of /proc/self/net/tcp or tcp6. */
export interface ProcTcpSocket {
  /** Local address as 16 bytes (IPv4 as ::ffff:a.b.c.d) and port. */
  local: { ip: Uint8Array; port: number };
  /** Remote address (all zero for a listener). */
  remote: { ip: Uint8Array; port: number };
  /** Kernel TCP state (1 established, 10 listen...). */
  state: number;
  /** Socket inode; 0 for sockets without one (TIME_WAIT). */
  inode: number;
}

/** Where a socket is: `remote` for a connection, none for a listener. */
export interface SocketAddresses {
  local: Deno.NetAddr;
  remote?: Deno.NetAddr;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Parses the text of /proc/net/tcp or /proc/net/tcp6. The kernel prints each address as 32-bit
 * words in host byte order (one for IPv4, four for IPv6) and the port in hex; lines that do not
 * look like sockets are skipped.
 */
export function parseProcNetTcp(text: string): ProcTcpSocket[] {
  const out: ProcTcpSocket[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    if (f.length < 10 || !/^\d+:$/.test(f[0])) continue;
    const local = procAddress(f[1]);
    const remote = procAddress(f[2]);
    const state = parseInt(f[3], 16);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isInteger(state) || !Number.isInteger(inode)) continue;
    out.push({ local, remote, state, inode });
  }
  return out;
}

function procAddress(text: string): { ip: Uint8Array; port: number } | undefined {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return undefined;
  const words = m[1].length / 8;
  const raw = new Uint8Array(words * 4);
  for (let w = 0; w < words; w++) {
    const v = parseInt(m[1].slice(w * 8, w * 8 + 8), 16);
    // The word was printed as a host-order u32 of the network-order bytes.
    new DataView(raw.buffer).setUint32(w * 4, v, LITTLE_ENDIAN);
  }
  return { ip: words === 1 ? mapped(raw) : raw, port: parseInt(m[2], 16) };
}

function mapped(v4: Uint8Array): Uint8Array {
  const ip = new Uint8Array(16);
  ip[10] = 0xff;
  ip[11] = 0xff;
  ip.set(v4, 12);
  return ip;
}

/**
 * The 16 bytes of an IP address as Deno prints it (`127.0.0.1`, `::1`, `::ffff:10.0.0.1`,
 * `fe80::1%eth0`); IPv4 as an IPv4-mapped IPv6 address, so a socket is found whichever table
 * lists it. Undefined for text that is not an address.
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

function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  return a.every((x, i) => x === b[i]);
}

/**
 * The inode of the socket at `addrs` in this network namespace: the listener on `local`
 * when `remote` is absent, else the connection between the two. Undefined when not listed.
 */
export function socketInode(addrs: SocketAddresses, tables?: ProcTcpSocket[]): number | undefined {
  const local = ipBytes(addrs.local.hostname);
  const remote = addrs.remote && ipBytes(addrs.remote.hostname);
  if (!local || (addrs.remote && !remote)) return undefined;
  const rows = tables ?? readTables();
  const hit = rows.find((s) =>
    s.inode !== 0 && s.local.port === addrs.local.port && sameIp(s.local.ip, local) &&
    (remote
      ? s.state !== TCP_LISTEN && s.remote.port === addrs.remote!.port &&
        sameIp(s.remote.ip, remote)
      : s.state === TCP_LISTEN)
  );
  return hit?.inode;
}

function readTables(): ProcTcpSocket[] {
  const rows: ProcTcpSocket[] = [];
  for (const f of ["/proc/self/net/tcp", "/proc/self/net/tcp6"]) {
    try {
      rows.push(...parseProcNetTcp(Deno.readTextFileSync(f)));
    } catch {
      // no IPv6 (or no /proc): the other table may still hold the socket
    }
  }
  return rows;
}

/** The descriptor of this process that refers to socket `inode`, from /proc/self/fd. */
export function fdOfInode(inode: number): number | undefined {
  const want = `socket:[${inode}]`;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === want) return Number(e.name);
    } catch {
      // closed while we looked (the directory listing's own descriptor, for one)
    }
  }
  return undefined;
}

/**
 * The file descriptor of a TCP socket of this process: a connection given its local and
 * remote address, a listener given its local address only. Undefined when it cannot be found
 * (no /proc, another namespace's view, a socket already closed).
 */
export function findSocketFd(addrs: SocketAddresses): number | undefined {
  let inode: number | undefined;
  try {
    inode = socketInode(addrs);
  } catch {
    return undefined;
  }
  if (inode === undefined) return undefined;
  try {
    return fdOfInode(inode);
  } catch {
    return undefined;
  }
}
