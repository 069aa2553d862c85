/**
 * `udrbd completions bash|zsh|fish`: prints the shell completion script for drbdadm,
 * drbdsetup, drbdmeta and udrbd, generated from the command and option tables.
 *
 * @module
 */
import type { Console } from "../lib/cli/io.ts";
import { completionScript, SHELLS } from "../lib/docs/completions.ts";

const USAGE = `USAGE: udrbd completions ${SHELLS.join("|")}

Prints the completion script for drbdadm, drbdsetup, drbdmeta and udrbd. For example:
  udrbd completions bash > /etc/bash_completion.d/udrbd
  udrbd completions zsh > "\${fpath[1]}/_udrbd"
  udrbd completions fish > ~/.config/fish/completions/udrbd.fish
`;

/** Runs `udrbd completions` with `args` (everything after the tool name); returns the exit code. */
export function main(args: string[], io: Console): number {
  const [shell, ...extra] = args;
  if (shell === "-h" || shell === "--help") {
    io.out(USAGE);
    return 0;
  }
  const known = SHELLS.find((s) => s === shell);
  if (!known || extra.length) {
    io.err(
      shell === undefined
        ? USAGE
        : `udrbd completions: unknown shell '${args.join(" ")}'\n${USAGE}`,
    );
    return 20;
  }
  io.out(completionScript(known));
  return 0;
}
