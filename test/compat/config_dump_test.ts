/**
 * `drbdadm dump` / `dump-xml` of lib/config compared with the real drbdadm 9.22 over the shared
 * corpus and test/compat/drbdadm/conf: same stdout, same exit code, same file:line of the first
 * error. Skipped when drbdadm is not installed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError, dumpConfig, dumpXml, loadConfig } from "../../lib/config/mod.ts";

const REAL = "/usr/sbin/drbdadm";
const CORPORA = [
  "/work/shared/compat/drbdadm/conf",
  new URL("./drbdadm/conf", import.meta.url).pathname,
];

function hasReal(): boolean {
  try {
    Deno.statSync(REAL);
    return true;
  } catch {
    return false;
  }
}

function nodeName(): string {
  return Deno.readTextFileSync("/proc/sys/kernel/hostname").trim();
}

function copyTree(from: string, to: string, host: string, dir: string): void {
  Deno.mkdirSync(to, { recursive: true });
  for (const e of Deno.readDirSync(from)) {
    const src = `${from}/${e.name}`;
    const dst = `${to}/${e.name}`;
    if (e.isDirectory) copyTree(src, dst, host, dir);
    else {
      Deno.writeTextFileSync(
        dst,
        Deno.readTextFileSync(src).replaceAll("@HOST@", host).replaceAll("@DIR@", dir),
      );
    }
  }
}

interface Result {
  stdout: string;
  code: number;
  where: string;
}

const LOCATION = /[A-Za-z0-9_.-]+\.(conf|res|inc):[0-9]+/;

function firstLocation(stderr: string): string {
  const line = stderr.split("\n").find((l) => !l.includes("modinfo: not found")) ?? "";
  return LOCATION.exec(line)?.[0] ?? "";
}

async function real(file: string, args: string[]): Promise<Result> {
  const out = await new Deno.Command(REAL, {
    args: ["-c", file, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    stdout: dec.decode(out.stdout),
    code: out.code,
    where: out.code === 0 ? "" : firstLocation(dec.decode(out.stderr)),
  };
}

function ours(file: string, args: string[], host: string): Result {
  const [command, ...names] = args;
  try {
    const r = loadConfig(file, {
      command,
      resources: names,
      verifyIps: true,
      hostname: host,
      tty: false,
    });
    const header = names.length === 0 || names[0] === "all";
    const text = command === "dump"
      ? dumpConfig(r.config, r.selected, { header })
      : dumpXml(r.config, r.selected, { header });
    return { stdout: text, code: r.exitCode, where: "" };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { stdout: "", code: e.exitCode, where: firstLocation(e.messages.join("\n")) };
  }
}

Deno.test({
  name: "dump and dump-xml print what drbdadm 9.22 prints for every corpus configuration",
  ignore: !hasReal(),
  async fn(t) {
    const host = nodeName();
    const dir = Deno.makeTempDirSync({ prefix: "udrbd-dump-" });
    try {
      for (const c of CORPORA) copyTree(c, dir, host, dir);
      const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".conf"))
        .map((e) => e.name).sort();
      for (const name of files) {
        const file = `${dir}/${name}`;
        await t.step(name, async () => {
          const listed = await new Deno.Command(REAL, {
            args: ["-c", file, "sh-resources"],
            stdin: "null",
            stdout: "piped",
            stderr: "null",
          }).output();
          const resources = new TextDecoder().decode(listed.stdout).split(/\s+/).filter((s) => s);
          const cases = [["dump"], ["dump", "all"], ["dump-xml"], ["dump-xml", "all"]];
          for (const r of resources) cases.push(["dump", r], ["dump-xml", r]);
          for (const args of cases) {
            const want = await real(file, args);
            const got = ours(file, args, host);
            assert.deepEqual(got, want, `${name}: drbdadm ${args.join(" ")}`);
          }
        });
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
