/**
 * The names drbdadm takes on its command line for what a command works on — `res`,
 * `res:peer`, `res/vol`, `res:peer/vol`, `minor-N` — and the number reader drbd-utils uses for
 * their numbers (decimal, an optional K/M/G/s unit, its own messages and exit codes).
 *
 * @module
 */

import { readU64, U64_MAX, UNIT_SHIFT } from "../options/units.ts";

/** A command-line name split as drbdadm splits it. */
export interface ArgId {
  resName: string;
  /** After the first `:` (before the volume): a host or connection name. */
  peer?: string;
  /** After the last `/`: the volume number's text. */
  vnr?: string;
}

/** Splits `res[:peer][/vol]`: the volume after the last `/`, the peer after the first `:`. */
export function splitArgId(id: string): ArgId {
  let rest = id;
  let vnr: string | undefined;
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    vnr = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
  }
  const colon = rest.indexOf(":");
  let peer: string | undefined;
  if (colon >= 0) {
    peer = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { resName: rest, peer, vnr };
}

/** A number read by {@link readAdmNumber}, or the message and exit code drbdadm stops with. */
export type AdmNumber = { value: bigint; error?: undefined } | { error: string; exitCode: number };

/**
 * Reads `text` as drbd-utils' m_strtoll does with no default unit: optional blanks and sign,
 * decimal digits (a minus wraps around, as C's strtoull), then at most one unit letter
 * (K, M, G: binary multiples; s: 512-byte sectors). Anything else is not a number.
 */
export function readAdmNumber(text: string): AdmNumber {
  if (text === "") return { error: "missing number argument", exitCode: 100 };
  const invalid = { error: `${text} is not a valid number`, exitCode: 20 };
  const read = readU64(text);
  if (!read) return invalid;
  if (read.rest === "") return { value: read.value };
  const shift = UNIT_SHIFT[read.rest];
  if (shift === undefined) return invalid;
  if (read.value > U64_MAX >> BigInt(shift)) {
    return { error: `${text}: out of range`, exitCode: 20 };
  }
  return { value: read.value << BigInt(shift) };
}

/** A number of a command-line name (minor, volume) as a C `unsigned` holds it. */
export function u32(value: bigint): number {
  return Number(value & 0xffffffffn);
}

/**
 * What drbdadm stops with when a name of `names` has a volume number it cannot read (it reads
 * them all before it looks up any name); undefined when all are fine.
 */
export function badVolumeNumber(names: string[]): { error: string; exitCode: number } | undefined {
  for (const name of names) {
    const { vnr } = splitArgId(name);
    const read = vnr === undefined ? undefined : readAdmNumber(vnr);
    if (read?.error !== undefined) return read;
  }
  return undefined;
}
