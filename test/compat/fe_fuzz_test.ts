/**
 * Differential fuzzing of rejected and borderline drbd.conf files: a fixed set of seeds of the
 * generator in fe_fuzz.ts, each configuration run through drbd-utils 9.22's drbdadm and ours
 * with the shared compat script's command set. Stdout, exit code, the file:line of the first
 * error and the first line of stderr must be equal. Command lines that crash drbd-utils (an
 * assertion, a segfault) are not compared: there we keep our clear answer. Skipped when
 * drbd-utils is not installed.
 *
 * Explore other seeds with `deno run -A test/compat/fe_fuzz_compare.ts FIRST COUNT [--full]`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { compareSeed, FuzzDir, HAVE_REAL } from "./fe_fuzz_compare.ts";

/** The seeds every run checks: the same configurations each time. */
const SEEDS = Array.from({ length: 700 }, (_, i) => i);

Deno.test({
  name: "drbdadm rejects and accepts generated odd configurations as drbd-utils 9.22 does",
  ignore: !HAVE_REAL,
  fn: async () => {
    const dir = new FuzzDir();
    try {
      const problems: string[] = [];
      for (const seed of SEEDS) {
        const r = await compareSeed(seed, dir, { full: seed % 10 === 0 });
        if (r.differences.length) {
          problems.push(
            `seed ${seed} (${r.how.join("; ")}):\n${r.text}\n` +
              r.differences.slice(0, 3).map((d) => d.text).join(""),
          );
        }
      }
      assert.equal(problems.length, 0, problems.slice(0, 5).join("\n"));
    } finally {
      dir.remove();
    }
  },
});
