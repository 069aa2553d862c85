/**
 * drbdsetup 9.22's help texts: the command list (`drbdsetup help`, also printed for unknown
 * commands and bad options) and one command's usage (`drbdsetup help CMD`), wrapped at the
 * terminal width exactly as drbd-utils' `wrap_printf` does.
 *
 * @module
 */

import { COMMANDS, type SetupCommand } from "./commands.ts";
import { fieldDef, fieldUsage } from "./fields.ts";

/**
 * drbd-utils' `wrap_printf`: text is printed in pieces; a piece that would run past the width
 * starts a new line (dropping one leading newline of the piece), and a piece at the start of a
 * line loses its leading blanks and is indented.
 */
class Wrapper {
  #col = 0;
  #columns: number;
  out = "";
  constructor(columns: number) {
    this.#columns = columns;
  }
  print(indent: number, piece: string): void {
    if (this.#col + piece.length > this.#columns) {
      this.out += "\n";
      if (piece.startsWith("\n")) piece = piece.slice(1);
      this.#col = 0;
    }
    if (this.#col === 0) {
      piece = piece.replace(/^ +/, "");
      this.#col += indent;
      this.out += " ".repeat(indent);
    }
    this.out += piece;
    this.#col += piece.length;
    const nl = piece.lastIndexOf("\n");
    if (nl >= 0 && nl === piece.length - 1) this.#col = 0;
  }
  /** `wrap_printf_wordwise`: one piece per word, each keeping the blank before it. */
  printWords(indent: number, text: string): void {
    for (const m of text.matchAll(/ *[^ ]+/g)) {
      this.print(indent, m[0].replace(/^ +/, " "));
    }
  }
}

/** Options for the help printers. */
export interface UsageOptions {
  /** Program name printed in the text (drbdsetup prints the name it was invoked as). */
  progname?: string;
  /** Terminal width; drbdsetup uses 80 when stdout is not a terminal. */
  columns?: number;
}

function contextUsage(c: SetupCommand): string[] {
  const ctx = c.context;
  const names = ctx.args.map((a) => `{${a}}`);
  if (ctx.kind === "single" && ctx.all) {
    return [" {", ...names.map((n) => ` ${n}`), " |", " all", " }"];
  }
  return names.map((n) => ` ${n}`);
}

function commandUsageInto(w: Wrapper, c: SetupCommand, progname: string): void {
  w.print(0, `${progname} ${c.name}`);
  w.print(4, ` - ${c.summary}`);
  w.print(4, "\n\n");
  w.print(0, `USAGE: ${progname} ${c.name}`);
  for (const piece of contextUsage(c)) w.print(4, piece);
  for (const a of c.args) w.print(4, ` {${a.name}}`);
  // drbdsetup opens the option line for every command with a field context, even an empty one
  if (c.options.length || c.setDefaults || c.fields.length || hasFieldContext(c)) {
    w.print(4, "\n");
  }
  for (const o of c.options) w.print(4, ` [--${o.name}${o.arg === "none" ? "" : "=..."}]`);
  if (c.setDefaults) w.print(4, " [--set-defaults]");
  for (const f of c.fields) w.print(4, ` ${fieldUsage(fieldDef(f))}`);
  w.print(4, "\n");
}

/** new-path and del-path have an (empty) option context in drbdsetup 9.22. */
function hasFieldContext(c: SetupCommand): boolean {
  return c.name === "new-path" || c.name === "del-path";
}

/** `drbdsetup help CMD`: the command's summary, arguments and options. */
export function commandUsage(c: SetupCommand, options: UsageOptions = {}): string {
  const w = new Wrapper(options.columns ?? 80);
  commandUsageInto(w, c, options.progname ?? "drbdsetup");
  return w.out;
}

/**
 * `drbdsetup help`: the command list with summaries, then `addinfo` (e.g. "invalid command")
 * when given, as drbdsetup's `print_usage_and_exit` prints it.
 */
export function globalUsage(addinfo?: string, options: UsageOptions = {}): string {
  const progname = options.progname ?? "drbdsetup";
  let out = "drbdsetup - Configure the DRBD kernel module.\n\n" +
    `USAGE: ${progname} command {arguments} [options]\n\nCommands:\n`;
  const w = new Wrapper(options.columns ?? 80);
  for (const c of COMMANDS) {
    w.print(4, `${c.name} - `);
    w.printWords(8, c.summary);
    w.print(4, "\n");
  }
  out += w.out;
  out += "\nUse 'drbdsetup help command' for command-specific help.\n\n";
  if (addinfo !== undefined) out += `\n${addinfo}\n`;
  return out;
}
