/**
 * How drbdsetup 9.22 reads, describes and prints one option field: drbd-utils' number parser
 * (`new_strtoll` / `m_strtoll`), the usage fragment (`[--size=(0 ... 2199023255552)]`), the
 * canonical value a field takes from the command line, and the text and "is default" test of
 * `drbdsetup show`.
 *
 * @module
 */

import type { OptionDef, UnitPrefix } from "../options/types.ts";
import { lookupOption } from "../options/lookup.ts";

/** Why a number was refused, as drbd-utils' `new_strtoll` reports it. */
export type NumberError = "missing" | "invalid" | "range";

const U64 = (1n << 64n) - 1n;
const SCALE_SHIFT: Record<UnitPrefix, number> = { "1": 0, s: -9, k: -10 };
const SUFFIX_SHIFT: Record<string, number> = { K: 10, k: 10, M: 20, m: 20, G: 30, g: 30, s: 9 };

/**
 * drbd-utils' `new_strtoll`: an unsigned decimal as C's `sscanf("%llu%c%c")` reads it (leading
 * blanks and a sign allowed, a negative number wraps around 2^64), then at most one unit
 * suffix out of `K M G s`, scaled into `scale` (rounding up). Returns the unsigned 64-bit
 * result or the reason it failed.
 */
export function strtoull(text: string, scale: UnitPrefix = "1"): bigint | NumberError {
  if (text === "") return "missing";
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d+)/.exec(text);
  if (!m) return "invalid";
  let n = BigInt(m[2]);
  if (n > U64) n = U64; // strtoull saturates
  else if (m[1] === "-") n = (U64 + 1n - n) & U64;
  const rest = text.slice(m[0].length);
  if (rest.length > 1) return "invalid";
  // a bare number is already in the field's unit; only a suffix scales
  if (rest.length === 0) return n;
  const suffix = SUFFIX_SHIFT[rest];
  if (suffix === undefined) return "invalid";
  const shift = SCALE_SHIFT[scale] + suffix;
  if (shift < 0) {
    const d = 1n << BigInt(-shift);
    return ((n + d - 1n) >> BigInt(-shift)) & U64;
  }
  if (n > (U64 >> BigInt(shift))) return "range";
  return n << BigInt(shift);
}

/** A refusal: what drbdsetup prints to stdout and stderr and the exit code it ends with. */
export class SetupError extends Error {
  /** Exit status. */
  readonly exitCode: number;
  /** Text for stdout (usage texts go there). */
  readonly stdout: string;
  /** Text for stderr. */
  readonly stderr: string;
  constructor(exitCode: number, stderr: string, stdout = "") {
    super(stderr.trim() || stdout.trim());
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.stdout = stdout;
  }
}

/**
 * drbd-utils' `m_strtoll`: like {@link strtoull}, returned as a signed 64-bit number; on a bad
 * number throws the {@link SetupError} drbdsetup exits with ("X is not a valid number", 20;
 * "missing number argument", 100; "X: out of range", 20).
 */
export function mStrtoll(text: string, scale: UnitPrefix = "1"): bigint {
  const r = strtoull(text, scale);
  if (r === "missing") throw new SetupError(100, "missing number argument\n");
  if (r === "invalid") throw new SetupError(20, `${text} is not a valid number\n`);
  if (r === "range") throw new SetupError(20, `${text}: out of range\n`);
  return BigInt.asIntN(64, r);
}

/** The option-table row of a drbdsetup field; throws for a name the table lacks. */
export function fieldDef(name: string): OptionDef {
  const def = lookupOption(name);
  if (!def || def.name !== name) throw new Error(`option table lacks drbdsetup field ${name}`);
  return def;
}

/** The usage fragment drbdsetup prints for a field, e.g. `[--protocol={A|B|C}]`. */
export function fieldUsage(def: OptionDef): string {
  switch (def.type) {
    case "boolean":
    case "flag":
      return `[--${def.name}={yes|no}]`;
    case "numeric":
      return `[--${def.name}=(${def.min} ... ${def.max})]`;
    case "enum":
      return `[--${def.name}={${def.values!.join("|")}}]`;
    case "numeric-or-enum":
      return `[--${def.name}={${def.values!.join("|")}}|(${def.min} ... ${def.max})]`;
    case "string":
      return `[--${def.name}=<str>]`;
  }
}

/** Booleans and flags take their value only as `--name=value`; the rest also as `--name value`. */
export function fieldTakesOptionalArgument(def: OptionDef): boolean {
  return def.type === "boolean" || def.type === "flag";
}

/** Numeric values of the symbols of numeric-or-enum fields (quorum: QOU_OFF, ...). */
const SYMBOL_VALUES: Record<string, number> = { off: 0, majority: 1024, all: 1025 };

function symbolOf(value: number): string | undefined {
  return Object.keys(SYMBOL_VALUES).find((k) => SYMBOL_VALUES[k] === value);
}

/**
 * The canonical value of `--name[=value]` for a field, or undefined where drbdsetup says
 * "Option --name: invalid argument". Throws {@link SetupError} for numbers drbd-utils'
 * `m_strtoll` refuses. Canonical: numbers in the field's base unit as decimal text (signed
 * 64-bit, as drbdsetup holds them before it sends them), enums as the table spells them,
 * booleans and flags "yes"/"no" (bare = "yes"), strings as given.
 */
export function convertField(def: OptionDef, value: string | undefined): string | undefined {
  switch (def.type) {
    case "boolean":
    case "flag":
      if (value === undefined || value === "yes") return "yes";
      return value === "no" ? "no" : undefined;
    case "numeric":
      return String(mStrtoll(value ?? "", def.unitPrefix ?? "1"));
    case "enum": {
      if (value === undefined) return undefined;
      if (def.name === "protocol") {
        return def.values!.find((v) => v.toLowerCase() === value.toLowerCase());
      }
      return def.values!.includes(value) ? value : undefined;
    }
    case "numeric-or-enum": {
      if (value === undefined) return undefined;
      if (def.values!.includes(value)) return value;
      const n = strtoull(value, "1");
      if (typeof n !== "bigint") return undefined;
      // drbdsetup keeps the number in a C int, where -1 means "not a number"
      const v = Number(BigInt.asIntN(32, n));
      if (v === -1) return undefined;
      return symbolOf(v) ?? String(v);
    }
    case "string":
      return value ?? "";
  }
}

/**
 * The text `drbdsetup show` prints for a field's canonical value: numbers with the field's unit
 * letter appended (`250k`, `0s`), strings in double quotes with `\` and `"` escaped, the rest as
 * they are.
 */
export function showValue(def: OptionDef, value: string): string {
  switch (def.type) {
    case "numeric": {
      const scale = def.unitPrefix ?? "1";
      return scale === "1" ? value : value + scale;
    }
    case "string":
      return doubleQuote(value);
    default:
      return value;
  }
}

/** drbd-utils' `double_quote_string`: `"` around, `\` before every `\` and `"`. */
export function doubleQuote(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}

/** The default a field shows when the kernel reports nothing else (strings: empty). */
export function fieldDefault(def: OptionDef): string {
  if (def.default !== undefined) return def.default;
  if (def.type === "string") return "";
  if (def.type === "boolean" || def.type === "flag") return "no";
  return "0";
}

/** Whether `value` counts as the field's default, as drbdsetup's `is_default` decides. */
export function isDefault(def: OptionDef, value: string): boolean {
  const d = fieldDefault(def);
  switch (def.type) {
    case "numeric": {
      const a = strtoull(value, "1");
      const b = strtoull(d, "1");
      return typeof a === "bigint" && typeof b === "bigint" && a === b;
    }
    case "numeric-or-enum": {
      const num = (v: string) => SYMBOL_VALUES[v] ?? Number(v);
      return num(value) === num(d);
    }
    default:
      return value === d;
  }
}
