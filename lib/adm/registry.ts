/**
 * drbdadm's registry of configuration files, as drbd-utils keeps it: `up` (new-resource,
 * new-minor) links `drbd-resource-<name>.conf` and `drbd-minor-<N>.conf` in the run directory to
 * the configuration file it used, so that drbdadm started later without `-c` — by the daemon for
 * a handler such as `split-brain`, as the kernel starts it — reads the same file.
 *
 * drbd-utils keeps the links in DRBD_RUN_DIR (/var/run/drbd); udrbd keeps them in its own run
 * directory (`$UDRBD_RUN_DIR`, default /run/udrbd), next to the daemon that runs the handlers.
 *
 * @module
 */

import { readAdmNumber, u32 } from "../config/arg_ids.ts";
import { runDir } from "../control/paths.ts";

function linkOf(kind: "resource" | "minor", id: string): string {
  return `${runDir()}/drbd-${kind}-${id}.conf`;
}

function register(link: string, file: string): void {
  // relative paths would mean something else to a drbdadm started elsewhere
  if (!file.startsWith("/")) return;
  try {
    if (Deno.readLinkSync(link) === file) return;
  } catch {
    // no link yet
  }
  try {
    Deno.removeSync(link);
  } catch {
    // nothing to replace
  }
  try {
    Deno.mkdirSync(runDir(), { recursive: true, mode: 0o700 });
    Deno.symlinkSync(file, link);
  } catch {
    // the registry is a convenience: a handler then falls back to the default files
  }
}

/** Remembers that resource `name` was set up from `file` (an absolute path). */
export function registerResource(name: string, file: string): void {
  register(linkOf("resource", name), file);
}

/** Remembers that `minor` was created from `file` (an absolute path). */
export function registerMinor(minor: number, file: string): void {
  register(linkOf("minor", String(minor)), file);
}

/**
 * The configuration file registered for `arg` (a resource name, or `minor-N`), or undefined
 * with drbd-utils' message for stderr; `error` when N is not a number (drbdadm stops there).
 */
export function lookupConfig(
  arg: string,
): { file?: string; message?: string; error?: { message: string; exitCode: number } } {
  let minor: number | undefined;
  if (arg.startsWith("minor-")) {
    const n = readAdmNumber(arg.slice(6));
    if (n.error !== undefined) return { error: { message: `${n.error}\n`, exitCode: n.exitCode } };
    // drbdadm keeps the number in an int: past 2^31 it is no minor but a resource name
    const v = u32(n.value) | 0;
    if (v >= 0) minor = v;
  }
  const link = minor !== undefined ? linkOf("minor", String(minor)) : linkOf("resource", arg);
  try {
    Deno.statSync(link);
    return { file: Deno.readLinkSync(link) };
  } catch {
    return {
      message: minor !== undefined
        ? `Don't know which config file belongs to minor ${minor}, trying default ones...\n`
        : `Don't know which config file belongs to resource ${arg}, trying default ones...\n`,
    };
  }
}
