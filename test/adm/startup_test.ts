/**
 * drbdadm's start-up as users run it: the V8 flags `deno task compile` bakes into dist/udrbd
 * (read from deno.json, as bench/cli.ts reads them) are accepted by V8 and change nothing a user
 * sees, and the start-up benchmark still prints a row for each form it compares.
 */
import assert from "node:assert/strict";
import { compileV8Flags, v8FlagsArg } from "../../lib/cli/v8_flags.ts";
import { run, type RunResult } from "../util/process.ts";

const ROOT = new URL("../../", import.meta.url);
const MOD = decodeURIComponent(new URL("mod.ts", ROOT).pathname);
const BENCH = decodeURIComponent(new URL("bench/cli.ts", ROOT).pathname);
const DENO_JSON = new URL("deno.json", ROOT);

/** Runs deno with `args`, `env` added to the test's environment. */
function deno(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run(Deno.execPath(), args, { env });
}

Deno.test("the compile task's --v8-flags are read as one list, and none gives no argument", () => {
  const task = (t: string) => JSON.stringify({ tasks: { compile: t } });
  assert.deepEqual(
    compileV8Flags(task("deno compile -A --v8-flags=--a=1,--b --output x mod.ts")),
    ["--a=1", "--b"],
  );
  assert.deepEqual(compileV8Flags(task("deno compile -A mod.ts")), []);
  assert.deepEqual(compileV8Flags("{}"), []);
  assert.equal(v8FlagsArg([]), undefined);
  assert.equal(v8FlagsArg(["--a=1", "--b"]), "--v8-flags=--a=1,--b");
});

Deno.test({
  name: "drbdadm dump, sh-resources and errors print the same with the compiled binary's V8 flags",
  async fn() {
    const flags = compileV8Flags(await Deno.readTextFile(DENO_JSON));
    // the young-generation sizing is what keeps a large dump free of collections
    assert.ok(flags.some((f) => f.startsWith("--min-semi-space-size=")), flags.join(","));
    const flagArg = v8FlagsArg(flags)!;
    const dir = await Deno.makeTempDir({ prefix: "udrbd-adm-startup-" });
    try {
      const good = `${dir}/good.conf`;
      const bad = `${dir}/bad.conf`;
      let text = "global { usage-count no; }\ncommon { net { protocol C; } }\n";
      for (let i = 0; i < 40; i++) {
        text +=
          `resource r${i} {\n device /dev/drbd${i}; disk ${dir}/r${i}; meta-disk internal;\n` +
          ` on alice { address 127.0.0.1:${7100 + i}; }\n` +
          ` on bob { address 127.0.0.2:${7100 + i}; }\n}\n`;
      }
      await Deno.writeTextFile(good, text);
      await Deno.writeTextFile(bad, text.replace("meta-disk internal;", "meta-disc internal;"));
      const env = { UDRBD_HOSTNAME: "alice" };
      for (
        const args of [
          ["-c", good, "dump", "all"],
          ["-c", good, "sh-resources"],
          ["-c", good, "-d", "up", "r7"],
          ["-c", bad, "dump", "all"],
        ]
      ) {
        const plain = await deno(["run", "-A", MOD, "drbdadm", ...args], env);
        const flagged = await deno(["run", "-A", flagArg, MOD, "drbdadm", ...args], env);
        assert.equal(flagged.code, plain.code, `exit code of ${args.join(" ")}`);
        assert.equal(flagged.stdout, plain.stdout, `stdout of ${args.join(" ")}`);
        assert.equal(flagged.stderr, plain.stderr, `stderr of ${args.join(" ")}`);
      }
      assert.match(
        (await deno(["run", "-A", flagArg, MOD, "drbdadm", "-c", good, "dump"], env))
          .stdout,
        /resource r39 \{/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("deno task bench:cli prints plain and compile-flagged udrbd rows next to the anchors", async () => {
  const out = await deno(["run", "-A", BENCH, "--reps", "1", "--resources", "3"]);
  assert.equal(out.code, 0, out.stderr);
  for (
    const row of [
      /^deno run \(empty script\)\s+[\d.]+$/m,
      /^udrbd drbdadm dump all\s+[\d.]+$/m,
      /^udrbd\+v8flags dump all\s+[\d.]+$/m,
      /^udrbd\+v8flags sh-resources\s+[\d.]+$/m,
      /^udrbd\+v8flags: deno run --v8-flags=\S+ \(deno task compile's V8 flags\)$/m,
      /^dump all +udrbd\+v8flags +\/empty-start [\d.]+x/m,
    ]
  ) assert.match(out.stdout, row);
});
