/**
 * Errors and warnings of configuration handling, carrying what drbdadm prints and its exit code.
 *
 * @module
 */

import type { SourcePos } from "./types.ts";

/** drbdadm's exit codes (shared_main.h). */
export const EXIT = {
  /** Wrong usage, unknown resource. */
  USAGE: 1,
  /** Syntax error detected by the generic yyerror path. */
  SYNTAX: 2,
  /** Configuration invalid (parse errors, semantic checks). */
  CONFIG_INVALID: 10,
  /** A command could not be run. */
  EXEC_ERROR: 20,
} as const;

/**
 * What drbdadm prints when a file it reads (the `-c` file, an include, a template file) turns out
 * to be a directory: fopen() succeeds, then its scanner's read fails and the scanner exits with
 * status 2 ({@link EXIT.SYNTAX}) without naming a place. The first line is the scanner's own
 * words, so scripts matching drbdadm's stderr still match; the second says what happened.
 */
export function directoryMessage(path: string): string {
  return `input in flex scanner failed
${path}: is a directory, not a configuration file.`;
}

/** One message drbdadm would print to stderr, with the place it refers to when known. */
export interface Diagnostic {
  /** The complete text drbdadm prints (may span lines, without the final newline). */
  message: string;
  /** The file:line the message names, when it names one. */
  pos?: SourcePos;
  /** True for warnings that do not invalidate the configuration. */
  warning: boolean;
}

/**
 * A configuration that drbdadm would reject. `messages` are the stderr lines to print in order
 * (the first one carries the first error's `file:line` like drbdadm's), `exitCode` is drbdadm's
 * exit status for this failure, `file`/`line` locate the first error when it has a location.
 */
export class ConfigError extends Error {
  /** File of the first error (as drbdadm names it), if the error has a location. */
  readonly file?: string;
  /** 1-based line of the first error, if the error has a location. */
  readonly line?: number;
  /** Exit code drbdadm 9.22 uses for this failure (10 for most config errors). */
  readonly exitCode: number;
  /** All diagnostics collected up to the failure, warnings included, in print order. */
  readonly diagnostics: Diagnostic[];

  /** A failure with its message, location, exit code and the diagnostics printed before it. */
  constructor(
    message: string,
    options: { pos?: SourcePos; exitCode?: number; diagnostics?: Diagnostic[] } = {},
  ) {
    super(message);
    this.name = "ConfigError";
    this.file = options.pos?.file;
    this.line = options.pos?.line;
    this.exitCode = options.exitCode ?? EXIT.CONFIG_INVALID;
    this.diagnostics = options.diagnostics ??
      [{ message, pos: options.pos, warning: false }];
  }

  /**
   * The text to write to stderr, one line (or block) per entry. A message drbdadm ends without
   * a newline (its ambiguous-inheritance error ends in "\n.") runs on into the next one, as on
   * drbdadm's stderr, so printing each entry on a line of its own gives drbdadm's text.
   */
  get messages(): string[] {
    return joinRunOns(this.diagnostics.map((d) => d.message));
  }
}

/**
 * Joins each message that ends in "\n." (drbdadm printed no newline after it) with the message
 * that follows it.
 */
export function joinRunOns(messages: string[]): string[] {
  const out: string[] = [];
  let carry = "";
  for (const m of messages) {
    if (m.endsWith("\n.")) carry += m;
    else {
      out.push(carry + m);
      carry = "";
    }
  }
  if (carry) out.push(carry);
  return out;
}
