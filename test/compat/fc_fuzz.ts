/**
 * Differential fuzzing of drbdadm's command line against drbd-utils 9.22: command lines from
 * fc_grammar.ts (seeded, deterministic) run through the real drbdadm and through ours
 * (in-process), and stdout, exit code and stderr must be equal.
 *
 * As a test it runs a fixed set of seeds (skipped when drbd-utils is not installed). Run
 * directly to explore more seeds and see every difference:
 *
 *     deno run -A test/compat/fc_fuzz.ts [FIRST_SEED [LAST_SEED [LINES_PER_SEED]]]
 *
 * @module
 */
import assert from "node:assert/strict";
import { HAVE_REAL, hostname, type Outcome, pool, runOurs, runReal } from "./drbdadm_runs.ts";
import {
  CONF_PLACEHOLDER,
  CONFIGS,
  DIR_PLACEHOLDER,
  type FuzzCase,
  generate,
  OTHER_PLACEHOLDER,
} from "./fc_grammar.ts";

/**
 * The seeds the test runs, and how many command lines each one makes: the first 120, and the
 * seeds beyond them whose lines found a difference once.
 */
export const TEST_SEEDS = [
  ...Array.from({ length: 120 }, (_, i) => i + 1),
  ...[138, 171, 332, 336, 398, 980, 1068, 1114],
];
export const LINES_PER_SEED = 50;

/** A command line with the placeholders filled in, and its readable form. */
interface Prepared {
  seed: number;
  args: string[];
  text: string;
}

/** Writes the configurations into a new temporary folder; returns its path. */
function prepareWork(host: string): string {
  const work = Deno.makeTempDirSync({ prefix: "udrbd-fc-" });
  for (const c of CONFIGS) {
    Deno.writeTextFileSync(`${work}/fc-${c.name}.conf`, c.text.replaceAll("@HOST@", host));
  }
  // the file `-t`/`-E` name: a configuration of its own, with no resource of the others
  Deno.writeTextFileSync(
    `${work}/other.conf`,
    `resource oth {\n  device minor 90; disk /dev/fc/oth; meta-disk internal;\n` +
      `  on ${host} { address 10.9.9.1:7090; }\n  on ob { address 10.9.9.2:7090; }\n}\n`,
  );
  return work;
}

function fill(c: FuzzCase, work: string, host: string): string[] {
  return c.args.map((a) =>
    a.replaceAll(CONF_PLACEHOLDER, `${work}/fc-${c.config.name}.conf`)
      .replaceAll(OTHER_PLACEHOLDER, `${work}/other.conf`)
      .replaceAll(DIR_PLACEHOLDER, work)
      .replaceAll("@HOST@", host)
  );
}

/** The command lines of `seeds`, ready to run in `work`. */
export function prepare(
  seeds: number[],
  perSeed: number,
  work: string,
  host: string,
): Prepared[] {
  const out: Prepared[] = [];
  for (const seed of seeds) {
    for (const c of generate(seed, perSeed)) {
      const args = fill(c, work, host);
      const text = args.map((a) => /^[A-Za-z0-9_@/.:=,+-]+$/.test(a) ? a : JSON.stringify(a))
        .join(" ").replaceAll(work, DIR_PLACEHOLDER);
      out.push({ seed, args, text });
    }
  }
  return out;
}

/** One difference: the command line and what each tool did. */
export interface Finding {
  seed: number;
  line: string;
  real: Outcome;
  ours: Outcome;
}

/** The real tool died of a signal: nothing to imitate. */
function crashed(o: Outcome): boolean {
  return o.code >= 128;
}

/**
 * The command line the real tool must run to show what ours should do with `args`. Where we
 * differ from drbdadm 9.22 on purpose, the real tool gets the spelling that means the same:
 * for `primary`, the 8.4-era `--overwrite-data-of-peer` means `--force` to us (9.22 drops it).
 */
function asReal(args: string[]): string[] {
  // only past `--`: before it, both tools refuse the option as one of drbdadm's own
  const end = args.indexOf("--");
  if (end < 0 || !args.includes("primary")) return args;
  return args.map((a, i) => i > end && a === "--overwrite-data-of-peer" ? "--force" : a);
}

/**
 * Runs `lines` with both tools; resolves to the differences, and the lines where the real tool
 * crashed (left out of the comparison).
 */
export async function compareLines(
  lines: Prepared[],
  work: string,
  host: string,
): Promise<{ findings: Finding[]; crashes: Finding[] }> {
  const real = await pool(lines, (l) => runReal(asReal(l.args), work));
  const findings: Finding[] = [];
  const crashes: Finding[] = [];
  for (let i = 0; i < lines.length; i++) {
    const ours = await runOurs(lines[i].args, work, host);
    const f = { seed: lines[i].seed, line: lines[i].text, real: real[i], ours };
    if (crashed(real[i])) crashes.push(f);
    else if (
      real[i].stdout !== ours.stdout || real[i].stderr !== ours.stderr ||
      real[i].code !== ours.code
    ) findings.push(f);
  }
  return { findings, crashes };
}

function quote(text: string, max = 12): string {
  const lines = text.split("\n");
  const shown = lines.length > max
    ? [...lines.slice(0, max), `... ${lines.length - max} more`]
    : lines;
  return shown.map((l) => `      | ${l}`).join("\n");
}

/** A readable account of one finding. */
export function describe(f: Finding): string {
  let text = `seed ${f.seed}: drbdadm ${f.line}\n`;
  if (f.real.code !== f.ours.code) text += `  exit: real ${f.real.code}, ours ${f.ours.code}\n`;
  if (f.real.stdout !== f.ours.stdout) {
    text += `  stdout real:\n${quote(f.real.stdout)}\n  stdout ours:\n${quote(f.ours.stdout)}\n`;
  }
  if (f.real.stderr !== f.ours.stderr) {
    text += `  stderr real:\n${quote(f.real.stderr)}\n  stderr ours:\n${quote(f.ours.stderr)}\n`;
  }
  return text;
}

Deno.test({
  name: "drbdadm's command line (options, targets, help, errors) answers as drbd-utils 9.22's " +
    `over ${TEST_SEEDS.length * LINES_PER_SEED} generated command lines`,
  ignore: !HAVE_REAL,
  fn: async () => {
    const host = hostname();
    const work = prepareWork(host);
    try {
      const lines = prepare(TEST_SEEDS, LINES_PER_SEED, work, host);
      const { findings } = await compareLines(lines, work, host);
      assert.equal(
        findings.length,
        0,
        `${findings.length}/${lines.length} command lines differ:\n` +
          findings.slice(0, 6).map(describe).join(""),
      );
    } finally {
      Deno.removeSync(work, { recursive: true });
    }
  },
});

if (import.meta.main) {
  const [first = 1, last = first + 99, per = LINES_PER_SEED] = Deno.args.map(Number);
  const host = hostname();
  const work = prepareWork(host);
  try {
    const seeds = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    const lines = prepare(seeds, per, work, host);
    const started = performance.now();
    const { findings, crashes } = await compareLines(lines, work, host);
    for (const f of findings) console.log(describe(f));
    for (const f of crashes) console.log(`real drbdadm crashed (${f.real.code}): ${f.line}`);
    console.log(
      `${findings.length}/${lines.length} differ, ${crashes.length} crashes of the real tool, ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}
