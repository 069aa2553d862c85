/**
 * Runs one compatibility case with the real drbdmeta and with ours, on identical inputs at
 * identical paths, and lists every difference a user could notice: exit codes, stdout (dump
 * headers dropped), stderr (environment noise dropped), metadata bytes, last-known-location file.
 *
 * @module
 */
import {
  clearLkbd,
  compareBytes,
  filterNoise,
  hashFile,
  KiB,
  LKBD_FILES,
  MiB,
  MINOR,
  type Outcome,
  readLkbd,
  type Region,
  runOurs,
  runOursCli,
  runReal,
  sizeOf,
  stripDumpHeader,
  unifiedDiff,
  writeLkbd,
} from "./util.ts";
import { internalMdOffset, locator, readSuperblock, type Superblock } from "./md_format.ts";
import { exists } from "../../lib/util/fs.ts";

/** A file of the case to compare after the steps. */
export interface FileSpec {
  name: string;
  /** Byte ranges to compare; default: whole file up to 64 MiB, else head + metadata tail. */
  regions?: Region[];
  /** Where the superblock is, for naming the part that differs (default: internal). */
  mdOffset?: number;
}

/** One compatibility case. */
export interface Case {
  name: string;
  /** Builds the inputs in `dir` (once; the second tool gets a copy). */
  setup: (dir: string) => Promise<void> | void;
  /** The drbdmeta command lines to run, in order, on the files in `dir`. */
  steps: (dir: string) => string[][];
  /** Files to compare afterwards (default: `dev`). */
  files?: (dir: string) => FileSpec[];
  /** Read-only commands each tool runs on the other's result (default: none). */
  cross?: (dir: string) => string[][];
  /** The inputs must come out unchanged (bad input). */
  unchanged?: boolean;
  /** Compare the last-known-location file too. */
  lkbd?: boolean;
  /** Compare stderr including the environment noise lines. */
  rawStderr?: boolean;
  /** Use this minor instead of MINOR in the steps ("-" skips drbdmeta's lock and attach check). */
  minor?: string;
  /** Run ours as a subprocess (`deno run -A mod.ts drbdmeta`) instead of in-process. */
  cli?: boolean;
  /** Where udrbd deliberately differs from drbdmeta 9.22 (README lists these). */
  deviation?: Deviation;
}

/** What both tools did, for checking a deliberate deviation. */
export interface DeviationContext {
  /** Folder with the files as udrbd left them. */
  dir: string;
  /** Folder with the inputs as they were before either tool ran. */
  pristine: string;
  real: Outcome[];
  ours: Outcome[];
  /** For device cases: whether udrbd changed the device. */
  deviceChanged?: boolean;
}

/**
 * A deliberate difference from drbdmeta 9.22: differences matching `expected` are not failures;
 * `check` proves what udrbd does instead (any other difference still fails).
 */
export interface Deviation {
  why: string;
  expected: RegExp[];
  check: (ctx: DeviationContext) => string[] | Promise<string[]>;
}

/** Applies a case's deviation to its list of differences. */
export async function applyDeviation(
  deviation: Deviation | undefined,
  diffs: string[],
  ctx: DeviationContext,
): Promise<string[]> {
  if (!deviation) return diffs;
  const rest = diffs.filter((d) => !deviation.expected.some((re) => re.test(d)));
  const problems = (await deviation.check(ctx)).map((p) => `${p} (udrbd: ${deviation.why})`);
  return [...rest, ...problems];
}

function findSb(path: string, mdOffset?: number): Superblock | null {
  if (!exists(path)) return null;
  const size = sizeOf(path);
  if (mdOffset !== undefined) return readSuperblock(path, mdOffset);
  if (size < 8192) return null;
  return readSuperblock(path, internalMdOffset(size));
}

/** Default regions: whole file when small, else the first MiB and the metadata tail. */
function autoRegions(paths: string[], spec: FileSpec): Region[] | undefined {
  if (spec.regions) return spec.regions;
  const size = Math.max(...paths.filter(exists).map(sizeOf));
  if (size <= 64 * MiB) return undefined;
  const regions: Region[] = [[0, MiB]];
  let tail = size - 4 * MiB;
  for (const p of paths) {
    const sb = findSb(p, spec.mdOffset);
    if (sb && sb.bmOffset < 0) {
      const start = sb.mdOffset + Math.min(sb.bmOffset, sb.alOffset) * 512 - 64 * KiB;
      tail = Math.min(tail, Math.max(0, start));
    }
  }
  regions.push([tail, size]);
  return regions;
}

/** Copies a directory tree keeping holes (sparse multi-TiB files copy in milliseconds). */
async function copyTree(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", {
    args: ["-a", "--sparse=always", from, to],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`cp ${from} ${to}: ${new TextDecoder().decode(out.stderr)}`);
}

function shorten(text: string, root: string): string {
  return text.replaceAll(root, "$T");
}

/** Lists the differences between the real tool's and our outcome of one command. */
export async function compareOutcome(
  label: string,
  real: Outcome,
  ours: Outcome,
  options: { rawStderr?: boolean } = {},
): Promise<string[]> {
  const diffs: string[] = [];
  if (real.code >= 128) {
    // the real drbdmeta died on a signal (an ASSERT): nothing to copy, but ours must not crash;
    // the byte comparison still shows whether ours wrote where the real tool wrote nothing
    if (ours.code === -1) {
      diffs.push(`${label}: real drbdmeta aborted (${real.code}); ours exited ${ours.code}`);
    }
    return diffs;
  }
  if (real.code !== ours.code) {
    diffs.push(`${label}: exit code: real ${real.code}, ours ${ours.code}`);
  }
  const ro = stripDumpHeader(real.stdout);
  const oo = stripDumpHeader(ours.stdout);
  if (ro !== oo) diffs.push(`${label}: stdout differs:\n${await unifiedDiff(ro, oo)}`);
  const re = options.rawStderr ? real.stderr : filterNoise(real.stderr);
  const oe = options.rawStderr ? ours.stderr : filterNoise(ours.stderr);
  if (re !== oe) diffs.push(`${label}: stderr differs:\n${await unifiedDiff(re, oe)}`);
  return diffs;
}

function mapOutcome(o: Outcome, from: string, to: string): Outcome {
  return { ...o, stdout: o.stdout.replaceAll(from, to), stderr: o.stderr.replaceAll(from, to) };
}

/** Runs a case with both tools; resolves to the list of differences (empty = compatible). */
export async function runCase(c: Case): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "udrbd-compat-" });
  const work = `${root}/w`;
  const realDir = `${root}/real`;
  const pristine = `${root}/pristine`;
  const diffs: string[] = [];
  try {
    await Deno.mkdir(work);
    clearLkbd();
    await c.setup(work);
    // the inputs are built once and copied (holes kept) for the second tool
    await copyTree(work, pristine);
    const setupLkbd = readLkbd();
    const mapArgs = (a: string[]) => {
      const i = a.indexOf(MINOR);
      return c.minor && i >= 0 ? [...a.slice(0, i), c.minor, ...a.slice(i + 1)] : a;
    };
    const steps = c.steps(work).map(mapArgs);
    const realOut: Outcome[] = [];
    for (const s of steps) realOut.push(await runReal(s));
    const realLkbd = readLkbd();
    const files: FileSpec[] = (c.files ?? (() => [{ name: "dev" }]))(work);
    const before = new Map<string, string>();
    await Deno.rename(work, realDir);

    await copyTree(pristine, work);
    writeLkbd(setupLkbd);
    if (c.unchanged) {
      for (const f of files) {
        const p = `${work}/${f.name}`;
        if (exists(p)) before.set(f.name, hashFile(p, autoRegions([p], f)));
      }
    }
    const oursOut: Outcome[] = [];
    for (const s of steps) oursOut.push(await (c.cli ? runOursCli(s) : runOurs(s)));
    const oursLkbd = readLkbd();

    for (let i = 0; i < steps.length; i++) {
      const label = `step ${i + 1} \`drbdmeta ${shorten(steps[i].join(" "), root)}\``;
      diffs.push(
        ...(await compareOutcome(label, realOut[i], oursOut[i], c)).map((d) => shorten(d, root)),
      );
    }
    for (const f of files) {
      const rp = `${realDir}/${f.name}`;
      const op = `${work}/${f.name}`;
      if (!exists(rp) || !exists(op)) {
        if (exists(rp) !== exists(op)) {
          diffs.push(`file ${f.name}: exists after real: ${exists(rp)}, after ours: ${exists(op)}`);
        }
        continue;
      }
      const regions = autoRegions([rp, op], f);
      const msg = compareBytes(rp, op, regions, locator(findSb(rp, f.mdOffset)));
      if (msg) diffs.push(`file ${f.name} bytes differ: ${msg}`);
      if (c.unchanged && before.has(f.name)) {
        const realAfter = hashFile(rp, autoRegions([rp], f));
        const oursAfter = hashFile(op, autoRegions([op], f));
        if (realAfter === before.get(f.name) && oursAfter !== before.get(f.name)) {
          diffs.push(`file ${f.name}: ours modified it, the real drbdmeta leaves it unchanged`);
        }
      }
    }
    // only this process's minor: the file of minor "-" is shared with every other drbdmeta run
    if (c.lkbd && realLkbd[0] !== oursLkbd[0]) {
      diffs.push(
        `last-known-location file ${LKBD_FILES[0]}: real ${JSON.stringify(realLkbd[0])}, ours ${
          JSON.stringify(oursLkbd[0])
        }`,
      );
    }
    diffs.splice(
      0,
      diffs.length,
      ...(await applyDeviation(c.deviation, diffs, {
        dir: work,
        pristine,
        real: realOut,
        ours: oursOut,
      })).map((d) => shorten(d, root)),
    );
    for (const x of (c.cross?.(work) ?? []).map(mapArgs)) {
      const toReal = x.map((a) => a.replaceAll(work, realDir));
      const ref = mapOutcome(await runReal(toReal), realDir, work);
      const realOnOurs = await runReal(x);
      const oursOnReal = mapOutcome(await runOurs(toReal), realDir, work);
      const what = shorten(x.join(" "), root);
      diffs.push(
        ...(await compareOutcome(
          `real drbdmeta reading udrbd's result: \`drbdmeta ${what}\``,
          ref,
          realOnOurs,
        )).map((d) => shorten(d, root)),
        ...(await compareOutcome(
          `udrbd reading real drbdmeta's result: \`drbdmeta ${what}\``,
          ref,
          oursOnReal,
        )).map((d) => shorten(d, root)),
      );
    }
  } finally {
    clearLkbd();
    await Deno.remove(root, { recursive: true });
  }
  return diffs;
}

/** Fails with every difference of a case listed. */
export function report(name: string, diffs: string[]): void {
  if (diffs.length) {
    const e = new Error(
      `${name}: ${diffs.length} difference(s) from drbdmeta 9.22\n\n${diffs.join("\n\n")}`,
    );
    e.stack = `Error: ${e.message}`; // the differences are the story, not the harness
    throw e;
  }
}
