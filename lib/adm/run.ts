/**
 * drbdadm's main flow once its command line is parsed: load the configuration, resolve the
 * resource arguments (`all`, names, `res/vol`, `res:peer`, `minor-N`), run the command on each,
 * then run the deferred configuration stages of `up`/`adjust`.
 *
 * @module
 */

import { type Console, ExitError, ProcessConsole, withoutStderr } from "../cli/io.ts";
// lib/config's modules by name, not its mod.ts: a dump loads only what it uses
import { ConfigError } from "../config/errors.ts";
import { dumpConfig, dumpXml } from "../config/dump.ts";
import { loadConfig, type LoadResult, setPeers } from "../config/load.ts";
import type { Config, Connection, Resource, Volume } from "../config/types.ts";
import type { AdmCommand } from "./commands.ts";
// types only: the step engine is loaded when a command needs it (dump all and sh-resources,
// the start-up benchmark's commands, do not)
import type { Engine, StepOptions, StepRunner } from "./engine.ts";
import { usageText } from "./usage.ts";
import { phase } from "../config/timing.ts";
import { exists } from "../util/fs.ts";
import { badVolumeNumber, readAdmNumber, splitArgId, u32 } from "../config/arg_ids.ts";

/** drbdadm's exit codes used here (engine.ts has the full set; it is not loaded for dumps). */
const E = { USAGE: 1, CONFIG_INVALID: 10 } as const;

/** A parsed drbdadm command line. */
export interface AdmInvocation {
  progname: string;
  command: AdmCommand;
  resources: string[];
  dryRun: boolean;
  verbose: number;
  stacked: boolean;
  /** `-c FILE`, or `-` for standard input; undefined: the default files. */
  configFile?: string;
  configToTest?: string;
  /** `-E FILE` options, in order. */
  configToExclude?: string[];
  drbdsetup: string;
  drbdmeta: string;
  drbdProxyCtl: string;
  shVarname?: string;
  /** drbdsetup/drbdmeta options to pass on, in drbdadm's order. */
  backendOptions: string[];
}

/** The signature of drbdmeta's in-process entry point (lib/meta/cli.ts). */
export type DrbdmetaMain = (args: string[], io: Console, options: { progname: string }) => number;

/** Hooks for tests and embedding. */
export interface RunOptions {
  /**
   * Runs every step. Default: {@link defaultRunner} (drbdmeta in-process, handlers as
   * processes, drbdsetup steps through `setupRunner`).
   */
  runner?: StepRunner;
  /**
   * Runs the drbdsetup steps when `runner` is not given (argv[0] is drbdsetup's name as drbdadm
   * knows it, `-s` included). Default: report that the udrbd daemon is not running.
   */
  setupRunner?: StepRunner;
  /** Node name (default: `UDRBD_HOSTNAME`, then `uname -n`). */
  hostname?: string;
  /** Whether stdin and stdout are terminals; default: ask the console. */
  tty?: boolean;
  /**
   * Draw progress on stderr while `wait-sync` waits (default: when the console is the
   * process's own and its stderr is a terminal; never into pipes or files).
   */
  progress?: boolean;
}

/** The configuration files drbdadm tries when no `-c` is given, in order. */
export const DEFAULT_CONFIG_FILES = [
  "/etc/drbd-90.conf",
  "/etc/drbd-84.conf",
  "/etc/drbd-83.conf",
  "/etc/drbd-82.conf",
  "/etc/drbd-08.conf",
  "/etc/drbd.conf",
];

/**
 * The default step runner: `drbdmeta` steps run our drbdmeta in-process, handlers run as
 * processes, and every other step (drbdsetup, drbd-proxy-ctl) goes to `setupRunner`; without
 * one it fails plainly with exit code 20, saying that the udrbd daemon is not running.
 */
export function defaultRunner(
  drbdmeta: string,
  drbdmetaMain?: DrbdmetaMain,
  setupRunner: StepRunner = daemonMissing,
): StepRunner {
  return (argv, io, options) => {
    const { quiet, env } = options;
    if (argv[0] === "/bin/sh") return runHandler(argv, io, env);
    if (argv[0] === drbdmeta) {
      if (!drbdmetaMain) {
        io.err(`${drbdmeta}: not loaded\n`);
        return 20;
      }
      return drbdmetaMain(argv.slice(1), quiet ? withoutStderr(io) : io, {
        progname: "drbdmeta",
      });
    }
    return setupRunner(argv, quiet ? withoutStderr(io) : io, options);
  };
}

function daemonMissing(argv: string[], io: Console, { quiet }: StepOptions): number {
  if (!quiet) {
    io.err(
      `${argv[0]} ${argv[1] ?? ""}: the udrbd daemon is not running ` +
        "(udrbd cannot run DRBD resources yet; use 'drbdadm -d' to see the steps)\n",
    );
  }
  return 20;
}

/** Runs a handler command line (drbdadm's "before-resync-target" etc.) with its variables. */
async function runHandler(
  argv: string[],
  io: Console,
  env?: Record<string, string>,
): Promise<number> {
  try {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    if (out.stdout.length) io.out(dec.decode(out.stdout));
    if (out.stderr.length) io.err(dec.decode(out.stderr));
    return out.code;
  } catch (e) {
    io.err(`Can not exec: ${e instanceof Error ? e.message : e}\n`);
    return 20;
  }
}

interface Counts {
  normal: number;
  stacked: number;
  ignored: number;
}

function countResources(config: Config): Counts {
  const c = { normal: 0, stacked: 0, ignored: 0 };
  for (const r of config.resources) {
    if (r.ignore) c.ignored++;
    else if (r.stacked) c.stacked++;
    else c.normal++;
  }
  return c;
}

/**
 * Runs a parsed drbdadm command line, one step after the other; resolves to the exit code.
 */
export async function runAdm(
  inv: AdmInvocation,
  io: Console,
  options: RunOptions = {},
): Promise<number> {
  try {
    return await runInner(inv, io, options);
  } catch (e) {
    if (e instanceof ExitError) return e.code;
    throw e;
  }
}

function usageExit(io: Console, inv: AdmInvocation, addinfo: string): never {
  io.out(usageText(inv.progname, inv.command, addinfo));
  throw new ExitError(E.USAGE);
}

async function runInner(inv: AdmInvocation, io: Console, options: RunOptions): Promise<number> {
  const cmd = inv.command;
  const names = inv.resources;
  const die = (code: number, message: string): never => {
    io.err(message);
    throw new ExitError(code);
  };
  if (inv.configToTest !== undefined && !cmd.testConfig) {
    die(
      E.USAGE,
      "The --config-to-test (-t) option is only allowed with the dump and sh-nop commands\n",
    );
  }
  const isDumpXml = cmd.name === "dump-xml";
  const isDump = isDumpXml || cmd.name === "dump";
  const isAdjust = cmd.name === "adjust" || cmd.name === "adjust-with-progress";
  const tty = options.tty ?? io.stdinIsTerminal();
  let verifyIps = isAdjust && inv.backendOptions.some((b) => b.startsWith("--skip-net"))
    ? false
    : cmd.verifyIps;
  if (inv.dryRun && !tty) verifyIps = false;

  if (names.length === 0) {
    if (!isDump && cmd.resNameRequired) usageExit(io, inv, "No resource names specified");
  } else if (!cmd.backendResName) {
    if (!cmd.resNameRequired) io.err("This command will ignore resource names!\n");
    else if (names.length > 1 && cmd.useCachedConfigFile) {
      io.err("You should not use this command with multiple resources!\n");
    }
  }

  let configFile = inv.configFile;
  if (configFile === undefined && cmd.useCachedConfigFile && names.length > 0) {
    const { lookupConfig } = await import("./registry.ts");
    const found = lookupConfig(names[0]);
    if (found.error) die(found.error.exitCode, found.error.message);
    if (found.message) io.err(found.message);
    configFile = found.file;
  }
  if (configFile === undefined) {
    configFile = DEFAULT_CONFIG_FILES.find(exists);
    if (!configFile) {
      die(
        E.CONFIG_INVALID,
        `Can not open '${DEFAULT_CONFIG_FILES.at(-1)}': No such file or directory\n`,
      );
    }
  }

  const load = (resources: string[]) =>
    loadConfig(configFile!, {
      command: cmd.name,
      resources,
      dryRun: inv.dryRun,
      verbose: inv.verbose > 0,
      verifyIps,
      resNameRequired: cmd.resNameRequired,
      matchOnProxy: cmd.isProxyCmd,
      // drbdadm verifies the address of a stacked resource named on the command line even
      // without -S (it sets is_drbd_top from the named resource before verify_ips)
      stacked: inv.stacked || (resources.length > 0 && resources[0] !== "all"),
      tty,
      hostname: options.hostname,
      configToTest: inv.configToTest,
      configToExclude: inv.configToExclude,
    });
  let loaded: LoadResult | undefined;
  let firstError: ConfigError | undefined;
  // Names are resolved here, as drbdadm does it (an unknown name after a known one ends the
  // run silently); lib/config is asked only about the names it knows.
  // proxy commands choose this node's host sections only afterwards (see proxy_match.ts), so
  // names the name matching ignores must not end the run here
  let known = cmd.isProxyCmd && names.length > 0 ? ["all"] : names;
  while (!loaded) {
    try {
      loaded = load(known);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      firstError ??= e;
      // the unknown name is the last message; an earlier one may be a dump's non-fatal error
      const last = e.messages.at(-1) ?? e.message;
      const unknown = /^'(.*)' not defined in your config \(for this host\)\.\n?$/.exec(last);
      // only its last occurrence goes: a `minor-N` found once is unknown when named again
      // (drbdadm reads minors only until a name found a resource), and the first one stays
      const at = unknown ? known.lastIndexOf(unknown[1]) : -1;
      const rest = at < 0 ? [] : known.toSpliced(at, 1);
      if (!unknown || rest.length === 0 || rest.length === known.length) {
        // a message that ends in "\n." runs on into the next, as drbdadm's ambiguity error does
        for (const m of firstError.messages) io.err(/\n\.?$/.test(m) ? m : m + "\n");
        return firstError.exitCode;
      }
      known = rest;
    }
  }
  // drbdadm never reaches its "ignored" message: such names are "not defined" (see runNamed)
  for (const w of loaded.warnings) {
    if (/^'.*' ignored, since this host \(.*\) is not mentioned/.test(w)) continue;
    io.err(w.endsWith("\n") ? w : w + "\n");
  }
  const config: Config = loaded.config;
  phase("print warnings");

  const hostname = config.hostname;
  const all = names.length === 0 || names[0] === "all";
  if (isDump && all && (cmd.resNameRequired || names.length > 0)) {
    // the whole configuration: printed here, without the step engine
    io.out(
      isDumpXml
        ? dumpXml(config, config.resources, { verbose: inv.verbose > 0 })
        : dumpConfig(config, config.resources, { verbose: inv.verbose > 0 }),
    );
    phase(`run ${cmd.name}`);
    return 0;
  }
  if (cmd.action === "sh-resources" && names.length === 0 && !cmd.resNameRequired) {
    for (const r of config.resources) {
      if (r.ignore || r.stacked !== inv.stacked) continue;
      io.out(`${r.name}\n`);
    }
    phase(`run ${cmd.name}`);
    return 0;
  }
  const [{ Engine }, { stderrIsTerminal }] = await Promise.all([
    import("./engine.ts"),
    import("../util/progress.ts"),
  ]);
  let runner = options.runner ?? defaultRunner(inv.drbdmeta, undefined, options.setupRunner);
  if (options.progress ?? (io instanceof ProcessConsole && stderrIsTerminal())) {
    runner = withSyncProgress(runner, inv.drbdsetup);
  }
  // drbdadm reports adjust-with-progress's stages unless -d or -v print the steps instead
  const Kind = cmd.name === "adjust-with-progress" && !inv.dryRun && !inv.verbose
    ? (await import("./adjust_progress.ts")).AdjustProgressEngine
    : Engine;
  const engine = new Kind(
    io,
    {
      progname: inv.progname,
      dryRun: inv.dryRun,
      verbose: inv.verbose,
      stacked: inv.stacked,
      drbdsetup: inv.drbdsetup,
      drbdmeta: inv.drbdmeta,
      drbdProxyCtl: inv.drbdProxyCtl,
      shVarname: inv.shVarname,
      backendOptions: inv.backendOptions,
      hostname,
      tty,
      configFile: config.file === "STDIN" || config.file.startsWith("/")
        ? config.file
        : `${Deno.cwd()}/${config.file}`,
    },
    config,
    runner,
  );
  phase("engine set-up");
  let rv = 0;
  if (cmd.resNameRequired || names.length > 0) {
    if (config.resources.length === 0 && !isDump) die(E.USAGE, "no resources defined!\n");
    if (all) {
      dieIfNoResources(countResources(config), engine, hostname, die);
      for (const res of config.resources) {
        if (cmd.name !== "outdate" || res.ignore || res.stacked !== engine.opts.stacked) continue;
        engine.checkDisklessOutdate(res);
      }
      for (const res of config.resources) {
        if (res.ignore || res.stacked !== engine.opts.stacked) continue;
        if (cmd.needPeer || cmd.name === "up" || isAdjust) setPeers(config, res);
        const r = await engine.callCmd(cmd, { cmd, res }, true);
        if (r > rv) rv = r;
      }
    } else {
      rv = await runNamed(engine, cmd, names, isDump, hostname, die);
    }
  } else {
    const r = await engine.callFn({ cmd }, false);
    if (r >= 10) die(r, `command ${cmd.name} exited with code ${r}\n`);
    rv = r;
  }
  phase(`run ${cmd.name}`);
  const r = await engine.runDeferred();
  return Math.max(r, rv);
}

function dieIfNoResources(
  n: Counts,
  engine: Engine,
  hostname: string,
  die: (code: number, message: string) => never,
): void {
  if (!engine.opts.stacked && n.ignored > 0 && n.normal === 0) {
    die(
      E.USAGE,
      `WARN: no normal resources defined for this host (${hostname})!?\n` +
        "Misspelled name of the local machine with the 'on' keyword ?\n",
    );
  }
  if (!engine.opts.stacked && n.normal === 0) {
    die(E.USAGE, `WARN: no normal resources defined for this host (${hostname})!?\n`);
  }
  if (engine.opts.stacked && n.stacked === 0) {
    die(
      E.USAGE,
      `WARN: nothing stacked for this host (${hostname}), nothing to do in stacked mode!\n`,
    );
  }
}

interface Target {
  res?: Resource;
  vol?: Volume;
  conn?: Connection;
  error?: string;
}

function hostByName(res: Resource, name: string) {
  return res.hosts.find((h) => h.names.includes(name));
}

function connName(conn: Connection): string | undefined {
  return conn.netOptions.find((o) => o.name === "_name")?.value ?? conn.name;
}

async function runNamed(
  engine: Engine,
  cmd: AdmCommand,
  names: string[],
  isDump: boolean,
  hostname: string,
  die: (code: number, message: string) => never,
): Promise<number> {
  const { config, io } = engine;
  const find = (n: string) => {
    const r = config.resources.find((x) => x.name === n);
    return r && !r.ignore ? r : undefined;
  };
  // drbdadm reads each name's volume number first (proxy commands reach here unchecked)
  const bad = badVolumeNumber(names);
  if (bad) die(bad.exitCode, `${bad.error}\n`);
  // drbdadm first checks that no name enables a connection twice.
  const enabled = new Set<Connection>();
  for (const id of names) {
    const { resName, peer, vnr } = splitArgId(id);
    const res = find(resName);
    if (!res) continue;
    setPeers(config, res);
    const conns = res.connections.filter((c) => !c.ignore);
    if (peer === undefined) {
      if (vnr !== undefined) continue;
      for (const c of conns) {
        if (enabled.has(c)) {
          die(E.USAGE, `USAGE_BUG: ${id} would enable an already enabled connection\n`);
        }
        enabled.add(c);
      }
    } else {
      const hi = hostByName(res, peer);
      if (hi && hi === res.me && res.connections.length > 0) {
        // drbdadm's two checking passes each report this before the run reports it again
        for (let pass = 0; pass < 2; pass++) io.err(notAPeer(peer, id));
        continue;
      }
      for (const c of res.connections) {
        if (hi && c.peer === hi) engine.onCmdline.add(c);
        const match = hi
          ? c.peer !== undefined && c.peer.nodeId === hi.nodeId
          : connName(c) === peer;
        if (!match) continue;
        if (c.ignore) die(E.USAGE, `USAGE_BUG: Tried to enable disabled connections ${id}\n`);
        if (enabled.has(c)) {
          die(E.USAGE, `USAGE_BUG: ${id} would enable an already enabled connection\n`);
        }
        enabled.add(c);
      }
    }
  }

  // drbdadm resolves every name into one context that outlives each name: once any known
  // resource was named (the checks above count), an unknown name ends it silently with 1.
  let current = names.map((id) => find(splitArgId(id).resName)).filter((r) => r).at(-1);
  // the connection, too, stays from an earlier name until a name with `:peer` replaces it
  let conn: Connection | undefined;
  let rv = 0;
  for (const id of names) {
    let t = resolve(engine, id);
    if (splitArgId(id).peer !== undefined) conn = t.conn;
    if (!t.res) {
      if (current) throw new ExitError(E.USAGE);
      t = byMinor(config, id, die);
    }
    if (!t.res) die(E.USAGE, `'${id}' not defined in your config (for this host).\n`);
    current = t.res;
    if (t.error !== undefined) die(E.USAGE, t.error);
    const res = t.res!;
    let vol = t.vol;
    if (!cmd.volIdRequired && !cmd.iterateVolumes && vol && !cmd.volIdOptional) {
      if (vol.implicit) vol = undefined;
      else {die(
          E.USAGE,
          `${cmd.name} operates on whole resources, but you specified a specific volume!\n`,
        );}
    }
    const vols = res.me?.volumes ?? [];
    if (cmd.volIdRequired && !vol && vols.length > 0 && vols[0].implicit) vol = vols[0];
    if (cmd.volIdRequired && !vol) {
      die(
        E.USAGE,
        `${cmd.name} requires a specific volume id, but none is specified.\n` +
          `Try '${cmd.name} minor-<minor_number>' or '${cmd.name} ${id}/<vnr>'\n`,
      );
    }
    if (res.ignore && !isDump) {
      io.err(
        `'${res.name}' ignored, since this host (${hostname}) is not mentioned with an 'on' keyword.\n`,
      );
      if (rv < E.USAGE) rv = E.USAGE;
      continue;
    }
    engine.opts.stacked = res.stacked;
    if (cmd.name === "outdate") engine.checkDisklessOutdate(res, vol);
    const r = await engine.callCmd(cmd, { cmd, res, vol, conn }, true);
    if (r > rv) rv = r;
  }
  return rv;
}

/** drbdadm's ctx_by_minor: `minor-N` names the volume with that minor. */
function byMinor(
  config: Config,
  id: string,
  die: (code: number, message: string) => never,
): Target {
  if (!id.startsWith("minor-")) return {};
  const n = readAdmNumber(id.slice(6));
  if (n.error !== undefined) die(n.exitCode, `${n.error}\n`);
  const minor = u32(n.value!);
  if (minor === 0xffffffff) return {};
  for (const r of config.resources) {
    if (r.ignore) continue;
    const vol = r.me?.volumes.find((v) => v.minor === minor);
    if (vol) return { res: r, vol };
  }
  return {};
}

function notAPeer(peer: string, id: string): string {
  return `Host name '${peer}' (from '${id}') is not a peer, but the local node\n`;
}

/** drbdadm's ctx_by_name (and ctx_by_minor) for one command-line name. */
function resolve(engine: Engine, id: string): Target {
  const { config } = engine;
  const { resName, peer, vnr } = splitArgId(id);
  const res = config.resources.find((x) => x.name === resName && !x.ignore);
  if (!res) return {};
  setPeers(config, res);
  const t: Target = { res };
  if (peer !== undefined) {
    const hi = hostByName(res, peer);
    const found: Connection[] = [];
    let valid = false;
    for (const c of res.connections) {
      let selected: boolean;
      if (hi) {
        if (res.me === hi) {
          return {
            res,
            error: notAPeer(peer, id),
          };
        }
        if (c.peer === hi) {
          found.push(c);
          engine.onCmdline.add(c);
        }
        selected = c.peer !== undefined && c.peer.nodeId === hi.nodeId;
      } else {
        selected = connName(c) === peer;
        if (selected) found.push(c);
      }
      c.ignore = !selected;
      if (!c.ignore) valid = true;
    }
    if (!valid) return { res, error: `Not a valid connection (${id}) for this host\n` };
    if (found.length === 1) {
      // drbdadm takes the first connection ever named on the command line, not this one
      const conn = hi ? res.connections.find((c) => engine.onCmdline.has(c)) ?? found[0] : found[0];
      if (conn.ignore) return { res, error: `Connection '${peer}' has the ignore flag set\n` };
      t.conn = conn;
    }
  }
  if (vnr !== undefined) {
    // loadConfig read every volume number already: a bad one ended the run there
    const n = readAdmNumber(vnr);
    const vnrU32 = n.error === undefined ? u32(n.value) : 0xffffffff;
    // drbdadm's "no volume" ~0U: not found, without a word
    if (vnrU32 === 0xffffffff) return { res, error: "" };
    const vol = res.me?.volumes.find((v) => v.vnr === vnrU32);
    if (!vol) return { res, error: `Resource '${resName}' has no volume ${vnrU32 | 0}\n` };
    t.vol = vol;
  }
  return t;
}

// ---- progress ----

/**
 * Wraps a step runner so that a `drbdsetup wait-sync-*` step draws the resync's progress on
 * stderr while it waits (see lib/status/sync_progress.ts); every other step runs unchanged.
 */
export function withSyncProgress(runner: StepRunner, drbdsetup: string): StepRunner {
  return async (argv, io, options) => {
    const scope = argv[0] === drbdsetup
      ? /^wait-sync-(volume|connection|resource)$/.exec(argv[1] ?? "")?.[1]
      : undefined;
    const [resource, peer, volume] = argv.slice(2).filter((a) => !a.startsWith("-"));
    if (!scope || resource === undefined) return await runner(argv, io, options);
    // loaded only when someone waits at a terminal: the control client is not small
    const { watchSyncProgress } = await import("../status/sync_progress.ts");
    const stop = new AbortController();
    const watching = watchSyncProgress({
      resource,
      peerNodeId: scope === "resource" ? undefined : Number(peer),
      volume: scope === "volume" ? Number(volume) : undefined,
    }, { signal: stop.signal });
    try {
      return await runner(argv, io, options);
    } finally {
      stop.abort();
      await watching;
    }
  };
}
