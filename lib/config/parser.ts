/**
 * The drbd.conf parser: builds the unresolved model (resources, `common`, `global`) from tokens,
 * following drbdadm 9.22's grammar, its error messages and which errors stop parsing at once.
 *
 * @module
 */

import {
  lookupOption,
  nearestKeyword,
  optionsInSection,
  validateValue,
} from "../options/lookup.ts";
import type { OptionDef, Section } from "../options/types.ts";
import { type Diagnostic, directoryMessage, EXIT } from "./errors.ts";
import { Lexer, type Token } from "./lexer.ts";
import { utf8Length } from "../util/utf8.ts";
import type {
  Address,
  AddressFamily,
  Common,
  ConfigOption,
  Connection,
  GlobalOptions,
  HostAddress,
  HostSection,
  Mesh,
  OptionList,
  Path,
  PeerDevice,
  ProxyInfo,
  Resource,
  SourcePos,
  Volume,
} from "./types.ts";
import { Problems } from "./problems.ts";
import { canonifyPath, dirname, expandGlob, hasGlobMagic, realPath } from "./files.ts";

/** Token numbers as drbdadm prints them in "(TK n)" (its yytokentype enum). */
const TK_NAMES = [
  "TK_GLOBAL",
  "TK_RESOURCE",
  "TK_ON",
  "TK_STACKED",
  "TK_NET",
  "TK_DISK",
  "TK_SKIP",
  "TK_SYNCER",
  "TK_STARTUP",
  "TK_DISABLE_IP_VERIFICATION",
  "TK_DIALOG_REFRESH",
  "TK_PROTOCOL",
  "TK_HANDLER",
  "TK_COMMON",
  "TK_ADDRESS",
  "TK_DEVICE",
  "TK_MINOR",
  "TK_META_DISK",
  "TK_FLEX_META_DISK",
  "TK_NODE_ID",
  "TK_MINOR_COUNT",
  "TK_IPADDR",
  "TK_INTEGER",
  "TK_STRING",
  "TK_ELSE",
  "TK_USAGE_COUNT",
  "TK_ASK",
  "TK_YES",
  "TK_NO",
  "TK__THIS_HOST",
  "TK__REMOTE_HOST",
  "TK__PEER_NODE_ID",
  "TK__IS_STANDALONE",
  "TK_PROXY",
  "TK_INSIDE",
  "TK_OUTSIDE",
  "TK_MEMLIMIT",
  "TK_ERR_STRING_TOO_LONG",
  "TK_ERR_DQSTRING_TOO_LONG",
  "TK_ERR_DQSTRING",
  "TK_SCI",
  "TK_SDP",
  "TK_SSOCKS",
  "TK_IPV4",
  "TK_IPV6",
  "TK_IPADDR6",
  "TK_INCLUDE",
  "TK_BWLIMIT",
  "TK_FLOATING",
  "TK_VOLUME",
  "TK_CMD_TIMEOUT_SHORT",
  "TK_CMD_TIMEOUT_MEDIUM",
  "TK_CMD_TIMEOUT_LONG",
  "TK_OPTIONS",
  "TK_CONNECTION",
  "TK_HOST",
  "TK_PORT",
  "TK_CONNECTION_MESH",
  "TK_HOSTS",
  "TK_VIA",
  "TK_TEMPLATE_FILE",
  "TK_PATH",
  "TK_UDEV_ALWAYS_USE_VNR",
  "TK_MODULE_EQ",
  "TK_MODULE_NE",
  "TK_MODULE_GT",
  "TK_MODULE_GE",
  "TK_MODULE_LT",
  "TK_MODULE_LE",
  "TK_KMODVERS",
];

const KEYWORD_TK: Record<string, string> = {
  "on": "TK_ON",
  "stacked-on-top-of": "TK_STACKED",
  "floating": "TK_FLOATING",
  "no": "TK_NO",
  "net": "TK_NET",
  "yes": "TK_YES",
  "ask": "TK_ASK",
  "via": "TK_VIA",
  "skip": "TK_SKIP",
  "require-drbd-module-version-eq": "TK_MODULE_EQ",
  "require-drbd-module-version-ne": "TK_MODULE_NE",
  "require-drbd-module-version-gt": "TK_MODULE_GT",
  "require-drbd-module-version-ge": "TK_MODULE_GE",
  "require-drbd-module-version-lt": "TK_MODULE_LT",
  "require-drbd-module-version-le": "TK_MODULE_LE",
  "disk": "TK_DISK",
  "host": "TK_HOST",
  "hosts": "TK_HOSTS",
  "port": "TK_PORT",
  "proxy": "TK_PROXY",
  "minor": "TK_MINOR",
  "inside": "TK_INSIDE",
  "volume": "TK_VOLUME",
  "cmd-timeout-short": "TK_CMD_TIMEOUT_SHORT",
  "cmd-timeout-medium": "TK_CMD_TIMEOUT_MEDIUM",
  "cmd-timeout-long": "TK_CMD_TIMEOUT_LONG",
  "syncer": "TK_SYNCER",
  "device": "TK_DEVICE",
  "global": "TK_GLOBAL",
  "common": "TK_COMMON",
  "options": "TK_OPTIONS",
  "outside": "TK_OUTSIDE",
  "address": "TK_ADDRESS",
  "startup": "TK_STARTUP",
  "include": "TK_INCLUDE",
  "handlers": "TK_HANDLER",
  "connection": "TK_CONNECTION",
  "connection-mesh": "TK_CONNECTION_MESH",
  "minor-count": "TK_MINOR_COUNT",
  "disable-ip-verification": "TK_DISABLE_IP_VERIFICATION",
  "udev-always-use-vnr": "TK_UDEV_ALWAYS_USE_VNR",
  "dialog-refresh": "TK_DIALOG_REFRESH",
  "resource": "TK_RESOURCE",
  "meta-disk": "TK_META_DISK",
  "flexible-meta-disk": "TK_FLEX_META_DISK",
  "node-id": "TK_NODE_ID",
  "usage-count": "TK_USAGE_COUNT",
  "_this_host": "TK__THIS_HOST",
  "_remote_host": "TK__REMOTE_HOST",
  "_peer_node_id": "TK__PEER_NODE_ID",
  "_is_standalone": "TK__IS_STANDALONE",
  "template-file": "TK_TEMPLATE_FILE",
  "path": "TK_PATH",
  "sci": "TK_SCI",
  "ssocks": "TK_SSOCKS",
  "sdp": "TK_SDP",
  "ipv4": "TK_IPV4",
  "ipv6": "TK_IPV6",
};

const KIND_TK: Record<string, string> = {
  kmodvers: "TK_KMODVERS",
  ipaddr: "TK_IPADDR",
  ipaddr6: "TK_IPADDR6",
  integer: "TK_INTEGER",
  string: "TK_STRING",
  "err-string-too-long": "TK_ERR_STRING_TOO_LONG",
  "err-dqstring-too-long": "TK_ERR_DQSTRING_TOO_LONG",
  "err-dqstring": "TK_ERR_DQSTRING",
  else: "TK_ELSE",
};

/** The symbolic name of a token as drbdadm's parser switches on it (`TK_ON`, `{`, ...). */
function tkName(t: Token): string {
  if (t.kind === "keyword") return KEYWORD_TK[t.text];
  if (t.kind === "eof") return "EOF";
  return KIND_TK[t.kind] ?? t.kind;
}

/** The number drbdadm prints for a token in "(TK n)". */
function tkNumber(t: Token): number {
  if (t.kind === "eof") return 0;
  if (t.kind.length === 1) return t.kind.charCodeAt(0);
  if (t.kind === "else") return TK_NAMES.indexOf("TK_ELSE") + 258;
  return TK_NAMES.indexOf(tkName(t)) + 258;
}

/** Keywords that open a section or statement at resource or top level. */
const SECTION_WORDS = new Set([
  "on",
  "floating",
  "stacked-on-top-of",
  "connection",
  "connection-mesh",
  "resource",
  "common",
  "global",
  "volume",
  "net",
  "disk",
  "startup",
  "handlers",
  "options",
  "syncer",
  "device",
  "meta-disk",
  "flexible-meta-disk",
  "include",
]);

/** Thrown to unwind parsing once drbdadm would have exited. */
export class ParseAbort extends Error {
  constructor(readonly exitCode: number) {
    super("parse aborted");
  }
}

/**
 * The first 20 bytes of a token, as drbdadm's "%.20s" prints it (a character cut in two shows
 * as U+FFFD, which is what the cut bytes read as).
 */
function first20Bytes(s: string): string {
  if (utf8Length(s) === s.length) return s.slice(0, 20);
  return new TextDecoder().decode(new TextEncoder().encode(s).slice(0, 20));
}

/** Field lists of drbdadm's option contexts, in its order (for "expected" messages). */
function fields(section: Section, exclude: string[] = []): OptionDef[] {
  return optionsInSection(section).filter((d) => !exclude.includes(d.name));
}
// Built on first use: a configuration without e.g. `handlers` never needs that list.
let DISK: OptionDef[] | undefined;
let PD: OptionDef[] | undefined;
let NET: OptionDef[] | undefined;
let RES: OptionDef[] | undefined;
let STARTUP: OptionDef[] | undefined;
let HANDLERS: OptionDef[] | undefined;
let PROXY: OptionDef[] | undefined;
const CTX = {
  disk: () => DISK ??= fields("disk"),
  pd: () => PD ??= fields("peer-device"),
  net: () => NET ??= fields("net"),
  res: () => RES ??= fields("options"),
  startup: () => STARTUP ??= fields("startup", ["stacked-timeouts", "become-primary-on"]),
  handlers: () => HANDLERS ??= fields("handlers"),
  proxy: () => PROXY ??= fields("proxy"),
};

/** Options for {@link parseConfig}. */
export interface ParserOptions {
  /** This node's name (used by `device` checks, as drbdadm does during parsing). */
  hostname: string;
  /** Reads a file's text (injectable for tests); default Deno.readTextFileSync. */
  readFile?: (path: string) => string;
  /** Files `include` skips, as if already read (drbdadm's `-E FILE`). */
  excludeFiles?: string[];
  /** `-v`: say so when an include pattern matches no file. */
  verbose?: boolean;
}

/** What the parser produces before resolution. */
export interface ParsedConfig {
  global: GlobalOptions;
  common?: Common;
  resources: Resource[];
  problems: Problems;
}

type Ctx = OptionDef[];

/** Per-file lexing context (drbdadm's config_file / config_save / line). */
interface FileCtx {
  lexer: Lexer;
  /** Name for messages (as given / as globbed). */
  file: string;
  /** Canonical absolute path (for dumps and relative includes), or "STDIN". */
  save: string;
}

export function newOptionSections() {
  return {
    resOptions: [] as OptionList,
    netOptions: [] as OptionList,
    diskOptions: [] as OptionList,
    pdOptions: [] as OptionList,
    startupOptions: [] as OptionList,
    handlers: [] as OptionList,
    proxyOptions: [] as OptionList,
    proxyPlugins: [] as OptionList,
    stackedTimeouts: false,
  };
}

/** A fresh volume as drbdadm's alloc_volume (minor -1). */
export function newVolume(vnr: number, pos: SourcePos): Volume {
  return {
    vnr,
    minor: -1,
    diskOptions: [],
    pdOptions: [],
    implicit: false,
    parsedDevice: false,
    parsedDisk: false,
    parsedMetaDisk: false,
    pos,
  };
}

/** Inserts a volume keeping vnr order (stable for equal vnrs), as drbdadm's insert_volume. */
export function insertVolume(list: Volume[], vol: Volume): void {
  const last = list[list.length - 1];
  if (!last || last.vnr <= vol.vnr) {
    list.push(vol);
    return;
  }
  const i = list.findIndex((v) => v.vnr > vol.vnr);
  list.splice(i, 0, vol);
}

/** drbdadm's hostname comparison: case-insensitive, short names match up to the first dot. */
export function hostnamesEqual(a: string, b: string): boolean {
  if (a === b) return true;
  const da = a.indexOf(".");
  const db = b.indexOf(".");
  const both = da >= 0 && db >= 0;
  const la = both || da < 0 ? a.length : da;
  const lb = both || db < 0 ? b.length : db;
  if (la === lb) {
    // ASCII case folding without allocating; other characters take the slow path below
    let i = 0;
    for (; i < la; i++) {
      let x = a.charCodeAt(i);
      let y = b.charCodeAt(i);
      if (x === y) continue;
      if (x >= 128 || y >= 128) break;
      if (x >= 65 && x <= 90) x += 32;
      if (y >= 65 && y <= 90) y += 32;
      if (x !== y) return false;
    }
    if (i === la) return true;
  } else if (!both) return false;
  return a.slice(0, la).toLowerCase() === b.slice(0, lb).toLowerCase();
}

/** True when `name` is one of `names` (drbdadm's hostname_in_list). */
export function hostnameInList(name: string, names: string[]): boolean {
  for (let i = 0; i < names.length; i++) if (hostnamesEqual(names[i], name)) return true;
  return false;
}

/** True when `s` from index `from` on is one or more decimal digits (`/^\d+$/`). */
export function allDigits(s: string, from = 0): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Minor number of a device name (`/dev/drbdN` or `N`), or -1 (drbd-utils' dt_minor_of_dev). */
export function minorOfDevice(device: string): number {
  if (allDigits(device)) return parseInt(device, 10);
  if (device.startsWith("/dev/drbd") && allDigits(device, 9)) {
    return parseInt(device.slice(9), 10);
  }
  return -1;
}

/** The four numbers of the last address {@link scanIpv4} accepted (reused: no allocation). */
export const IPV4_PARTS = new Float64Array(4);

/**
 * Whether `addr` is a dotted IPv4 address (`/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/`, at most
 * `maxDigits` digits per number): undefined if not, `"canonical"` when it is spelled as its
 * numbers print (no leading zeros), `"other"` otherwise. Its numbers are then in
 * {@link IPV4_PARTS}.
 */
export function scanIpv4(addr: string, maxDigits = Infinity): "canonical" | "other" | undefined {
  let i = 0;
  let canonical = true;
  for (let g = 0; g < 4; g++) {
    const start = i;
    let n = 0;
    for (; i < addr.length; i++) {
      const c = addr.charCodeAt(i);
      if (c < 48 || c > 57) break;
      n = n * 10 + c - 48;
    }
    const len = i - start;
    if (len === 0 || len > maxDigits) return undefined;
    // beyond 15 digits the sum above may round differently from Number(), and print otherwise
    if (len > 15) {
      n = Number(addr.slice(start, i));
      canonical = false;
    } else if (len > 1 && addr.charCodeAt(start) === 48) canonical = false;
    IPV4_PARTS[g] = n;
    if (g < 3) {
      if (addr.charCodeAt(i) !== 46) return undefined;
      i++;
    }
  }
  if (i !== addr.length) return undefined;
  return canonical ? "canonical" : "other";
}

/** True for loopback addresses (drbd-utils' addr_scope_local). */
export function addrScopeLocal(addr: string): boolean {
  if (addr.includes(":")) {
    return /^(0{0,4}:){2,7}0{0,3}1$/.test(addr) || addr === "::1";
  }
  // only 127.x.x.x can be local: skip the parse for every other address
  if (!addr.startsWith("127.")) return false;
  const p = IPV4_PARTS;
  return scanIpv4(addr, 3) !== undefined && p[1] <= 255 && p[2] <= 255 && p[3] <= 255;
}

/**
 * Parses the top-level file `path` (or `text` when given) with includes. Problems (errors and
 * warnings) are collected in `problems`; a `ParseAbort` is thrown where drbdadm exits at once.
 */
export class Parser {
  readonly problems = new Problems();
  readonly global: GlobalOptions = {
    usageCount: "ask",
    minorCount: 0,
    dialogRefresh: 1,
    disableIpVerification: false,
    udevAlwaysUseVnr: false,
  };
  common?: Common;
  readonly resources: Resource[] = [];
  #hostname: string;
  #readFile: (path: string) => string;
  #verbose: boolean;
  #f!: FileCtx;
  #fline = 1;
  #cSectionStart = 1;
  #globalTree = new Map<string, SourcePos>();
  #perResource = new Map<string, SourcePos>();
  #seenFiles = new Set<string>();
  /** After parsing, uniqueness checks are off (drbdadm's config_valid >= 2). */
  #done = false;

  constructor(options: ParserOptions) {
    this.#hostname = options.hostname;
    this.#readFile = options.readFile ?? ((p) => Deno.readTextFileSync(p));
    this.#verbose = options.verbose ?? false;
    for (const f of options.excludeFiles ?? []) this.#seenFiles.add(realPath(f));
  }

  /** Registers a uniqueness key in the global tree (for post-parse checks). */
  checkUniq(what: string, key: string, pos: SourcePos): boolean {
    return this.#vcheckUniq(this.#globalTree, what, key, pos);
  }

  /** Marks the end of parsing; later uniqueness checks become no-ops as in drbdadm. */
  finish(): void {
    this.#done = true;
  }

  get done(): boolean {
    return this.#done;
  }

  /** The line drbdadm's scanner ended on (its `line` after parsing). */
  get lastLine(): number {
    return this.#f ? this.#f.lexer.line : 1;
  }

  /** Looks up the first use recorded for a uniqueness key ("file:line"). */
  firstUse(key: string): string | undefined {
    const p = this.#globalTree.get(key);
    return p && `${p.file}:${p.line}`;
  }

  /** Parses a top-level file (`text` given: its content; `file`: the name for messages). */
  parseTop(file: string, text: string, save: string): void {
    this.#seenFiles.add(realPath(save === "STDIN" ? file : save));
    // drbdadm does not reset its line counter for a `-t` file: numbering continues
    const line = this.#f ? this.#f.lexer.line : 1;
    this.#f = { lexer: new Lexer(text), file, save };
    this.#f.lexer.line = line;
    this.#myParse();
  }

  // --- low level -------------------------------------------------------------------------

  get #line(): number {
    return this.#f.lexer.line;
  }

  #pos(line = this.#line): SourcePos {
    return { file: this.#f.file, line };
  }

  #next(): Token {
    return this.#f.lexer.next();
  }

  get #yytext(): string {
    return this.#f.lexer.last.text;
  }

  #err(message: string, pos?: SourcePos): void {
    this.problems.error(message, pos);
  }

  #fatal(message: string, pos?: SourcePos, code: number = EXIT.CONFIG_INVALID): never {
    this.problems.error(message, pos);
    throw new ParseAbort(code);
  }

  /** A directory opens in drbdadm; reading it stops the scanner (see directoryMessage). */
  #failIfDirectory(e: unknown, path: string): void {
    if (e instanceof Deno.errors.IsADirectory) {
      this.#fatal(directoryMessage(path), undefined, EXIT.SYNTAX);
    }
  }

  #got(): string {
    const s = this.#yytext;
    return `${first20Bytes(s)}${utf8Length(s) > 20 ? "..." : ""}`;
  }

  #peExpected(exp: string, hint?: string): never {
    let msg =
      `${this.#f.file}:${this.#line}: Parse error: '${exp}' expected,\n\tbut got '${this.#got()}'`;
    if (hint) msg += `\n\t(did you mean '${hint}'?)`;
    else msg += this.#braceHint();
    this.#fatal(msg, this.#pos());
  }

  /** A hint when a section keyword shows up inside a block: probably a '}' is missing. */
  #braceHint(): string {
    const t = this.#f.lexer.last;
    if (t.kind !== "keyword" || this.#f.lexer.depth < 1) return "";
    if (!SECTION_WORDS.has(t.text)) return "";
    return `\n\t(is a '}' missing before '${t.text}'?)`;
  }

  #peExpectedGot(exp: string, got: Token, words?: string[]): never {
    const e = /^'.'$/.test(exp) ? exp[1] : exp;
    const hint = words && got.kind === "string" ? nearestKeyword(got.text, words) : undefined;
    this.#fatal(
      `${this.#f.file}:${this.#line}: Parse error: '${e}' expected,\n\tbut got '${this.#got()}' (TK ${
        tkNumber(got)
      })` + (hint ? `\n\t(did you mean '${hint}'?)` : this.#braceHint()),
      this.#pos(),
    );
  }

  #checkStringError(t: Token): void {
    let msg: string;
    switch (t.kind) {
      case "err-string-too-long":
        msg = "Token too long";
        break;
      case "err-dqstring-too-long":
        msg = "Double quoted string too long";
        break;
      case "err-dqstring":
        msg = "Unterminated double quoted string\n  we don't allow embedded newlines\n ";
        break;
      default:
        return;
    }
    this.#fatal(
      `${this.#f.file}:${this.#line}: ${msg} >>>${first20Bytes(this.#yytext)}...<<<`,
      this.#pos(),
    );
  }

  /** drbdadm's EXP(TOKEN): the next token must be `want` (a TK name or punctuation). */
  #exp(want: string): Token {
    const t = this.#next();
    if (tkName(t) !== want) {
      if (want === "TK_STRING") this.#checkStringError(t);
      this.#peExpectedGot(want.length === 1 ? `'${want}'` : want, t);
    }
    return t;
  }

  #vcheckUniq(tree: Map<string, SourcePos>, what: string, key: string, pos: SourcePos): boolean {
    if (this.#done) return true;
    const first = tree.get(key);
    if (first !== undefined) {
      this.#fatal(
        `${pos.file}:${pos.line}: conflicting use of ${what} '${key}' ...\n` +
          `${first.file}:${first.line}: ${what} '${key}' first used here.`,
        pos,
      );
    }
    tree.set(key, pos);
    return true;
  }

  #checkUniq(what: string, key: string): void {
    this.#vcheckUniq(this.#globalTree, what, key, this.#pos(this.#fline));
  }

  #checkUpr(what: string, key: string): void {
    this.#vcheckUniq(this.#perResource, what, key, this.#pos(this.#fline));
  }

  #rangeCheck(name: string, value: string, min: number, max: number): void {
    let d = 0;
    while (d < value.length && value.charCodeAt(d) >= 48 && value.charCodeAt(d) <= 57) d++;
    let v = d > 0 ? Number(value.slice(0, d)) : 0;
    const unit = d === value.length ? "" : value.slice(d);
    if (unit === "K" || unit === "k") v *= 1024;
    else if (unit === "M" || unit === "m") v *= 1024 ** 2;
    else if (unit === "G" || unit === "g") v *= 1024 ** 3;
    else if (unit === "s") v *= 512;
    if (v < min || v > max) {
      this.#err(
        `${this.#f.file}:${this.#fline}: ${name} ${value} => ${v} out of range [${min}..${max}].`,
        this.#pos(this.#fline),
      );
    }
  }

  #opt(name: string, value: string | undefined, quoted: boolean, line: number): ConfigOption {
    return { name, value, quoted, inherited: false, pos: this.#pos(line) };
  }

  // --- top level -------------------------------------------------------------------------

  #myParse(): void {
    for (;;) {
      const t = this.#next();
      this.#fline = this.#line;
      switch (tkName(t)) {
        case "TK_GLOBAL":
          this.#parseGlobal();
          break;
        case "TK_COMMON":
          this.#exp("{");
          this.common = this.#parseResource("common", true) as Common;
          break;
        case "TK_RESOURCE": {
          const name = this.#exp("TK_STRING").text;
          if (name === "") this.#fatal("Resource name is empty.", undefined, EXIT.USAGE);
          // deno-lint-ignore no-control-regex
          if (/[\x00-\x1f\x7f]/.test(name)) {
            this.#fatal(
              "Resource name is invalid - please don't use control characters.",
              undefined,
              EXIT.USAGE,
            );
          }
          this.#exp("{");
          this.resources.push(this.#parseResource(name, false));
          break;
        }
        case "TK_SKIP":
          this.#parseSkip();
          break;
        case "TK_INCLUDE": {
          const pattern = this.#exp("TK_STRING").text;
          this.#exp(";");
          this.#include(pattern);
          break;
        }
        case "TK_MODULE_EQ":
        case "TK_MODULE_NE":
        case "TK_MODULE_GT":
        case "TK_MODULE_GE":
        case "TK_MODULE_LT":
        case "TK_MODULE_LE":
          this.#exp("TK_KMODVERS");
          this.#exp(";");
          // No kernel module here: drbdadm cannot get the module version either.
          this.#fatal("Could not get drbd-module-version, Module not loaded?");
          break;
        case "EOF":
          return;
        default: {
          const hint = t.kind === "string"
            ? nearestKeyword(t.text, ["global", "common", "resource", "skip", "include"])
            : undefined;
          this.#peExpected(
            "global | common | resource | skip | include |\n\trequire-drbd-module-version-{eq,ne,gt,ge,lt,le}",
            hint,
          );
        }
      }
    }
  }

  #include(pattern: string): void {
    const base = this.#f.save === "STDIN" ? Deno.cwd() : dirname(this.#f.save);
    const line = this.#line;
    // glob("") matches nothing (it does not name the including file's folder)
    const matches = pattern === "" ? [] : expandGlob(pattern, base);
    if (matches.length === 0) {
      if (!hasGlobMagic(pattern)) {
        this.#err(
          `${this.#f.save}:${line}: Failed to open include file '${pattern}'.`,
          { file: this.#f.save, line },
        );
      } else if (this.#verbose) {
        this.problems.warn(
          `${this.#f.save}:${line}: no match for include pattern '${pattern}'.`,
          { file: this.#f.save, line },
        );
      }
      return;
    }
    for (let mIdx = 0; mIdx < matches.length; mIdx++) {
      const m = matches[mIdx];
      const abs = m.startsWith("/") ? m : `${base}/${m}`;
      const real = realPath(abs);
      if (this.#seenFiles.has(real)) continue;
      this.#seenFiles.add(real);
      let text: string;
      try {
        text = this.#readFile(abs);
      } catch (e) {
        this.#failIfDirectory(e, abs);
        this.#err(
          `${this.#f.save}:${line}: Failed to open include file '${m}'.`,
          { file: this.#f.save, line },
        );
        continue;
      }
      const saved = this.#f;
      const savedFline = this.#fline;
      this.#f = { lexer: new Lexer(text), file: m, save: canonifyPath(abs) };
      try {
        this.#myParse();
      } finally {
        this.#f = saved;
        this.#fline = savedFline;
      }
    }
  }

  #parseGlobal(): void {
    this.#fline = this.#line;
    const pos = this.#pos();
    this.#checkUniq("global section", "global");
    if (this.resources.length > 0) {
      this.problems.warn(
        `${this.#f.file}:${this.#line}: You should put the global {} section\n\tin front of any resource {} section`,
        pos,
      );
    }
    this.global.pos = pos;
    this.#exp("{");
    for (;;) {
      const t = this.#next();
      this.#fline = this.#line;
      switch (tkName(t)) {
        case "TK_UDEV_ALWAYS_USE_VNR":
          this.global.udevAlwaysUseVnr = true;
          break;
        case "TK_DISABLE_IP_VERIFICATION":
          this.global.disableIpVerification = true;
          break;
        case "TK_MINOR_COUNT": {
          const v = this.#exp("TK_INTEGER").text;
          this.#rangeCheck("minor-count", v, 1, 255);
          this.global.minorCount = parseInt(v, 10);
          break;
        }
        case "TK_DIALOG_REFRESH": {
          const v = this.#exp("TK_INTEGER").text;
          this.#rangeCheck("dialog-refresh", v, 0, 600);
          this.global.dialogRefresh = parseInt(v, 10);
          break;
        }
        case "TK_CMD_TIMEOUT_SHORT":
        case "TK_CMD_TIMEOUT_MEDIUM":
        case "TK_CMD_TIMEOUT_LONG": {
          const v = this.#exp("TK_INTEGER").text;
          this.#rangeCheck(t.text, v, 0, 900);
          const n = parseInt(v, 10);
          if (t.text === "cmd-timeout-short") this.global.cmdTimeoutShort = n;
          else if (t.text === "cmd-timeout-medium") this.global.cmdTimeoutMedium = n;
          else this.global.cmdTimeoutLong = n;
          break;
        }
        case "TK_USAGE_COUNT": {
          const v = this.#next();
          const k = tkName(v);
          if (k === "TK_YES") this.global.usageCount = "yes";
          else if (k === "TK_NO") this.global.usageCount = "no";
          else if (k === "TK_ASK") this.global.usageCount = "ask";
          else this.#peExpected("yes | no | ask");
          break;
        }
        case "}":
          return;
        default: {
          const hint = t.kind === "string"
            ? nearestKeyword(t.text, [
              "dialog-refresh",
              "minor-count",
              "disable-ip-verification",
              "usage-count",
              "udev-always-use-vnr",
              "cmd-timeout-short",
              "cmd-timeout-medium",
              "cmd-timeout-long",
            ])
            : undefined;
          this.#peExpected("dialog-refresh | minor-count | disable-ip-verification", hint);
        }
      }
      this.#exp(";");
    }
  }

  #parseSkip(): void {
    let level = 0;
    this.#fline = this.#line;
    const start = this.#fline;
    for (;;) {
      const t = this.#next();
      if (t.kind === "eof") {
        this.#fatal(
          `${this.#f.file}:${start}: reached eof while parsing this skip block.`,
          this.#pos(start),
        );
      }
      if (t.kind === "{") level++;
      else if (t.kind === "}") {
        if (!--level) return;
      }
    }
  }

  // --- options ---------------------------------------------------------------------------

  #findField(ctx: Ctx, name: string): { def?: OptionDef; no: boolean } {
    let no = false;
    if (name.startsWith("no-")) {
      name = name.slice(3);
      no = true;
    }
    return { def: ctx.find((d) => d.name === name), no };
  }

  #peOptions(ctx: Ctx, extra: string[] = []): never {
    const names = ctx.map((d) => d.name);
    const word = this.#yytext;
    const hint = nearestKeyword(word.startsWith("no-") ? word.slice(3) : word, [
      ...names,
      ...extra,
    ]);
    this.#peExpected(names.join(" | "), hint);
  }

  #parseOptionValue(def: OptionDef, no: boolean): { value: string; quoted: boolean } {
    const t = this.#next();
    if (t.kind === ";") return { value: no ? "no" : "yes", quoted: false };
    if (def.name !== "resync-after") {
      const problem = validateValue(def, t.text);
      if (problem) {
        let msg =
          `${this.#f.file}:${this.#line}: Parse error: while parsing value ('${this.#got()}')\nfor ${def.name}. Value is ${problem}.`;
        if (problem === "not valid" && def.type === "enum") {
          msg += `\nAllowed values are: ${(def.values ?? []).join(" | ")}`;
        } else if (problem === "too long") {
          msg += `\nmax len: ${(def.maxLength ?? 1) - 1}`;
        }
        this.#err(msg, this.#pos());
      }
    }
    const value = t.text;
    this.#exp(";");
    return { value, quoted: t.quoted };
  }

  /** drbdadm's __parse_options: reads `name value;` until `}`; unknown names go to `delegate`. */
  #parseOptions(ctx: Ctx, delegate?: () => void): OptionList {
    const options: OptionList = [];
    this.#cSectionStart = this.#line;
    this.#fline = this.#line;
    for (;;) {
      const t = this.#next();
      if (t.kind === "}") return options;
      const { def, no } = this.#findField(ctx, t.text);
      if (!def) {
        if (delegate) {
          delegate();
          continue;
        }
        this.#peOptions(ctx);
      }
      const line = this.#line;
      const { value, quoted } = this.#parseOptionValue(def, no);
      options.push(this.#opt(def.name, value, quoted, line));
    }
  }

  #parseDiskOptions(pdOptions: OptionList): OptionList {
    return this.#parseOptions(CTX.disk(), () => {
      const pd = CTX.pd();
      const { def, no } = this.#findField(pd, this.#yytext);
      if (!def) this.#peOptions(pd, CTX.disk().map((d) => d.name));
      const line = this.#line;
      const { value, quoted } = this.#parseOptionValue(def, no);
      pdOptions.push(this.#opt(def.name, value, quoted, line));
    });
  }

  #netDelegate(): () => void {
    return () =>
      this.#peExpected(
        "an option keyword",
        nearestKeyword(this.#yytext, CTX.net().map((d) => d.name)),
      );
  }

  #parseSyncer(res: Resource | Common): void {
    this.#cSectionStart = this.#line;
    this.#fline = this.#line;
    for (;;) {
      const t = this.#next();
      this.#fline = this.#line;
      if (t.kind === "}") return;
      const aliases: Record<string, string> = {
        "outdate-peer": "fence-peer",
        "rate": "resync-rate",
        "after": "resync-after",
      };
      const text = aliases[t.text] ?? t.text;
      let list: OptionList;
      let f = this.#findField(CTX.net(), text);
      if (f.def) list = res.netOptions;
      else {
        f = this.#findField(CTX.disk(), text);
        if (f.def) list = res.diskOptions;
        else {
          f = this.#findField(CTX.res(), text);
          if (f.def) list = res.resOptions;
          else this.#peExpected("a syncer option keyword");
        }
      }
      const line = this.#line;
      const { value, quoted } = this.#parseOptionValue(f.def!, f.no);
      list.push(this.#opt(f.def!.name, value, quoted, line));
    }
  }

  #proxyDelegate(plugins: OptionList): () => void {
    return () => {
      const t = this.#next();
      if (t.kind !== "{") {
        this.#fatal(
          `${this.#f.file}:${this.#fline}: expected "{" after "proxy" keyword`,
          this.#pos(this.#fline),
        );
      }
      for (;;) {
        const words: string[] = [];
        let line = this.#line;
        for (;;) {
          const w = this.#next();
          if (words.length === 0) line = this.#line;
          if (w.kind === ";") break;
          if (w.kind === "}") {
            if (words.length === 0) return;
            this.#fatal(
              `${this.#f.file}:${this.#fline}: Missing ";" before  "}"`,
              this.#pos(this.#fline),
            );
          }
          words.push(w.text);
        }
        plugins.push(this.#opt(words.join(" "), undefined, false, line));
      }
    };
  }

  #parseProxyOptions(options: OptionList, plugins: OptionList): void {
    this.#exp("{");
    options.push(...this.#parseOptions(CTX.proxy(), this.#proxyDelegate(plugins)));
  }

  // --- addresses, hosts --------------------------------------------------------------------

  #parseAddressBody(): Address {
    const t = this.#next();
    const line = this.#line;
    let af: AddressFamily;
    switch (tkName(t)) {
      case "TK_SCI":
        af = "ssocks";
        this.#exp("TK_IPADDR");
        break;
      case "TK_SSOCKS":
      case "TK_SDP":
      case "TK_IPV4":
        af = t.text as AddressFamily;
        this.#exp("TK_IPADDR");
        break;
      case "TK_IPV6":
        af = "ipv6";
        this.#exp("[");
        this.#exp("TK_IPADDR6");
        break;
      case "TK_IPADDR":
        af = "ipv4";
        break;
      default:
        this.#peExpected("ssocks | sdp | ipv4 | ipv6 | <ipv4 address> ");
    }
    const addr = this.#yytext;
    if (af === "ipv6") this.#exp("]");
    this.#exp(":");
    const port = this.#exp("TK_INTEGER").text;
    this.#rangeCheck("port", port, 1, 65535);
    return { af, addr, port, pos: this.#pos(line) };
  }

  #parseAddress(): Address {
    const a = this.#parseAddressBody();
    this.#exp(";");
    return a;
  }

  #parseHosts(delimiter: string): string[] {
    const hosts: string[] = [];
    for (;;) {
      const t = this.#next();
      if (t.kind === "string") {
        hosts.push(t.text);
        continue;
      }
      if (t.kind === delimiter) {
        if (hosts.length === 0) this.#peExpectedGot("TK_STRING", t);
        return hosts;
      }
      this.#peExpectedGot(`TK_STRING | '${delimiter}'`, t);
    }
  }

  #parseProxySection(): ProxyInfo {
    const pos = this.#pos();
    this.#exp("TK_ON");
    const proxy: ProxyInfo = { onHosts: this.#parseHosts("{"), options: [], plugins: [], pos };
    for (;;) {
      const t = this.#next();
      const k = tkName(t);
      if (k === "TK_INSIDE") proxy.inside = this.#parseAddress();
      else if (k === "TK_OUTSIDE") proxy.outside = this.#parseAddress();
      else if (k === "TK_OPTIONS") this.#parseProxyOptions(proxy.options, proxy.plugins);
      else if (k === "}") break;
      else this.#peExpected("inside | outside");
    }
    for (const [k, v] of [["inside", proxy.inside], ["outside", proxy.outside]] as const) {
      if (!v) {
        this.#err(
          `${this.#f.file}:${this.#cSectionStart}: in section: proxy on ${
            proxy.onHosts.join(" ")
          } { ... } }: '${k}' keyword missing.`,
          this.#pos(this.#cSectionStart),
        );
      }
    }
    return proxy;
  }

  // --- volumes -------------------------------------------------------------------------------

  #parseMetaDisk(vol: Volume): void {
    const name = this.#exp("TK_STRING").text;
    vol.metaDisk = name;
    if (name === "internal") {
      vol.metaIndex = "internal";
      this.#exp(";");
      return;
    }
    const t = this.#next();
    if (t.kind === "[") {
      vol.metaIndex = this.#exp("TK_INTEGER").text;
      this.#exp("]");
      this.#exp(";");
    } else if (t.kind === ";") {
      vol.metaIndex = "flexible";
    } else {
      this.#peExpected("[ | ;");
    }
  }

  #checkMinorNonsense(device: string | undefined, minor: number): void {
    if (!device) return;
    const rest = device.slice(9);
    if (allDigits(rest)) {
      if (parseInt(rest, 10) === minor) return;
      this.#err(
        `${this.#f.file}:${this.#fline}: explicit minor number must match with device name\n` +
          `\tTry "device /dev/drbd${minor} minor ${minor};",\n` +
          `\tor leave off either device name or explicit minor.\n` +
          `\tArbitrary device names must start with /dev/drbd_\n` +
          `\tmind the '_'! (/dev/ is optional, but drbd_ is required)`,
        this.#pos(this.#fline),
      );
      return;
    }
    if (rest[0] === "_") return;
    this.#err(
      `${this.#f.file}:${this.#fline}: arbitrary device name must start with /dev/drbd_\n` +
        `\tmind the '_'! (/dev/ is optional, but drbd_ is required)`,
      this.#pos(this.#fline),
    );
  }

  #parseDevice(onHosts: string[] | undefined, vol: Volume): void {
    const mine = !onHosts || hostnameInList(this.#hostname, onHosts);
    let t = this.#next();
    let explicitMinor = false;
    if (t.kind === "string") {
      vol.device = t.text.startsWith("drbd") ? `/dev/${t.text}` : t.text;
      if (mine && !vol.device.startsWith("/dev/drbd")) {
        this.#err(
          `${this.#f.file}:${this.#fline}: device name must start with /dev/drbd\n` +
            `\t(/dev/ is optional, but drbd is required)`,
          this.#pos(this.#fline),
        );
      }
      t = this.#next();
      if (tkName(t) === "TK_MINOR") {
        explicitMinor = true;
      } else {
        if (t.kind !== ";") this.#peExpected("minor | ;");
        const m = minorOfDevice(vol.device);
        if (m < 0) {
          this.#err(
            `${this.#f.file}:${this.#fline}: no minor given nor device name contains a minor number`,
            this.#pos(this.#fline),
          );
        }
        vol.minor = m;
      }
    } else if (tkName(t) === "TK_MINOR") {
      explicitMinor = true;
    }
    // any other token: drbdadm's switch has no default, the token is silently consumed
    if (explicitMinor) {
      vol.minor = parseInt(this.#exp("TK_INTEGER").text, 10);
      this.#exp(";");
      if (mine) this.#checkMinorNonsense(vol.device, vol.minor);
    }
    if (!onHosts) return;
    // drbdadm records the statement's line only after this check: it names the previous
    // device line of this volume (0 for the first)
    const pos = { file: vol.pos.file, line: vol.devicePos?.line ?? 0 };
    for (let hIdx = 0; hIdx < onHosts.length; hIdx++) {
      const h = onHosts[hIdx];
      this.#vcheckUniq(this.#globalTree, "device-minor", `device-minor:${h}:${vol.minor}`, pos);
      if (vol.device) {
        this.#vcheckUniq(this.#globalTree, "device", `device:${h}:${vol.device}`, pos);
      }
    }
  }

  /** drbdadm's parse_volume_stmt; returns false when `t` is not a volume statement. */
  #parseVolumeStmt(vol: Volume, onHosts: string[] | undefined, t: Token): boolean {
    switch (tkName(t)) {
      case "TK_DISK": {
        const n = this.#next();
        if (n.kind === "string") {
          vol.disk = n.text;
          this.#exp(";");
        } else if (n.kind === "{") {
          vol.diskOptions.push(...this.#parseDiskOptions(vol.pdOptions));
        } else {
          this.#checkStringError(n);
          this.#peExpectedGot("TK_STRING | {", n);
        }
        vol.parsedDisk = true;
        vol.diskPos = this.#pos(this.#fline);
        return true;
      }
      case "TK_DEVICE":
        // drbdadm records the device line only after parsing; uniqueness uses the previous one
        this.#parseDevice(onHosts, vol);
        vol.parsedDevice = true;
        vol.devicePos = this.#pos(this.#fline);
        return true;
      case "TK_META_DISK":
        this.#parseMetaDisk(vol);
        vol.parsedMetaDisk = true;
        vol.metaDiskPos = this.#pos(this.#fline);
        return true;
      case "TK_FLEX_META_DISK": {
        const name = this.#exp("TK_STRING").text;
        vol.metaDisk = name;
        vol.metaIndex = name === "internal" ? "internal" : "flexible";
        this.#exp(";");
        vol.parsedMetaDisk = true;
        vol.metaDiskPos = this.#pos(this.#fline);
        return true;
      }
      case "TK_SKIP":
        this.#parseSkip();
        return true;
    }
    return false;
  }

  #parseVolume(vnr: number, onHosts: string[] | undefined): Volume {
    const vol = newVolume(vnr, this.#pos());
    this.#exp("{");
    for (;;) {
      const t = this.#next();
      if (t.kind === "}") break;
      if (!this.#parseVolumeStmt(vol, onHosts, t)) {
        this.#peExpectedGot("device | disk | meta-disk | flex-meta-disk | }", t, [
          "device",
          "disk",
          "meta-disk",
          "flexible-meta-disk",
          "skip",
        ]);
      }
    }
    return vol;
  }

  #parseStackedVolume(vnr: number): Volume {
    const vol = newVolume(vnr, this.#pos());
    this.#exp("{");
    for (;;) {
      const t = this.#next();
      const k = tkName(t);
      if (k === "TK_DEVICE") {
        this.#parseDevice(undefined, vol);
        vol.devicePos = this.#pos(this.#fline);
      } else if (k === "TK_DISK") {
        this.#exp("{");
        vol.diskOptions.push(...this.#parseDiskOptions(vol.pdOptions));
      } else if (k === "}") break;
      else this.#peExpectedGot("device | disk | }", t);
    }
    vol.metaDisk = "internal";
    vol.metaIndex = "internal";
    return vol;
  }

  /** drbdadm's volume0(): the implicit volume 0, or an error when explicit volumes exist. */
  #volume0(volumes: Volume[]): Volume {
    const first = volumes[0];
    if (!first) {
      const vol = newVolume(0, this.#pos());
      vol.implicit = true;
      volumes.unshift(vol);
      return vol;
    }
    if (first.vnr === 0 && volumes.length === 1 && first.implicit) return first;
    this.#err(
      `${this.#f.file}:${this.#line}: mixing explicit and implicit volumes is not allowed`,
      this.#pos(),
    );
    return first;
  }

  // --- host sections -------------------------------------------------------------------------

  #newHost(names: string[]): HostSection {
    return {
      names,
      volumes: [],
      options: [],
      byAddress: false,
      implicit: false,
      usedAsMe: false,
      requireMinor: false,
      pos: this.#pos(),
    };
  }

  #parseHostSection(res: Resource, onHosts: string[], requireMinor: boolean, byAddress: boolean) {
    this.#cSectionStart = this.#line;
    this.#fline = this.#line;
    const host = this.#newHost(onHosts);
    host.requireMinor = requireMinor;
    let inBraces = true;
    if (byAddress) {
      host.byAddress = true;
      host.address = this.#parseAddressBody();
      const a = host.address;
      host.names = [a.af === "ipv6" ? `ipv6 [${a.addr}]:${a.port}` : `${a.addr}:${a.port}`];
      const t = this.#next();
      if (t.kind === ";") inBraces = false;
      else if (t.kind !== "{") this.#peExpectedGot("{ | ;", t);
    }
    for (let hIdx = 0; hIdx < onHosts.length; hIdx++) {
      const h = onHosts[hIdx];
      this.#checkUpr("host section", `${res.name}: on ${h}`);
    }
    res.hosts.push(host);
    while (inBraces) {
      const t = this.#next();
      this.#fline = this.#line;
      const k = tkName(t);
      switch (k) {
        case "TK_DISK":
        case "TK_DEVICE":
        case "TK_META_DISK":
        case "TK_FLEX_META_DISK": {
          const what = k === "TK_DISK" ? "disk" : k === "TK_DEVICE" ? "device" : "meta-disk";
          for (let hIdx = 0; hIdx < onHosts.length; hIdx++) {
            const h = onHosts[hIdx];
            this.#checkUpr(`${what} statement`, `${res.name}:${h}:${what}`);
          }
          if (!this.#parseVolumeStmt(this.#volume0(host.volumes), onHosts, t)) {
            this.#peExpected(
              "disk | device | address | meta-disk | flexible-meta-disk | node-id | skip",
            );
          }
          break;
        }
        case "TK_ADDRESS":
          if (host.byAddress) {
            this.#fatal(
              `${this.#f.file}:${this.#fline}: address statement not allowed for floating {} host sections`,
              this.#pos(this.#fline),
            );
          }
          for (let hIdx = 0; hIdx < onHosts.length; hIdx++) {
            const h = onHosts[hIdx];
            this.#checkUpr("address statement", `${res.name}:${h}:address`);
          }
          host.address = this.#parseAddress();
          this.#rangeCheck("port", host.address.port, 1, 65535);
          break;
        case "TK_PROXY":
          host.proxy = this.#parseProxySection();
          break;
        case "TK_VOLUME": {
          const vnr = parseInt(this.#exp("TK_INTEGER").text, 10);
          insertVolume(host.volumes, this.#parseVolume(vnr, onHosts));
          break;
        }
        case "TK_NODE_ID": {
          const v = this.#exp("TK_INTEGER").text;
          this.#rangeCheck("node-id", v, 0, 32);
          host.nodeId = v;
          for (let hIdx = 0; hIdx < onHosts.length; hIdx++) {
            const h = onHosts[hIdx];
            this.#checkUpr("node-id statement", `${res.name}:${h}:node-id`);
          }
          this.#checkUpr("node-id", `${res.name}:${v}`);
          this.#exp(";");
          break;
        }
        case "TK_OPTIONS":
          this.#exp("{");
          host.options = this.#parseOptions(CTX.res());
          break;
        case "TK_SKIP":
          this.#parseSkip();
          break;
        case "}":
          inBraces = false;
          break;
        default: {
          const hint = t.kind === "string"
            ? nearestKeyword(t.text, [
              "disk",
              "device",
              "address",
              "meta-disk",
              "flexible-meta-disk",
              "node-id",
              "skip",
              "volume",
              "options",
              "proxy",
            ])
            : undefined;
          this.#peExpected(
            "disk | device | address | meta-disk | flexible-meta-disk | node-id | skip",
            hint,
          );
        }
      }
    }
  }

  #parseStackedSection(res: Resource): void {
    this.#cSectionStart = this.#line;
    this.#fline = this.#line;
    // drbdadm never sets a stacked-on-top-of section's config_line: its messages say line 0
    const host = { ...this.#newHost([]), pos: this.#pos(0) };
    res.hosts.push(host);
    const lower = this.#exp("TK_STRING").text;
    this.#checkUniq("stacked-on-top-of", `stacked:${lower}`);
    host.lowerName = lower;
    this.#exp("{");
    for (;;) {
      const t = this.#next();
      switch (tkName(t)) {
        case "TK_DEVICE": {
          const vol = this.#volume0(host.volumes);
          this.#parseDevice(host.names, vol);
          vol.metaDisk = "internal";
          vol.metaIndex = "internal";
          break;
        }
        case "TK_ADDRESS":
          host.address = this.#parseAddress();
          break;
        case "TK_PROXY":
          host.proxy = this.#parseProxySection();
          break;
        case "TK_VOLUME": {
          const vnr = parseInt(this.#exp("TK_INTEGER").text, 10);
          insertVolume(host.volumes, this.#parseStackedVolume(vnr));
          break;
        }
        case "TK_NODE_ID": {
          const v = this.#exp("TK_INTEGER").text;
          this.#rangeCheck("node-id", v, 0, 32);
          host.nodeId = v;
          this.#checkUpr("node-id", `${res.name}:${v}`);
          this.#exp(";");
          break;
        }
        case "}":
          res.stackedOnOne = true;
          return;
        default:
          this.#peExpected("device | address | proxy | volume | node-id");
      }
    }
  }

  // --- connections -----------------------------------------------------------------------------

  #newHostAddress(name: string): HostAddress {
    return {
      name,
      parsedAddress: false,
      parsedPort: false,
      byAddress: false,
      fakedHostname: false,
      usedAsMe: false,
      pos: this.#pos(),
    };
  }

  #parseHnameAddressPair(path: Path, prev: Token): HostAddress {
    const k = tkName(prev);
    let ha: HostAddress;
    let viaAddress = false;
    if (k === "TK_ADDRESS") {
      ha = this.#newHostAddress("UNKNOWN");
      ha.byAddress = true;
      viaAddress = true;
    } else if (k === "TK__THIS_HOST") {
      ha = this.#newHostAddress("_this_host");
      viaAddress = true;
    } else if (k === "TK__REMOTE_HOST") {
      ha = this.#newHostAddress("_remote_host");
      viaAddress = true;
    } else {
      ha = this.#newHostAddress("");
      ha.name = this.#exp("TK_STRING").text;
      const t = this.#next();
      const tk = tkName(t);
      if (tk === "TK_ADDRESS") viaAddress = true;
      else if (tk === "TK_PORT") {
        ha.address = {
          af: "ipv4",
          addr: "",
          port: this.#exp("TK_INTEGER").text,
          pos: this.#pos(),
        };
        ha.parsedPort = true;
        this.#optionalVia(ha);
        return ha;
      } else if (tk === "TK_VIA") {
        this.#exp("TK_PROXY");
        ha.proxy = this.#parseProxySection();
        return ha;
      } else if (t.kind === ";") {
        return ha;
      } else {
        this.#peExpectedGot("address | port | ;", t, ["address", "port", "via"]);
      }
    }
    if (viaAddress) {
      ha.address = this.#parseAddressBody();
      ha.parsedAddress = true;
      if (ha.name === "_this_host") path.myAddress = ha.address;
      if (ha.name === "_remote_host") path.connectTo = ha.address;
      this.#optionalVia(ha);
    }
    return ha;
  }

  #optionalVia(ha: HostAddress): void {
    const t = this.#next();
    if (tkName(t) === "TK_VIA") {
      this.#exp("TK_PROXY");
      ha.proxy = this.#parseProxySection();
    } else if (t.kind !== ";") {
      this.#peExpectedGot("via | ; ", t);
    }
  }

  #newPath(implicit: boolean): Path {
    return { hosts: [], implicit, ignore: false, pos: this.#pos() };
  }

  #path0(conn: Connection): Path {
    const first = conn.paths[0];
    if (!first) {
      const p = this.#newPath(true);
      conn.paths.push(p);
      return p;
    }
    if (!first.implicit) {
      this.#err(
        `${this.#f.file}:${this.#line}: Explicit and implicit paths not allowed`,
        this.#pos(),
      );
    }
    return first;
  }

  #parsePath(): Path {
    const path = this.#newPath(false);
    this.#exp("{");
    for (;;) {
      const t = this.#next();
      const k = tkName(t);
      if (
        k === "TK_ADDRESS" || k === "TK_HOST" || k === "TK__THIS_HOST" || k === "TK__REMOTE_HOST"
      ) {
        path.hosts.push(this.#parseHnameAddressPair(path, t));
        if (path.hosts.length >= 3) {
          this.#err(
            `${this.#f.file}:${this.#fline}: only two 'host' keywords per path allowed`,
            this.#pos(this.#fline),
          );
        }
      } else if (t.kind === "}") {
        return path;
      } else {
        this.#peExpectedGot("host | }", t, ["host", "address"]);
      }
    }
  }

  #parseConnection(): Connection {
    const conn: Connection = {
      paths: [],
      netOptions: [],
      pdOptions: [],
      peerDevices: [],
      implicit: false,
      ignore: false,
      isStandalone: false,
      pos: this.#pos(),
    };
    const t = this.#next();
    if (t.kind === "string") {
      this.problems.warn(
        `${this.#f.file}:${this.#fline}: explicitly named connections are deprecated!\n` +
          `\tits name ('${t.text}') will be ignored`,
        this.#pos(this.#fline),
      );
      this.#exp("{");
    } else if (t.kind !== "{") {
      this.#peExpectedGot("{", t);
    }
    let hosts = 0;
    for (;;) {
      const t = this.#next();
      const k = tkName(t);
      switch (k) {
        case "TK_ADDRESS":
        case "TK_HOST":
        case "TK__THIS_HOST":
        case "TK__REMOTE_HOST": {
          const path = this.#path0(conn);
          path.hosts.push(this.#parseHnameAddressPair(path, t));
          if (++hosts >= 3) {
            this.#err(
              `${this.#f.file}:${this.#fline}: only two 'host' keywords per connection allowed`,
              this.#pos(this.#fline),
            );
          }
          break;
        }
        case "TK__PEER_NODE_ID": {
          const host = this.#newHost([]);
          host.pos = this.#pos(this.#cSectionStart);
          host.implicit = true;
          const v = this.#exp("TK_INTEGER").text;
          this.#rangeCheck("node-id", v, 0, 32);
          host.nodeId = v;
          this.#exp(";");
          conn.peer = host;
          break;
        }
        case "TK_NET":
          if (conn.netOptions.length > 0) {
            this.#err(
              `${this.#f.file}:${this.#fline}: only one 'net' section per connection allowed`,
              this.#pos(this.#fline),
            );
          }
          this.#exp("{");
          conn.netOptions = this.#parseOptions(CTX.net(), this.#netDelegate());
          break;
        case "TK_SKIP":
          this.#parseSkip();
          break;
        case "TK_DISK":
          this.#exp("{");
          conn.pdOptions = this.#parseOptions(CTX.pd());
          break;
        case "TK_VOLUME": {
          const vnr = parseInt(this.#exp("TK_INTEGER").text, 10);
          const pd: PeerDevice = { vnr, options: [], implicit: false, pos: this.#pos() };
          this.#exp("{");
          this.#exp("TK_DISK");
          this.#exp("{");
          pd.options = this.#parseOptions(CTX.pd());
          this.#exp("}");
          conn.peerDevices.push(pd);
          break;
        }
        case "TK__IS_STANDALONE":
          conn.isStandalone = true;
          this.#exp(";");
          break;
        case "TK_PATH":
          conn.paths.push(this.#parsePath());
          break;
        case "}":
          if (conn.paths.length === 0) {
            this.#err(
              `${this.#f.file}:${this.#fline}: connection without a single path (maybe empty?) not allowed`,
              this.#pos(this.#fline),
            );
          }
          return conn;
        default:
          this.#peExpectedGot("host | net | skip | }", t, [
            "host",
            "net",
            "skip",
            "path",
            "disk",
            "volume",
            "address",
          ]);
      }
    }
  }

  #parseConnectionMesh(res: Resource): void {
    this.#exp("{");
    const mesh: Mesh = { hosts: [], netOptions: [], pos: this.#pos() };
    for (;;) {
      const t = this.#next();
      const k = tkName(t);
      if (k === "TK_HOSTS") mesh.hosts.push(...this.#parseHosts(";"));
      else if (k === "TK_NET") {
        if (mesh.netOptions.length > 0) {
          this.#err(
            `${this.#f.file}:${this.#fline}: only one 'net' section allowed`,
            this.#pos(this.#fline),
          );
        }
        this.#exp("{");
        mesh.netOptions = this.#parseOptions(CTX.net(), this.#netDelegate());
      } else if (t.kind === "}") {
        res.meshes.push(mesh);
        return;
      } else this.#peExpectedGot("hosts | net | }", t, ["hosts", "net"]);
    }
  }

  // --- resources -------------------------------------------------------------------------------

  #parseResource(name: string, noHostSections: boolean): Resource {
    this.#perResource = new Map();
    this.#checkUniq("resource section", name);
    // the fields of newOptionSections() written out: a spread copies them again, per resource
    const res: Resource = {
      name,
      resOptions: [],
      netOptions: [],
      diskOptions: [],
      pdOptions: [],
      startupOptions: [],
      handlers: [],
      proxyOptions: [],
      proxyPlugins: [],
      stackedTimeouts: false,
      volumes: [],
      hosts: [],
      connections: [],
      meshes: [],
      ignore: false,
      stacked: false,
      stackedOnOne: false,
      file: this.#f.save,
      pos: { file: this.#f.save, line: this.#line },
    };
    for (;;) {
      const t = this.#next();
      this.#fline = this.#line;
      const k = tkName(t);
      switch (k) {
        case "TK_STRING":
          if (t.text !== "protocol") {
            this.#resourceExpected(t);
          }
          this.#checkUpr("protocol statement", `${res.name}: protocol`);
          {
            const def = lookupOption("protocol")!;
            const line = this.#line;
            const { value, quoted } = this.#parseOptionValue(def, false);
            res.netOptions.push(this.#opt("protocol", value, quoted, line));
          }
          break;
        case "TK_ON": {
          const names = this.#parseHosts("{");
          this.#parseHostSection(res, names, true, false);
          break;
        }
        case "TK_STACKED":
          this.#parseStackedSection(res);
          break;
        case "TK__THIS_HOST":
          this.#exp("{");
          this.#parseHostSection(res, ["_this_host"], false, false);
          break;
        case "TK_FLOATING":
          this.#parseHostSection(res, [], true, true);
          break;
        case "TK_DISK": {
          const n = this.#next();
          if (n.kind === "string") {
            const vol = this.#volume0(res.volumes);
            vol.disk = n.text;
            vol.parsedDisk = true;
            this.#exp(";");
          } else if (n.kind === "{") {
            this.#checkUpr("disk section", `${res.name}:disk`);
            res.diskOptions.push(...this.#parseDiskOptions(res.pdOptions));
          } else {
            this.#checkStringError(n);
            this.#peExpectedGot("TK_STRING | {", n);
          }
          break;
        }
        case "TK_NET":
          this.#checkUpr("net section", `${res.name}:net`);
          this.#exp("{");
          res.netOptions.push(...this.#parseOptions(CTX.net(), this.#netDelegate()));
          break;
        case "TK_SYNCER":
          this.#checkUpr("syncer section", `${res.name}:syncer`);
          this.#exp("{");
          this.#parseSyncer(res);
          break;
        case "TK_STARTUP":
          this.#checkUpr("startup section", `${res.name}:startup`);
          this.#exp("{");
          res.startupFromSection = true;
          res.startupOptions = this.#parseOptions(CTX.startup(), () => {
            const w = this.#yytext;
            if (w === "become-primary-on") {
              while (this.#next().kind !== ";");
            } else if (w === "stacked-timeouts") {
              res.stackedTimeouts = true;
              this.#exp(";");
            } else {
              this.#peExpected(
                "<an option keyword> | become-primary-on | stacked-timeouts",
                nearestKeyword(w, [
                  ...CTX.startup().map((d) => d.name),
                  "become-primary-on",
                  "stacked-timeouts",
                ]),
              );
            }
          });
          break;
        case "TK_HANDLER":
          this.#checkUpr("handlers section", `${res.name}:handlers`);
          this.#exp("{");
          res.handlers = this.#parseOptions(CTX.handlers());
          break;
        case "TK_PROXY":
          this.#checkUpr("proxy section", `${res.name}:proxy`);
          this.#parseProxyOptions(res.proxyOptions, res.proxyPlugins);
          break;
        case "TK_DEVICE":
          this.#checkUpr("device statement", `${res.name}:device`);
          this.#parseVolumeStmt(this.#volume0(res.volumes), undefined, t);
          break;
        case "TK_META_DISK":
        case "TK_FLEX_META_DISK":
          this.#parseVolumeStmt(this.#volume0(res.volumes), undefined, t);
          break;
        case "TK_VOLUME": {
          const vnr = parseInt(this.#exp("TK_INTEGER").text, 10);
          insertVolume(res.volumes, this.#parseVolume(vnr, undefined));
          break;
        }
        case "TK_OPTIONS":
          this.#checkUpr("resource options section", `${res.name}:res_options`);
          this.#exp("{");
          res.resOptions.push(...this.#parseOptions(CTX.res()));
          break;
        case "TK_CONNECTION":
          res.connections.push(this.#parseConnection());
          break;
        case "TK_CONNECTION_MESH":
          this.#parseConnectionMesh(res);
          break;
        case "TK_TEMPLATE_FILE":
          this.#templateFile(res);
          break;
        case "TK_SKIP":
          this.#parseSkip();
          break;
        case "}":
        case "EOF":
          if (noHostSections && res.hosts.length > 0) {
            this.#err(
              `${this.#f.file}:${this.#cSectionStart}: in the ${res.name} section, there are no host sections allowed.`,
              this.#pos(this.#cSectionStart),
            );
          }
          return res;
        default:
          this.#resourceExpected(t);
      }
    }
  }

  #resourceExpected(t: Token): never {
    const words = [
      "protocol",
      "on",
      "disk",
      "net",
      "syncer",
      "startup",
      "handlers",
      "connection",
      "stacked-on-top-of",
      "skip",
      "device",
      "meta-disk",
      "flexible-meta-disk",
      "volume",
      "options",
      "connection-mesh",
      "floating",
      "proxy",
      "template-file",
    ];
    const hint = t.kind === "string" ? nearestKeyword(t.text, words) : undefined;
    const msg =
      `${this.#f.file}:${this.#line}: Parse error: 'protocol | on | disk | net | syncer |` +
      ` startup | handlers | connection | ignore-on | stacked-on-top-of | skip' expected,\n` +
      `\tbut got '${this.#got()}' (TK ${tkNumber(t)})` +
      (hint ? `\n\t(did you mean '${hint}'?)` : this.#braceHint());
    this.#fatal(msg, this.#pos());
  }

  #templateFile(res: Resource): void {
    const file = this.#exp("TK_STRING").text;
    this.#exp(";");
    const base = this.#f.save === "STDIN" ? Deno.cwd() : dirname(this.#f.save);
    const abs = file.startsWith("/") ? file : `${base}/${file}`;
    let text: string;
    try {
      text = this.#readFile(abs);
    } catch (e) {
      this.#failIfDirectory(e, abs);
      this.#err(
        `${this.#f.save}:${this.#line}: Failed to open template file '${file}'.`,
        { file: this.#f.save, line: this.#line },
      );
      return;
    }
    const saved = this.#f;
    // drbdadm's parse_resource resets the per-resource uniqueness tree; the template's
    // tree stays in effect for the rest of the outer resource, as there.
    this.#f = { lexer: new Lexer(text), file, save: canonifyPath(abs) };
    try {
      this.#exp("TK_COMMON");
      this.#exp("{");
      const t = this.#parseResource(`template-${res.name}`, true);
      res.template = { ...t, pos: t.pos, file: t.file };
    } finally {
      this.#f = saved;
    }
  }
}

/** Re-export for the resolver: types used there. */
export type { Diagnostic };
