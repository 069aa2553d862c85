/**
 * `drbdsetup`: configure the udrbd node daemon (the part the DRBD kernel module plays), with
 * drbd-utils 9.22's grammar, messages and exit codes.
 *
 * @module
 */
import type { Console } from "../lib/cli/io.ts";
import { drbdsetupMain } from "../lib/setup/main.ts";

/** Runs drbdsetup with `args` (everything after the tool name); resolves to the exit code. */
export function main(args: string[], io: Console): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  return drbdsetupMain(args, io, { signal: stop.signal }).finally(() =>
    Deno.removeSignalListener("SIGINT", onSignal)
  );
}
