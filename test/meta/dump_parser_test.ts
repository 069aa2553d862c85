import assert from "node:assert/strict";
import { DumpParser, DumpScanner } from "../../lib/meta/dump_parser.ts";
import { haveSamples, SAMPLES } from "./samples.ts";

const enc = new TextEncoder();

function tokens(text: string): string[] {
  const errs: string[] = [];
  const s = new DumpScanner(enc.encode(text), (t) => errs.push(t));
  const out: string[] = [];
  for (;;) {
    const t = s.next();
    if (t.kind === "EOF") break;
    out.push(`${t.kind}:${t.text}`);
  }
  return [...out, ...errs.map((e) => `ERR:${e.trim()}`)];
}

Deno.test("the dump scanner takes the longest token, as drbdmeta's flex scanner does", () => {
  assert.deepEqual(tokens("bm-byte-per-bit bmx 0x0000000000000004 0x00000080"), [
    "KW:bm-byte-per-bit",
    "INVALID:bmx",
    "U64:0x0000000000000004",
    "U32:0x00000080",
    "ERR:line 1: unknown token: bmx ...",
  ]);
});

Deno.test("a 17-digit hex number is reported as drbdmeta reports it, with its line", () => {
  assert.deepEqual(tokens("\n\n0x00000000000000004"), [
    "INVALID:0x00000000000000004",
    "ERR:line 3: invalid hex number (only 8 or 16 hex digits accepted): 0x00000000000000004 ...",
  ]);
});

Deno.test("negative numbers wrap like strtoull, so 'node-id -1;' means -1", () => {
  const s = new DumpScanner(enc.encode("-1"), () => {});
  assert.equal(s.next().value, 0xffffffffffffffffn);
});

Deno.test({
  name: "a real 9.22 dump parses, and its trailing garbage is refused with drbdmeta's message",
  ignore: !haveSamples(),
  fn() {
    const text = Deno.readTextFileSync(`${SAMPLES}/v09-256M-p3-set.dump`);
    const ok = new DumpParser(enc.encode(text), "v09", () => {}).parse();
    assert.equal(ok.maxPeers, 3);
    assert.equal(ok.slots.length, 3);
    assert.equal(ok.laSizeSect, 262084n);
    const errs: string[] = [];
    assert.throws(() =>
      new DumpParser(enc.encode(text + "\nbitmap;\n"), "v09", (t) => errs.push(t)).parse()
    );
    assert.match(errs.join(""), /Parse error in line \d+: end of file expected, not 'bitmap'/);
  },
});
