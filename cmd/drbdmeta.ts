/**
 * `drbdmeta`: create, dump, restore and modify DRBD metadata, with drbd-utils 9.22's grammar,
 * messages and exit codes.
 *
 * @module
 */
import type { Console } from "../lib/cli/io.ts";
import { drbdmetaMain } from "../lib/meta/cli.ts";

/** Runs drbdmeta with `args` (everything after the tool name); resolves to the exit code. */
export function main(args: string[], io: Console): number {
  return drbdmetaMain(args, io, { progname: "drbdmeta" });
}
