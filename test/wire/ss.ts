/**
 * The kernel's own view of TCP sockets through iproute2's `ss -tmnp`: addresses, the owning
 * process and descriptor, and the socket memory (`skmem`: `rb` receive and `tb` send buffer
 * sizes). Tests read buffer sizes here rather than trusting our own getsockopt.
 *
 * @module
 */
import { run } from "../util/process.ts";

/** One TCP socket as `ss -tmnp` prints it. */
export interface SsSocket {
  local: string;
  peer: string;
  /** Owners as `pid:fd` (a socket shared by several descriptors has several). */
  owners: { pid: number; fd: number }[];
  /** skmem rb: the receive buffer size (SO_RCVBUF as getsockopt reads it). */
  rb: number;
  /** skmem tb: the send buffer size. */
  tb: number;
}

/**
 * The TCP sockets `ss` lists: established ones, or listeners with `listening`. `filter` is an
 * ss filter expression such as `( sport = :7789 or dport = :7789 )`.
 */
export async function ssSockets(
  options: { listening?: boolean; filter?: string } = {},
): Promise<SsSocket[]> {
  const args = ["-tmnpH", "state", options.listening ? "listening" : "established"];
  if (options.filter) args.push(options.filter);
  const r = await run("ss", args);
  if (r.code !== 0) throw new Error(`ss ${args.join(" ")}: ${r.stderr}`);
  const out: SsSocket[] = [];
  let cur: SsSocket | undefined;
  for (const line of r.stdout.split("\n")) {
    const mem = /skmem:\(([^)]*)\)/.exec(line);
    if (mem && cur) {
      const field = (name: string) => Number(new RegExp(`(?:^|,)${name}(\\d+)`).exec(mem[1])?.[1]);
      cur.rb = field("rb");
      cur.tb = field("tb");
      continue;
    }
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    // Recv-Q Send-Q Local Peer [users:((...))]
    const owners = [...line.matchAll(/pid=(\d+),fd=(\d+)/g)].map((m) => ({
      pid: Number(m[1]),
      fd: Number(m[2]),
    }));
    cur = { local: f[2], peer: f[3], owners, rb: NaN, tb: NaN };
    out.push(cur);
  }
  return out;
}
