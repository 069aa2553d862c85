/**
 * The shape of one row of the option table.
 *
 * @module
 */

/** Where a keyword may be written in drbd.conf. `peer-device` options live in `disk { }` too. */
export type Section =
  | "global"
  | "resource"
  | "options"
  | "net"
  | "disk"
  | "peer-device"
  | "startup"
  | "handlers"
  | "proxy";

/**
 * Value kinds: `boolean` (yes/no, bare keyword = yes), `numeric` (integer with optional unit
 * suffix), `enum` (one of `values`), `string` (free text, e.g. a handler command), `flag`
 * (keyword without value).
 */
export type OptionType = "boolean" | "numeric" | "numeric-or-enum" | "enum" | "string" | "flag";

/**
 * How a numeric option scales a bare number and which suffixes it takes: `"1"` plain count,
 * `"s"` 512-byte sectors, `"k"` KiB. Every numeric option accepts the suffixes
 * `s` (sectors), `K`, `M`, `G` (binary), converted into the base unit (rounded up).
 */
export type UnitPrefix = "1" | "s" | "k";

/** One drbd.conf keyword / drbdsetup option. */
export interface OptionDef {
  /** Keyword as written in drbd.conf and as `--name` for drbdsetup. */
  name: string;
  /** One-line description (completions, man pages). */
  summary: string;
  /** drbd.conf sections that accept it. */
  sections: readonly Section[];
  /** Kind of value. */
  type: OptionType;
  /** Default value as drbdsetup shows it (text), if any. */
  default?: string;
  /** Numeric range (in the option's base unit). */
  min?: number;
  /** Upper end of the range (in the option's base unit). */
  max?: number;
  /** Base-unit scaling and accepted suffixes for numeric options. */
  unitPrefix?: UnitPrefix;
  /** Human unit text (man page), e.g. `1/10 seconds`, `KiB/second`. */
  unit?: string;
  /** Longest accepted string (characters) for string options with a kernel limit. */
  maxLength?: number;
  /** Enum values in drbdsetup's order (symbols for `numeric-or-enum`). */
  values?: readonly string[];
  /** drbdsetup commands that take `--name`. */
  commands: readonly string[];
  /** Other spellings accepted by drbdadm (legacy names). */
  aliases?: readonly string[];
  /** True when drbdadm does not pass it to drbdsetup (handled by drbdadm itself). */
  admOnly?: boolean;
}
