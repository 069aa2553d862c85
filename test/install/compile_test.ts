/**
 * `deno task compile` as a user runs it, checked without the internet: `deno compile` normally
 * downloads its runtime (denort); with `DENORT_BIN` it takes a local one instead. The Deno
 * binary itself serves here: the result can't run as udrbd, but the embedded payload is real,
 * so the test can prove that the task still compiles and that the payload holds every module
 * any tool can load (also those reached only through `import()`) and the completion scripts and
 * man pages the binary serves.
 */
import assert from "node:assert/strict";
import { run } from "../util/process.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");

/** The compile task's arguments after `deno`, with `--output` pointed at `output`. */
function compileArgs(output: string): string[] {
  const task: string = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks.compile;
  const words = task.split(/\s+/);
  assert.equal(words[0], "deno");
  const at = words.indexOf("--output");
  assert.ok(at > 0, `the compile task names no --output: ${task}`);
  words[at + 1] = output;
  return words.slice(1);
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string } }[];
}

/**
 * Every local module a tool can execute: reachable from mod.ts through code imports, static and
 * dynamic alike (type-only imports leave nothing to run), relative to ROOT.
 */
async function graphModules(): Promise<string[]> {
  const info = await run(Deno.execPath(), ["info", "--json", `${ROOT}/mod.ts`]);
  assert.equal(info.code, 0, info.stderr);
  const modules = new Map<string, InfoModule>();
  for (const m of JSON.parse(info.stdout).modules as InfoModule[]) modules.set(m.specifier, m);
  const prefix = `file://${ROOT}/`;
  const seen = new Set<string>([`${prefix}mod.ts`]);
  const todo = [...seen];
  while (todo.length > 0) {
    for (const dep of modules.get(todo.pop()!)?.dependencies ?? []) {
      const next = dep.code?.specifier;
      if (next?.startsWith(prefix) && !seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return [...seen].map((s) => decodeURIComponent(s.slice(prefix.length)));
}

/**
 * Text of `path` that its embedded copy holds too: the payload stores a directory tree of bare
 * names, so a path is not there as such. Modules are stored transpiled with their comments, so
 * a module's first doc-comment line stands for it; other files are stored as they are.
 */
function fingerprint(path: string): string {
  const text = Deno.readTextFileSync(`${ROOT}/${path}`);
  if (!path.endsWith(".ts")) return text.slice(0, 200);
  const line = /^\s*\/?\*+ (.{20,}?)(?: \*\/)?$/m.exec(text);
  assert.ok(line, `${path} does not start with a doc comment`);
  return line[1];
}

function filesUnder(dir: string): string[] {
  const names: string[] = [];
  for (const e of Deno.readDirSync(`${ROOT}/${dir}`)) {
    if (e.isFile) names.push(`${dir}/${e.name}`);
    else if (e.isDirectory) names.push(...filesUnder(`${dir}/${e.name}`));
  }
  return names;
}

Deno.test("deno task compile builds a binary that embeds every tool's modules, completions and man pages", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-compile-" });
  try {
    const output = `${dir}/udrbd`;
    const r = await run(Deno.execPath(), compileArgs(output), {
      env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
    });
    assert.equal(r.code, 0, `deno compile failed:\n${r.stderr}${r.stdout}`);
    // the payload follows the runtime it was appended to; paths are stored relative to the root
    const base = (await Deno.stat(Deno.execPath())).size;
    const bytes = await Deno.readFile(output);
    assert.ok(bytes.length > base, "the compiled binary holds no payload");
    const payload = new TextDecoder().decode(bytes.subarray(base));
    const modules = await graphModules();
    for (const tool of ["drbdadm", "drbdsetup", "drbdmeta", "drbd_overview", "daemon"]) {
      assert.ok(modules.includes(`cmd/${tool}.ts`), `mod.ts no longer reaches cmd/${tool}.ts`);
    }
    const missing = [...modules, ...filesUnder("completions"), ...filesUnder("man")].filter((
      path,
    ) => !payload.includes(fingerprint(path)));
    assert.deepEqual(missing, [], "files the compiled udrbd would lack");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
