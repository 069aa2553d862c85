import assert from "node:assert/strict";
import { Lexer } from "../../lib/config/lexer.ts";

function kinds(text: string): string[] {
  const l = new Lexer(text);
  const out: string[] = [];
  for (;;) {
    const t = l.next();
    if (t.kind === "eof") return out;
    out.push(`${t.kind}:${t.text}`);
  }
}

Deno.test("keywords are only whole words, as flex's longest match gives", () => {
  assert.deepEqual(kinds("on one disk-flushes disk"), [
    "keyword:on",
    "string:one",
    "string:disk-flushes",
    "keyword:disk",
  ]);
});

Deno.test("addresses, IPv6 and integers are told apart", () => {
  assert.deepEqual(kinds("10.0.0.1:7788 [fe80::1]:7 40M 123456789"), [
    "ipaddr:10.0.0.1",
    ":::",
    "integer:7788",
    "[:[",
    "ipaddr6:fe80::1",
    "]:]",
    ":::",
    "integer:7",
    "integer:40M",
    "string:123456789",
  ]);
});

Deno.test("quoted strings are unescaped and comments skipped", () => {
  assert.deepEqual(kinds('# comment\n"a \\"b\\" c" x'), ['string:a "b" c', "string:x"]);
});

Deno.test("line numbers follow newlines between tokens", () => {
  const l = new Lexer("a\n\nb");
  assert.equal(l.next().line, 1);
  assert.equal(l.next().line, 3);
});
