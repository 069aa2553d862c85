/**
 * The node name that selects `on <host>` sections.
 *
 * @module
 */

/**
 * This node's name as drbdadm uses it: `UDRBD_HOSTNAME` when set and non-empty, otherwise
 * `__DRBD_NODE__` (drbdadm's own override), otherwise the kernel's node name (`uname -n`).
 */
export function nodeName(): string {
  const env = Deno.env.get("UDRBD_HOSTNAME") || Deno.env.get("__DRBD_NODE__");
  if (env) return env;
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
  } catch {
    return Deno.hostname();
  }
}
