/**
 * drbdadm compared with drbd-utils 9.22's drbdadm over the configurations in
 * `test/compat/drbdadm/conf/`: for each file the same command set as the shared compat script
 * (`dump all`, `sh-resources`, and per resource `dump`, the `sh-*` queries, `-d` of every command
 * that emits steps, `dump-xml`). Stdout, exit code and the file:line of the first error must be
 * equal. The real tool runs as a subprocess (in parallel); ours runs in-process.
 *
 * Proxy commands (`proxy-up`, `proxy-down`) run for every configuration that mentions a proxy,
 * and `dump`/`dump-xml` for stacked resources too; for those, and for the command lines listed
 * in a `NAME.cases` file beside `NAME.conf` (one per line, `#` starts a comment), stderr must be
 * equal as well.
 *
 * `@HOST@` in a configuration becomes this machine's node name and `@DIR@` the folder the
 * corpus is copied to.
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

const CONF_DIR = new URL("./drbdadm/conf/", import.meta.url).pathname;
const PARALLEL = 16;
const HOST = HAVE_REAL ? Deno.readTextFileSync("/proc/sys/kernel/hostname").trim() : "";

/** One command line of the comparison. */
interface Case {
  name: string;
  args: string[];
  /** Compare stderr too, not only where the first error points. */
  stderr?: boolean;
}

/** Copies the corpus to a temporary folder with the placeholders filled in. */
function prepareCorpus(): string {
  const work = Deno.makeTempDirSync({ prefix: "udrbd-adm-" });
  const copy = (from: string, to: string) => {
    for (const e of Deno.readDirSync(from)) {
      if (e.isDirectory) {
        Deno.mkdirSync(`${to}/${e.name}`);
        copy(`${from}/${e.name}`, `${to}/${e.name}`);
      } else if (e.isFile) {
        const text = Deno.readTextFileSync(`${from}/${e.name}`);
        Deno.writeTextFileSync(
          `${to}/${e.name}`,
          text.replaceAll("@HOST@", HOST).replaceAll("@DIR@", work),
        );
      }
    }
  };
  copy(CONF_DIR, work);
  return work;
}

const words = (text: string) => text.split(/\s+/).filter((x) => x);

/**
 * The command lines of one configuration: those of the shared compat script, then the ones
 * that need stderr compared (proxy commands, stacked resources, the `.cases` file).
 */
async function casesOf(name: string, conf: string, work: string): Promise<Case[]> {
  const cases: Case[] = [
    { name: `${name}.dump-all`, args: ["-c", conf, "dump", "all"] },
    { name: `${name}.sh-resources`, args: ["-c", conf, "sh-resources"] },
  ];
  const extra = (id: string, args: string[]) =>
    cases.push({ name: `${name}.${id}`, args: ["-c", conf, ...args], stderr: true });
  let listed: string[] = [];
  if (!name.startsWith("e")) {
    listed = words((await runReal(["-c", conf, "sh-resources"], work)).stdout);
    for (const r of listed) {
      const add = (id: string, args: string[]) =>
        cases.push({ name: `${name}.${r}.${id}`, args: ["-c", conf, ...args] });
      add("dump", ["dump", r]);
      for (const s of SH_COMMANDS) add(s, [s, r]);
      for (const k of STEP_COMMANDS) add(`d-${k}`, ["-d", k, r]);
      add("d-primary-force", ["-d", "primary", "--force", r]);
      add("d-connect-discard", ["-d", "connect", "--discard-my-data", r]);
      add("dump-xml", ["dump-xml", r]);
    }
    const stacked = words((await runReal(["-c", conf, "-S", "sh-resources"], work)).stdout);
    for (const r of stacked) {
      extra(`${r}.dump`, ["dump", r]);
      extra(`${r}.dump-xml`, ["dump-xml", r]);
    }
  }
  const text = Deno.readTextFileSync(conf);
  if (/\bproxy\b/.test(text)) {
    const all = (await runReal(["-c", conf, "dump", "all"], work)).stdout;
    const names = [...all.matchAll(/^resource (\S+) \{/gm)].map((m) => m[1]);
    for (const k of ["proxy-up", "proxy-down"]) {
      extra(`d-${k}-all`, ["-d", k, "all"]);
      extra(`S-d-${k}-all`, ["-S", "-d", k, "all"]);
      for (const r of names) extra(`${r}.d-${k}`, ["-d", k, r]);
    }
  }
  let lines: string[] = [];
  try {
    lines = Deno.readTextFileSync(conf.replace(/\.conf$/, ".cases")).split("\n");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  for (const line of lines) {
    const args = words(line.replace(/#.*/, ""));
    if (args.length) extra(args.join("_"), args);
  }
  return cases;
}

async function unifiedDiff(real: string, ours: string, maxLines: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-adm-diff-" });
  try {
    await Deno.writeTextFile(`${dir}/real`, real);
    await Deno.writeTextFile(`${dir}/ours`, ours);
    const out = await new Deno.Command("diff", {
      args: ["-u", "--label", "drbd-utils drbdadm", "--label", "udrbd drbdadm", "real", "ours"],
      cwd: dir,
      stdout: "piped",
      stderr: "null",
    }).output();
    const lines = new TextDecoder().decode(out.stdout).split("\n");
    return (lines.length > maxLines
      ? [...lines.slice(0, maxLines), `... (${lines.length - maxLines} more lines)`]
      : lines).join("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function differ(c: Case, real: Outcome, ours: Outcome): boolean {
  return real.stdout !== ours.stdout || real.code !== ours.code || real.where !== ours.where ||
    (!!c.stderr && real.stderr !== ours.stderr);
}

async function describe(c: Case, real: Outcome, ours: Outcome): Promise<string> {
  let text = `--- ${c.name}: drbdadm ${c.args.join(" ")}\n`;
  if (real.code !== ours.code) text += `exit code: real ${real.code}, ours ${ours.code}\n`;
  if (real.where !== ours.where) {
    text += `first error at: real '${real.where}', ours '${ours.where}'\n`;
  }
  if (real.stdout !== ours.stdout) text += (await unifiedDiff(real.stdout, ours.stdout, 30)) + "\n";
  if (c.stderr && real.stderr !== ours.stderr) {
    text += "stderr:\n" + (await unifiedDiff(real.stderr, ours.stderr, 30)) + "\n";
  }
  return text;
}

const configs = HAVE_REAL
  ? [...Deno.readDirSync(CONF_DIR)].filter((e) => e.isFile && e.name.endsWith(".conf"))
    .map((e) => e.name.slice(0, -5)).sort()
  : [];

const work = HAVE_REAL ? prepareCorpus() : "";

if (!HAVE_REAL) {
  Deno.test({
    name: "drbdadm agrees with drbd-utils 9.22 on the corpus (needs drbd-utils installed)",
    ignore: true,
    fn: () => {},
  });
}

for (const name of configs) {
  Deno.test({
    name: `drbdadm reads ${name}.conf and prints the same as drbd-utils 9.22`,
    ignore: !HAVE_REAL,
    fn: async () => {
      const conf = `${work}/${name}.conf`;
      const cases = await casesOf(name, conf, work);
      const real = await pool(cases, (c) => runReal(c.args, work), PARALLEL);
      const problems: string[] = [];
      for (let i = 0; i < cases.length; i++) {
        const ours = await runOurs(cases[i].args, work, HOST);
        if (differ(cases[i], real[i], ours)) problems.push(await describe(cases[i], real[i], ours));
      }
      assert.equal(
        problems.length,
        0,
        `${problems.length}/${cases.length} cases differ:\n${problems.slice(0, 8).join("")}`,
      );
    },
  });
}

if (HAVE_REAL) {
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(work, { recursive: true });
    } catch {
      // already gone
    }
  });
}
