/**
 * Collecting what drbdadm would print to stderr while reading a configuration, and whether the
 * configuration is still valid (drbdadm's `config_valid`).
 *
 * @module
 */

import type { Diagnostic } from "./errors.ts";
import type { SourcePos } from "./types.ts";

/** An ordered list of diagnostics; any error makes the configuration invalid. */
export class Problems {
  readonly list: Diagnostic[] = [];

  /** True while no error was recorded. */
  get valid(): boolean {
    return !this.list.some((d) => !d.warning);
  }

  /** Records an error (the configuration becomes invalid). */
  error(message: string, pos?: SourcePos): void {
    this.list.push({ message, pos, warning: false });
  }

  /** Records a message that does not invalidate the configuration. */
  warn(message: string, pos?: SourcePos): void {
    this.list.push({ message, pos, warning: true });
  }

  /** The first error, if any. */
  get firstError(): Diagnostic | undefined {
    return this.list.find((d) => !d.warning);
  }
}
