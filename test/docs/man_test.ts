/**
 * Man pages: committed files match the generator, render with groff and man without a single
 * warning, and document every command and option of the tables.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MAN_PAGES, manPage } from "../../lib/docs/man.ts";
import { COMMANDS as ADM_COMMANDS } from "../../lib/adm/commands.ts";
import { COMMANDS as SETUP_COMMANDS } from "../../lib/setup/commands.ts";
import { COMMANDS as META_COMMANDS } from "../../lib/meta/cli.ts";
import { OPTIONS } from "../../lib/options/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

function hasProgram(name: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((d) => {
    try {
      return Deno.statSync(`${d}/${name}`).isFile;
    } catch {
      return false;
    }
  });
}

async function run(argv: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { LC_ALL: "C.UTF-8", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** The page as a reader sees it: rendered by groff, overstrikes removed. */
async function rendered(name: string): Promise<string> {
  const r = await run(["groff", "-ww", "-man", "-Tutf8", "-P", "-cbou", `${ROOT}man/${name}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

Deno.test("the committed man pages are what `deno task man` generates", async () => {
  const committed = [...Deno.readDirSync(`${ROOT}man`)].map((e) => e.name)
    .filter((n) => /\.\d$/.test(n)).sort();
  assert.deepEqual(committed, [...MAN_PAGES].sort(), "man/ holds exactly the generated pages");
  for (const name of MAN_PAGES) {
    const text = await Deno.readTextFile(`${ROOT}man/${name}`);
    assert.ok(
      text === manPage(name),
      `man/${name} is stale: run 'deno task man' and commit the result`,
    );
  }
});

Deno.test({
  name: "every man page renders with groff -ww without a warning",
  ignore: !hasProgram("groff"),
  fn: async () => {
    for (const name of MAN_PAGES) {
      const r = await run(["groff", "-ww", "-man", "-Tutf8", `${ROOT}man/${name}`]);
      assert.equal(r.code, 0, `${name}: groff failed`);
      assert.equal(r.stderr, "", `${name}: groff warned`);
      assert.ok(r.stdout.length > 500, `${name}: rendered almost nothing`);
    }
  },
});

Deno.test({
  name: "every man page opens with man -l without a warning",
  ignore: !hasProgram("man"),
  fn: async () => {
    for (const name of MAN_PAGES) {
      const r = await run(["man", "--warnings=all", "-l", `${ROOT}man/${name}`], {
        MANWIDTH: "80",
        MANPAGER: "cat",
        PAGER: "cat",
      });
      assert.equal(r.code, 0, `${name}: man failed: ${r.stderr}`);
      assert.equal(r.stderr, "", `${name}: man warned`);
    }
  },
});

Deno.test({
  name: "drbd.conf(5) documents every keyword of the option table with its default and range",
  ignore: !hasProgram("groff"),
  fn: async () => {
    const text = await rendered("drbd.conf.5");
    for (const def of OPTIONS) {
      if (def.sections.length === 0) continue;
      const at = text.search(new RegExp(`^ {7}${def.name}[ ;]`, "m"));
      assert.ok(at >= 0, `keyword ${def.name}`);
      const next = text.slice(at + 1).search(/^ {7}\S/m);
      const entry = text.slice(at, next < 0 ? undefined : at + 1 + next).replace(/\s+/g, " ");
      if (def.default !== undefined) {
        assert.ok(entry.includes(`Default: ${def.default}.`), `default of ${def.name}`);
      }
      if (def.min !== undefined && def.max !== undefined && def.type !== "string") {
        assert.ok(entry.includes(`${def.min} to ${def.max}`), `range of ${def.name}`);
      }
      for (const v of def.values ?? []) assert.ok(entry.includes(v), `${def.name} value ${v}`);
    }
    const flat = text.replace(/\s+/g, " ");
    assert.ok(flat.includes("Value: a number from 67 to 65534. Default: 1237."), "al-extents");
    assert.ok(flat.includes("Value: one of pass_on, call-local-io-error, detach."));
  },
});

Deno.test({
  name: "drbdsetup(8) documents every command with its options",
  ignore: !hasProgram("groff"),
  fn: async () => {
    const text = await rendered("drbdsetup.8");
    for (const c of SETUP_COMMANDS) {
      const at = text.search(new RegExp(`^ {3}${c.name}( |$)`, "m"));
      assert.ok(at >= 0, `command ${c.name}`);
      const next = text.slice(at + 1).search(/^ {3}\S/m);
      const part = text.slice(at, next < 0 ? undefined : at + 1 + next);
      for (const f of [...c.fields, ...c.options.map((o) => o.name)]) {
        assert.ok(part.includes(`--${f}`), `${c.name} --${f}`);
      }
    }
  },
});

Deno.test({
  name: "drbdadm(8) and drbdmeta(8) describe every command",
  ignore: !hasProgram("groff"),
  fn: async () => {
    const adm = await rendered("drbdadm.8");
    for (const c of ADM_COMMANDS) {
      assert.ok(new RegExp(`^ {7}${c.name}( |$)`, "m").test(adm), `drbdadm ${c.name}`);
    }
    const meta = await rendered("drbdmeta.8");
    for (const c of META_COMMANDS) {
      assert.ok(new RegExp(`^ {7}${c.name}( |$)`, "m").test(meta), `drbdmeta ${c.name}`);
    }
  },
});
