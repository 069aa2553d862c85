/**
 * drbdmeta's command line: option parsing as GNU getopt_long does it, format arguments,
 * the command table, and dispatch.
 *
 * @module
 */
import type { Console } from "../cli/io.ts";

/** Runs drbdmeta; resolves to the exit code. */
export function drbdmetaMain(_args: string[], io: Console, options: { progname: string }): number {
  io.out(
    `\nUSAGE: ${options.progname} [--force] DEVICE FORMAT [FORMAT ARGS...] COMMAND [CMD ARGS...]\n`,
  );
  return 20;
}
