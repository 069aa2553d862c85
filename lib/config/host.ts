/**
 * The node name that selects `on <host>` sections.
 *
 * @module
 */

/**
 * This node's name as drbdadm uses it: `UDRBD_HOSTNAME` when set and non-empty, otherwise
 * `__DRBD_NODE__` (drbdadm's own override), otherwise the kernel's node name (`uname -n`).
 */
export function nodeName(): string {
  const env = Deno.env.get("UDRBD_HOSTNAME") || Deno.env.get("__DRBD_NODE__");
  if (env) return env;
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
  } catch {
    return Deno.hostname();
  }
}

/** The IPv4 and IPv6 addresses configured on this machine's interfaces. */
function localAddresses(): Set<string> {
  const out = new Set<string>();
  try {
    for (const i of Deno.networkInterfaces()) out.add(i.address.split("%")[0].toLowerCase());
  } catch {
    // no permission or unsupported: no local addresses known
  }
  return out;
}

let cached: Set<string> | undefined;

/**
 * True when this host has `addr` on one of its interfaces (drbdadm's have_ip). Families other
 * than ipv4/ipv6 (ssocks, sdp) always count as present, as in drbdadm.
 */
export function hostHasIp(af: string, addr: string): boolean {
  if (af !== "ipv4" && af !== "ipv6") return true;
  cached ??= localAddresses();
  if (af === "ipv4") {
    // interfaces report canonical addresses: an address found as written needs no parsing
    // (drbdadm checks every resource's own address, 500 times for 500 resources)
    if (cached.has(addr)) return true;
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
    const norm = m ? m.slice(1).map(Number).join(".") : addr;
    return cached.has(norm);
  }
  const want = expandV6(addr.split("%")[0]);
  for (const a of cached) if (a.includes(":") && expandV6(a) === want) return true;
  return false;
}

function expandV6(s: string): string {
  s = s.toLowerCase();
  const halves = s.split("::");
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  return [...head, ...Array(Math.max(0, fill)).fill("0"), ...tail]
    .map((g) => parseInt(g, 16).toString(16)).join(":");
}
