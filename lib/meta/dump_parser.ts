/**
 * Parser of dump-md text (the input of restore-md and verify-dump), with drbd-utils 9.22's
 * tokens, grammar and error messages. The whole dump is validated before anything is
 * written; the bitmap is then produced window by window from positions recorded during
 * validation, so a restore never holds the whole bitmap in memory.
 *
 * @module
 */
import { ExitError } from "../cli/io.ts";
import { DRBD_NODE_ID_MAX, type MdFormat } from "./constants.ts";

/** Token kinds of the dump scanner. */
export type Tok =
  | "EOF"
  | "OP"
  | "STRING"
  | "U64"
  | "U32"
  | "NUM"
  | "KW"
  | "INVALID"
  | "INVALID_CHAR";

interface Token {
  kind: Tok;
  text: string;
  /** Numeric value for NUM/U32/U64 (NUM wraps modulo 2^64 like strtoull). */
  value: bigint;
}

/**
 * A U64 or small NUM read straight from the bytes: its halves, and its value on demand. The
 * scanner reuses one object per kind; callers read a token before asking for the next one.
 */
class FastNumber implements Token {
  hi = 0;
  lo = 0;
  start = 0;
  end = 0;

  constructor(readonly kind: "U64" | "NUM", readonly data: Uint8Array) {}

  set(hi: number, lo: number, start: number, end: number): this {
    this.hi = hi;
    this.lo = lo;
    this.start = start;
    this.end = end;
    return this;
  }

  get text(): string {
    return String.fromCharCode(...this.data.subarray(this.start, this.end));
  }

  get value(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}

const OP_TOKENS: Record<number, Token> = Object.fromEntries(
  ["{", "}", ";", "[", "]"].map((c) => [c.charCodeAt(0), { kind: "OP", text: c, value: 0n }]),
);

/** Value of a hex digit by character code, −1 for other characters. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUE["0123456789abcdef".charCodeAt(i)] = i;
for (let i = 10; i < 16; i++) HEX_VALUE["ABCDEF".charCodeAt(i - 10)] = i;

/** Character codes of the scanner's token characters [-_a-zA-Z0-9]. */
const TOKEN_CHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  TOKEN_CHAR[c] = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
      c === 45 || c === 95
    ? 1
    : 0;
}

const KEYWORDS = [
  "gc",
  "bm",
  "uuid",
  "version",
  "la-size-sect",
  "bm-byte-per-bit",
  "device-uuid",
  "times",
  "flags",
  "al-stripes",
  "al-stripe-size-4k",
  "la-peer-max-bio-size",
  "node-id",
  "current-uuid",
  "bitmap",
  "bitmap-uuid",
  "bitmap-dagtag",
  "history-uuids",
  "peer",
  "hash",
  "max-peers",
  "bitmap-index",
];

const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isTokenChar = (c: number) =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;

type ScanRule =
  | Tok
  | "INVALID_STRING"
  | "EMPTY_STRING"
  | "INVALID_HEX"
  | "NUM_TOO_LONG"
  | "INVALID_TOKEN";

/** The dump scanner: flex's longest-match rule, earliest rule on ties. */
export class DumpScanner {
  readonly data: Uint8Array;
  pos: number;
  line: number;
  #err: (t: string) => void;
  #u64: FastNumber;
  #num: FastNumber;

  constructor(data: Uint8Array, err: (t: string) => void, pos = 0, line = 1) {
    this.data = data;
    this.pos = pos;
    this.line = line;
    this.#err = err;
    this.#u64 = new FastNumber("U64", data);
    this.#num = new FastNumber("NUM", data);
  }

  #run(from: number, pred: (c: number) => boolean, max: number): number {
    let n = 0;
    while (n < max && from + n < this.data.length && pred(this.data[from + n])) n++;
    return n;
  }

  /** Returns the next token, reporting bad tokens on stderr as the real scanner does. */
  next(): Token {
    const d = this.data;
    for (;;) {
      if (this.pos >= d.length) return { kind: "EOF", text: "", value: 0n };
      const c = d[this.pos];
      if (c === 32 || c === 13 || c === 9 || c === 10) {
        if (c === 10) this.line++;
        this.pos++;
        continue;
      }
      if (c === 35) { // '#': comment to end of line
        while (this.pos < d.length && d[this.pos] !== 10) this.pos++;
        continue;
      }
      break;
    }
    const p = this.pos;
    const c = d[p];
    // fast paths for what bitmaps are made of; they give what the rules below would give
    if (c === 123 || c === 125 || c === 59 || c === 91 || c === 93) {
      this.pos = p + 1;
      return OP_TOKENS[c];
    }
    const n = d.length;
    if (c === 48 && d[p + 1] === 120 && p + 18 <= n && (p + 18 === n || !TOKEN_CHAR[d[p + 18]])) {
      let hi = 0;
      let lo = 0;
      let i = p + 2;
      for (; i < p + 10; i++) {
        const h = HEX_VALUE[d[i]];
        if (h < 0) break;
        hi = hi * 16 + h;
      }
      for (; i < p + 18; i++) {
        const h = HEX_VALUE[d[i]];
        if (h < 0) break;
        lo = lo * 16 + h;
      }
      if (i === p + 18) {
        this.pos = i;
        return this.#u64.set(hi, lo, p, i);
      }
    }
    if (c >= 48 && c <= 57) {
      let e = p;
      let v = 0;
      while (e < n && e - p < 15 && d[e] >= 48 && d[e] <= 57) v = v * 10 + d[e++] - 48;
      if (e === n || !TOKEN_CHAR[d[e]]) {
        this.pos = e;
        return this.#num.set(Math.floor(v / 2 ** 32), v >>> 0, p, e);
      }
    }
    // candidate rules in flex order: [length, kind]
    let best = 0;
    let kind = "INVALID_CHAR" as ScanRule;
    const consider = (len: number, k: ScanRule) => {
      if (len > best) {
        best = len;
        kind = k;
      }
    };
    if (c === 123 || c === 125 || c === 59 || c === 91 || c === 93) consider(1, "OP");
    if (c === 34) {
      const body = this.#run(p + 1, (x) => x !== 34 && x !== 13 && x !== 10, 20);
      if (body >= 1 && d[p + 1 + body] === 34) consider(body + 2, "STRING");
    }
    const hexLen = c === 48 && d[p + 1] === 120 ? this.#run(p + 2, isHex, 17) : -1;
    if (hexLen >= 16) consider(18, "U64");
    if (hexLen >= 8) consider(10, "U32");
    const neg = c === 45 ? 1 : 0;
    const digits = this.#run(p + neg, isDigit, 20);
    if (digits >= 1) consider(neg + Math.min(digits, 19), "NUM");
    const word = this.#run(p, isTokenChar, 100);
    if (word > 0) {
      const w = new TextDecoder().decode(d.subarray(p, p + word));
      for (const k of KEYWORDS) {
        if (w.startsWith(k)) consider(k.length, "KW");
      }
    }
    if (c === 34) {
      const body = this.#run(p + 1, (x) => x !== 34 && x !== 13 && x !== 10, 20);
      if (body >= 1) consider(body + 1, "INVALID_STRING");
      consider(d[p + 1] === 34 ? 2 : 1, "EMPTY_STRING");
    }
    if (hexLen >= 0) consider(2 + hexLen, "INVALID_HEX");
    if (digits >= 2) consider(neg + digits, "NUM_TOO_LONG");
    consider(word, "INVALID_TOKEN");
    if (best === 0) consider(1, "INVALID_CHAR");
    const text = new TextDecoder("latin1").decode(d.subarray(p, p + best));
    this.pos = p + best;
    for (let i = p; i < p + best; i++) if (d[i] === 10) this.line++;
    switch (kind as ScanRule) {
      case "OP":
        return { kind: "OP", text, value: 0n };
      case "STRING":
        return { kind: "STRING", text: text.slice(1, -1), value: 0n };
      case "U64":
      case "U32":
        return { kind: kind as Tok, text, value: BigInt(text) };
      case "NUM": {
        let v = BigInt(text.replace("-", ""));
        if (text.startsWith("-")) v = (-v) & 0xffffffffffffffffn;
        return { kind: "NUM", text, value: v };
      }
      case "KW":
        return { kind: "KW", text, value: 0n };
      case "INVALID_STRING":
      case "EMPTY_STRING":
        this.#err(`line ${this.line}: invalid string: ${text} ...\n`);
        return { kind: "INVALID", text, value: 0n };
      case "INVALID_HEX":
        this.#err(
          `line ${this.line}: invalid hex number (only 8 or 16 hex digits accepted): ${text} ...\n`,
        );
        return { kind: "INVALID", text, value: 0n };
      case "NUM_TOO_LONG":
        this.#err(`line ${this.line}: number too big: ${text} ...\n`);
        return { kind: "INVALID", text, value: 0n };
      case "INVALID_TOKEN":
        this.#err(`line ${this.line}: unknown token: ${text} ...\n`);
        return { kind: "INVALID", text, value: 0n };
      default:
        return { kind: "INVALID_CHAR", text, value: 0n };
    }
  }
}

/** What the parser expects; the text drbdmeta prints for it. */
type Expect = string;

const EXPECT_TEXT: Record<string, string> = {
  "EOF": "end of file",
  ";": "semicolon (;)",
  "{": "opening brace ({)",
  "}": "closing brace (})",
  "[": "opening bracket ([)",
  "]": "closing bracket (])",
  "NUM": "number ([0-9], up to 20 digits)",
  "STRING": 'short quoted string ("..up to 20 characters, no newline..")',
  "U32": "an 8-digit hex number",
  "U64": "a 16-digit hex number",
};

const KW_WITH_TEXT = new Set([
  "bm",
  "bitmap",
  "bm-byte-per-bit",
  "device-uuid",
  "flags",
  "gc",
  "la-size-sect",
  "times",
  "uuid",
  "version",
  "node-id",
  "current-uuid",
  "bitmap-uuid",
  "bitmap-dagtag",
  "peer",
  "hash",
  "max-peers",
]);

/** One slot's bitmap block: where its items start in the dump and how many u32 words it gives. */
interface SlotBlock {
  pos: number;
  line: number;
  words: number;
}

/** The content of a dump, validated. */
export interface ParsedDump {
  version: string;
  maxPeers: number;
  nodeId: number;
  currentUuid: bigint;
  flags: number;
  peers: { bitmapIndex: number; bitmapUuid: bigint; bitmapDagtag: bigint; flags: number }[];
  historyUuids: bigint[];
  /** la-size-sect as written (may exceed what the device can hold). */
  laSizeSect: bigint;
  bmBytePerBit: number;
  deviceUuid: bigint;
  laPeerMaxBioSize: number;
  alStripes: number;
  alStripeSize4k: number;
  slots: SlotBlock[];
  data: Uint8Array;
}

/** A parse error: the message was printed already; the exit code is 10. */
export class DumpParseError extends ExitError {
  constructor() {
    super(10, "dump parse error");
  }
}

/** Parses and validates a whole dump of `format`; prints drbdmeta's errors and throws. */
export class DumpParser {
  #s: DumpScanner;
  #err: (t: string) => void;
  #format: MdFormat;
  #tok!: Token;

  constructor(data: Uint8Array, format: MdFormat, err: (t: string) => void) {
    this.#s = new DumpScanner(data, err);
    this.#err = err;
    this.#format = format;
  }

  #fail(expected: Expect, seen: Token, etext?: string): never {
    let text = etext;
    if (text === undefined) {
      if (expected in EXPECT_TEXT) text = EXPECT_TEXT[expected];
      else if (KW_WITH_TEXT.has(expected)) text = `keyword '${expected}'`;
      else text = " invalid/unexpected token!";
    }
    let msg = `Parse error in line ${this.#s.line}: ${text}${text[0] === " " ? ":" : " expected"}`;
    switch (seen.kind) {
      case "EOF":
        msg += ", but end of file encountered\n";
        break;
      case "INVALID_CHAR": {
        const code = seen.text.charCodeAt(0);
        msg += `; got invalid input character '\\x${
          code.toString(16).padStart(2, "0")
        }' [${seen.text}]\n`;
        break;
      }
      case "NUM":
      case "U32":
      case "U64":
        msg += ", not some number\n";
        break;
      case "INVALID":
        msg += "\n";
        break;
      default:
        msg += `, not '${seen.kind === "STRING" ? seen.text : seen.text}'\n`;
    }
    this.#err(msg);
    throw new DumpParseError();
  }

  #matches(expected: Expect, t: Token): boolean {
    switch (expected) {
      case "EOF":
        return t.kind === "EOF";
      case "NUM":
      case "U32":
      case "U64":
      case "STRING":
        return t.kind === expected;
      case ";":
      case "{":
      case "}":
      case "[":
      case "]":
        return t.kind === "OP" && t.text === expected;
      default:
        return t.kind === "KW" && t.text === expected;
    }
  }

  #exp(expected: Expect): Token {
    const t = this.#s.next();
    this.#tok = t;
    if (!this.#matches(expected, t)) this.#fail(expected, t);
    return t;
  }

  /** Reads `version "vXX";` and (v09) `max-peers N;`. Returns [version, maxPeers]. */
  header(): [string, number] {
    this.#exp("version");
    const v = this.#exp("STRING").text;
    if (v !== this.#format) {
      this.#err(`dump is '${v}' you requested '${this.#format}'.\n`);
      throw new DumpParseError();
    }
    this.#exp(";");
    let maxPeers = 1;
    if (this.#format === "v09") {
      this.#exp("max-peers");
      maxPeers = Number(BigInt.asIntN(32, this.#exp("NUM").value));
      this.#exp(";");
    }
    return [v, maxPeers];
  }

  /** Parses everything after the header; `maxPeers` is the header's value. */
  body(version: string, maxPeers: number): ParsedDump {
    const peers = Array.from({ length: DRBD_NODE_ID_MAX }, () => ({
      bitmapIndex: -1,
      bitmapUuid: 0n,
      bitmapDagtag: 0n,
      flags: 0,
    }));
    const history: bigint[] = new Array(DRBD_NODE_ID_MAX).fill(0n);
    const r: ParsedDump = {
      version,
      maxPeers,
      nodeId: -1,
      currentUuid: 0n,
      flags: 0,
      peers,
      historyUuids: history,
      laSizeSect: 0n,
      bmBytePerBit: 4096,
      deviceUuid: 0n,
      laPeerMaxBioSize: 0,
      alStripes: 1,
      alStripeSize4k: 8,
      slots: [],
      data: this.#s.data,
    };
    const u64 = () => {
      const v = this.#exp("U64").value;
      this.#exp(";");
      return v;
    };
    const num = () => {
      const v = this.#exp("NUM").value;
      this.#exp(";");
      return v;
    };
    const i32 = (v: bigint) => Number(BigInt.asIntN(32, v));
    const u32 = (v: bigint) => Number(BigInt.asUintN(32, v));
    if (this.#format === "v08") {
      this.#exp("uuid");
      this.#exp("{");
      r.currentUuid = u64();
      peers[0].bitmapUuid = u64();
      history[0] = u64();
      history[1] = u64();
      this.#exp("flags");
      r.flags = u32(this.#exp("U32").value);
      this.#exp(";");
      this.#exp("}");
    } else {
      this.#exp("node-id");
      r.nodeId = i32(num());
      this.#exp("current-uuid");
      r.currentUuid = u64();
      this.#exp("flags");
      r.flags = u32(this.#exp("U32").value);
      this.#exp(";");
      const seen = new Set<number>();
      for (let i = 0; i < DRBD_NODE_ID_MAX; i++) {
        this.#exp("peer");
        this.#exp("[");
        const slot = i32(this.#exp("NUM").value);
        this.#exp("]");
        if (slot < 0 || slot >= DRBD_NODE_ID_MAX) {
          this.#err(`Parse error in line ${this.#s.line}: Slot ${slot} out of range\n`);
          throw new DumpParseError();
        }
        if (seen.has(slot)) {
          this.#err(
            `Parse error in line ${this.#s.line}: Peer slot ${slot} defined multiple times\n`,
          );
          throw new DumpParseError();
        }
        seen.add(slot);
        this.#exp("{");
        this.#exp("bitmap-index");
        peers[slot].bitmapIndex = i32(num());
        this.#exp("bitmap-uuid");
        peers[slot].bitmapUuid = u64();
        this.#exp("bitmap-dagtag");
        peers[slot].bitmapDagtag = u64();
        this.#exp("flags");
        peers[slot].flags = u32(this.#exp("U32").value);
        this.#exp(";");
        this.#exp("}");
      }
      this.#exp("history-uuids");
      this.#exp("{");
      for (let i = 0; i < DRBD_NODE_ID_MAX; i++) history[i] = u64();
      this.#exp("}");
    }
    this.#exp("la-size-sect");
    r.laSizeSect = num();
    this.#exp("bm-byte-per-bit");
    const bpb = num();
    if (bpb < 4096n || (bpb & (bpb - 1n)) !== 0n) {
      this.#err(
        "Invalid value for bm-byte-per-bit: value must be a power-of-two multiple of 4096\n",
      );
      throw new DumpParseError();
    }
    r.bmBytePerBit = u32(bpb);
    this.#exp("device-uuid");
    r.deviceUuid = u64();
    this.#exp("la-peer-max-bio-size");
    r.laPeerMaxBioSize = u32(num());
    this.#exp("al-stripes");
    r.alStripes = u32(num());
    this.#exp("al-stripe-size-4k");
    r.alStripeSize4k = u32(num());
    return r;
  }

  /**
   * Parses the bitmap blocks (recording where each starts) and the end of file. With `first`,
   * the words that fall into it (the on-disk interleaving of `slots` slots, from the start of
   * the bitmap) are decoded on the way, so a bitmap that fits needs no second pass.
   */
  bitmaps(r: ParsedDump, first?: Uint32Array): void {
    const n = this.#format === "v08" ? 1 : r.maxPeers;
    const cap = first?.length ?? 0;
    for (let s = 0; s < n; s++) {
      if (this.#format === "v08") this.#exp("bm");
      else {
        this.#exp("bitmap");
        this.#exp("[");
        const got = Number(BigInt.asIntN(32, this.#exp("NUM").value));
        this.#exp("]");
        if (got !== s) {
          this.#err(
            `Parse error in line ${this.#s.line}: Expected peer slot ${s} but found ${got}\n`,
          );
          throw new DumpParseError();
        }
      }
      this.#exp("{");
      const block: SlotBlock = { pos: this.#s.pos, line: this.#s.line, words: 0 };
      // position of this slot's next word in `first`
      let g = s + block.words * n;
      const put = (v: Token, times: number) => {
        let lo: number;
        let hi: number;
        if (v instanceof FastNumber) {
          lo = v.lo;
          hi = v.hi;
        } else {
          lo = Number(v.value & 0xffffffffn);
          hi = Number(v.value >> 32n);
        }
        if (lo === 0 && hi === 0) {
          g += 2 * times * n; // the buffer starts zeroed
          return;
        }
        for (let k = 0; k < times && g < cap; k++) {
          first![g] = lo;
          g += n;
          if (g < cap) first![g] = hi;
          g += n;
        }
      };
      for (;;) {
        const t = this.#s.next();
        if (t.kind === "U64") {
          if (g < cap) put(t, 1);
          this.#exp(";");
          block.words += 2;
        } else if (t.kind === "NUM") {
          // drbdmeta counts down an int to zero: a negative count runs about 2^32 times
          const times =
            (t instanceof FastNumber && t.hi === 0 ? t.lo : Number(t.value % 2n ** 32n)) >>>
            0;
          this.#exp("times");
          const v = this.#exp("U64");
          if (times > 0 && g < cap) put(v, times);
          this.#exp(";");
          block.words += 2 * times;
        } else if (t.kind === "OP" && t.text === "}") break;
        else {
          this.#fail("", t, "repeat count, 16-digit hex number, or closing brace (})");
        }
        g = s + block.words * n;
      }
      r.slots.push(block);
    }
    this.#exp("EOF");
  }

  /** Parses a whole dump. */
  parse(): ParsedDump {
    const [v, p] = this.header();
    const r = this.body(v, p);
    this.bitmaps(r);
    return r;
  }
}

/** Streams the u32 words of one slot's block, in order (low half of each value first). */
export class SlotWords {
  #s: DumpScanner;
  #lo = 0;
  #hi = 0;
  #left = 0;
  #odd = false;

  constructor(dump: ParsedDump, slot: number) {
    const b = dump.slots[slot];
    this.#s = new DumpScanner(dump.data, () => {}, b.pos, b.line);
  }

  #fetch(): void {
    while (this.#left === 0) {
      const t = this.#s.next();
      let v: Token;
      if (t.kind === "U64") {
        this.#s.next(); // ';'
        v = t;
        this.#left = 1;
      } else if (t.kind === "NUM") {
        const times = Number(t.value % 2n ** 32n);
        this.#s.next(); // times
        v = this.#s.next();
        this.#s.next(); // ';'
        this.#left = times;
      } else {
        // past the block's end (validated before): zero
        this.#lo = this.#hi = 0;
        this.#left = Infinity;
        continue;
      }
      if (v instanceof FastNumber) {
        this.#lo = v.lo;
        this.#hi = v.hi;
      } else {
        this.#lo = Number(v.value & 0xffffffffn);
        this.#hi = Number(v.value >> 32n);
      }
    }
    this.#left--;
  }

  /** The next u32 word: the low half of the next value, then its high half. */
  nextWord(): number {
    this.#odd = !this.#odd;
    if (this.#odd) {
      this.#fetch();
      return this.#lo;
    }
    return this.#hi;
  }
}
