/**
 * drbdsetup as a whole: parse the command line as drbdsetup 9.22 does, run it against the
 * node daemon, and print status, show and events2 in drbdsetup's formats. Used by the
 * `drbdsetup` tool and, in-process, by drbdadm for its drbdsetup steps.
 *
 * @module
 */

import type { Console } from "../cli/io.ts";
import { formatStatus, formatStatusJson } from "../status/mod.ts";
import { diffEvents, endOfInitialState, formatEvent } from "../status/events.ts";
import type { ResourceStatus } from "../status/types.ts";
import { isInvocation, parseDrbdsetup } from "./parse.ts";
import { formatShow } from "./show.ts";
import { runSetup, type SetupFormatters, type SetupRequest } from "./client.ts";

/** Options of {@link drbdsetupMain}. */
export interface DrbdsetupMainOptions {
  progname?: string;
  /** Run directory of the daemon (default `$UDRBD_RUN_DIR` or /run/udrbd). */
  runDir?: string;
  /** Stops events2 and wait-* (Ctrl-C, tests). */
  signal?: AbortSignal;
  /** Whether stdout is a terminal (status colors with --color=auto). */
  tty?: boolean;
  /** Daemon program for on-demand start (tests). */
  daemonCommand?: string[];
}

function isTerminal(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** The terminal's width when stdout is one (status wraps there, as drbdsetup's TIOCGWINSZ). */
function terminalColumns(): number | undefined {
  try {
    return Deno.stdout.isTerminal() ? Deno.consoleSize().columns || undefined : undefined;
  } catch {
    return undefined;
  }
}

const formatters: SetupFormatters & { tty: boolean } = {
  tty: false,
  status(resources: ResourceStatus[], req: SetupRequest, io: Console) {
    const o = req.options;
    if (o.json === "yes") {
      io.out(formatStatusJson(resources));
      return;
    }
    const color = o.color === "always" || (o.color !== "never" && o.color !== undefined &&
        this.tty)
      ? "always"
      : "never";
    io.out(formatStatus(resources, {
      verbose: o.verbose === "yes",
      statistics: o.statistics === "yes",
      color,
      tty: this.tty,
      columns: this.tty ? terminalColumns() : undefined,
    }));
  },
  show(resources, req, io) {
    io.out(formatShow(resources, {
      showDefaults: req.options["show-defaults"] === "yes",
      resource: req.objname === "all" ? undefined : req.objname,
    }));
  },
  events(previous, next, req, io) {
    const o = req.options;
    const opts = {
      timestamps: o.timestamps === "yes",
      statistics: o.statistics === "yes",
      full: o.full === "yes",
    };
    const initial = previous === undefined;
    let text = "";
    const names = new Set([...(previous ?? []), ...next].map((r) => r.name));
    for (const name of names) {
      const before = previous?.find((r) => r.name === name);
      const after = next.find((r) => r.name === name);
      for (const e of diffEvents(before, after, initial ? "exists" : "create")) {
        text += formatEvent(e, opts);
      }
    }
    if (initial) text += endOfInitialState(opts);
    if (text) io.out(text);
  },
};

/** Runs drbdsetup with `args` (everything after the tool name); resolves to the exit code. */
export async function drbdsetupMain(
  args: string[],
  io: Console,
  options: DrbdsetupMainOptions = {},
): Promise<number> {
  const progname = options.progname ?? "drbdsetup";
  const parsed = parseDrbdsetup(args, { progname });
  if (!isInvocation(parsed)) {
    if (parsed.stdout) io.out(parsed.stdout);
    if (parsed.stderr) io.err(parsed.stderr);
    return parsed.exitCode;
  }
  if (parsed.warnings) io.err(parsed.warnings);
  const a = { ...parsed.args };
  // the daemon runs in "/": relative device paths mean the caller's directory
  for (const k of ["lower_dev", "meta_data_dev"]) {
    const v = a[k];
    if (v && !v.startsWith("/")) a[k] = `${Deno.cwd()}/${v}`;
  }
  const req: SetupRequest = {
    command: parsed.command,
    objname: a.resource ?? a.minor ?? "all",
    args: a,
    options: parsed.options,
  };
  formatters.tty = options.tty ?? isTerminal();
  return await runSetup(req, io, {
    runDir: options.runDir,
    signal: options.signal,
    formatters,
    daemonCommand: options.daemonCommand,
  });
}
