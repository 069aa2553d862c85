/**
 * The names drbdadm takes on its command line for what a command works on — `res`,
 * `res:peer`, `res/vol`, `res:peer/vol`, `minor-N` — and the number reader drbd-utils uses for
 * their numbers (decimal, an optional K/M/G/s unit, its own messages and exit codes).
 *
 * @module
 */

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

const ULL_MAX = (1n << 64n) - 1n;
const UNIT_SHIFT: Record<string, bigint> = {
  K: 10n,
  k: 10n,
  M: 20n,
  m: 20n,
  G: 30n,
  g: 30n,
  s: 9n,
};

/**
 * Reads `text` as drbd-utils' m_strtoll does with no default unit: optional blanks and sign,
 * decimal digits (a minus wraps around, as C's strtoull), then at most one unit letter
 * (K, M, G: binary multiples; s: 512-byte sectors). Anything else is not a number.
 */
export function readAdmNumber(text: string): AdmNumber {
  if (text === "") return { error: "missing number argument", exitCode: 100 };
  const invalid = { error: `${text} is not a valid number`, exitCode: 20 };
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(text);
  if (!m) return invalid;
  let value = BigInt(m[2]);
  if (value > ULL_MAX) value = ULL_MAX;
  else if (m[1] === "-") value = (ULL_MAX + 1n - value) & ULL_MAX;
  const rest = text.slice(m[0].length);
  if (rest === "") return { value };
  const shift = UNIT_SHIFT[rest];
  if (shift === undefined) return invalid;
  if (value > ULL_MAX >> shift) return { error: `${text}: out of range`, exitCode: 20 };
  return { value: value << shift };
}
