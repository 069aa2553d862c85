/**
 * File-system questions several tools ask.
 *
 * @module
 */

/** Whether `path` names something (a symlink counts by its target); any error means no. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
