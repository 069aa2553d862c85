/**
 * `udrbd install [--prefix DIR] [--uninstall] [--dry-run]`: installs drbdadm, drbdsetup,
 * drbdmeta, drbd-overview and udrbd with their completions, man pages and systemd units, or
 * removes exactly what an install put there.
 *
 * @module
 */
import type { Console } from "../lib/cli/io.ts";
import { DEFAULT_PREFIX, install, uninstall } from "../lib/install/mod.ts";

const HELP = `USAGE: udrbd install [--prefix DIR] [--dry-run]
       udrbd install --uninstall [--prefix DIR] [--dry-run]

Installs udrbd's tools so that they are found by the names DRBD users know:

  DIR/sbin/udrbd, drbdadm, drbdsetup, drbdmeta, drbd-overview
      symlinks to this udrbd binary; when udrbd runs from source (deno run mod.ts), small
      wrapper scripts instead that run 'deno run -A <this checkout's mod.ts> <tool>' with
      this deno, so the checkout must stay where it is
  DIR/share/bash-completion/completions/, DIR/share/zsh/site-functions/,
  DIR/share/fish/vendor_completions.d/
      the completion scripts in completions/, if any
  DIR/share/man/man5/, DIR/share/man/man8/
      the man pages in man/, if any
  DIR/lib/systemd/system/udrbd.service
      the node daemon ('udrbd daemon --foreground')
  DIR/lib/systemd/system/drbd@.service, drbd@.target
      one resource: 'systemctl enable --now drbd@r0.target' runs 'drbdadm adjust r0' after
      the daemon has started, and 'drbdsetup down r0' when stopped

Everything installed is listed in DIR/share/udrbd/manifest. An install never overwrites a
file it did not put there, or one changed since; --uninstall removes exactly the files in the
manifest (leaving, and naming, any that were changed) and the folders it created, once empty.

  --prefix DIR   where to install (default ${DEFAULT_PREFIX})
  --uninstall    remove what an install under DIR put there
  --dry-run, -n  print what would be done, change nothing
  -h, --help     show this text
`;

interface InstallArgs {
  prefix: string;
  uninstall: boolean;
  dryRun: boolean;
  help: boolean;
}

function parseArgs(args: string[]): InstallArgs | string {
  const out: InstallArgs = { prefix: DEFAULT_PREFIX, uninstall: false, dryRun: false, help: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--prefix" || arg.startsWith("--prefix=")) {
      const value = arg === "--prefix" ? args[++i] : arg.slice("--prefix=".length);
      if (!value) return "--prefix needs a folder";
      out.prefix = value;
    } else if (arg === "--uninstall") out.uninstall = true;
    else if (arg === "--dry-run" || arg === "-n") out.dryRun = true;
    else if (arg === "-h" || arg === "--help") out.help = true;
    else return `unknown argument '${arg}'`;
  }
  return out;
}

/** Runs `udrbd install` with `args` (everything after the tool name); resolves to the exit code. */
export async function main(args: string[], io: Console): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    io.err(`udrbd install: ${parsed}\n${HELP}`);
    return 20;
  }
  if (parsed.help) {
    io.out(HELP);
    return 0;
  }
  const options = { prefix: parsed.prefix, dryRun: parsed.dryRun };
  const result = parsed.uninstall ? await uninstall(options) : await install(options);
  if (parsed.dryRun && result.actions.length > 0) io.out("dry run; would do:\n");
  for (const a of result.actions) io.out(`${parsed.dryRun ? "  " : ""}${a}\n`);
  for (const p of result.problems) io.err(`udrbd install: ${p}\n`);
  return result.ok ? 0 : 1;
}
