import assert from "node:assert/strict";
import { run } from "./mod.ts";
import { MemoryConsole } from "./lib/cli/io.ts";

Deno.test("udrbd --version names the release, so users can report it", async () => {
  const io = new MemoryConsole();
  assert.equal(await run("udrbd", ["--version"], io), 0);
  assert.match(io.stdout, /^udrbd \d+\.\d+\.\d+\n$/);
});

Deno.test("a symlink named drbdmeta runs drbdmeta without a tool argument", async () => {
  const io = new MemoryConsole();
  const code = await run("/usr/local/sbin/drbdmeta", [], io);
  assert.equal(code, 20);
  assert.match(io.stdout, /USAGE: drbdmeta /);
});

Deno.test("an unknown tool is refused with a hint instead of running something else", async () => {
  const io = new MemoryConsole();
  assert.equal(await run("udrbd", ["drbdfoo"], io), 20);
  assert.match(io.stderr, /unknown tool 'drbdfoo'/);
});
