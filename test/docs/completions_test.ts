/**
 * Completion scripts: committed files match the generator, and real bash, zsh and fish complete
 * udrbd's commands, options, option values, resources (from a `-c` configuration), volumes and
 * minors with them.
 *
 * @module
 */
import assert from "node:assert/strict";
import { COMPLETION_FILES, completionScript, SHELLS } from "../../lib/docs/completions.ts";
import { META_OPTIONS, UDRBD_TOOLS } from "../../lib/docs/model.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { drbdmetaMain } from "../../lib/meta/cli.ts";
import { TOOLS } from "../../mod.ts";
import { run } from "../util/process.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MOD = `${ROOT}mod.ts`;
const BASH_FILE = `${ROOT}${COMPLETION_FILES.bash}`;

const CONFIG = `resource r0 {
  volume 0 { device /dev/drbd1; disk /dev/sda7; meta-disk internal; }
  volume 3 { device /dev/drbd2; disk /dev/sda8; meta-disk internal; }
  on alice { address 127.0.0.1:7789; node-id 0; }
  on bob { address 127.0.0.2:7789; node-id 1; }
}
resource web {
  device /dev/drbd5; disk /dev/sdb1; meta-disk internal;
  on alice { address 127.0.0.1:7790; node-id 0; }
  on bob { address 127.0.0.2:7790; node-id 1; }
}
resource elsewhere {
  device /dev/drbd6; disk /dev/sdb2; meta-disk internal;
  on carol { address 127.0.0.3:7790; node-id 0; }
  on bob { address 127.0.0.2:7791; node-id 1; }
}
`;

/** A temp dir with `bin/` wrappers that run this checkout's tools, a config and a run dir. */
interface Sandbox {
  dir: string;
  bin: string;
  config: string;
  runDir: string;
  env: Record<string, string>;
}

function sandbox(): Sandbox {
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-completions-" });
  const bin = `${dir}/bin`;
  Deno.mkdirSync(bin);
  for (const tool of ["drbdadm", "drbdsetup", "drbdmeta"]) {
    Deno.writeTextFileSync(
      `${bin}/${tool}`,
      `#!/bin/sh\nexec '${Deno.execPath()}' run -A '${MOD}' ${tool} "$@"\n`,
      { mode: 0o755 },
    );
  }
  Deno.writeTextFileSync(
    `${bin}/udrbd`,
    `#!/bin/sh\nexec '${Deno.execPath()}' run -A '${MOD}' "$@"\n`,
    { mode: 0o755 },
  );
  const config = `${dir}/my drbd.conf`;
  Deno.writeTextFileSync(config, CONFIG);
  const runDir = `${dir}/run`;
  Deno.mkdirSync(`${runDir}/nbd`, { recursive: true });
  return {
    dir,
    bin,
    config,
    runDir,
    env: {
      PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
      UDRBD_HOSTNAME: "alice",
      UDRBD_RUN_DIR: runDir,
      HOME: dir,
    },
  };
}

function hasProgram(name: string): boolean {
  for (const d of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${d}/${name}`).isFile) return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Runs a shell with `env` added to the test's environment; its stdout, or throws. */
async function runShell(
  argv: string[],
  env: Record<string, string>,
  stdin?: string,
): Promise<string> {
  const out = await run(argv[0], argv.slice(1), { env, stdin });
  if (out.code !== 0) throw new Error(`${argv.join(" ")} failed (${out.code}):\n${out.stderr}`);
  return out.stdout;
}

/** Splits a command line the way bash fills COMP_WORDS: at unescaped blanks, and around `=`. */
function compWords(line: string): string[] {
  const words: string[] = [];
  // a blank escaped with a backslash stays inside its word
  for (const blank of line.split(/(?<!\\) /)) {
    const parts = blank.split("=");
    parts.forEach((p, i) => {
      if (i > 0) words.push("=");
      if (p !== "" || i === 0) words.push(p);
    });
  }
  // "--x=" leaves bash's current word at "=": no empty word after it
  return words;
}

function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs bash, sources the committed script and calls its completion function for each line
 * (the cursor at its end); returns each line's COMPREPLY.
 */
async function bashComplete(lines: string[], sb: Sandbox): Promise<string[][]> {
  let script = `source ${shQuote(BASH_FILE)}\n`;
  for (const line of lines) {
    const words = compWords(line);
    script += `COMP_WORDS=(${words.map(shQuote).join(" ")}); COMP_CWORD=${words.length - 1}\n` +
      `COMP_LINE=${shQuote(line)}; COMP_POINT=${line.length}; COMPREPLY=()\n` +
      `_udrbd; printf '%s\\n' "$(IFS='|'; echo "\${COMPREPLY[*]}")"\n`;
  }
  const out = await runShell(["bash", "--norc", "--noprofile", "-s"], sb.env, script);
  return out.split("\n").slice(0, lines.length).map((l) => (l === "" ? [] : l.split("|")));
}

function cleanup(sb: Sandbox): void {
  Deno.removeSync(sb.dir, { recursive: true });
}

Deno.test("the committed completion scripts are what `deno task completions` generates", async () => {
  for (const shell of SHELLS) {
    const committed = await Deno.readTextFile(`${ROOT}${COMPLETION_FILES[shell]}`);
    assert.ok(
      committed === completionScript(shell),
      `${COMPLETION_FILES[shell]} is stale: run 'deno task completions' and commit the result`,
    );
  }
});

Deno.test("`udrbd completions bash` prints the committed bash script; a bad shell exits 20", async () => {
  const ok = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, "completions", "bash"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.deepEqual(ok.code, 0);
  assert.deepEqual(new TextDecoder().decode(ok.stdout), await Deno.readTextFile(BASH_FILE));
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, "completions", "tcsh"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.deepEqual(bad.code, 20);
  assert.ok(new TextDecoder().decode(bad.stderr).includes("unknown shell 'tcsh'"));
});

Deno.test("udrbd's tool list for completions matches the tools mod.ts runs", () => {
  assert.deepEqual([...UDRBD_TOOLS].sort(), Object.keys(TOOLS).sort());
});

Deno.test("every drbdmeta option offered for completion is one drbdmeta accepts", () => {
  for (const o of META_OPTIONS) {
    const io = new MemoryConsole();
    const value = o.mode === "none" ? [] : ["1"];
    try {
      drbdmetaMain([`--${o.name}`, ...value, "0", "v09"], io, { progname: "drbdmeta" });
    } catch {
      // a usage error is fine: only the option's name matters here
    }
    assert.ok(!io.stderr.includes("unrecognized option"), `--${o.name}: ${io.stderr}`);
  }
});

Deno.test("bash completes tool commands, options and option values from the tables", async () => {
  const sb = sandbox();
  try {
    const r = await bashComplete([
      "drbdadm at",
      "drbdadm attach --on-io",
      "drbdadm attach --on-io-error=",
      "drbdadm attach --on-io-error=de",
      "drbdadm net-options --allow-two-primaries=",
      "drbdadm net-options --protocol ",
      "drbdsetup wait-connect-v",
      "drbdsetup status --color=",
      "drbdsetup attach 0 --read-balancing=32",
      "drbdmeta 0 v",
      "drbdmeta 0 v09 /dev/sdb1 flex-i",
      "drbdmeta 0 v09 /dev/sdb1 internal du",
      "drbdmeta 0 v09 /dev/sdb1 internal create-md --initialize-bitmap ",
      "udrbd dr",
      "udrbd completions ",
      "udrbd daemon --log-level=w",
      "udrbd drbdsetup new-min",
    ], sb);
    assert.deepEqual(r, [
      ["attach"],
      ["--on-io-error="],
      ["=pass_on", "=call-local-io-error", "=detach"],
      ["detach"],
      ["=yes", "=no"],
      ["A", "B", "C"],
      ["wait-connect-volume"],
      ["=always", "=auto", "=never"],
      ["32K-striping"],
      ["v08", "v09"],
      ["flex-internal"],
      ["dump-md"],
      ["automatic", "zeroout", "pwrite", "skip"],
      ["drbd-overview", "drbdadm", "drbdmeta", "drbdsetup"],
      ["bash", "zsh", "fish"],
      ["warn"],
      ["new-minor"],
    ]);
  } finally {
    cleanup(sb);
  }
});

Deno.test("bash registers the completion for drbdadm, drbdsetup, drbdmeta and udrbd", async () => {
  const sb = sandbox();
  try {
    const out = await runShell(
      ["bash", "--norc", "--noprofile", "-c", `source ${shQuote(BASH_FILE)}; complete -p`],
      sb.env,
    );
    for (const tool of ["drbdadm", "drbdsetup", "drbdmeta", "udrbd"]) {
      assert.ok(new RegExp(`-F _udrbd .*\\b${tool}\\b`).test(out.replaceAll("\n", " ")), tool);
    }
  } finally {
    cleanup(sb);
  }
});

Deno.test("bash offers the resources and volumes of the configuration named by -c", async () => {
  const sb = sandbox();
  const adm = `${sb.bin}/drbdadm`;
  const conf = sb.config.replaceAll(" ", "\\ ");
  try {
    const r = await bashComplete([
      `${adm} -c ${conf} up `,
      `${adm} --config-file=${conf} primary w`,
      `${adm} -c ${conf} attach r0/`,
      `${adm} -c ${conf} attach web/`,
      `udrbd drbdadm -c ${conf} down r`,
    ], sb);
    assert.deepEqual(r[0].sort(), ["all", "r0", "web"]);
    assert.deepEqual(r[1], ["web"]);
    assert.deepEqual(r[2], ["r0/0", "r0/3"]);
    assert.deepEqual(r[3], ["web/0"]);
    assert.deepEqual(r[4], ["r0"]);
  } finally {
    cleanup(sb);
  }
});

Deno.test("bash completes file names for drbdadm -c and drbdsetup attach's disk", async () => {
  const sb = sandbox();
  try {
    const r = await bashComplete([
      `drbdadm -c ${sb.dir}/my`,
      `drbdadm --config-file=${sb.dir}/my`,
      `drbdsetup attach 0 ${sb.dir}/ru`,
    ], sb);
    assert.deepEqual(r[0], [sb.config]);
    assert.deepEqual(r[1], [sb.config]);
    assert.deepEqual(r[2], [sb.runDir]);
  } finally {
    cleanup(sb);
  }
});

Deno.test("bash offers the minors the node daemon exports for drbdsetup minor commands", async () => {
  const sb = sandbox();
  const listeners = [3, 12].map((m) =>
    Deno.listen({ transport: "unix", path: `${sb.runDir}/nbd/drbd${m}.sock` })
  );
  try {
    const r = await bashComplete(["drbdsetup detach ", "drbdsetup resize 1"], sb);
    assert.deepEqual(r[0].sort(), ["12", "3"]);
    assert.deepEqual(r[1], ["12"]);
  } finally {
    for (const l of listeners) l.close();
    cleanup(sb);
  }
});

/** Each line's candidates from fish's own `complete -C` with the committed script loaded. */
async function fishComplete(lines: string[], sb: Sandbox): Promise<string[][]> {
  let script = `source ${shQuote(`${ROOT}${COMPLETION_FILES.fish}`)}\n`;
  for (const line of lines) {
    script += `complete -C ${shQuote(line)} | string replace -r '\\t.*' '' | string join '|'\n` +
      `echo\n`;
  }
  const out = await runShell(["fish", "--no-config", "-c", script], sb.env);
  return out.split("\n").filter((_, i) => i % 2 === 0).slice(0, lines.length).map((l) =>
    l === "" ? [] : l.split("|")
  );
}

Deno.test({
  name: "fish completes commands, option values, resources and volumes",
  ignore: !hasProgram("fish"),
  fn: async () => {
    const sb = sandbox();
    try {
      const conf = sb.config.replaceAll(" ", "\\ ");
      const r = await fishComplete([
        "drbdadm at",
        "drbdadm attach --on-io-error=",
        "drbdsetup status --color=n",
        "drbdmeta 0 v09 /dev/sdb1 internal create-",
        `drbdadm -c ${conf} up `,
        `drbdadm -c ${conf} attach r0/`,
        "udrbd daemon --log-level ",
      ], sb);
      assert.deepEqual(r[0], ["attach"]);
      assert.deepEqual(r[1].sort(), [
        "--on-io-error=call-local-io-error",
        "--on-io-error=detach",
        "--on-io-error=pass_on",
      ]);
      assert.deepEqual(r[2], ["--color=never"]);
      assert.deepEqual(r[3], ["create-md"]);
      assert.deepEqual(r[4].sort(), ["all", "r0", "web"]);
      assert.deepEqual(r[5], ["r0/0", "r0/3"]);
      assert.deepEqual(r[6].sort(), ["debug", "error", "info", "warn"]);
    } finally {
      cleanup(sb);
    }
  },
});

// Drives an interactive zsh through zpty: TAB runs the real completion system, a wrapper around
// compadd prints what each call matched, and a marker closes every case ("$\{" stands for "${").
const ZSH_DRIVER = String.raw`
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'PROMPT=""; RPROMPT=""; unsetopt zle_bracketed_paste 2>/dev/null'
zpty -w z 'compadd() { local -a h; builtin compadd -A h "$@"; (( $#h )) && print -rn -- "<<$\{(j:|:)h}>>" >/dev/tty; builtin compadd "$@"; }'
zpty -w z '_probe() { zle complete-word; print -rn -- "@@END@@" >/dev/tty; BUFFER=""; }; zle -N _probe; bindkey "^I" _probe'
zpty -w z 'print -r -- READY'
zpty -r z out '*READY*READY*'
shift
for line in "$@"; do
  zpty -n -w z "$line"$'\t'
  zpty -r z out '*@@END@@'
  print -r -- "@@CASE@@$out"
done
zpty -d z
`.replaceAll("$\\{", "${");

Deno.test({
  name: "zsh completes commands, option values, resources and volumes",
  ignore: !hasProgram("zsh"),
  fn: async () => {
    const sb = sandbox();
    try {
      const fp = `${sb.dir}/zfunc`;
      Deno.mkdirSync(fp);
      Deno.copyFileSync(`${ROOT}${COMPLETION_FILES.zsh}`, `${fp}/_udrbd`);
      const conf = sb.config.replaceAll(" ", "\\ ");
      const lines = [
        "drbdadm att",
        "drbdadm attach --on-io-error=",
        "drbdsetup status --col",
        "drbdmeta 0 v09 /dev/sdb1 internal create-",
        `drbdadm -c ${conf} up `,
        `drbdadm -c ${conf} attach r0/`,
        "udrbd daemon --log-level ",
      ];
      const script = `${sb.dir}/driver.zsh`;
      Deno.writeTextFileSync(script, ZSH_DRIVER);
      const out = await runShell(["zsh", "-f", script, fp, ...lines], sb.env);
      const cases = out.split("@@CASE@@").slice(1).map((text) =>
        [...text.matchAll(/<<([^>]*)>>/g)].flatMap((m) => m[1].split("|")).sort()
      );
      assert.deepEqual(cases, [
        ["attach"],
        ["call-local-io-error", "detach", "pass_on"],
        ["--color"],
        ["create-md"],
        ["all", "r0", "web"],
        ["r0/0", "r0/3"],
        ["debug", "error", "info", "warn"],
      ]);
    } finally {
      cleanup(sb);
    }
  },
});
