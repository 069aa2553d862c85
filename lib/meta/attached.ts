/**
 * Whether a DRBD minor has a disk attached in the running udrbd daemon — what drbdmeta 9.22
 * asks `drbdsetup <minor> dstate` before it touches metadata. Read synchronously from the
 * daemon's /proc/drbd-format file, and only while the daemon that wrote it is alive (a killed
 * daemon's stale file must not block `drbdadm up`'s apply-al).
 *
 * @module
 */

import { runDir, runFiles } from "../control/paths.ts";
import { processAlive } from "../util/process.ts";

/** The disk state of `minor` in the running daemon, or undefined when it has none. */
export function attachedDiskState(minor: number, dir = runDir()): string | undefined {
  if (minor < 0) return undefined;
  const files = runFiles(dir);
  let proc: string;
  let pid: number;
  try {
    pid = Number(Deno.readTextFileSync(files.pid).trim());
    proc = Deno.readTextFileSync(files.proc);
  } catch {
    return undefined;
  }
  if (!processAlive(pid)) return undefined;
  for (const line of proc.split("\n")) {
    const m = /^\s*(\d+): cs:\S+(?: ro:\S+ ds:([A-Za-z]+))?/.exec(line);
    if (!m || Number(m[1]) !== minor || !m[2]) continue;
    return m[2] === "Diskless" ? undefined : m[2];
  }
  return undefined;
}
