import assert from "node:assert/strict";
import { KEYWORDS, Lexer } from "../../lib/config/lexer.ts";

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

// drbd-utils' scanner rules written the direct way (one regular expression per flex rule,
// longest match, earlier rule on a tie): the hand-written fast lexer must agree on any input.
const H4 = "[0-9a-fA-F]{1,4}";
const V4 = "(?:[0-9]{1,3}\\.){3}[0-9]{1,3}";
const SCH = "[a-zA-Z0-9/._-]";
const DQ = '(?:[^"\\\\\\n]|\\\\[^\\n])';
const FLEX_RULES: [string, RegExp][] = [
  ["kmodvers", /[0-9]+\.[0-9]+\.[0-9]+/y],
  ["ipaddr", new RegExp(V4, "y")],
  [
    "ipaddr6",
    new RegExp(
      `(?:(?:${H4}:){0,5}${H4})?:(?:${H4})?:(?:${H4}(?::${H4}){0,5})?(?:%${SCH}{1,128})?`,
      "y",
    ),
  ],
  ["ipaddr6", new RegExp(`::[fF]{4}:${V4}`, "y")],
  ["integer", /[0-9]{1,8}[MKGs]?/y],
  ["string", new RegExp(`"${DQ}{0,255}"`, "y")],
  ["string", new RegExp(`${SCH}{1,128}`, "y")],
  ["err-string-too-long", new RegExp(`${SCH}{129}`, "y")],
  ["err-dqstring-too-long", new RegExp(`"${DQ}{255}.`, "y")],
  ["err-dqstring", new RegExp(`"${DQ}{0,255}[\\\\\\n]`, "y")],
];

/** flex scans bytes: the model does too, on the UTF-8 bytes, one character per byte. */
function flexTokens(utf8: string): string[] {
  const text = String.fromCharCode(...new TextEncoder().encode(utf8));
  const decode = (s: string) =>
    new TextDecoder().decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
  const out: string[] = [];
  let pos = 0;
  let line = 1;
  for (;;) {
    const ws = /(?:[ \t\r]|\n|#[^\n]*)*/y;
    ws.lastIndex = pos;
    const skipped = ws.exec(text)![0];
    line += skipped.split("\n").length - 1;
    pos += skipped.length;
    if (pos >= text.length) return out;
    let kind = "else";
    let len = 0;
    if ("{};[]:".includes(text[pos])) {
      kind = text[pos];
      len = 1;
    }
    for (const [k, re] of FLEX_RULES) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (m && m[0].length > len) {
        kind = k;
        len = m[0].length;
      }
    }
    if (len === 0) len = 1;
    const raw = text.slice(pos, pos + len);
    let shown = raw;
    if (kind === "string" && raw[0] === '"') {
      shown = raw.slice(1, -1).replace(/\\(.)/g, "$1");
    } else if (kind === "string" && KEYWORDS.has(raw)) kind = "keyword";
    out.push(`${line} ${kind}:${decode(shown)}`);
    pos += len;
  }
}

function fastTokens(text: string): string[] {
  const l = new Lexer(text);
  const out: string[] = [];
  for (;;) {
    const t = l.next();
    if (t.kind === "eof") return out;
    out.push(`${t.line} ${t.kind}:${t.text}`);
  }
}

Deno.test("tokens match flex's rules on random text (a config would parse differently)", () => {
  const pieces = [
    ...'0123456789.:abcdefABCDEFMKGsxz/_-%"\\\n {};[]#',
    "::ffff:",
    "1.2.3.4",
    "fe80::1",
    "123456789",
    "on",
    "disk",
    '\\"',
    "a".repeat(127),
    "b".repeat(130),
    "c".repeat(250),
    "\u00e9",
    "\u20ac",
    "\u00e9".repeat(128),
  ];
  let seed = 7;
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < 3000; round++) {
    let text = "";
    const n = 1 + rnd(12);
    for (let i = 0; i < n; i++) text += pieces[rnd(pieces.length)];
    assert.deepEqual(fastTokens(text), flexTokens(text), JSON.stringify(text));
  }
});
