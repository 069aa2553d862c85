/**
 * Unit suffixes of drbd-utils' numbers (`new_strtoll`), shared by the option table and
 * drbdmeta's argument parser.
 *
 * @module
 */

/** Binary exponent of a unit suffix of drbd-utils' numbers (`K` = 10 …); undefined if none. */
export const UNIT_SHIFT: Readonly<Record<string, number>> = {
  K: 10,
  k: 10,
  M: 20,
  m: 20,
  G: 30,
  g: 30,
  s: 9,
};
