/**
 * `drbdadm`: the administration tool of DRBD, with drbd-utils 9.22's command line, usage texts,
 * messages and exit codes. This module parses the command line; lib/adm does the work.
 *
 * @module
 */
import type { Console } from "../lib/cli/io.ts";
import { allLongOptions, findCommand, SHORT_OPTIONS } from "../lib/adm/commands.ts";
import type { Action, AdmCommand } from "../lib/adm/commands.ts";
import { scanOptions } from "../lib/adm/getopt.ts";
import { type AdmInvocation, defaultRunner, runAdm, type RunOptions } from "../lib/adm/run.ts";
import { hiddenCommandsText, usageText, versionText } from "../lib/adm/usage.ts";
import { CONTEXTS } from "../lib/adm/commands.ts";

const PROGNAME = "drbdadm";

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

function isReadable(path: string): boolean {
  try {
    Deno.openSync(path, { read: true }).close();
    return true;
  } catch {
    return false;
  }
}

/** Commands drbdadm still accepts under an old name, with the name that replaced them. */
const DEPRECATED: Record<string, string> = { state: "role", "outdate-peer": "fence-peer" };

/**
 * Runs drbdadm with `args` (everything after the tool name); resolves to the exit code once
 * every step has run. `options` lets tests and the daemon's callers supply the node name, the
 * terminal state and the step runners (`setupRunner` for drbdsetup steps only).
 */
export async function main(
  args: string[],
  io: Console,
  options: RunOptions = {},
): Promise<number> {
  const inv = parseCommandLine(args, io);
  if (typeof inv === "number") return inv;
  let runner = options.runner;
  // adjust asks the node what runs (`drbdsetup show`) even in a dry run
  const queries = inv.command.action === "adjust";
  if (!runner && (!inv.dryRun || queries) && !NO_STEPS.has(inv.command.action)) {
    // drbdmeta is loaded only when a step may run it: dumps and queries start faster
    const drbdmetaMain = inv.dryRun ? undefined : (await import("../lib/meta/cli.ts")).drbdmetaMain;
    let setupRunner = options.setupRunner;
    if (!setupRunner) {
      // drbdsetup steps run in-process against the node daemon, started on demand
      const { drbdsetupMain } = await import("../lib/setup/main.ts");
      setupRunner = (argv, stepIo) => drbdsetupMain(argv.slice(1), stepIo);
    }
    runner = defaultRunner(inv.drbdmeta, drbdmetaMain, setupRunner);
  }
  return await runAdm(inv, io, { ...options, runner });
}

/** Actions that never run a step. */
const NO_STEPS = new Set<Action>([
  "dump",
  "hidden",
  "sh-nop",
  "sh-resources",
  "sh-resource",
  "sh-mod-parms",
  "sh-dev",
  "sh-udev",
  "sh-minor",
  "sh-ll-dev",
  "sh-md-dev",
  "sh-md-idx",
  "sh-ip",
  "sh-lr-of",
]);

/**
 * Parses drbdadm's command line as drbd-utils 9.22 does; returns the invocation, or the exit
 * code when the command line was handled already (usage, version, errors).
 */
export function parseCommandLine(args: string[], io: Console): AdmInvocation | number {
  // the long-option table (every command's options) is built only when a long option is given
  const long = args.some((a) => a.startsWith("--")) ? allLongOptions() : [];
  const scan = scanOptions(args, SHORT_OPTIONS, long, PROGNAME);
  const backend: string[] = [];
  const checked: string[] = [];
  let help = false;
  const inv: Omit<AdmInvocation, "command"> = {
    progname: PROGNAME,
    resources: [],
    dryRun: false,
    verbose: 0,
    stacked: false,
    drbdsetup: "drbdsetup",
    drbdmeta: "drbdmeta",
    drbdProxyCtl: "drbd-proxy-ctl",
    backendOptions: [],
  };
  for (const o of scan.options) {
    const v = o.value ?? "";
    switch (o.key) {
      case "":
        checked.push(o.value === undefined ? `--${o.long}` : `--${o.long}=${o.value}`);
        break;
      case "S":
        inv.stacked = true;
        break;
      case "v":
        inv.verbose++;
        break;
      case "d":
        inv.dryRun = true;
        break;
      case "c":
        if (v !== "-" && !isReadable(v)) {
          io.err(`Can not open '${v}'.\n.`);
          return 20;
        }
        inv.configFile = v;
        break;
      case "t":
        inv.configToTest = v;
        break;
      case "E":
        (inv.configToExclude ??= []).push(v!);
        break;
      case "s":
      case "m":
      case "p":
        if (!isExecutable(v)) {
          io.err("Can not find command (drbdsetup/drbdmeta)\n");
          return 20;
        }
        if (o.key === "s") inv.drbdsetup = v;
        if (o.key === "m") inv.drbdmeta = v;
        if (o.key === "p") inv.drbdProxyCtl = v;
        break;
      case "n":
        if (/^[A-Za-z0-9_]*$/.test(v)) inv.shVarname = v;
        else {
          io.err(
            `ignored --sh-varname=${v}: contains suspect characters, allowed set is [a-zA-Z0-9_]\n`,
          );
        }
        break;
      case "V":
        io.out(versionText());
        return 0;
      case "W":
        backend.push(v);
        break;
      case "h":
        help = true;
        break;
    }
  }
  if (scan.error) {
    io.err(scan.error);
    io.err(`try '${PROGNAME} help'\n`);
    return 1;
  }

  let cmd: AdmCommand | undefined;
  for (let name of scan.operands) {
    if (cmd) {
      if (name === "") {
        io.err("Resource name is empty.\n");
        return 1;
      }
      // deno-lint-ignore no-control-regex
      if (/[\x00-\x1f\x7f]/.test(name)) {
        io.err("Resource name is invalid - please don't use control characters.\n");
        return 1;
      }
      inv.resources.push(name);
    } else if (name === "help") help = true;
    else {
      if (name === "hidden-commands") {
        io.out(hiddenCommandsText());
        return 0;
      }
      if (name in DEPRECATED) {
        io.err(
          `'${PROGNAME} ${name}' is deprecated, use '${PROGNAME} ${DEPRECATED[name]}' instead.\n`,
        );
        name = DEPRECATED[name];
      }
      cmd = findCommand(name);
      if (!cmd) backend.push(name);
    }
  }

  if (help) {
    io.out(usageText(PROGNAME, cmd));
    return cmd ? 0 : 1;
  }
  if (!cmd) {
    if (scan.operands.length > 0) {
      io.err(`${PROGNAME}: Unknown command '${scan.operands[0]}'\n`);
      return 1;
    }
    io.out(usageText(PROGNAME, undefined, "No command specified"));
    return 1;
  }

  if (cmd.context !== "wildcard") {
    const fields = cmd.context ? CONTEXTS[cmd.context].map((f) => f.name) : [];
    for (const o of checked) {
      const eq = o.indexOf("=");
      const name = eq < 0 ? o : o.slice(0, eq);
      if (!fields.includes(name.slice(2))) {
        io.err(`${PROGNAME}: unrecognized option '${name}'\n`);
        io.err(`try '${PROGNAME} help ${cmd.name}'\n`);
        return 1;
      }
    }
  }
  inv.backendOptions = [...backend, ...checked];
  if (cmd.name === "primary") {
    // DRBD 8.3/8.4-era seed scripts force the first promotion with this spelling. We keep it
    // meaning --force on purpose: drbdadm 9.22 drops it and promotes without force, and such
    // a script's promotion of an Inconsistent disk then fails.
    inv.backendOptions = inv.backendOptions.map((o) =>
      o === "--overwrite-data-of-peer" ? "--force" : o
    );
  }
  return { ...inv, command: cmd };
}
