/**
 * Helpers for comparing udrbd's drbdmeta with the real drbdmeta of drbd-utils 9.22: running both
 * tools, normalizing their output, and comparing metadata bytes region by region.
 *
 * Every case runs twice on the same absolute paths (the real tool first, then ours after the
 * inputs were rebuilt), so that paths in messages and in the last-known-location files agree.
 *
 * @module
 */
import { run } from "../../mod.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { exists } from "../../lib/util/fs.ts";

/** The real drbdmeta (drbd-utils 9.22). */
export const REAL = "/usr/sbin/drbdmeta";
/**
 * The minor the cases use. drbdmeta keeps a lock and a last-known-location file per minor, so
 * each test process takes its own (from its pid) and concurrent runs do not see each other's.
 */
export const MINOR = String(100 + (Deno.pid % 900));
/** Where drbdmeta keeps the last known size and location of internal metadata for MINOR. */
export const LKBD = `/var/lib/drbd/drbd-minor-${MINOR}.lkbd`;
/** mod.ts, for running our drbdmeta as a subprocess. */
export const MOD = new URL("../../mod.ts", import.meta.url).pathname;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** What a tool run left behind: exit code and the texts it printed. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether the real drbdmeta is installed. */
export const HAVE_REAL = exists(REAL);

function commandWorks(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null", stdin: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether loop devices can be used (root, losetup, a free loop device). */
export const HAVE_LOOP = HAVE_REAL && Deno.uid() === 0 && commandWorks("losetup", ["-f"]);

/** Whether a program is on PATH. */
export function have(program: string): boolean {
  return commandWorks("sh", ["-c", `command -v ${program}`]);
}

const decoder = new TextDecoder();
const latin1 = new TextDecoder("latin1");
const encoder = new TextEncoder();

/**
 * Output as a "byte string" (one char per byte), so that what the tools write is compared byte
 * for byte: the real tool's raw bytes, and ours as the UTF-8 its console would write.
 */
function bytesToText(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** Runs the real drbdmeta with stdin not a terminal (so every confirmation is declined). */
export async function runReal(args: string[]): Promise<Outcome> {
  const out = await new Deno.Command(REAL, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C" },
  }).output();
  return { code: out.code, stdout: bytesToText(out.stdout), stderr: bytesToText(out.stderr) };
}

/** Runs our drbdmeta in-process, stdin not a terminal; an exception becomes exit code -1. */
export async function runOurs(args: string[]): Promise<Outcome> {
  const io = new MemoryConsole({ terminal: false });
  let code: number;
  try {
    code = await run("udrbd", ["drbdmeta", ...args], io);
  } catch (e) {
    code = -1;
    io.err(`[udrbd threw] ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  }
  return {
    code,
    stdout: bytesToText(encoder.encode(io.stdout)),
    stderr: bytesToText(encoder.encode(io.stderr)),
  };
}

/** Runs our drbdmeta as the user does: `deno run -A mod.ts drbdmeta ARGS`, stdin not a TTY. */
export async function runOursCli(args: string[]): Promise<Outcome> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, "drbdmeta", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LC_ALL: "C", NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: bytesToText(out.stdout), stderr: bytesToText(out.stderr) };
}

/** Runs any program; throws with its stderr if it fails (for test set-up only). */
export async function sh(cmd: string, args: string[], options: { ok?: boolean } = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const res = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  if ((options.ok ?? true) && out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${res.stderr}`);
  }
  return res;
}

const NOISE = [
  /^ioctl\(md_fd, BLKSSZGET\) returned -1, assuming hard_sect_size is 512 Byte$/,
  /^could not open with O_DIRECT, retrying without$/,
  // BLKZEROOUT is a block-device ioctl: on regular files it fails and drbdmeta falls back
  /^ioctl\(.*, BLKZEROOUT, \[\d+, \d+\]\) failed: Inappropriate ioctl for device$/,
  /^initializing bitmap \(.*\) to all zero using pwrite$/,
];

/** stderr without the environment noise lines that depend on the kind of file (§6 noise). */
export function filterNoise(stderr: string): string {
  return stderr.split("\n").filter((l) => !NOISE.some((re) => re.test(l))).join("\n");
}

/** stdout without the three dump-md header lines (title, date, "host> command"), wherever they are. */
export function stripDumpHeader(stdout: string): string {
  const lines = stdout.split("\n");
  const i = lines.indexOf("# DRBD meta data dump");
  if (i < 0) return stdout;
  return [...lines.slice(0, i), ...lines.slice(i + 3)].join("\n");
}

/** A unified diff of two texts (via diff -u), cut to `maxLines` lines. */
export async function unifiedDiff(
  real: string,
  ours: string,
  maxLines = 40,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-diff-" });
  try {
    await Deno.writeTextFile(`${dir}/real`, real);
    await Deno.writeTextFile(`${dir}/ours`, ours);
    const out = await new Deno.Command("diff", {
      args: ["-u", "--label", "real drbdmeta", "--label", "udrbd drbdmeta", "real", "ours"],
      cwd: dir,
      stdout: "piped",
      stderr: "null",
    }).output();
    const lines = decoder.decode(out.stdout).split("\n");
    const cut = lines.length > maxLines
      ? [...lines.slice(0, maxLines), `... (${lines.length - maxLines} more diff lines)`]
      : lines;
    return cut.join("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A byte range [start, end) of a file. */
export type Region = [number, number];

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function readAt(file: Deno.FsFile, buf: Uint8Array, pos: number): number {
  file.seekSync(pos, Deno.SeekMode.Start);
  let got = 0;
  while (got < buf.length) {
    const n = file.readSync(buf.subarray(got));
    if (n === null || n === 0) break;
    got += n;
  }
  return got;
}

/** The size of a file or block device in bytes. */
export function sizeOf(path: string): number {
  const f = Deno.openSync(path, { read: true });
  try {
    return f.seekSync(0, Deno.SeekMode.End);
  } finally {
    f.close();
  }
}

/** Names the metadata part that holds `off`, given where the regions begin (for messages). */
export type Locator = (off: number) => string;

/** Whether the first `len` bytes of two buffers are equal (word-wise, for speed). */
function sameBytes(a: Uint8Array, b: Uint8Array, len: number): boolean {
  const words = len >>> 2;
  const wa = new Uint32Array(a.buffer, a.byteOffset, words);
  const wb = new Uint32Array(b.buffer, b.byteOffset, words);
  for (let i = 0; i < words; i++) if (wa[i] !== wb[i]) return false;
  for (let i = words << 2; i < len; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Compares two files over `regions` (whole files when omitted); returns "" when equal, else a
 * message naming the first differing byte offset, how many bytes differ and both bytes' context.
 */
export function compareBytes(
  realPath: string,
  oursPath: string,
  regions?: Region[],
  locate?: Locator,
): string {
  const realSize = sizeOf(realPath);
  const oursSize = sizeOf(oursPath);
  const msgs: string[] = [];
  if (realSize !== oursSize) msgs.push(`size: real ${realSize} bytes, ours ${oursSize} bytes`);
  const size = Math.min(realSize, oursSize);
  const rs = regions ?? [[0, size]];
  const a = Deno.openSync(realPath, { read: true });
  const b = Deno.openSync(oursPath, { read: true });
  try {
    const chunk = 4 * MiB;
    const ba = new Uint8Array(chunk);
    const bb = new Uint8Array(chunk);
    let first = -1;
    let count = 0;
    let ctx = "";
    for (const [s0, e0] of rs) {
      const s = Math.max(0, s0);
      const e = Math.min(size, e0);
      for (let pos = s; pos < e; pos += chunk) {
        const len = Math.min(chunk, e - pos);
        readAt(a, ba.subarray(0, len), pos);
        readAt(b, bb.subarray(0, len), pos);
        if (sameBytes(ba, bb, len)) continue;
        for (let i = 0; i < len; i++) {
          if (ba[i] !== bb[i]) {
            if (first < 0) {
              first = pos + i;
              const c0 = i - (i % 16);
              const c1 = Math.min(len, c0 + 32);
              ctx = `\n  real @${pos + c0}: ${hex(ba.subarray(c0, c1))}` +
                `\n  ours @${pos + c0}: ${hex(bb.subarray(c0, c1))}`;
            }
            count++;
          }
        }
      }
    }
    if (first >= 0) {
      const where = locate ? ` (${locate(first)})` : "";
      msgs.push(
        `first differing byte at offset ${first} (0x${first.toString(16)})${where}; ` +
          `${count} bytes differ${ctx}`,
      );
    }
  } finally {
    a.close();
    b.close();
  }
  return msgs.join("\n");
}

/** A fingerprint of a file's regions (whole file when omitted) and its size, hex. */
export function hashFile(path: string, regions?: Region[]): string {
  const size = sizeOf(path);
  const rs = regions ?? [[0, size]];
  let h1 = 0x811C9DC5;
  let h2 = 0x01000193;
  const f = Deno.openSync(path, { read: true });
  try {
    const buf = new Uint8Array(4 * MiB);
    const words = new Uint32Array(buf.buffer);
    for (const [s0, e0] of rs) {
      const s = Math.max(0, s0);
      const e = Math.min(size, e0);
      for (let pos = s; pos < e; pos += buf.length) {
        const len = Math.min(buf.length, e - pos);
        buf.fill(0);
        readAt(f, buf.subarray(0, len), pos);
        const n = (len + 3) >>> 2;
        for (let i = 0; i < n; i++) {
          h1 = Math.imul(h1 ^ words[i], 0x9E3779B1);
          h2 = Math.imul(h2 + words[i], 0x85EBCA77) ^ (h1 >>> 15);
        }
      }
    }
  } finally {
    f.close();
  }
  return `${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16)}:${size}`;
}

/** Writes `bytes` at `pos` of an existing file (or block device). */
export function writeAt(path: string, pos: number, bytes: Uint8Array): void {
  const f = Deno.openSync(path, { read: true, write: true });
  try {
    f.seekSync(pos, Deno.SeekMode.Start);
    let off = 0;
    while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
  } finally {
    f.close();
  }
}

/** Reads `len` bytes at `pos` of a file (short at end of file). */
export function readBytes(path: string, pos: number, len: number): Uint8Array {
  const f = Deno.openSync(path, { read: true });
  try {
    const buf = new Uint8Array(len);
    const n = readAt(f, buf, pos);
    return buf.subarray(0, n);
  } finally {
    f.close();
  }
}

/** Creates (or resizes) a sparse file of `size` bytes. */
export function makeSparse(path: string, size: number): void {
  const f = Deno.openSync(path, { create: true, write: true });
  try {
    f.truncateSync(size);
  } finally {
    f.close();
  }
}

/** The last-known-location files of MINOR and of minor "-" (which drbdmeta names -1). */
export const LKBD_FILES = [LKBD, "/var/lib/drbd/drbd-minor--1.lkbd"];

/** The contents of the last-known-location files (null: absent). */
export type LkbdState = (string | null)[];

/** Removes the last-known-location files (both tools read and write them). */
export function clearLkbd(): void {
  for (const f of LKBD_FILES) {
    try {
      Deno.removeSync(f);
    } catch {
      // absent is what we want
    }
  }
}

/** Puts the last-known-location files into a state read by `readLkbd`. */
export function writeLkbd(state: LkbdState): void {
  LKBD_FILES.forEach((f, i) => {
    const content = state[i];
    if (content === null) {
      try {
        Deno.removeSync(f);
      } catch {
        // absent
      }
    } else {
      Deno.writeTextFileSync(f, content);
    }
  });
}

/** The contents of the last-known-location files. */
export function readLkbd(): LkbdState {
  return LKBD_FILES.map((f) => {
    try {
      return Deno.readTextFileSync(f);
    } catch {
      return null;
    }
  });
}

/** A small deterministic PRNG (mulberry32) so that random patterns repeat on both sides. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
