/**
 * drbdsetup 9.22's command-line grammar: which command, which object, which options, and every
 * refusal with drbdsetup's own stdout, stderr and exit code, checked in drbdsetup's order
 * (help, command name, option syntax, object arguments, option values, further arguments,
 * excess arguments).
 *
 * @module
 */

import { type LongOption, type ScannedOption, scanOptions } from "../adm/getopt.ts";
import { formatAddress, parseAddress } from "./address.ts";
import {
  type CommandArg,
  type ContextArg,
  FIELD_ALIASES,
  findCommand,
  type SetupCommand,
} from "./commands.ts";
import {
  convertField,
  fieldDef,
  fieldTakesOptionalArgument,
  mStrtoll,
  SetupError,
} from "./fields.ts";
import { commandUsage, globalUsage, type UsageOptions } from "./usage.ts";
import { commandXml } from "./xml_help.ts";

/** A command line drbdsetup accepts, with its values in canonical form. */
export interface SetupInvocation {
  /** Canonical command name. */
  command: string;
  /**
   * Positional arguments keyed by their usage names (`resource`, `peer_node_id`, `minor`,
   * `volume`, `lower_dev`, `meta_data_dev`, `meta_data_index`, `local-addr`, `remote-addr`,
   * `node_id`, `new_name`). Numbers as decimal text, `minor` without `/dev/drbd`, addresses as
   * `ipv4:1.2.3.4:7789` / `ipv6:[::1]:7789`; `resource` is `all` when a command that accepts
   * `all` got no object.
   */
  args: Record<string, string>;
  /**
   * `--name=value` options: numbers in the option's base unit, enums as the option table
   * spells them, booleans and flags `yes`/`no`, `set-defaults` as `yes`.
   */
  options: Record<string, string>;
  /** Text drbdsetup would print on stderr while accepting the line (e.g. an IPv6 notice). */
  warnings?: string;
}

/** What drbdsetup prints instead of doing anything: help, usage or an error. */
export interface SetupUsage {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link parseDrbdsetup}. */
export type ParseOptions = UsageOptions;

const HELP_WORDS = new Set(["help", "xml-help", "--help", "-h"]);

/** Distinguishes an accepted command line from a usage/error outcome. */
export function isInvocation(r: SetupInvocation | SetupUsage): r is SetupInvocation {
  return (r as SetupInvocation).command !== undefined;
}

/**
 * Parses drbdsetup's arguments (without the program name) as drbdsetup 9.22 does. Returns the
 * invocation, or the exact output and exit code of drbdsetup's refusal (help texts included:
 * `help CMD` exits 0, `help` alone 20, as drbdsetup does).
 */
export function parseDrbdsetup(
  argv: readonly string[],
  options: ParseOptions = {},
): SetupInvocation | SetupUsage {
  try {
    return parse([...argv], options);
  } catch (e) {
    if (e instanceof SetupError) {
      return { exitCode: e.exitCode, stdout: e.stdout, stderr: e.stderr };
    }
    throw e;
  }
}

function usageExit(addinfo: string | undefined, o: ParseOptions, stderr = ""): never {
  throw new SetupError(20, stderr, globalUsage(addinfo, o));
}

function parse(a: string[], o: ParseOptions): SetupInvocation | SetupUsage {
  if (a.length >= 2 && (a[1] === "--help" || a[1] === "-h")) [a[0], a[1]] = [a[1], a[0]];
  if (a.length >= 1 && HELP_WORDS.has(a[0])) {
    if (a.length < 2) usageExit(undefined, o);
    const c = findCommand(a[1]);
    if (!c) usageExit("unknown command", o);
    const text = a[0] === "xml-help" ? commandXml(c) : commandUsage(c, o);
    return { exitCode: 0, stdout: text, stderr: "" };
  }
  // drbdsetup still takes the old order "object command"
  if (a.length >= 2 && !findCommand(a[0]) && findCommand(a[1])) [a[0], a[1]] = [a[1], a[0]];
  if (a.length < 1) usageExit(undefined, o);
  const c = findCommand(a[0]);
  if (!c) usageExit("invalid command", o);

  const rest = a.slice(1);
  const scan = scanOptions(rest, shortOptions(c), longOptions(c), c.name);
  if (scan.error) usageExit(undefined, o, scan.error);
  const operands = scan.operands;
  const inv: SetupInvocation = { command: c.name, args: {}, options: {} };
  // getopt's optind after option scanning: options (with their values) come first
  let optind = 1 + rest.length - operands.length;
  let next = 0;

  const slots: ContextArg[][] = c.context.kind === "single"
    ? [[...c.context.args]]
    : c.context.args.map((x) => [x]);
  for (const slot of slots) {
    if (next >= operands.length) {
      if (c.context.kind === "single" && c.context.all) {
        inv.args.resource = "all";
        break;
      }
      throw new SetupError(
        20,
        `Missing argument ${optind} to command\n`,
        commandUsage(c, o),
      );
    }
    const text = operands[next++];
    optind++;
    contextArg(c, slot, text, inv, o);
  }
  const left = operands.slice(next);

  switch (c.handler) {
    case "config":
      return configCommand(c, scan.options, left, inv, o);
    case "events":
      return eventsCommand(c, scan.options, left, inv, o);
    case "show":
    case "status":
      for (const opt of scan.options) commandOption(c, opt, inv, o);
      return inv;
    case "down":
      if (left.length >= 2) excess(left.slice(1), DOWN_EXCESS_EXIT);
      return inv;
    case "query":
      return inv;
  }
}

function shortOptions(c: SetupCommand): string {
  let s = "";
  for (const o of c.options) s += o.short + ({ none: "", required: ":", optional: "::" })[o.arg];
  if (c.setDefaults) s += "(";
  return s;
}

function longOptions(c: SetupCommand): LongOption[] {
  // getopt calls two options equivalent when argument kind and value agree; every field has
  // value 0 in drbdsetup, so they share one key
  const longs: LongOption[] = c.fields.map((f) => ({
    name: f,
    arg: fieldTakesOptionalArgument(fieldDef(f)) ? "optional" : "required",
    key: "field",
  }));
  for (const opt of c.options) longs.push({ name: opt.name, arg: opt.arg, key: opt.short });
  const alias = FIELD_ALIASES[c.name];
  if (alias) {
    const def = fieldDef(alias.field);
    longs.push({
      name: alias.alias,
      arg: fieldTakesOptionalArgument(def) ? "optional" : "required",
      key: "alias",
    });
  }
  if (c.setDefaults) longs.push({ name: "set-defaults", arg: "none", key: "(" });
  return longs;
}

function ensureSaneName(text: string): void {
  if (text === "") throw new SetupError(1, "Resource name is empty.\n");
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text)) {
    throw new SetupError(
      1,
      "Resource name is invalid - please don't use control characters.\n",
    );
  }
}

/** drbd-utils' `dt_minor_of_dev`: digits, or /dev/drbd followed by digits; -1 otherwise. */
function minorOf(text: string): number {
  const digits = /^\d+$/.test(text)
    ? text
    : text.startsWith("/dev/drbd") && /^\d+$/.test(text.slice(9))
    ? text.slice(9)
    : undefined;
  if (digits === undefined) return -1;
  const n = BigInt(digits);
  if (n > 0x7fff_ffff_ffff_ffffn) return -1; // strtol's ERANGE
  return Number(BigInt.asIntN(32, n));
}

function contextArg(
  c: SetupCommand,
  slot: ContextArg[],
  text: string,
  inv: SetupInvocation,
  o: ParseOptions,
): void {
  if (slot.includes("resource") || slot.includes("minor")) {
    ensureSaneName(text);
    if (text === "all") {
      if (!(c.context.kind === "single" && c.context.all)) {
        usageExit("command does not accept argument 'all'", o);
      }
      inv.args.resource = "all";
      return;
    }
    if (slot.includes("minor")) {
      const m = minorOf(text);
      if (m === -1) {
        throw new SetupError(
          20,
          `Cannot determine minor device number of device '${text}'\n`,
        );
      }
      inv.args.minor = String(m);
      return;
    }
    inv.args.resource = text;
    return;
  }
  // peer_node_id and volume are unsigned 32-bit numbers in drbdsetup's context
  inv.args[slot[0]] = String(BigInt.asUintN(32, mStrtoll(text, "1")));
}

function excess(words: string[], exitCode = 20): never {
  // drbdsetup prints the list on stderr but the line's end on stdout
  throw new SetupError(exitCode, `Excess arguments:${words.map((w) => " " + w).join("")}`, "\n");
}

/** `down` returns drbdsetup's OTHER_ERROR (900) as its status, which the shell sees as 132. */
const DOWN_EXCESS_EXIT = 900 & 0xff;

function configCommand(
  c: SetupCommand,
  opts: ScannedOption[],
  left: string[],
  inv: SetupInvocation,
  o: ParseOptions,
): SetupInvocation {
  for (const opt of opts) {
    if (opt.long === "set-defaults" || opt.key === "(") {
      inv.options["set-defaults"] = "yes";
      continue;
    }
    const name = opt.key === "alias" ? FIELD_ALIASES[c.name].field : opt.long!;
    const def = fieldDef(name);
    const value = convertField(def, opt.value);
    if (value === undefined) {
      throw new SetupError(20, `Option --${name}: invalid argument '${opt.value}'\n`);
    }
    inv.options[name] = value;
  }
  let i = 0;
  for (const arg of c.args) {
    if (i >= left.length) {
      throw new SetupError(20, `Missing argument '${arg.name}'\n`, commandUsage(c, o));
    }
    inv.args[arg.name] = convertArg(arg, left[i++], inv);
  }
  if (i < left.length) excess(left.slice(i));
  return inv;
}

function convertArg(arg: CommandArg, text: string, inv: SetupInvocation): string {
  switch (arg.conversion) {
    case "block_dev":
    case "str":
      return text;
    case "md_idx":
      if (text === "internal" || text === "flexible") return text;
      return String(BigInt.asIntN(32, mStrtoll(text, "1")));
    case "u32":
      return String(BigInt.asUintN(32, mStrtoll(text, "1")));
    case "addr": {
      const e = parseAddress(text);
      if (e.warning) inv.warnings = (inv.warnings ?? "") + e.warning;
      return formatAddress(e);
    }
  }
}

const WAIT_LIMITS: Record<string, string> = {
  "wfc-timeout": "wfc_timeout",
  "degr-wfc-timeout": "degr_wfc_timeout",
  "outdated-wfc-timeout": "outdated_wfc_timeout",
};

function commandOption(
  c: SetupCommand,
  opt: ScannedOption,
  inv: SetupInvocation,
  o: ParseOptions,
): void {
  const def = c.options.find((x) => x.short === opt.key)!;
  const name = def.name;
  if (name === "color") {
    const v = opt.value;
    if (v === undefined || v === "always") inv.options.color = "always";
    else if (v === "never" || v === "auto") inv.options.color = v;
    else usageExit("unknown --color argument", o);
    return;
  }
  if (name in WAIT_LIMITS) {
    // drbdsetup holds these in a C int and checks 0..300000
    const v = Number(BigInt.asIntN(32, mStrtoll(opt.value ?? "", "1")));
    if (v < 0 || v > 300000) {
      throw new SetupError(20, `${WAIT_LIMITS[name]} => ${v} out of range [0..300000]\n`);
    }
    inv.options[name] = String(v);
    return;
  }
  if (name === "wait-after-sb") {
    inv.options[name] = opt.value === undefined || opt.value === "yes" ? "yes" : "no";
    return;
  }
  inv.options[name] = "yes";
}

function eventsCommand(
  c: SetupCommand,
  opts: ScannedOption[],
  left: string[],
  inv: SetupInvocation,
  o: ParseOptions,
): SetupInvocation {
  for (const opt of opts) commandOption(c, opt, inv, o);
  // drbdsetup 9.22 skips the first excess word when it lists them here
  if (left.length > 0) excess(left.slice(1));
  return inv;
}
