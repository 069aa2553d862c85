/**
 * drbdmeta's command line: options parsed the way GNU getopt_long parses them (anywhere on
 * the line, unique prefixes, `--opt=value`), format arguments, the command table, and
 * dispatch, with drbdmeta 9.22's usage text, messages and exit codes.
 *
 * @module
 */
import { attachedDiskState } from "./attached.ts";
import { type Console, ExitError } from "../cli/io.ts";
import { MD_INDEX_FLEX_EXT, MD_INDEX_FLEX_INT, type MdFormat } from "./constants.ts";
import {
  applyAl,
  checkResize,
  createMd,
  dstate,
  dumpMd,
  forgetPeer,
  getGi,
  invalidate,
  outdate,
  readDevUuid,
  restoreMd,
  setGi,
  showGi,
  strtollUnit,
  wipeMd,
  writeDevUuid,
} from "./commands.ts";
import { defaultOptions, type MetaOptions, MetaSession } from "./session.ts";

interface MetaCommand {
  name: string;
  args?: string;
  run: (s: MetaSession, args: string[]) => number;
  showInUsage: boolean;
  nodeIdRequired: boolean;
  modifiesMd: boolean;
}

/** drbdmeta's command table, in drbd-utils' order (the usage text lists them so). */
export const COMMANDS: MetaCommand[] = [
  { name: "get-gi", run: getGi, showInUsage: true, nodeIdRequired: true, modifiesMd: false },
  { name: "show-gi", run: showGi, showInUsage: true, nodeIdRequired: true, modifiesMd: false },
  { name: "dump-md", run: dumpMd, showInUsage: true, nodeIdRequired: false, modifiesMd: false },
  {
    name: "restore-md",
    args: "file",
    run: (s, a) => restoreMd(s, a, false),
    showInUsage: true,
    nodeIdRequired: false,
    modifiesMd: true,
  },
  {
    name: "verify-dump",
    args: "file",
    run: (s, a) => restoreMd(s, a, true),
    showInUsage: true,
    nodeIdRequired: false,
    modifiesMd: false,
  },
  { name: "apply-al", run: applyAl, showInUsage: true, nodeIdRequired: false, modifiesMd: true },
  { name: "wipe-md", run: wipeMd, showInUsage: true, nodeIdRequired: false, modifiesMd: true },
  { name: "outdate", run: outdate, showInUsage: true, nodeIdRequired: false, modifiesMd: true },
  {
    name: "invalidate",
    run: invalidate,
    showInUsage: true,
    nodeIdRequired: false,
    modifiesMd: true,
  },
  { name: "dstate", run: dstate, showInUsage: true, nodeIdRequired: false, modifiesMd: false },
  {
    name: "read-dev-uuid",
    run: readDevUuid,
    showInUsage: false,
    nodeIdRequired: false,
    modifiesMd: false,
  },
  {
    name: "write-dev-uuid",
    args: "VAL",
    run: writeDevUuid,
    showInUsage: false,
    nodeIdRequired: false,
    modifiesMd: true,
  },
  {
    name: "set-gi",
    args: ":::VAL:VAL:...",
    run: setGi,
    showInUsage: false,
    nodeIdRequired: true,
    modifiesMd: true,
  },
  {
    name: "check-resize",
    run: checkResize,
    showInUsage: true,
    nodeIdRequired: false,
    modifiesMd: true,
  },
  {
    name: "create-md",
    args:
      "[--peer-max-bio-size {val}] [--al-stripes {val}] [--al-stripe-size-kB {val}] {max_peers}",
    run: createMd,
    showInUsage: true,
    nodeIdRequired: false,
    modifiesMd: true,
  },
  {
    name: "forget-peer",
    run: forgetPeer,
    showInUsage: true,
    nodeIdRequired: true,
    modifiesMd: true,
  },
];

interface OptSpec {
  long: string;
  short?: string;
  hasArg: boolean;
}

const OPTIONS: OptSpec[] = [
  { long: "ignore-sanity-checks", hasArg: false },
  { long: "dry-run", hasArg: false },
  { long: "force", short: "f", hasArg: false },
  { long: "verbose", short: "v", hasArg: false },
  { long: "peer-max-bio-size", short: "p", hasArg: true },
  { long: "node-id", short: "i", hasArg: true },
  { long: "al-stripes", short: "s", hasArg: true },
  { long: "al-stripe-size-kB", short: "z", hasArg: true },
  { long: "initialize-bitmap", short: "b", hasArg: true },
];

/** The usage text (stdout) drbdmeta prints for a malformed command line. */
export function usageText(progname: string): string {
  let t = `\nUSAGE: ${progname} [--force] DEVICE FORMAT [FORMAT ARGS...] COMMAND [CMD ARGS...]\n`;
  t += "\nFORMATS:\n  v06 minor\n  v07 device index\n  v08 device index\n  v09 device index\n";
  t += "\nCOMMANDS:\n";
  for (const c of COMMANDS) {
    if (!c.showInUsage) continue;
    t += `  ${c.name}${c.nodeIdRequired ? " --node-id {val}" : ""} ${c.args ?? ""}\n`;
  }
  return t;
}

class UsageError extends Error {}

/** getopt_long with argument permutation: returns options in order and the other arguments. */
function getopt(
  args: string[],
  progname: string,
  err: (t: string) => void,
): { opts: [OptSpec, string | undefined][]; rest: string[]; permuted: string[] } {
  const opts: [OptSpec, string | undefined][] = [];
  const rest: string[] = [];
  // getopt_long moves options (and their separate arguments) before the other arguments
  const optionWords: string[] = [];
  for (let k = 0; k < args.length; k++) {
    const a = args[k];
    if (a === "--") {
      optionWords.push(a);
      rest.push(...args.slice(k + 1));
      break;
    }
    const from = k;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const exact = OPTIONS.find((o) => o.long === name);
      const candidates = exact ? [exact] : OPTIONS.filter((o) => o.long.startsWith(name));
      // glibc names the whole argument, "=value" included, in these two messages
      if (candidates.length === 0) {
        err(`${progname}: unrecognized option '${a}'\n`);
        throw new UsageError();
      }
      if (candidates.length > 1) {
        err(
          `${progname}: option '${a}' is ambiguous; possibilities:${
            candidates.map((c) => ` '--${c.long}'`).join("")
          }\n`,
        );
        throw new UsageError();
      }
      const o = candidates[0];
      if (!o.hasArg) {
        if (eq >= 0) {
          err(`${progname}: option '--${o.long}' doesn't allow an argument\n`);
          throw new UsageError();
        }
        opts.push([o, undefined]);
      } else if (eq >= 0) opts.push([o, a.slice(eq + 1)]);
      else if (k + 1 < args.length) opts.push([o, args[++k]]);
      else {
        err(`${progname}: option '--${o.long}' requires an argument\n`);
        throw new UsageError();
      }
      optionWords.push(...args.slice(from, k + 1));
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const o = OPTIONS.find((x) => x.short === a[j]);
        if (!o) {
          err(`${progname}: invalid option -- '${a[j]}'\n`);
          throw new UsageError();
        }
        if (!o.hasArg) {
          opts.push([o, undefined]);
          continue;
        }
        if (j + 1 < a.length) opts.push([o, a.slice(j + 1)]);
        else if (k + 1 < args.length) opts.push([o, args[++k]]);
        else {
          err(`${progname}: option requires an argument -- '${a[j]}'\n`);
          throw new UsageError();
        }
        break;
      }
      optionWords.push(...args.slice(from, k + 1));
      continue;
    }
    rest.push(a);
  }
  return { opts, rest, permuted: [...optionWords, ...rest] };
}

function applyOption(
  o: OptSpec,
  value: string | undefined,
  opts: MetaOptions,
  die: (c: number, m?: string) => never,
): void {
  const s = { die };
  switch (o.long) {
    case "ignore-sanity-checks":
      opts.ignoreSanityChecks = true;
      break;
    case "dry-run":
      opts.dryRun = true;
      break;
    case "force":
      opts.force = true;
      break;
    case "verbose":
      opts.verbose++;
      break;
    case "peer-max-bio-size": {
      const v = BigInt.asIntN(64, strtollUnit(s, value!, 1));
      if (v < 0n || v > 1048576n) die(10, "peer-max-bio-size out of range (0...1M)\n");
      opts.peerMaxBioSize = Number(v);
      break;
    }
    case "node-id": {
      const v = BigInt.asIntN(64, strtollUnit(s, value!, 1));
      if (v < 0n || v > 31n) die(10, "node-id out of range (0...31)\n");
      opts.nodeId = Number(v);
      break;
    }
    case "al-stripes":
      opts.alStripes = Number(BigInt.asUintN(32, strtollUnit(s, value!, 1)));
      opts.alStripesUsed = true;
      break;
    case "al-stripe-size-kB":
      opts.alStripeSize4k = Number(BigInt.asUintN(32, strtollUnit(s, value!, "k") / 4n));
      opts.alStripesUsed = true;
      break;
    case "initialize-bitmap": {
      const modes = ["automatic", "zeroout", "pwrite", "skip"] as const;
      const m = modes.find((x) => x === value);
      if (!m) {
        die(
          10,
          `invalid initialize-bitmap-mode "${value}", should be one of ${modes.join("|")}\n`,
        );
      }
      opts.initializeBitmap = m;
      break;
    }
  }
}

/**
 * Format v06 (DRBD 0.6) keeps its metadata in /var/lib/drbd/drbd<MINOR>. udrbd does not read
 * it; where the file is missing it fails as drbdmeta does, otherwise it says it cannot help.
 */
function v06(rest: string[], io: Console, die: (code: number, message?: string) => never): number {
  if (rest.length < 3) die(20, "Too few arguments for format\n");
  if (!/^\d+$/.test(rest[2])) die(20, `'${rest[2]}' is not a valid minor number.\n`);
  if (rest.length < 4) die(20, "command missing\n");
  const cmd = COMMANDS.find((c) => c.name === rest[3]);
  if (!cmd) die(20, `Unknown command '${rest[3]}'.\n`);
  const path = `/var/lib/drbd/drbd${Number(rest[2])}`;
  try {
    Deno.statSync(path);
  } catch {
    io.err(`open(${path}) failed: No such file or directory\n`);
    if (["dump-md", "dstate", "apply-al"].includes(cmd!.name)) {
      io.err("No valid meta data found\n");
    }
    return 1;
  }
  die(20, `${path}: udrbd does not read v06 (DRBD 0.6) metadata; convert it with drbd-utils\n`);
}

/** The minor a DEVICE argument names ("1", "/dev/drbd1"); −1 for "-". */
export function minorOf(device: string): number {
  if (device === "-") return -1;
  const m = /^(?:\/dev\/drbd)?(\d+)$/.exec(device);
  return m ? Number(m[1]) : 0;
}

/** Runs drbdmeta with `args` (everything after the program name); returns the exit code. */
export function drbdmetaMain(args: string[], io: Console, options: { progname: string }): number {
  const progname = options.progname;
  const die = (code: number, message?: string): never => {
    if (message) io.err(message);
    throw new ExitError(code);
  };
  try {
    if (args.length < 3) {
      io.out(usageText(progname));
      return 20;
    }
    let parsed;
    try {
      parsed = getopt(args, progname, (t) => io.err(t));
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      io.out(usageText(progname));
      return 20;
    }
    const opts = defaultOptions();
    for (const [o, v] of parsed.opts) applyOption(o, v, opts, die);
    const rest = parsed.rest;
    if (rest.length < 1) {
      io.out(usageText(progname));
      return 20;
    }
    const device = rest[0];
    if (rest.length < 2) die(20, "Format identifier missing\n");
    const fmt = rest[1];
    if (!["v06", "v07", "v08", "v09"].includes(fmt)) die(20, `Unknown format '${fmt}'.\n`);
    if (fmt === "v06") return v06(rest, io, die);
    if (rest.length < 4) die(20, "Too few arguments for format\n");
    const mdDevice = rest[2];
    const indexArg = rest[3];
    let index: number;
    if (indexArg === "internal" || indexArg === "flex-internal") index = MD_INDEX_FLEX_INT;
    else if (indexArg === "flex-external") index = MD_INDEX_FLEX_EXT;
    else {
      const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(indexArg);
      const v = m
        ? (m[1] === "-" ? -1 : 1) *
          Number(
            m[2].startsWith("0") && m[2].length > 1 && !/^0[xX]/.test(m[2])
              ? parseInt(m[2], 8)
              : Number(m[2]),
          )
        : NaN;
      if (!m || !(v >= 0 && v <= 255)) die(20, `'${indexArg}' is not a valid index number.\n`);
      index = v;
    }
    if (fmt === "v07") {
      die(20, "udrbd reads and writes v08 and v09 metadata; v07 (DRBD 0.7) is not supported\n");
    }
    if (rest.length < 5) die(20, "command missing\n");
    const command = COMMANDS.find((c) => c.name === rest[4]);
    if (!command) die(20, `Unknown command '${rest[4]}'.\n`);
    const cmd = command!;
    const attached = attachedDiskState(minorOf(device)) !== undefined;
    if (attached && cmd.modifiesMd) die(20, `Device '${device}' is configured!\n`);
    if (opts.peerMaxBioSize && cmd.name !== "create-md") {
      die(10, "The --peer-max-bio-size option is only allowed with create-md\n");
    }
    if (opts.alStripesUsed && cmd.name !== "create-md" && cmd.name !== "restore-md") {
      die(10, "The --al-stripe* options are only allowed with create-md and restore-md\n");
    }
    const stripeBlocks = opts.alStripes * opts.alStripeSize4k;
    if (stripeBlocks > 8192) die(10, "invalid (too large) al-stripe* settings\n");
    if (stripeBlocks < 8) die(10, "invalid (too small) al-stripe* settings\n");
    if (opts.nodeId !== -1 && !cmd.nodeIdRequired) {
      die(10, `The ${cmd.name} command does not accept the --node-id option\n`);
    }
    const format = fmt as MdFormat;
    if (format !== "v09" && cmd.nodeIdRequired) {
      if (opts.nodeId === -1) opts.nodeId = 0;
      // drbdmeta says so but keeps the given id (peer slots other than 0 read as zero)
      else if (opts.nodeId !== 0) io.err("Not v09, implicitly set --node-id = 0\n");
    }
    if (opts.nodeId === -1 && cmd.nodeIdRequired) {
      die(10, `The ${cmd.name} command requires the --node-id option\n`);
    }
    const session = new MetaSession({
      io,
      opts,
      format,
      devPath: mdDevice,
      index,
      minor: minorOf(device),
      progname,
      argv: [progname, ...parsed.permuted],
    });
    session.isApplyAl = cmd.name === "apply-al";
    try {
      const rv = cmd.run(session, rest.slice(5));
      if (attached) {
        io.err(`# Output might be stale, since minor ${minorOf(device)} is attached\n`);
      }
      return rv ? 1 : 0;
    } finally {
      session.dev?.close();
    }
  } catch (e) {
    if (e instanceof ExitError) return e.code;
    throw e;
  }
}
