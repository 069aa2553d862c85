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

/** How {@link run} starts a program. */
export interface RunOptions {
  /** Bytes for its standard input (none: /dev/null). */
  stdin?: string;
  /** Variables set on top of the test's own (default: PATH={@link TEST_PATH}, LC_ALL=C). */
  env?: Record<string, string>;
  /** Only `env`, nothing inherited from the test's environment. */
  clearEnv?: boolean;
}

/**
 * Runs a program to its end and returns its exit code and output; by default with Debian's
 * programs first on PATH and the C locale. A string as third argument is its standard input.
 */
export async function run(
  cmd: string,
  args: string[],
  options: string | RunOptions = {},
): Promise<RunResult> {
  const { stdin, env, clearEnv } = typeof options === "string" ? { stdin: options } : options;
  const child = new Deno.Command(cmd, {
    args,
    env: env ?? { PATH: TEST_PATH, LC_ALL: "C" },
    clearEnv,
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
