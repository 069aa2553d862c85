/**
 * One configuration file run through drbd-utils 9.22's drbdadm and ours over the command set of
 * the shared compat script (`dump all`, `sh-resources`, per resource `dump`, the `sh-*` queries,
 * `-d` of every step command, `primary --force`, `connect --discard-my-data`, `dump-xml`; for
 * stacked resources `dump`/`dump-xml` with stderr, and the proxy commands where a proxy is
 * configured), for the fuzzers of valid configurations (fv_fuzz.ts, fs_fuzz_test.ts). Kept apart
 * from the fuzzers' tests so that importing it registers none.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Outcome,
  pool,
  runOurs,
  runReal,
  SH_COMMANDS,
  STEP_COMMANDS,
} from "./drbdadm_runs.ts";

interface Case {
  args: string[];
  stderr?: boolean;
}

const words = (text: string) => text.split(/\s+/).filter((x) => x);

/** The command lines of one configuration, as the corpus test runs them. */
async function casesOf(conf: string, work: string): Promise<Case[]> {
  const cases: Case[] = [{ args: ["-c", conf, "dump", "all"] }, {
    args: ["-c", conf, "sh-resources"],
  }];
  for (const r of words((await runReal(["-c", conf, "sh-resources"], work)).stdout)) {
    const add = (args: string[]) => cases.push({ args: ["-c", conf, ...args] });
    add(["dump", r]);
    for (const s of SH_COMMANDS) add([s, r]);
    for (const k of STEP_COMMANDS) add(["-d", k, r]);
    add(["-d", "primary", "--force", r]);
    add(["-d", "connect", "--discard-my-data", r]);
    add(["dump-xml", r]);
  }
  const extra = (args: string[]) => cases.push({ args: ["-c", conf, ...args], stderr: true });
  for (const r of words((await runReal(["-c", conf, "-S", "sh-resources"], work)).stdout)) {
    extra(["dump", r]);
    extra(["dump-xml", r]);
  }
  if (/\bproxy\b/.test(Deno.readTextFileSync(conf))) {
    const all = (await runReal(["-c", conf, "dump", "all"], work)).stdout;
    const names = [...all.matchAll(/^resource (\S+) \{/gm)].map((m) => m[1]);
    for (const k of ["proxy-up", "proxy-down"]) {
      extra(["-d", k, "all"]);
      extra(["-S", "-d", k, "all"]);
      for (const r of names) extra(["-d", k, r]);
    }
  }
  return cases;
}

/** A short account of how one case differs. */
function describe(c: Case, real: Outcome, ours: Outcome): string {
  let text = `--- drbdadm ${c.args.slice(2).join(" ")}\n`;
  if (real.code !== ours.code) text += `exit code: real ${real.code}, ours ${ours.code}\n`;
  if (real.where !== ours.where) text += `error at: real '${real.where}', ours '${ours.where}'\n`;
  if (real.stdout !== ours.stdout) {
    const a = real.stdout.split("\n");
    const b = ours.stdout.split("\n");
    const shown: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length) && shown.length < 8; i++) {
      if (a[i] !== b[i]) {
        shown.push(
          `  line ${i + 1}: real ${JSON.stringify(a[i])}`,
          `  line ${i + 1}: ours ${JSON.stringify(b[i])}`,
        );
      }
    }
    text += shown.join("\n") + "\n";
  }
  if (c.stderr && real.stderr !== ours.stderr) {
    text += `stderr: real ${JSON.stringify(real.stderr)}\n        ours ${
      JSON.stringify(ours.stderr)
    }\n`;
  }
  return text;
}

/**
 * Runs the configuration in file `conf` (inside folder `work`) through both tools; resolves to
 * the descriptions of the differing cases (empty when all agree) and the number of cases.
 */
export async function compareConf(
  conf: string,
  work: string,
  host: string,
): Promise<{ problems: string[]; cases: number }> {
  const cases = await casesOf(conf, work);
  const real = await pool(cases, (c) => runReal(c.args, work));
  const problems: string[] = [];
  for (let i = 0; i < cases.length; i++) {
    const ours = await runOurs(cases[i].args, work, host);
    const r = real[i];
    if (
      r.stdout !== ours.stdout || r.code !== ours.code || r.where !== ours.where ||
      (cases[i].stderr && r.stderr !== ours.stderr)
    ) problems.push(describe(cases[i], r, ours));
  }
  return { problems, cases: cases.length };
}

/**
 * Fails with the first differing seeds' cases unless `compare` finds every seed of `seeds` alike
 * in both tools.
 */
export async function assertSeedsAgree(
  seeds: number[],
  compare: (seed: number) => Promise<{ problems: string[]; cases: number }>,
): Promise<void> {
  const failed: string[] = [];
  for (const seed of seeds) {
    const { problems, cases } = await compare(seed);
    if (problems.length) {
      failed.push(
        `seed ${seed}: ${problems.length}/${cases} cases differ\n${problems.slice(0, 4).join("")}`,
      );
    }
  }
  assert.equal(failed.length, 0, failed.slice(0, 4).join("\n"));
}
