/**
 * The drbd.conf tokenizer. It follows drbd-utils' scanner rules exactly (longest match wins, ties
 * go to the earlier rule), because the grammar depends on them: `on` is a keyword but `one` a
 * string, `123456789` (nine digits) is a string, not an integer, and so on.
 *
 * @module
 */

/** Token kinds. Keywords are their own kind (the keyword text); punctuation is the character. */
export type TokenKind =
  | "{"
  | "}"
  | ";"
  | "["
  | "]"
  | ":"
  | "keyword"
  | "kmodvers"
  | "ipaddr"
  | "ipaddr6"
  | "integer"
  | "string"
  | "err-string-too-long"
  | "err-dqstring-too-long"
  | "err-dqstring"
  | "else"
  | "eof";

/** One token: its kind, its text (unescaped for quoted strings) and its line. */
export interface Token {
  kind: TokenKind;
  /** The token text as the parser sees it (`yytext`); quoted strings are unquoted. */
  text: string;
  /** True for a double-quoted string. */
  quoted: boolean;
  line: number;
}

/** drbd.conf's reserved words (scanner keywords). */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "on",
  "stacked-on-top-of",
  "floating",
  "no",
  "net",
  "yes",
  "ask",
  "via",
  "skip",
  "require-drbd-module-version-eq",
  "require-drbd-module-version-ne",
  "require-drbd-module-version-gt",
  "require-drbd-module-version-ge",
  "require-drbd-module-version-lt",
  "require-drbd-module-version-le",
  "disk",
  "host",
  "hosts",
  "port",
  "proxy",
  "minor",
  "inside",
  "volume",
  "cmd-timeout-short",
  "cmd-timeout-medium",
  "cmd-timeout-long",
  "syncer",
  "device",
  "global",
  "common",
  "options",
  "outside",
  "address",
  "startup",
  "include",
  "handlers",
  "connection",
  "connection-mesh",
  "minor-count",
  "disable-ip-verification",
  "udev-always-use-vnr",
  "dialog-refresh",
  "resource",
  "meta-disk",
  "flexible-meta-disk",
  "node-id",
  "usage-count",
  "_this_host",
  "_remote_host",
  "_peer_node_id",
  "_is_standalone",
  "template-file",
  "path",
  "sci",
  "ssocks",
  "sdp",
  "ipv4",
  "ipv6",
]);

const HEX4 = "[0-9a-fA-F]{1,4}";
const SNUMB = "[0-9]{1,3}";
const IPV4 = `(?:${SNUMB}\\.){3}${SNUMB}`;
const STRING_CH = "[a-zA-Z0-9/._-]";
const IPV6 = `(?:(?:${HEX4}:){0,5}${HEX4})?:(?:${HEX4})?:(?:${HEX4}(?::${HEX4}){0,5})?` +
  `(?:%${STRING_CH}{1,128})?`;
const IPV6_MAPPED = `::[fF]{4}:${IPV4}`;
const DQ_CH = '(?:[^"\\\\\\n]|\\\\[^\\n])';

/** Scanner rules in priority order (earlier wins a tie). Keywords are handled via STRING. */
const RULES: [TokenKind, RegExp][] = [
  ["kmodvers", /[0-9]+\.[0-9]+\.[0-9]+/y],
  ["ipaddr", new RegExp(IPV4, "y")],
  ["ipaddr6", new RegExp(IPV6, "y")],
  ["ipaddr6", new RegExp(IPV6_MAPPED, "y")],
  ["integer", /[0-9]{1,8}[MKGs]?/y],
  ["string", new RegExp(`"${DQ_CH}{0,255}"`, "y")],
  ["string", new RegExp(`${STRING_CH}{1,128}`, "y")],
  ["err-string-too-long", new RegExp(`${STRING_CH}{129}`, "y")],
  ["err-dqstring-too-long", new RegExp(`"${DQ_CH}{255}.`, "y")],
  ["err-dqstring", new RegExp(`"${DQ_CH}{0,255}[\\\\\\n]`, "y")],
];

/** True for characters of drbd.conf's unquoted words: `[a-zA-Z0-9/._-]`. */
function isStringChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 47 ||
    c === 46 || c === 95 || c === 45;
}

/** Removes the quotes and backslash escapes of a double-quoted string (drbd-utils' unescape). */
export function unescape(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    let c = text[i];
    if (c === '"') continue;
    if (c === "\\") {
      i++;
      if (i >= text.length) break;
      c = text[i];
    }
    out += c;
  }
  return out;
}

/** A stream of tokens over one file's text. */
export class Lexer {
  #text: string;
  #pos = 0;
  /** Line of the most recently returned token (1-based), as drbdadm's `line`. */
  line = 1;
  /** Braces open at the current token (for "missing '}'" hints). */
  depth = 0;
  /** The most recently returned token. */
  last: Token = { kind: "eof", text: "", quoted: false, line: 1 };

  constructor(text: string) {
    this.#text = text;
  }

  /** The next token (kind "eof" at the end). */
  next(): Token {
    const t = this.#text;
    for (;;) {
      if (this.#pos >= t.length) {
        return this.last = { kind: "eof", text: "", quoted: false, line: this.line };
      }
      const c = t[this.#pos];
      if (c === "\n") {
        this.line++;
        this.#pos++;
        continue;
      }
      if (c === " " || c === "\t" || c === "\r") {
        this.#pos++;
        continue;
      }
      if (c === "#") {
        const nl = t.indexOf("\n", this.#pos);
        this.#pos = nl < 0 ? t.length : nl;
        continue;
      }
      break;
    }
    const c = t[this.#pos];
    let bestKind: TokenKind = "else";
    let bestLen = 0;
    if ("{};[]:".includes(c)) {
      bestKind = c as TokenKind;
      bestLen = 1;
    }
    // Fast path: a plain word that no other rule can match at equal or greater length.
    const code = t.charCodeAt(this.#pos);
    if (isStringChar(code) && !(code >= 48 && code <= 57)) {
      let e = this.#pos + 1;
      while (e < t.length && isStringChar(t.charCodeAt(e))) e++;
      const len = e - this.#pos;
      if (len <= 128 && t[e] !== ":" && t[e] !== "%") {
        const raw = t.slice(this.#pos, e);
        this.#pos = e;
        const kind = KEYWORDS.has(raw) ? "keyword" : "string";
        return this.last = { kind, text: raw, quoted: false, line: this.line };
      }
    }
    // Only digits start numbers and IPv4 addresses, only hex digits or ':' start IPv6 ones,
    // only '"' starts quoted strings: skip rules that cannot match (speed, same result).
    const digit = c >= "0" && c <= "9";
    let hexOrColon = digit || c === ":" || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");
    if (hexOrColon) {
      // an IPv6 address has two colons among its leading hex digits and colons
      let colons = 0;
      for (let i = this.#pos; i < t.length && colons < 2; i++) {
        const h = t.charCodeAt(i);
        if (h === 58) colons++;
        else if (!((h >= 48 && h <= 57) || (h >= 97 && h <= 102) || (h >= 65 && h <= 70))) break;
      }
      hexOrColon = colons >= 2;
    }
    for (const [kind, re] of RULES) {
      if (
        (kind === "kmodvers" || kind === "ipaddr" || kind === "integer") && !digit ||
        kind === "ipaddr6" && !hexOrColon ||
        (kind === "err-dqstring-too-long" || kind === "err-dqstring") && c !== '"'
      ) continue;
      re.lastIndex = this.#pos;
      const m = re.exec(t);
      if (m && m[0].length > bestLen) {
        bestKind = kind;
        bestLen = m[0].length;
      }
    }
    if (bestLen === 0) {
      // flex's "." rule: one character (not a newline).
      this.#pos++;
      return this.last = { kind: "else", text: c, quoted: false, line: this.line };
    }
    const raw = t.slice(this.#pos, this.#pos + bestLen);
    if (bestLen === 1 && bestKind === c) {
      if (c === "{") this.depth++;
      else if (c === "}") this.depth--;
      this.#pos++;
      return this.last = { kind: bestKind, text: c, quoted: false, line: this.line };
    }
    const startLine = this.line;
    // flex counts lines only in its "\n" rule: newlines inside a token do not count
    this.#pos += bestLen;
    if (bestKind === "string" && raw[0] === '"') {
      return this.last = { kind: "string", text: unescape(raw), quoted: true, line: startLine };
    }
    if (bestKind === "string" && KEYWORDS.has(raw)) bestKind = "keyword";
    return this.last = { kind: bestKind, text: raw, quoted: false, line: startLine };
  }
}
