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

/**
 * The scanner rules that stay regular expressions, in priority order: IPv6 addresses and the
 * error rules for bad quoted strings. They are rare, so they are compiled on first use; the
 * common tokens are measured by hand in {@link Lexer.next} (same lengths, no regex).
 */
let ipv6: RegExp[] | undefined;
let dqErrors: [TokenKind, RegExp][] | undefined;
const ipv6Rules = () => ipv6 ??= [new RegExp(IPV6, "y"), new RegExp(IPV6_MAPPED, "y")];
const dqErrorRules = () =>
  dqErrors ??= [
    ["err-dqstring-too-long", new RegExp(`"${DQ_CH}{255}.`, "y")],
    ["err-dqstring", new RegExp(`"${DQ_CH}{0,255}[\\\\\\n]`, "y")],
  ];

/** Length of the run of decimal digits at `i`. */
function digitsAt(t: string, i: number): number {
  let e = i;
  for (; e < t.length; e++) {
    const c = t.charCodeAt(e);
    if (c < 48 || c > 57) break;
  }
  return e - i;
}

/** Match length of `[0-9]+\.[0-9]+\.[0-9]+` at `p` (0: no match). */
function kmodversLen(t: string, p: number): number {
  let i = p;
  for (let g = 0; g < 3; g++) {
    const d = digitsAt(t, i);
    if (d === 0) return 0;
    i += d;
    if (g < 2) {
      if (t.charCodeAt(i) !== 46) return 0;
      i++;
    }
  }
  return i - p;
}

/** Match length of `([0-9]{1,3}\.){3}[0-9]{1,3}` at `p` (0: no match). */
function ipv4Len(t: string, p: number): number {
  let i = p;
  for (let g = 0; g < 3; g++) {
    // a longer digit run cannot be followed by the '.' the group needs
    const d = digitsAt(t, i);
    if (d === 0 || d > 3 || t.charCodeAt(i + d) !== 46) return 0;
    i += d + 1;
  }
  const d = digitsAt(t, i);
  return d === 0 ? 0 : i + Math.min(d, 3) - p;
}

/** Match length of `[0-9]{1,8}[MKGs]?` at `p` (0: no match). */
function integerLen(t: string, p: number): number {
  const d = Math.min(digitsAt(t, p), 8);
  if (d === 0) return 0;
  const u = t.charCodeAt(p + d);
  return u === 77 || u === 75 || u === 71 || u === 115 ? d + 1 : d;
}

/** Match length of a complete double-quoted string (at most 255 characters) at `p`, or 0. */
function quotedLen(t: string, p: number): number {
  let i = p + 1;
  for (let units = 0; units < 255 && i < t.length; units++) {
    const c = t.charCodeAt(i);
    if (c === 34 || c === 10) break;
    if (c === 92) {
      // a backslash escapes any character but a newline
      if (i + 1 >= t.length || t.charCodeAt(i + 1) === 10) break;
      i += 2;
    } else i++;
  }
  return i < t.length && t.charCodeAt(i) === 34 ? i + 1 - p : 0;
}

/** 1 for the ASCII characters of unquoted words (a table lookup in the scanner's inner loop). */
const WORD_CHARS = new Uint8Array(128);
for (const range of ["az", "AZ", "09", "//", "..", "__", "--"]) {
  for (let c = range.charCodeAt(0); c <= range.charCodeAt(1); c++) WORD_CHARS[c] = 1;
}

/** True for characters of drbd.conf's unquoted words: `[a-zA-Z0-9/._-]`. */
function isStringChar(c: number): boolean {
  return c < 128 && WORD_CHARS[c] === 1;
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

  /** True when #text holds the UTF-8 bytes of the file, one character per byte. */
  #bytes = false;

  constructor(text: string) {
    // drbdadm's scanner reads bytes: a non-ASCII character is one token per byte and counts
    // as several characters against the 255 of a quoted string, so scan the UTF-8 bytes
    if (/[^\p{ASCII}]/u.test(text)) {
      let bin = "";
      for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
      this.#text = bin;
      this.#bytes = true;
    } else this.#text = text;
  }

  /**
   * Token text back from scanned bytes: UTF-8 decoded, so a lone byte of a character shows as
   * U+FFFD (what drbdadm's raw byte reads as), and a NUL as nothing (drbdadm prints C strings).
   */
  #decode(s: string): string {
    if (!this.#bytes) return s === "\0" ? "" : s;
    const bytes = Uint8Array.from(s, (c) => c.charCodeAt(0));
    const text = new TextDecoder().decode(bytes);
    return text === "\0" ? "" : text;
  }

  /** The next token (kind "eof" at the end). */
  next(): Token {
    const t = this.#text;
    const n = t.length;
    let p = this.#pos;
    let c: number;
    for (;;) {
      if (p >= n) {
        this.#pos = p;
        return this.last = { kind: "eof", text: "", quoted: false, line: this.line };
      }
      c = t.charCodeAt(p);
      if (c === 10) {
        this.line++;
        p++;
      } else if (c === 32 || c === 9 || c === 13) p++;
      else if (c === 35) {
        const nl = t.indexOf("\n", p);
        p = nl < 0 ? n : nl;
      } else break;
    }
    // Punctuation other than ':' starts no other rule.
    if (c === 123 || c === 125 || c === 59 || c === 91 || c === 93) {
      if (c === 123) this.depth++;
      else if (c === 125) this.depth--;
      this.#pos = p + 1;
      const ch = t[p];
      return this.last = { kind: ch as TokenKind, text: ch, quoted: false, line: this.line };
    }
    // The longest match wins, ties go to the earlier rule (kmodvers, ipaddr, ipaddr6,
    // ipaddr6-mapped, integer, quoted string, string, err-string-too-long, then the quoted
    // string errors). Only digits start numbers and IPv4 addresses, only hex digits or ':'
    // start IPv6 ones, only '"' starts quoted strings: rules that cannot match are skipped.
    let kind: TokenKind = "else";
    let len = 0;
    if (c === 58) {
      kind = ":";
      len = 1;
    }
    const digit = c >= 48 && c <= 57;
    let e = p;
    while (e < n && isStringChar(t.charCodeAt(e))) e++;
    const run = e - p;
    // A plain word (the usual token): no other rule can match it at equal or greater length
    // unless it runs into a ':' (IPv6) or is too long.
    if (run > 0 && !digit && run <= 128) {
      const after = t.charCodeAt(e);
      if (after !== 58 && after !== 37) {
        this.#pos = e;
        const text = t.slice(p, e);
        const kind = KEYWORDS.has(text) ? "keyword" : "string";
        return this.last = { kind, text, quoted: false, line: this.line };
      }
    }
    if (digit) {
      len = kmodversLen(t, p);
      if (len > 0) kind = "kmodvers";
      const l = ipv4Len(t, p);
      if (l > len) {
        kind = "ipaddr";
        len = l;
      }
    }
    if (digit || c === 58 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) {
      // an IPv6 address has two colons among its leading hex digits and colons
      let colons = 0;
      for (let i = p; i < n && colons < 2; i++) {
        const h = t.charCodeAt(i);
        if (h === 58) colons++;
        else if (!((h >= 48 && h <= 57) || (h >= 97 && h <= 102) || (h >= 65 && h <= 70))) break;
      }
      if (colons >= 2) {
        for (const re of ipv6Rules()) {
          re.lastIndex = p;
          const m = re.exec(t);
          if (m && m[0].length > len) {
            kind = "ipaddr6";
            len = m[0].length;
          }
        }
      }
    }
    if (digit) {
      const l = integerLen(t, p);
      if (l > len) {
        kind = "integer";
        len = l;
      }
    }
    if (c === 34) {
      len = quotedLen(t, p);
      if (len > 0) {
        this.#pos = p + len;
        const text = this.#decode(unescape(t.slice(p, p + len)));
        return this.last = { kind: "string", text, quoted: true, line: this.line };
      }
      // a quoted string error can only be longer when the string did not match
      for (const [k, re] of dqErrorRules()) {
        re.lastIndex = p;
        const m = re.exec(t);
        if (m && m[0].length > len) {
          kind = k;
          len = m[0].length;
        }
      }
    }
    if (Math.min(run, 128) > len) {
      kind = "string";
      len = Math.min(run, 128);
    }
    if (run > 128 && 129 > len) {
      kind = "err-string-too-long";
      len = 129;
    }
    if (len === 0) {
      // flex's "." rule: one character (not a newline).
      this.#pos = p + 1;
      return this.last = { kind: "else", text: this.#decode(t[p]), quoted: false, line: this.line };
    }
    // flex counts lines only in its "\n" rule: newlines inside a token do not count
    this.#pos = p + len;
    const raw = len === 1 && kind === ":" ? ":" : this.#decode(t.slice(p, p + len));
    if (kind === "string" && KEYWORDS.has(raw)) kind = "keyword";
    return this.last = { kind, text: raw, quoted: false, line: this.line };
  }
}
