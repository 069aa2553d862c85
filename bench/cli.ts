/**
 * drbdadm start-up benchmark: `drbdadm dump all` and `drbdadm sh-resources` on a generated
 * drbd.conf with 500 resources, udrbd (`deno run -A mod.ts drbdadm`) against the real drbdadm
 * of drbd-utils 9.22 and against `deno run` of an empty script, all in one run.
 *
 *     deno run -A bench/cli.ts [--reps N] [--resources N] [--timing] [--write-config PATH]
 *
 * Prints the median wall time of N repetitions (default 15) and the ratios; the goal is
 * udrbd's parse+dump within 2x the empty-script start. `drbdadm --version` shows how much of
 * that is loading drbdadm's modules rather than reading the configuration.
 *
 * udrbd runs in two forms, each its own row: plain `deno run mod.ts`, and `deno run` with the
 * V8 flags that `deno task compile` bakes into dist/udrbd (read from deno.json), which is how
 * the installed binary starts. The empty script runs without flags in both comparisons.
 *
 * The floor row runs bench/cli_floor.ts on the same file: a tokenizer and printer with none of
 * drbdadm's semantics, the least any `dump all` written for Deno can cost, measured in the same
 * run.
 *
 * `--timing` also runs udrbd's `dump all` and `sh-resources` N times with `UDRBD_TIMING=1`, in
 * both forms, and prints the median of each phase it reports (where the time goes inside the
 * process).
 * `--write-config PATH` writes the generated drbd.conf to PATH and exits, for profiling by hand.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { compileV8Flags, v8FlagsArg } from "../lib/cli/v8_flags.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const FLOOR = new URL("./cli_floor.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../deno.json", import.meta.url);

/** The row label of udrbd run with the compiled binary's V8 flags. */
const FLAGGED = "udrbd+v8flags";

function hostname(): string {
  return Deno.env.get("UDRBD_HOSTNAME") ?? Deno.hostname();
}

/** A drbd.conf with `n` two-node resources in the 8.4 style (node-ids by address hash). */
function config(n: number): string {
  const host = hostname();
  let text = "global { usage-count no; }\ncommon { net { protocol C; } }\n";
  for (let i = 0; i < n; i++) {
    text += `resource r${i} {\n  device /dev/drbd${i};\n  disk /var/lib/udrbd/r${i}.img;\n` +
      `  meta-disk internal;\n  on ${host} { address 127.0.0.1:${7000 + i}; }\n` +
      `  on peer${i} { address 127.0.0.2:${7000 + i}; }\n}\n`;
  }
  return text;
}

async function timeOnce(cmd: string, args: string[]): Promise<number> {
  const t = performance.now();
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" })
    .output();
  const ms = performance.now() - t;
  if (!out.success && cmd !== "drbdadm") throw new Error(`${cmd} ${args.join(" ")} failed`);
  return ms;
}

/** Runs udrbd with `UDRBD_TIMING=1` `reps` times; the median of each phase, in first-seen order. */
async function phaseMedians(args: string[], reps: number): Promise<Map<string, number>> {
  const seen = new Map<string, number[]>();
  for (let r = 0; r < reps; r++) {
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      env: { UDRBD_TIMING: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    for (const line of new TextDecoder().decode(out.stderr).split("\n")) {
      const m = /^ {2}(.*?)\s+([\d.]+) ms$/.exec(line);
      if (!m) continue;
      if (!seen.has(m[1])) seen.set(m[1], []);
      seen.get(m[1])!.push(Number(m[2]));
    }
  }
  return new Map([...seen].map(([k, v]) => [k, median(v)]));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      reps: { type: "string", default: "15" },
      resources: { type: "string", default: "500" },
      timing: { type: "boolean", default: false },
      "write-config": { type: "string" },
    },
  });
  const reps = Number(values.reps);
  const n = Number(values.resources);
  if (values["write-config"] !== undefined) {
    await Deno.writeTextFile(values["write-config"], config(n));
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "udrbd-bench-cli-" });
  try {
    const conf = `${dir}/drbd.conf`;
    await Deno.writeTextFile(conf, config(n));
    await Deno.writeTextFile(`${dir}/empty.ts`, "export {};\n");
    const deno = Deno.execPath();
    const flags = v8FlagsArg(compileV8Flags(await Deno.readTextFile(DENO_JSON)));
    const dump = ["drbdadm", "-c", conf, "dump", "all"];
    const sh = ["drbdadm", "-c", conf, "sh-resources"];
    const runs: [string, string, string[]][] = [
      ["deno run (empty script)", deno, ["run", "-A", `${dir}/empty.ts`]],
      // start-up without a configuration: what module loading alone costs
      ["udrbd drbdadm --version", deno, ["run", "-A", MOD, "drbdadm", "--version"]],
      // the least a dump can do: split the file into its section tree and print it back
      ["floor: tokenize+print", deno, ["run", "-A", FLOOR, conf]],
      ["real drbdadm dump all", "drbdadm", dump.slice(1)],
      ["udrbd drbdadm dump all", deno, ["run", "-A", MOD, ...dump]],
      ["real drbdadm sh-resources", "drbdadm", sh.slice(1)],
      ["udrbd drbdadm sh-resources", deno, ["run", "-A", MOD, ...sh]],
    ];
    if (flags) {
      runs.push(
        [`${FLAGGED} dump all`, deno, ["run", "-A", flags, MOD, ...dump]],
        [`${FLAGGED} sh-resources`, deno, ["run", "-A", flags, MOD, ...sh]],
      );
    }
    const times = new Map<string, number[]>();
    for (const [name] of runs) times.set(name, []);
    // one warm-up each (module cache, page cache), then interleaved repetitions
    for (const [, cmd, args] of runs) await timeOnce(cmd, args);
    for (let r = 0; r < reps; r++) {
      for (const [name, cmd, args] of runs) times.get(name)!.push(await timeOnce(cmd, args));
    }
    const m = (name: string) => median(times.get(name)!);
    const empty = m("deno run (empty script)");
    console.log(`drbdadm on ${n} resources, median of ${reps} runs (ms)\n`);
    for (const [name] of runs) {
      console.log(`${name.padEnd(30)} ${m(name).toFixed(1).padStart(8)}`);
    }
    if (flags) console.log(`\n${FLAGGED}: deno run ${flags} (deno task compile's V8 flags)`);
    console.log(
      `\nfloor (tokenizer+printer, no semantics) /empty-start ` +
        `${(m("floor: tokenize+print") / empty).toFixed(2)}x`,
    );
    console.log("");
    for (const what of ["dump all", "sh-resources"]) {
      const forms = [["udrbd", `udrbd drbdadm ${what}`]];
      if (flags) forms.push([FLAGGED, `${FLAGGED} ${what}`]);
      for (const [form, row] of forms) {
        const ours = m(row);
        console.log(
          `${what.padEnd(13)} ${form.padEnd(14)} /empty-start ${(ours / empty).toFixed(2)}x` +
            ` (goal <= 2.00x)   /real ${(ours / m(`real drbdadm ${what}`)).toFixed(2)}x`,
        );
      }
    }
    if (values.timing) {
      for (const flag of flags ? [undefined, flags] : [undefined]) {
        for (const what of ["dump", "sh-resources"]) {
          const args = ["run", "-A", ...(flag ? [flag] : []), MOD, "drbdadm", "-c", conf, what];
          if (what === "dump") args.push("all");
          console.log(
            `\nUDRBD_TIMING=1 drbdadm ${what}${flag ? ` (${FLAGGED})` : ""}: ` +
              `median of ${reps} runs per phase (ms)`,
          );
          for (const [name, ms] of await phaseMedians(args, reps)) {
            console.log(`  ${name.padEnd(30)} ${ms.toFixed(2).padStart(8)}`);
          }
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
