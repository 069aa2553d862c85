/**
 * Differential fuzzing of drbdadm against drbd-utils 9.22 with generated real-world-style
 * configuration layouts (see fs_grammar.ts): Debian's drbd.d include layout, heavy comments,
 * 8.4 syncer/startup/handlers sections, IPv6, floating peers, meshes, template files. Each
 * layout runs through the command set of the shared compat script under both tools
 * (conf_compare.ts); stdout, exit code and the first error's file:line must be equal.
 *
 * As a test it runs a fixed list of seeds. As a script it explores:
 * `deno run -A test/compat/fs_fuzz_test.ts FIRST COUNT [OUTDIR]` runs COUNT seeds from FIRST and
 * copies each differing layout and its differences to OUTDIR.
 *
 * @module
 */
import { HAVE_REAL, hostname } from "./drbdadm_runs.ts";
import { assertSeedsAgree, compareConf } from "./conf_compare.ts";
import { generateLayout } from "./fs_grammar.ts";

/**
 * The seeds the test runs: a fixed sample (the script explores further seeds), and the seeds
 * that found a difference (567: resync-after inherited twice).
 */
const SEEDS = [...Array.from({ length: 200 }, (_, i) => i + 1), 567];

/** Writes layout `seed` into its own folder under `work`; resolves to that folder. */
async function writeLayout(seed: number, work: string, host: string): Promise<string> {
  const { main, files } = generateLayout(seed, host);
  const dir = `${work}/s${seed}`;
  for (const [path, text] of Object.entries(files)) {
    const full = `${dir}/${path}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(full, text);
  }
  return `${dir}/${main}`;
}

/** Runs layout `seed` through both tools; the differing cases, the case count, the folder. */
async function compareLayout(seed: number, work: string, host: string) {
  const conf = await writeLayout(seed, work, host);
  return { ...(await compareConf(conf, work, host)), dir: conf.slice(0, conf.lastIndexOf("/")) };
}

Deno.test({
  name: "drbdadm reads real-world-style configuration layouts exactly as drbd-utils 9.22 does",
  ignore: !HAVE_REAL,
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "udrbd-fs-" });
    try {
      const host = hostname();
      await assertSeedsAgree(SEEDS, (seed) => compareLayout(seed, work, host));
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});

if (import.meta.main) {
  const first = Number(Deno.args[0] ?? 1);
  const count = Number(Deno.args[1] ?? 100);
  const outDir = Deno.args[2] ?? "/tmp/fs-out";
  await Deno.mkdir(outDir, { recursive: true });
  const work = await Deno.makeTempDir({ prefix: "udrbd-fs-" });
  const host = hostname();
  let bad = 0;
  let total = 0;
  let failing = 0;
  for (let seed = first; seed < first + count; seed++) {
    const { problems, cases, dir } = await compareLayout(seed, work, host);
    total += cases;
    if (cases <= 2) failing++;
    if (problems.length) {
      bad++;
      await new Deno.Command("cp", { args: ["-r", dir, `${outDir}/s${seed}`] }).output();
      await Deno.writeTextFile(`${outDir}/s${seed}.diff`, problems.join(""));
      console.log(
        `seed ${seed}: ${problems.length}/${cases} differ: ${problems[0].split("\n")[0]}`,
      );
    }
  }
  console.log(
    `${bad}/${count} layouts differ (${total} cases; ${failing} rejected by drbdadm)`,
  );
  await Deno.remove(work, { recursive: true });
}
