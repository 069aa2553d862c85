/**
 * `drbd-overview`: every DRBD minor of this host on one line, in DRBD 8.4's layout, with what
 * is mounted from it.
 *
 * @module
 */
import type { Console } from "../lib/cli/io.ts";
import { overviewMain } from "../lib/status/overview_main.ts";

/** Runs drbd-overview with `args` (everything after the tool name); resolves to the exit code. */
export function main(args: string[], io: Console): Promise<number> {
  return overviewMain(args, io);
}
