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
import { HAVE_REAL, hostname } from "./drbdadm_runs.ts";
import { assertSeedsAgree, compareConf } from "./conf_compare.ts";
import { generateConfig } from "./fv_grammar.ts";

/** The seeds the test runs: a fixed sample (the script explores further seeds). */
const SEEDS = Array.from({ length: 100 }, (_, i) => i + 1);

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

Deno.test({
  name: "drbdadm reads generated valid configurations exactly as drbd-utils 9.22 does",
  ignore: !HAVE_REAL,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "udrbd-fv-" });
    try {
      const host = hostname();
      await assertSeedsAgree(SEEDS, (seed) => compareSeed(seed, work, host));
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
