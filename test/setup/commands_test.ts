import assert from "node:assert/strict";
import { COMMANDS } from "../../lib/setup/commands.ts";
import { OPTIONS } from "../../lib/options/mod.ts";

Deno.test("the option table's command lists agree with drbdsetup's commands (completions, drbdadm)", () => {
  const taken = new Set<string>();
  for (const c of COMMANDS) {
    const names = [...c.fields, ...c.options.map((o) => o.name)];
    if (c.setDefaults) names.push("set-defaults");
    for (const n of names) {
      const row = OPTIONS.find((o) => o.name === n);
      assert.ok(row, `option table lacks --${n} of ${c.name}`);
      assert.ok(row.commands.includes(c.name), `--${n}: table omits ${c.name}`);
      taken.add(`${n} ${c.name}`);
    }
  }
  for (const o of OPTIONS) {
    for (const c of o.commands) {
      assert.ok(taken.has(`${o.name} ${c}`), `${c} does not take --${o.name}`);
    }
  }
});
