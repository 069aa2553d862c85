/**
 * Whether a process lives, from /proc: the daemon's pid file, drbdmeta's attached check and
 * the demo's clean-up all ask it.
 *
 * @module
 */

/**
 * Whether process `pid` exists and is not a zombie (a zombie holds nothing any more, and pid 1
 * in a container may never reap it).
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // the state letter follows the command name in parentheses, which may contain spaces
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}
