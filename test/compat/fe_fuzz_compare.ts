/**
 * Runs drbd-utils 9.22's drbdadm and ours over generated configurations (see fe_fuzz.ts) with
 * the command set of the shared compat script, and lists every difference: stdout, exit code,
 * the file:line of the first error and the text of the first stderr line.
 *
 * Run directly to explore a range of seeds:
 * `deno run -A test/compat/fe_fuzz_compare.ts FIRST COUNT` prints each differing seed's
 * configuration and differences.
 *
 * @module
 */
import { type Outcome, runOurs, runReal, SH_COMMANDS, STEP_COMMANDS } from "./drbdadm_runs.ts";
import { generate, INCLUDED } from "./fe_fuzz.ts";
import { setEnv } from "../util/env.ts";

export { HAVE_REAL } from "./drbdadm_runs.ts";

/** Exit codes of drbd-utils dying by a signal: SIGABRT (a failed assertion), SIGSEGV. */
const REAL_CRASH = new Set([134, 139]);
/** One difference between the two tools on one command line. */
export interface Difference {
  /** The command line, after `drbdadm`. */
  args: string[];
  /** What differs, in words (diffs of stdout included). */
  text: string;
}

/** A folder holding the files the generated configurations include. */
export class FuzzDir {
  /** The folder's path. */
  readonly path: string;
  /** This machine's node name, which `@HOST@` becomes. */
  readonly host: string;
  readonly #restoreEnv: () => void;

  /** Makes the folder with the included files in it. */
  constructor() {
    this.host = Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
    this.path = Deno.makeTempDirSync({ prefix: "udrbd-fe-" });
    // `-d adjust` asks the node what runs: ask an empty run folder, not a daemon someone else
    // started on this machine, as the real drbdsetup finds no DRBD module here
    Deno.mkdirSync(`${this.path}/run`);
    this.#restoreEnv = setEnv({ UDRBD_RUN_DIR: `${this.path}/run` });
    Deno.mkdirSync(`${this.path}/inc`);
    for (const [name, text] of Object.entries(INCLUDED)) {
      Deno.writeTextFileSync(`${this.path}/${name}`, this.fill(text));
    }
  }

  /** `text` with the placeholders filled in. */
  fill(text: string): string {
    return text.replaceAll("@HOST@", this.host).replaceAll("@DIR@", this.path);
  }

  /** Removes the folder. */
  remove(): void {
    this.#restoreEnv();
    Deno.removeSync(this.path, { recursive: true });
  }
}

function describe(args: string[], real: Outcome, ours: Outcome, allStderr: boolean): string {
  let text = "";
  if (allStderr && real.first === ours.first && real.stderr !== ours.stderr) {
    const r = real.stderr.split("\n"), o = ours.stderr.split("\n");
    let i = 0;
    while (i < r.length && r[i] === o[i]) i++;
    text += `  stderr differs at line ${i + 1}:\n    real: ${r[i]}\n    ours: ${o[i]}\n`;
  }
  if (real.code !== ours.code) text += `  exit code: real ${real.code}, ours ${ours.code}\n`;
  if (real.where !== ours.where) {
    text += `  first error at: real '${real.where}', ours '${ours.where}'\n`;
  }
  if (real.first !== ours.first) {
    text += `  first stderr line:\n    real: ${real.first}\n    ours: ${ours.first}\n`;
  }
  if (real.stdout !== ours.stdout) {
    const r = real.stdout.split("\n"), o = ours.stdout.split("\n");
    let i = 0;
    while (i < r.length && r[i] === o[i]) i++;
    text += `  stdout differs at line ${i + 1}:\n    real: ${r[i]}\n    ours: ${o[i]}\n`;
  }
  return text ? `drbdadm ${args.join(" ")}\n${text}` : "";
}

/**
 * Compares both tools on the configuration of `seed`, written into `dir`. `full` runs every
 * per-resource command of the compat script; otherwise only dumps and `-d up`. `allStderr`
 * compares all of stderr, not only its first line.
 */
export async function compareSeed(
  seed: number,
  dir: FuzzDir,
  options: { full?: boolean; parallel?: number; allStderr?: boolean } = {},
): Promise<
  { text: string; how: string[]; differences: Difference[]; crashes: string[][]; accepted: boolean }
> {
  const { text, how } = generate(seed);
  const conf = `${dir.path}/s${seed}.conf`;
  Deno.writeTextFileSync(conf, dir.fill(text));
  try {
    const lines: string[][] = [["-c", conf, "dump", "all"], ["-c", conf, "sh-resources"]];
    const listed = await runReal(lines[1], dir.path);
    const names = listed.code === 0 ? listed.stdout.split(/\s+/).filter((x) => x) : [];
    for (const r of names) {
      lines.push(["-c", conf, "dump", r], ["-c", conf, "dump-xml", r]);
      const steps = options.full ? STEP_COMMANDS : ["up", "adjust", "down"];
      for (const k of steps) lines.push(["-c", conf, "-d", k, r]);
      if (options.full) {
        for (const s of SH_COMMANDS) lines.push(["-c", conf, s, r]);
        lines.push(["-c", conf, "-d", "primary", "--force", r]);
        lines.push(["-c", conf, "-d", "connect", "--discard-my-data", r]);
      }
    }
    const real: Outcome[] = new Array(lines.length);
    let next = 0;
    const worker = async () => {
      while (next < lines.length) {
        const i = next++;
        real[i] = await runReal(lines[i], dir.path);
      }
    };
    await Promise.all(Array.from({ length: options.parallel ?? 4 }, worker));
    const differences: Difference[] = [];
    const crashes: string[][] = [];
    for (let i = 0; i < lines.length; i++) {
      // where drbd-utils aborts or segfaults we keep our clear answer: nothing to compare
      if (REAL_CRASH.has(real[i].code)) {
        crashes.push(lines[i]);
        continue;
      }
      const ours = await runOurs(lines[i], dir.path, dir.host);
      const d = describe(lines[i], real[i], ours, options.allStderr ?? false);
      if (d) differences.push({ args: lines[i], text: d.replaceAll(dir.path, "@DIR@") });
    }
    return { text, how, differences, crashes, accepted: names.length > 0 };
  } finally {
    Deno.removeSync(conf);
  }
}

if (import.meta.main) {
  const first = Number(Deno.args[0] ?? 0);
  const count = Number(Deno.args[1] ?? 100);
  const full = Deno.args.includes("--full");
  const allStderr = Deno.args.includes("--stderr");
  const dir = new FuzzDir();
  let differing = 0, accepted = 0, crashed = 0;
  try {
    for (let seed = first; seed < first + count; seed++) {
      const r = await compareSeed(seed, dir, { full, allStderr });
      if (r.accepted) accepted++;
      if (r.crashes.length) {
        crashed++;
        console.log(
          `--- seed ${seed}: drbd-utils crashes on ${
            r.crashes.map((a) => a.slice(2).join(" ")).join(", ")
          }`,
        );
      }
      if (!r.differences.length) continue;
      differing++;
      console.log(`=== seed ${seed}: ${r.how.join("; ")}`);
      console.log(r.text.replace(/^/gm, "| "));
      for (const d of r.differences.slice(0, 4)) console.log(d.text);
    }
  } finally {
    dir.remove();
  }
  console.log(
    `${differing}/${count} seeds differ, ${accepted} accepted, ${crashed} crash drbd-utils`,
  );
}
