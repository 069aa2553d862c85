/**
 * Differential fuzzing of drbdadm against drbd-utils 9.22 with generated VALID configurations
 * (see fv_grammar.ts). For each configuration the command set of the shared compat script runs
 * under both tools (`dump all`, `sh-resources`, per resource `dump`, the `sh-*` queries, `-d` of
 * every step command, `primary --force`, `connect --discard-my-data`, `dump-xml`; for stacked
 * resources `dump`/`dump-xml` with stderr, and the proxy commands where a proxy is configured);
 * stdout, exit code and the first error's file:line must be equal.
 *
 * As a test it runs a fixed list of seeds (deterministic: same seeds, same files). As a script
 * it explores: `deno run -A test/compat/fv_fuzz.ts FIRST COUNT [OUTDIR]` runs COUNT seeds from
 * FIRST and writes each differing configuration and its differences to OUTDIR.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  HAVE_REAL,
  type Outcome,
  pool,
  runOurs,
  runReal,
  SH_COMMANDS,
  STEP_COMMANDS,
} from "./drbdadm_runs.ts";
import { generateConfig } from "./fv_grammar.ts";

/** The seeds the test runs: a fixed sample (the script explores further seeds). */
const SEEDS = Array.from({ length: 100 }, (_, i) => i + 1);

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
 * Runs configuration `seed` through both tools in folder `work`; resolves to the descriptions
 * of the differing cases (empty when all agree) and the number of cases.
 */
export async function compareSeed(
  seed: number,
  work: string,
  host: string,
): Promise<{ problems: string[]; cases: number; conf: string }> {
  const conf = `${work}/fv-${seed}.conf`;
  await Deno.writeTextFile(conf, generateConfig(seed, host));
  return { ...(await compareConf(conf, work, host)), conf };
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

function hostname(): string {
  return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
}

Deno.test({
  name: "drbdadm reads generated valid configurations exactly as drbd-utils 9.22 does",
  ignore: !HAVE_REAL,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "udrbd-fv-" });
    try {
      const host = hostname();
      const failed: string[] = [];
      for (const seed of SEEDS) {
        const { problems, cases } = await compareSeed(seed, work, host);
        if (problems.length) {
          failed.push(
            `seed ${seed}: ${problems.length}/${cases} cases differ\n${
              problems.slice(0, 4).join("")
            }`,
          );
        }
      }
      assert.equal(failed.length, 0, failed.slice(0, 4).join("\n"));
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

if (import.meta.main) {
  const first = Number(Deno.args[0] ?? 1);
  const count = Number(Deno.args[1] ?? 100);
  const outDir = Deno.args[2] ?? "/tmp/fv-out";
  await Deno.mkdir(outDir, { recursive: true });
  const work = await Deno.makeTempDir({ prefix: "udrbd-fv-" });
  const host = hostname();
  let bad = 0;
  let total = 0;
  for (let seed = first; seed < first + count; seed++) {
    const { problems, cases, conf } = await compareSeed(seed, work, host);
    total += cases;
    if (problems.length) {
      bad++;
      await Deno.copyFile(conf, `${outDir}/fv-${seed}.conf`);
      await Deno.writeTextFile(`${outDir}/fv-${seed}.diff`, problems.join(""));
      console.log(
        `seed ${seed}: ${problems.length}/${cases} differ: ${problems[0].split("\n")[0]}`,
      );
    }
  }
  console.log(`${bad}/${count} configurations differ (${total} cases)`);
  await Deno.remove(work, { recursive: true });
}
