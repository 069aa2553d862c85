/**
 * Small helpers over the option table: lookup by name and section, value validation as drbdadm's
 * parser does it, unit conversion, and "did you mean" suggestions.
 *
 * @module
 */

import { OPTIONS } from "./table.ts";
import type { OptionDef, Section, UnitPrefix } from "./types.ts";
import { readU64, U64_MAX, UNIT_SHIFT } from "./units.ts";
import { utf8Length } from "../util/utf8.ts";

let byName: Map<string, OptionDef> | undefined;

/** The name → row index, built on first use (not every tool start needs it). */
function index(): Map<string, OptionDef> {
  if (byName) return byName;
  byName = new Map<string, OptionDef>();
  for (const def of OPTIONS) {
    byName.set(def.name, def);
    for (const alias of def.aliases ?? []) if (!byName.has(alias)) byName.set(alias, def);
  }
  return byName;
}

/**
 * The row for `name` (a keyword, or a legacy alias such as `rate`), optionally only if it is
 * valid in `section`. A `no-` prefix is not stripped here.
 */
export function lookupOption(name: string, section?: Section): OptionDef | undefined {
  const def = index().get(name);
  if (!def || (section && !def.sections.includes(section))) return undefined;
  return def;
}

/** Every option accepted in a drbd.conf section, in table (= drbdsetup) order. */
export function optionsInSection(section: Section): OptionDef[] {
  return OPTIONS.filter((d) => d.sections.includes(section));
}

/** Every option a drbdsetup command takes as `--name`, in drbdsetup's order. */
export function optionsForCommand(command: string): OptionDef[] {
  return OPTIONS.filter((d) => d.commands.includes(command));
}

const SHIFT: Record<UnitPrefix, number> = { "1": 0, s: -9, k: -10 };

/**
 * Converts a numeric option value such as `40M`, `100`, `8s` into the option's base unit
 * (count, sectors or KiB) as drbd-utils' `new_strtoll` does: decimal digits, optionally one
 * suffix out of `s K M G` (case-insensitive except `s`), rounding up when the suffix is smaller
 * than the base unit. Returns undefined for text that is not such a number.
 *
 * drbd-utils reads the digits with `sscanf("%llu")`, so the value is 64-bit unsigned arithmetic:
 * leading white space and a sign are accepted, `-1` is 2^64-1, a number too big for 64 bits
 * saturates at 2^64-1. Range checks then see those values, as in drbdadm.
 */
export function parseNumeric(value: string, unitPrefix: UnitPrefix = "1"): bigint | undefined {
  const read = readU64(value);
  if (!read) return undefined;
  const n = read.value;
  // a bare number is already in the base unit (new_strtoll returns it unscaled)
  if (read.rest === "") return n;
  const unit = UNIT_SHIFT[read.rest];
  if (unit === undefined) return undefined;
  const shift = SHIFT[unitPrefix] + unit;
  if (shift < 0) {
    // rounds up in 64-bit arithmetic: 2^64-1 wraps to 0 as in C
    const d = 1n << BigInt(-shift);
    return ((n + d - 1n) & U64_MAX) / d;
  }
  return n > U64_MAX >> BigInt(shift) ? undefined : n << BigInt(shift);
}

/**
 * The number drbd-utils' `enum_num_to_int` makes of a numeric-or-enum value that is not one of
 * the symbols: `new_strtoll` without a base unit, then truncated to a C int (so 2^32+1 is 1 and
 * 2^32-1 is -1); undefined when it is no number.
 */
function enumNumber(value: string): number | undefined {
  const n = parseNumeric(value, "1");
  return n === undefined ? undefined : Number(BigInt.asIntN(32, n));
}

/** Why a value is not acceptable, in drbdadm's words ("not valid", "too big", ...). */
export type ValueProblem =
  | "not valid"
  | "not 'yes' or 'no'"
  | "not a number"
  | "too small"
  | "too big"
  | "too long";

/**
 * Checks a value for an option as drbdadm's parser does (`field->ops->check`): enums must match
 * exactly (protocol ignores case), booleans are `yes`/`no`, numbers must lie in range (al-extents
 * is clamped instead), strings must fit the kernel's buffer. Returns undefined when valid.
 */
export function validateValue(def: OptionDef, value: string): ValueProblem | undefined {
  switch (def.type) {
    case "enum": {
      const ok = def.name === "protocol"
        ? def.values?.some((v) => v.toLowerCase() === value.toLowerCase())
        : def.values?.includes(value);
      return ok ? undefined : "not valid";
    }
    case "boolean":
    case "flag":
      return value === "yes" || value === "no" ? undefined : "not 'yes' or 'no'";
    case "string":
      // the kernel's limit is in bytes (strlen)
      return def.maxLength !== undefined && utf8Length(value) >= def.maxLength
        ? "too long"
        : undefined;
    case "numeric-or-enum": {
      if (def.values?.includes(value)) return undefined;
      const n = enumNumber(value);
      if (n === undefined) return "not valid";
      if (def.min !== undefined && n < def.min) return "too small";
      if (def.max !== undefined && n > def.max) return "too big";
      return undefined;
    }
    case "numeric": {
      const n = parseNumeric(value, def.unitPrefix ?? "1");
      if (n === undefined) return "not a number";
      if (def.name === "al-extents") return undefined;
      if (def.min !== undefined && n < BigInt(def.min)) return "too small";
      if (def.max !== undefined && n > BigInt(def.max)) return "too big";
      return undefined;
    }
  }
}

/**
 * Whether two values of option `def` mean the same, as drbdadm's `is_equal` decides when one
 * option is inherited twice: numbers by their value in the option's base unit (`1M` = `1024K`
 * = `1024k` = `2048s` for a KiB option), booleans and flags as yes/no (a missing value is yes),
 * `protocol` ignoring case, everything else (enums, strings, numeric-or-enum) by text.
 */
export function valuesEqual(
  def: OptionDef,
  a: string | undefined,
  b: string | undefined,
): boolean {
  if (a === b) return true;
  switch (def.type) {
    case "numeric": {
      if (a === undefined || b === undefined) return false;
      const na = parseNumeric(a, def.unitPrefix ?? "1");
      return na !== undefined && na === parseNumeric(b, def.unitPrefix ?? "1");
    }
    case "boolean":
    case "flag":
      return yesNo(a) === yesNo(b);
    case "enum":
      return def.name === "protocol" && a !== undefined && b !== undefined &&
        a.toLowerCase() === b.toLowerCase();
    default:
      return false;
  }
}

/** drbd-utils' boolean_string_to_int: 1 for yes (or no value), 0 for no, -1 otherwise. */
function yesNo(value: string | undefined): number {
  if (value === undefined || value === "yes") return 1;
  return value === "no" ? 0 : -1;
}

/** Levenshtein distance, for suggestions. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/**
 * The candidate closest to `word` (edit distance, at most a third of the word's length, or a
 * candidate that contains the word), for "did you mean ...?" hints; undefined when none is close.
 */
export function nearestKeyword(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  if (bestD <= Math.max(2, Math.floor(word.length / 3))) return best;
  return undefined;
}
