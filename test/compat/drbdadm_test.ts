/**
 * drbdadm compared with drbd-utils 9.22's drbdadm over the configurations in
 * `test/compat/drbdadm/conf/`: for each file the same command set as the shared compat script
 * (`dump all`, `sh-resources`, and per resource `dump`, the `sh-*` queries, `-d` of every command
 * that emits steps, `dump-xml`). Stdout, exit code and the file:line of the first error must be
 * equal. The real tool runs as a subprocess (in parallel); ours runs in-process.
 *
 * `@HOST@` in a configuration becomes this machine's node name and `@DIR@` the folder the
 * corpus is copied to.
 *
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../cmd/drbdadm.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";

/** The real tool, by name: drbdadm names its helpers after how it was invoked. */
const REAL = "drbdadm";
const REAL_PATH = "/usr/sbin/drbdadm";
const CONF_DIR = new URL("./drbdadm/conf/", import.meta.url).pathname;
const PARALLEL = 16;

const STEP_COMMANDS = [
  "adjust",
  "status",
  "up",
  "down",
  "create-md",
  "attach",
  "detach",
  "connect",
  "disconnect",
  "primary",
  "secondary",
  "verify",
  "invalidate",
  "invalidate-remote",
  "resize",
  "apply-al",
  "wipe-md",
  "dump-md",
  "new-current-uuid",
  "outdate",
  "pause-sync",
  "resume-sync",
  "net-options",
  "disk-options",
  "resource-options",
  "show-gi",
  "get-gi",
  "check-resize",
];
const SH_COMMANDS = ["sh-dev", "sh-ll-dev", "sh-md-dev", "sh-md-idx", "sh-minor"];

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const HAVE_REAL = exists(REAL_PATH);
const HOST = HAVE_REAL ? Deno.readTextFileSync("/proc/sys/kernel/hostname").trim() : "";

interface Outcome {
  stdout: string;
  code: number;
  /** file:line named in the first line of stderr, for failures. */
  where: string;
}

const NOISE = /modinfo: not found|modprobe: not found|Failed to modprobe/;

function whereOf(stderr: string, code: number): string {
  if (code === 0) return "";
  const first = stderr.split("\n").filter((l) => !NOISE.test(l))[0] ?? "";
  return /[A-Za-z0-9_.-]+\.(conf|res|inc):[0-9]+/.exec(first)?.[0] ?? "";
}

function outcome(stdout: string, stderr: string, code: number, work: string): Outcome {
  return { stdout: stdout.replaceAll(work, "@DIR@"), code, where: whereOf(stderr, code) };
}

async function runReal(args: string[], work: string): Promise<Outcome> {
  // through sh, so that argv[0] is the bare name as when a person types it
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `exec ${REAL} "$@"`, REAL, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  const dec = new TextDecoder();
  return outcome(dec.decode(out.stdout), dec.decode(out.stderr), out.code, work);
}

async function runOurs(args: string[], work: string): Promise<Outcome> {
  const io = new MemoryConsole();
  const code = await main(args, io, { hostname: HOST, tty: false });
  return outcome(io.stdout, io.stderr, code, work);
}

async function pool<T, R>(items: T[], f: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return results;
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

/** The command lines of one configuration, as the shared compat script builds them. */
async function casesOf(name: string, conf: string, work: string): Promise<[string, string[]][]> {
  const cases: [string, string[]][] = [
    [`${name}.dump-all`, ["-c", conf, "dump", "all"]],
    [`${name}.sh-resources`, ["-c", conf, "sh-resources"]],
  ];
  if (name.startsWith("e")) return cases;
  const listed = await runReal(["-c", conf, "sh-resources"], work);
  for (const r of listed.stdout.split(/\s+/).filter((x) => x)) {
    cases.push([`${name}.${r}.dump`, ["-c", conf, "dump", r]]);
    for (const s of SH_COMMANDS) cases.push([`${name}.${r}.${s}`, ["-c", conf, s, r]]);
    for (const k of STEP_COMMANDS) cases.push([`${name}.${r}.d-${k}`, ["-c", conf, "-d", k, r]]);
    cases.push([`${name}.${r}.d-primary-force`, ["-c", conf, "-d", "primary", "--force", r]]);
    cases.push([
      `${name}.${r}.d-connect-discard`,
      ["-c", conf, "-d", "connect", "--discard-my-data", r],
    ]);
    cases.push([`${name}.${r}.dump-xml`, ["-c", conf, "dump-xml", r]]);
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

async function describe(name: string, real: Outcome, ours: Outcome): Promise<string> {
  let text = `--- ${name}\n`;
  if (real.code !== ours.code) text += `exit code: real ${real.code}, ours ${ours.code}\n`;
  if (real.where !== ours.where) {
    text += `first error at: real '${real.where}', ours '${ours.where}'\n`;
  }
  if (real.stdout !== ours.stdout) text += (await unifiedDiff(real.stdout, ours.stdout, 30)) + "\n";
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
      const real = await pool(cases, ([, args]) => runReal(args, work));
      const problems: string[] = [];
      for (let i = 0; i < cases.length; i++) {
        const ours = await runOurs(cases[i][1], work);
        const r = real[i];
        if (r.stdout !== ours.stdout || r.code !== ours.code || r.where !== ours.where) {
          problems.push(await describe(cases[i][0], r, ours));
        }
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
