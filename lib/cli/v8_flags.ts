/**
 * The V8 flags that `deno task compile` bakes into the udrbd binary, read from the compile task
 * in deno.json. The task is their one home: the start-up benchmark and the tests take them from
 * here, so that what they measure and check as "the compiled binary" is what users run.
 *
 * Why flags at all: a cold `drbdadm dump all` on a large configuration allocates several MB of
 * short-lived objects; V8's default young generation (1 MB semi-spaces, grown step by step)
 * collects it four or five times on the way. A larger initial semi-space makes those
 * collections unnecessary without making the process bigger (pages are committed as used).
 *
 * @module
 */

/**
 * The `--v8-flags=` values of the `compile` task in the deno.json text `denoJson`, one entry per
 * flag (the task's comma-separated list, split); empty when the task sets none.
 */
export function compileV8Flags(denoJson: string): string[] {
  const task: unknown = JSON.parse(denoJson)?.tasks?.compile;
  if (typeof task !== "string") return [];
  const flags: string[] = [];
  for (const word of task.split(/\s+/)) {
    if (!word.startsWith("--v8-flags=")) continue;
    for (const f of word.slice("--v8-flags=".length).split(",")) if (f) flags.push(f);
  }
  return flags;
}

/**
 * The `deno run` argument that applies `flags` as the compiled binary applies them
 * (`--v8-flags=a,b`), or undefined when there are none.
 */
export function v8FlagsArg(flags: string[]): string | undefined {
  return flags.length === 0 ? undefined : `--v8-flags=${flags.join(",")}`;
}
