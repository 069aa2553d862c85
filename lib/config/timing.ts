/**
 * Phase timing for start-up work (`UDRBD_TIMING=1`): each {@link phase} call records the time
 * since the previous one, and {@link reportPhases} prints the list to stderr. When the variable
 * is unset every call is a single boolean test, so the marks can stay in the hot path.
 *
 * The first interval runs from the runtime's time origin (process start, as Deno measures it)
 * to the first mark: what the runtime and the module graph cost before any of our code ran.
 *
 * @module
 */

let on: boolean | undefined;
let last = 0;
const marks: string[] = [];

/** Whether phase timing is on (`UDRBD_TIMING` set to anything but "" or "0"). */
export function timingEnabled(): boolean {
  if (on === undefined) {
    let v: string | undefined;
    try {
      v = Deno.env.get("UDRBD_TIMING");
    } catch {
      // no env permission: timing stays off rather than prompting
    }
    on = v !== undefined && v !== "" && v !== "0";
  }
  return on;
}

/** Records that the phase `name` ended now (no-op unless timing is on). */
export function phase(name: string): void {
  if (!timingEnabled()) return;
  const now = performance.now();
  marks.push(`${name.padEnd(28)} ${(now - last).toFixed(2).padStart(8)} ms`);
  last = now;
}

/** Prints the recorded phases and their total to stderr (no-op unless timing is on). */
export function reportPhases(): void {
  if (!timingEnabled() || marks.length === 0) return;
  const total = `${"total (since process start)".padEnd(28)} ${last.toFixed(2).padStart(8)} ms`;
  const text = `udrbd timing:\n  ${marks.join("\n  ")}\n  ${total}\n`;
  marks.length = 0;
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}
