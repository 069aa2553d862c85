/**
 * drbdsetup's endpoint addresses: `[local:|peer:][af:]address[:port]` with af one of ipv4,
 * ipv6, sdp, ssocks; IPv6 addresses in brackets; port 7788 when none is given.
 *
 * @module
 */

import { mStrtoll, SetupError } from "./fields.ts";

/** An address family drbdsetup knows by name. */
export type AddressFamily = "ipv4" | "ipv6" | "sdp" | "ssocks";

/** A parsed endpoint. `addr` is the host part as written (an IP literal or a host name). */
export interface Endpoint {
  af: AddressFamily;
  addr: string;
  port: number;
  /** What drbdsetup warns on stderr while reading it (old unbracketed IPv6 form), if anything. */
  warning?: string;
}

const DEFAULT_PORT = 7788;

/**
 * Reads an endpoint as drbdsetup's `conv_addr` / `split_address` do (including their exit-20
 * message for a malformed bracketed IPv6 address and number errors in the port). Host names
 * are not resolved here; `addr` keeps them.
 */
export function parseAddress(text: string): Endpoint {
  let s = text;
  if (s.startsWith("local:")) s = s.slice(6);
  else if (s.startsWith("peer:")) s = s.slice(5);
  let af: AddressFamily = "ipv4";
  for (const f of ["ipv4", "ipv6", "sdp", "ssocks"] as const) {
    if (s.startsWith(f + ":")) {
      af = f;
      s = s.slice(f.length + 1);
      break;
    }
  }
  if (af === "ipv6" && s.startsWith("[")) {
    const b = s.lastIndexOf("]");
    const after = s[b + 1];
    if (b < 0 || (after !== ":" && after !== undefined)) {
      throw new SetupError(20, `unexpected ipv6 format: ${s}\n`);
    }
    const port = after === ":" ? portOf(s.slice(b + 2)) : DEFAULT_PORT;
    return { af, addr: s.slice(1, b), port };
  }
  const colon = s.lastIndexOf(":");
  if (colon < 0) return { af, addr: s, port: DEFAULT_PORT };
  const host = s.slice(0, colon);
  const portText = s.slice(colon + 1);
  const warning = af === "ipv6"
    ? `interpreting ipv6:${host}:${portText} as ipv6:[${host}]:${portText}\n`
    : undefined;
  let port: number;
  try {
    port = portOf(portText);
  } catch (e) {
    if (warning && e instanceof SetupError) {
      throw new SetupError(e.exitCode, warning + e.stderr, e.stdout);
    }
    throw e;
  }
  return warning ? { af, addr: host, port, warning } : { af, addr: host, port };
}

/** drbdsetup stores the port with htons(): only the low 16 bits survive. */
function portOf(text: string): number {
  return Number(BigInt.asUintN(16, mStrtoll(text, "1")));
}

/** An endpoint in drbdsetup's own notation: `ipv4:10.0.0.1:7789`, `ipv6:[fe80::1]:7789`. */
export function formatAddress(e: Endpoint): string {
  return e.af === "ipv6" ? `ipv6:[${e.addr}]:${e.port}` : `${e.af}:${e.addr}:${e.port}`;
}
