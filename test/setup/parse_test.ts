import assert from "node:assert/strict";
import { isInvocation, parseDrbdsetup } from "../../lib/setup/parse.ts";
import { fieldDef } from "../../lib/setup/fields.ts";
import { findCommand } from "../../lib/setup/commands.ts";
import { CASES } from "./cases.ts";
import { attrNumber, HAVE_ORACLE, Oracle } from "./oracle.ts";

Deno.test("drbdsetup command lines give the canonical values and refusals the case table lists", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, () => {
      const got = parseDrbdsetup(c.argv);
      if (c.refused !== undefined) {
        assert.ok(!isInvocation(got), `accepted: ${JSON.stringify(got)}`);
        assert.equal(got.exitCode, c.refused);
        return;
      }
      assert.ok(isInvocation(got), `refused: ${JSON.stringify(got)}`);
      for (const [k, v] of Object.entries(c.expect?.args ?? {})) assert.equal(got.args[k], v, k);
      for (const [k, v] of Object.entries(c.expect?.options ?? {})) {
        assert.equal(got.options[k], v, k);
      }
    });
  }
});

Deno.test({
  name: "drbdsetup accepts and refuses the same command lines as drbdsetup 9.22, with its messages",
  ignore: !HAVE_ORACLE,
  async fn(t) {
    const oracle = Oracle.create();
    try {
      for (const c of CASES) {
        await t.step(c.name, () => {
          const want = oracle.run(c.argv);
          const got = parseDrbdsetup(c.argv);
          const line = `drbdsetup ${JSON.stringify(c.argv)}`;
          if (want.exitCode === 99) {
            assert.ok(
              isInvocation(got),
              `${line}: drbdsetup accepts it, we print ${JSON.stringify(got)}`,
            );
            assert.equal(got.warnings ?? "", want.stderr, `${line}: warnings`);
            const fields = findCommand(got.command)!.fields;
            // every numeric option reaches the kernel with the value we computed
            const sent = want.attrs.filter(([nest]) => nest !== 2).map(([, , hex]) => hex);
            for (const [name, value] of Object.entries(got.options)) {
              if (!fields.includes(name) || fieldDef(name).type !== "numeric") continue;
              const match = sent.some((hex) =>
                attrNumber(hex) === BigInt.asUintN(hex.length * 4, BigInt(value))
              );
              assert.ok(match, `${line}: --${name}=${value} not among ${sent.join(" ")}`);
            }
            return;
          }
          assert.ok(
            !isInvocation(got),
            `${line}: drbdsetup refuses it (${want.stderr}), we accept`,
          );
          assert.equal(got.stderr, want.stderr, `${line}: stderr`);
          assert.equal(got.stdout, want.stdout, `${line}: stdout`);
          assert.equal(got.exitCode, want.exitCode, `${line}: exit code`);
        });
      }
    } finally {
      oracle.close();
    }
  },
});

Deno.test("the case table has at least 80 command lines, good and bad", () => {
  assert.ok(CASES.length >= 80);
  assert.ok(CASES.filter((c) => c.refused !== undefined).length >= 30);
  assert.ok(CASES.filter((c) => c.refused === undefined).length >= 30);
});
