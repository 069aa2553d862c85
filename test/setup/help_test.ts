import assert from "node:assert/strict";
import { COMMANDS } from "../../lib/setup/commands.ts";
import { parseDrbdsetup } from "../../lib/setup/parse.ts";
import { HAVE_DRBDSETUP, runHelp } from "./oracle.ts";

const ignore = !HAVE_DRBDSETUP;

function same(args: string[]) {
  const want = runHelp(args);
  const got = parseDrbdsetup(args);
  assert.ok(!("command" in got), `${args.join(" ")} must not be accepted`);
  assert.equal(got.stdout, want.stdout, `stdout of drbdsetup ${args.join(" ")}`);
  assert.equal(got.stderr, want.stderr, `stderr of drbdsetup ${args.join(" ")}`);
  assert.equal(got.exitCode, want.exitCode, `exit code of drbdsetup ${args.join(" ")}`);
}

Deno.test({
  name: "drbdsetup help lists every command exactly as drbdsetup 9.22 does",
  ignore,
  fn() {
    same(["help"]);
    same(["--help"]);
    same(["-h"]);
    same([]);
  },
});

Deno.test({
  name: "drbdsetup help CMD prints each command's usage exactly as drbdsetup 9.22 does",
  ignore,
  fn() {
    for (const c of COMMANDS) {
      same(["help", c.name]);
      same([c.name, "--help"]);
    }
  },
});

Deno.test({
  name: "drbdsetup xml-help CMD (what drbdadm reads) matches drbdsetup 9.22 for every command",
  ignore,
  fn() {
    for (const c of COMMANDS) same(["xml-help", c.name]);
  },
});

Deno.test({
  name: "drbdsetup help for an unknown command prints the list and 'unknown command'",
  ignore,
  fn() {
    same(["help", "frobnicate"]);
    same(["xml-help", "frobnicate"]);
    same(["frobnicate", "-h"]);
  },
});
