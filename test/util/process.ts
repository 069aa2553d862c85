/**
 * What every suite needs to drive real programs: whether a program is installed, running one
 * with a plain environment (Debian's /usr/bin first, as nbdsh needs), whether a process still
 * lives, and waiting for a condition without a timing assertion.
 *
 * @module
 */

/** PATH for the programs tests run: Debian's directories first. */
export const TEST_PATH = "/usr/bin:/usr/sbin:/bin:/sbin:" + (Deno.env.get("PATH") ?? "");

/** Output of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether `name` is an executable on {@link TEST_PATH} (tests using it are ignored otherwise). */
export function have(name: string): boolean {
  return TEST_PATH.split(":").some((dir) => {
    try {
      return dir !== "" && Deno.statSync(`${dir}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

/** Runs a program with a plain environment, `stdin` (if given) as its input. */
export async function run(cmd: string, args: string[], stdin?: string): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    env: { PATH: TEST_PATH, LC_ALL: "C" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Whether process `pid` exists and is not a zombie (the daemon's own check). */
export { processAlive as alive } from "../../lib/util/process.ts";

/**
 * Waits until `cond()` holds, looking every `intervalMs`; fails after `timeoutMs` (a hung test,
 * not a timing assertion).
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
