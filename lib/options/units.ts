/**
 * drbd-utils' numbers: C's 64-bit reading of the digits and the unit suffixes (`new_strtoll`),
 * shared by the option table, drbdadm's command-line names and drbdmeta's argument parser.
 *
 * @module
 */

/** Binary exponent of a unit suffix of drbd-utils' numbers (`K` = 10 …); undefined if none. */
/** The largest value of a C `unsigned long long`. */
export const U64_MAX = (1n << 64n) - 1n;

/**
 * The leading number of `text` as C's `strtoull` and `sscanf("%llu")` read it: optional blanks
 * and sign, decimal digits; a minus wraps around 2^64 (`-1` is 2^64-1) and a number too big
 * saturates at 2^64-1. Undefined when there are no digits; `rest` is what follows them.
 */
export function readU64(text: string): { value: bigint; rest: string } | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)/.exec(text);
  if (!m) return undefined;
  let value = BigInt(m[2]);
  if (value > U64_MAX) value = U64_MAX;
  else if (m[1] === "-") value = (U64_MAX + 1n - value) & U64_MAX;
  return { value, rest: text.slice(m[0].length) };
}

export const UNIT_SHIFT: Readonly<Record<string, number>> = {
  K: 10,
  k: 10,
  M: 20,
  m: 20,
  G: 30,
  g: 30,
  s: 9,
};
