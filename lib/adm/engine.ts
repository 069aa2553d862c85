/**
 * The heart of drbdadm: given a resolved resource (and maybe a volume, connection or path) and a
 * command, produce the drbdsetup/drbdmeta steps, in the order and with the arguments drbdadm
 * 9.22 uses. With `-d` each step is printed instead of run; otherwise it is handed to a
 * {@link StepRunner}.
 *
 * @module
 */

import { type Console, ExitError, MemoryConsole } from "../cli/io.ts";
import type {
  Address,
  Config,
  ConfigOption,
  Connection,
  OptionList,
  Path,
  PeerDevice,
  Resource,
  Volume,
} from "../config/types.ts";
import { lookupOption } from "../options/mod.ts";
import { configProblems, reselectMeByProxy, setPeers, verifyBeforeDump } from "../config/mod.ts";
import { parseRunningConfig, type RunningResource } from "../config/running.ts";
// drbdadm's hostname_in_list; lib/config/mod.ts does not export it
import { hostnameInList } from "../config/parser.ts";
import {
  type AdmCommand,
  type ContextName,
  CONTEXTS,
  findCommand,
  internalCommand,
} from "./commands.ts";
import { shellEscape, shellEscapeBytes, shellLine } from "./shell.ts";
import { registerMinor, registerResource } from "./registry.ts";
import { deviceOf, dumpResources, hasDisk, peerNodeId } from "./model.ts";

/** drbdadm's exit codes. */
export const E = { USAGE: 1, SYNTAX: 2, CONFIG_INVALID: 10, EXEC_ERROR: 20, THINKO: 42 } as const;

/** How a step is waited for; decides drbdadm's timeout and its failure report. */
export type Sleeps = "short" | "long" | "very-long" | "forever" | "pid";

/** What a {@link StepRunner} learns about a step besides its argv. */
export interface StepOptions {
  /** Whether the step's stderr is to be suppressed (drbdadm only wants its exit code). */
  quiet: boolean;
  /** The variables a handler (`/bin/sh -c ...`) gets: DRBD_RESOURCE, DRBD_MINOR, ... */
  env?: Record<string, string>;
  /** How long drbdadm 9.22 would wait for the step; a runner may derive its timeout from it. */
  sleeps?: Sleeps;
}

/**
 * Runs one step (argv[0] is the drbdsetup, drbdmeta or drbd-proxy-ctl name, or `/bin/sh` for a
 * handler) and returns its exit code, or a promise of it. drbdadm waits for each step before
 * it prints or runs the next one.
 */
export type StepRunner = (
  argv: string[],
  io: Console,
  options: StepOptions,
) => number | Promise<number>;

/** One unit of work: a command applied to a resource and possibly a volume, connection, path. */
export interface Ctx {
  cmd: AdmCommand;
  res?: Resource;
  vol?: Volume;
  conn?: Connection;
  path?: Path;
}

/** Configuration stages of `up`/`adjust`, in the order drbdadm runs them. */
export const STAGES = [
  "prereq",
  "resource",
  "disk-prep-down",
  "disk-prep-up",
  "net-disconnect",
  "net-prep-down",
  "net-prep-up",
  "net-path",
  "net",
  "peer-device",
  "disk",
  "net-connect",
] as const;

/** A stage of {@link STAGES}. */
export type Stage = typeof STAGES[number];

/** Everything the engine needs to know from the command line. */
export interface EngineOptions {
  progname: string;
  dryRun: boolean;
  verbose: number;
  /** `-S`: operate on stacked resources. */
  stacked: boolean;
  drbdsetup: string;
  drbdmeta: string;
  drbdProxyCtl: string;
  shVarname?: string;
  /** Options passed on to drbdsetup/drbdmeta (`--name[=value]`), in command-line order. */
  backendOptions: string[];
  hostname: string;
  /** Whether stdin and stdout are terminals (drbdadm's `!no_tty`). */
  tty: boolean;
  /** The configuration file as drbdadm names it (for DRBD_CONF of handlers). */
  configFile: string;
}

const ATTACH = findCommand("attach")!;
const APPLY_AL = findCommand("apply-al")!;
const NEW_RESOURCE = findCommand("new-resource")!;
const NEW_PEER = findCommand("new-peer")!;
const NEW_PATH = findCommand("new-path")!;
const CONNECT = findCommand("connect")!;
const PEER_DEVICE_OPTIONS = findCommand("peer-device-options")!;
const NEW_MINOR = findCommand("new-minor")!;
const DETACH = findCommand("detach")!;

const INVALIDATE_SETUP = internalCommand("invalidate", "setup", "invalidate", {
  resNameRequired: true,
  iterateVolumes: true,
  diskRequired: true,
});
const INVALIDATE_META = internalCommand("invalidate", "meta", "forceable", {
  resNameRequired: true,
  iterateVolumes: true,
  diskRequired: true,
});
const FORGET_PEER_SETUP = internalCommand("forget-peer", "setup", undefined, {
  resNameRequired: true,
  backendResName: true,
  needPeer: true,
});
const FORGET_PEER_META = internalCommand("forget-peer", "meta", "forceable", {
  resNameRequired: true,
  backendResName: true,
  iterateVolumes: true,
  needPeer: true,
  diskRequired: true,
});

const PROXY_FLAGS = {
  resNameRequired: true,
  backendResName: true,
  needPeer: true,
  isProxyCmd: true,
};
const PROXY_CONN_DOWN = internalCommand("", "proxy-conn-down", undefined, PROXY_FLAGS);
const PROXY_CONN_UP = internalCommand("", "proxy-conn-up", undefined, PROXY_FLAGS);
const PROXY_CONN_PLUGINS = internalCommand("", "proxy-conn-plugins", undefined, PROXY_FLAGS);

interface Deferred {
  ctx: Ctx;
}

/** Runs drbdadm commands against a loaded configuration. */
export class Engine {
  readonly io: Console;
  readonly opts: EngineOptions;
  readonly config: Config;
  readonly runner: StepRunner;
  /** Connections named as `res:peer` on the command line so far (drbdadm's on_cmdline). */
  readonly onCmdline = new WeakSet<Connection>();
  #deferred = new Map<Stage, Deferred[]>(STAGES.map((s) => [s, []]));
  #skipFurther = new Set<Resource>();
  #adjustFlags?: { skipDisk: boolean; skipNet: boolean };
  #running?: Map<string, RunningResource>;

  constructor(io: Console, opts: EngineOptions, config: Config, runner: StepRunner) {
    this.io = io;
    this.opts = opts;
    this.config = config;
    this.runner = runner;
  }

  // ---- running steps ----

  /** Prints (with -d or -v) and runs one step; resolves to its exit code (0 in a dry run). */
  async system(
    argv: string[],
    sleeps: Sleeps,
    resName: string | undefined,
    quiet = false,
    env?: Record<string, string>,
  ): Promise<number> {
    const { dryRun, verbose, shVarname } = this.opts;
    if (dryRun || verbose) {
      // `-n ""` counts: drbdadm tests the pointer, not the text
      // drbdadm escapes byte by byte: printed as bytes, not as text
      if (shVarname !== undefined) {
        this.io.out(`${shVarname}=`);
        if (resName !== undefined) this.io.out(shellEscapeBytes(resName));
        this.io.out("\n");
      }
      this.io.out(shellLine(argv));
      if (dryRun) return 0;
    }
    const rv = await this.runner(argv, this.io, { quiet, env, sleeps });
    if (sleeps !== "forever" && sleeps !== "pid" && rv >= 10 && !quiet) {
      this.io.err(`Command '${argv.join(" ")}' terminated with exit code ${rv}\n`);
    }
    return rv;
  }

  /** Ends drbdadm with `code`. */
  exit(code: number): never {
    throw new ExitError(code);
  }

  // ---- option helpers ----

  #contextFields(context: ContextName | undefined): string[] {
    return context ? CONTEXTS[context].map((f) => f.name) : [];
  }

  /** The backend options valid for `context` (drbdadm's add_setup_options). */
  setupOptions(context: ContextName | undefined): string[] {
    if (context === "wildcard") return [...this.opts.backendOptions];
    if (!context) return [];
    const fields = this.#contextFields(context);
    return this.opts.backendOptions.filter((b) => {
      if (b.length <= 2) return false;
      const name = b.slice(2);
      const eq = name.indexOf("=");
      const stem = eq < 0 ? name : name.slice(0, eq);
      return fields.some((f) => f.startsWith(stem));
    });
  }

  /** `--name=value` for a configured option, unless overridden on the command line. */
  makeOption(option: ConfigOption): string | undefined {
    if (this.opts.backendOptions.some((b) => b.slice(2).startsWith(option.name))) return undefined;
    if (option.value === undefined) return `--${option.name}`;
    let width = 512;
    const def = lookupOption(option.name);
    if (def?.type === "string" && def.maxLength) width = def.maxLength;
    return `--${option.name}=${option.value.slice(0, width)}`;
  }

  makeOptions(list: OptionList): string[] {
    const out: string[] = [];
    for (const o of list) {
      const a = this.makeOption(o);
      if (a !== undefined) out.push(a);
    }
    return out;
  }

  // ---- iteration ----

  /** drbdadm's __call_cmd_fn: checks the disk requirement, iterates paths, calls the action. */
  async callFn(ctx: Ctx, exitOnFail: boolean): Promise<number> {
    const { cmd, vol } = ctx;
    if (cmd.diskRequired && (!vol || !hasDisk(vol) || !vol.metaDisk || !vol.metaIndex)) {
      this.io.err(
        `The ${cmd.name} command requires a local disk, but the configuration gives none.\n`,
      );
      if (exitOnFail) this.exit(10);
      return 10;
    }
    if (!ctx.path && cmd.iteratePaths && ctx.conn) {
      let rv = 0;
      for (const path of ctx.conn.paths) {
        if (path.ignore) continue;
        rv = await this.action({ ...ctx, path });
        if (rv >= 20 && exitOnFail) this.exit(rv);
      }
      return rv;
    }
    const rv = await this.action(ctx);
    if (rv >= 20 && exitOnFail) this.exit(rv);
    return rv;
  }

  async callCmdFn(cmd: AdmCommand, ctx: Ctx, exitOnFail: boolean): Promise<number> {
    return await this.callFn({ ...ctx, cmd }, exitOnFail);
  }

  /** drbdadm's call_cmd: iterates volumes and/or connections unless the context fixes them. */
  async callCmd(cmd: AdmCommand, ctx: Ctx, exitOnFail: boolean): Promise<number> {
    const res = ctx.res!;
    // a resource named as minor-N has no peers bound yet (drbdadm binds them here)
    if (cmd.needPeer) setPeers(this.config, res);
    const iterVols = !ctx.vol && cmd.iterateVolumes;
    const iterConns = !ctx.conn && cmd.needPeer;
    const base: Ctx = { ...ctx, cmd };
    const vols = res.me?.volumes ?? [];
    const conns = res.connections.filter((c) => !c.ignore);
    if (iterVols && iterConns) {
      for (const vol of vols) {
        for (const conn of conns) {
          const rv = await this.callFn({ ...base, vol, conn }, exitOnFail);
          if (rv) return rv;
        }
      }
      return 0;
    }
    if (iterVols) {
      let rv = 0;
      for (const vol of vols) {
        rv = await this.callFn({ ...base, vol }, exitOnFail);
        if (rv) break;
      }
      return rv;
    }
    if (iterConns) {
      if (this.#setGiSingleNode(base)) return await this.callFn(base, exitOnFail);
      let rv = 0;
      for (const conn of conns) {
        rv = await this.callFn({ ...base, conn }, exitOnFail);
        if (rv) break;
      }
      return rv;
    }
    return await this.callFn(base, exitOnFail);
  }

  #setGiSingleNode(ctx: Ctx): boolean {
    return ctx.cmd.name === "set-gi" && ctx.res!.hosts.length === 1;
  }

  schedule(cmd: AdmCommand, ctx: Ctx, stage: Stage, once = false): void {
    // up and adjust refuse before any of their steps runs
    if (cmd === ATTACH && ctx.vol) this.#refuseEmptyDisk({ ...ctx, cmd }, ctx.vol);
    const list = this.#deferred.get(stage)!;
    if (
      once &&
      list.some((d) =>
        d.ctx.cmd === cmd && d.ctx.res === ctx.res && d.ctx.conn === ctx.conn &&
        d.ctx.vol?.vnr === ctx.vol?.vnr
      )
    ) return;
    list.push({ ctx: { ...ctx, cmd } });
  }

  /** Runs the scheduled steps stage by stage; 1 when a stage failed. */
  async runDeferred(): Promise<number> {
    for (const stage of STAGES) {
      const list = this.#deferred.get(stage)!;
      this.#deferred.set(stage, []);
      let rv = 0;
      for (const d of list) {
        const res = d.ctx.res!;
        let r = 0;
        if (this.#skipFurther.has(res)) {
          this.io.err(
            `${this.opts.progname}: ${d.ctx.cmd.name} ${res.name}: skipped due to earlier error\n`,
          );
        } else {
          r = await this.callFn(d.ctx, false);
          if (
            r && (stage === "prereq" || stage === "disk-prep-down" || stage === "disk-prep-up" ||
              stage === "net-prep-down" || stage === "net-prep-up")
          ) this.#skipFurther.add(res);
        }
        if (r > rv) rv = r;
      }
      if (rv) return 1;
    }
    return 0;
  }

  // ---- actions ----

  async action(ctx: Ctx): Promise<number> {
    switch (ctx.cmd.action) {
      case "attach":
        return await this.#attach(ctx);
      case "new-peer":
        return await this.#newPeer(ctx);
      case "path":
        return await this.#path(ctx);
      case "connect":
        return await this.#connect(ctx);
      case "setup":
        return await this.drbdsetup(ctx, ctx.cmd.takesLong ? "long" : "short");
      case "up":
        return this.#up(ctx);
      case "resource":
        return await this.#resource(ctx);
      case "peer-device":
        return await this.#peerDevice(ctx);
      case "invalidate":
        return await this.#invalidate(ctx);
      case "outdate":
        return await this.#outdate(ctx);
      case "resize":
        return await this.#resize(ctx);
      case "check-resize":
        return await this.#resize(ctx) === 0 ? 0 : await this.drbdmeta(ctx, "very-long");
      case "adjust":
        return await this.#adjust(ctx);
      case "wait":
        return await this.#waitConnect(ctx);
      case "wait-con-int":
        return await this.#waitConInt();
      case "setup-and-meta":
        return await this.#setupAndMeta(ctx);
      case "dump":
        for (const m of verifyBeforeDump(this.config, ctx.res!)) {
          this.io.err(m.endsWith("\n") ? m : m + "\n");
        }
        this.io.out(
          dumpResources(
            this.config,
            [ctx.res!],
            ctx.cmd.name === "dump-xml",
            this.opts.verbose > 0,
          ),
        );
        return 0;
      case "create-md":
        return await this.#createMd(ctx);
      case "meta":
        return await this.drbdmeta(ctx, "very-long");
      case "forget-peer":
        return await this.#forgetPeer(ctx);
      case "new-minor":
        return await this.#newMinor(ctx);
      case "khelper":
        return await this.#khelper(ctx);
      case "sh-nop":
        return configProblems(this.config).some((d) => !d.warning) ? 10 : 0;
      case "sh-resources":
        for (const r of this.config.resources) {
          if (r.ignore || r.stacked !== this.opts.stacked) continue;
          this.io.out(`${r.name}\n`);
        }
        return 0;
      case "sh-resource":
        this.io.out(`${ctx.res!.name}\n`);
        return 0;
      case "sh-mod-parms":
        return this.#shModParms();
      case "sh-dev":
        this.io.out(`${deviceOf(ctx.vol!)}\n`);
        return 0;
      case "sh-udev":
        return this.#shUdev(ctx);
      case "sh-minor":
        this.io.out(`${ctx.vol!.minor}\n`);
        return 0;
      case "sh-ll-dev":
        this.io.out(`${ctx.vol && hasDisk(ctx.vol) ? ctx.vol.disk : "none"}\n`);
        return 0;
      case "sh-md-dev": {
        const v = ctx.vol!;
        this.io.out(`${v.metaDisk === "internal" ? v.disk : v.metaDisk}\n`);
        return 0;
      }
      case "sh-md-idx":
        this.io.out(`${ctx.vol!.metaIndex}\n`);
        return 0;
      case "sh-ip":
        this.io.out(`${ctx.path?.myAddress?.addr ?? ctx.res!.me?.address?.addr ?? ""}\n`);
        return 0;
      case "sh-lr-of":
        return this.#shLowerResource(ctx);
      case "proxy-up":
      case "proxy-down":
        return await this.#checkProxy(ctx, ctx.cmd.action === "proxy-up");
      case "proxy-conn-up":
        return await this.#proxyConnUp(ctx);
      case "proxy-conn-down":
        return await this.#proxyConnDown(ctx);
      case "proxy-conn-plugins":
        return await this.#proxyConnPlugins(ctx);
      case "hidden":
        return 0;
    }
  }

  /** drbdadm's __adm_drbdsetup: `drbdsetup CMD [res] [peer] [minor|vnr] [options]`. */
  async drbdsetup(ctx: Ctx, sleeps: Sleeps, quiet = false): Promise<number> {
    const argv = [this.opts.drbdsetup, ctx.cmd.name];
    const { cmd, res, vol, conn } = ctx;
    if (cmd.backendResName && res) argv.push(res.name);
    if (cmd.needPeer) argv.push(peerNodeId(conn!));
    // a volume known only by its minor (adjust's running volumes) detaches as drbdadm's does
    if (vol && cmd === DETACH && vol.device === undefined) argv.push("--diskless");
    if (vol) argv.push(String(cmd.needPeer && cmd.iterateVolumes ? vol.vnr : vol.minor));
    argv.push(...this.setupOptions(cmd.context));
    if (cmd === INVALIDATE_SETUP && conn) argv.push(`--sync-from-peer-node-id=${peerNodeId(conn)}`);
    return await this.system(argv, sleeps, res?.name, quiet);
  }

  /** drbdadm's _adm_drbdmeta: `drbdmeta MINOR v09 MDDEV IDX [--node-id=N] CMD [arg] [opts]`. */
  async drbdmeta(ctx: Ctx, sleeps: Sleeps, argument?: string, quiet = false): Promise<number> {
    const { cmd, res, vol, conn } = ctx;
    const v = vol!;
    const argv = [this.opts.drbdmeta, String(v.minor), "v09"];
    const internal = v.metaDisk === "internal";
    if (internal) this.#refuseEmptyDisk(ctx, v);
    argv.push((internal ? v.disk : v.metaDisk) ?? "");
    if (v.metaIndex === "flexible") argv.push(internal ? "flex-internal" : "flex-external");
    else argv.push(v.metaIndex ?? "");
    if (cmd.needPeer) {
      argv.push(`--node-id=${this.#setGiSingleNode(ctx) ? res!.me?.nodeId : peerNodeId(conn!)}`);
    }
    argv.push(cmd.name);
    if (argument !== undefined) argv.push(argument);
    argv.push(...this.setupOptions(cmd.context));
    return await this.system(argv, sleeps, res?.name, quiet);
  }

  async #attach(ctx: Ctx): Promise<number> {
    const vol = ctx.vol!;
    const doAttach = ctx.cmd === ATTACH;
    const reset = ctx.cmd.name === "disk-options" && ctx.cmd !== findCommand("disk-options");
    if (doAttach) {
      this.#refuseEmptyDisk(ctx, vol);
      const rv = await this.callCmdFn(APPLY_AL, ctx, false);
      if (rv) return rv;
    }
    const argv = [this.opts.drbdsetup, ctx.cmd.name, String(vol.minor)];
    if (doAttach) {
      argv.push(vol.disk!, vol.metaDisk === "internal" ? vol.disk! : vol.metaDisk!, vol.metaIndex!);
    }
    if (reset) argv.push("--set-defaults");
    // adjust compares and changes the size separately (a resize step)
    argv.push(
      ...this.makeOptions(
        reset ? vol.diskOptions.filter((o) => o.name !== "size") : vol.diskOptions,
      ),
    );
    argv.push(...this.setupOptions(ctx.cmd.context));
    return await this.system(argv, "long", ctx.res?.name);
  }

  async #newMinor(ctx: Ctx): Promise<number> {
    const vol = ctx.vol!;
    const argv = [
      this.opts.drbdsetup,
      "new-minor",
      ctx.res!.name,
      String(vol.minor),
      String(vol.vnr),
    ];
    if (!hasDisk(vol)) argv.push("--diskless");
    const ex = await this.system(argv, "short", ctx.res!.name);
    if (!ex && this.#registers()) registerMinor(vol.minor, this.opts.configFile);
    return ex;
  }

  async #resource(ctx: Ctx): Promise<number> {
    const res = ctx.res!;
    const isNew = ctx.cmd.name === "new-resource";
    const reset = ctx.cmd.name === "resource-options" &&
      ctx.cmd !== findCommand("resource-options");
    const argv = [this.opts.drbdsetup, ctx.cmd.name, res.name];
    if (isNew) argv.push(res.me?.nodeId ?? "");
    if (reset) argv.push("--set-defaults");
    if (reset || isNew) argv.push(...this.makeOptions(res.resOptions));
    argv.push(...this.setupOptions(ctx.cmd.context));
    const ex = await this.system(argv, "short", res.name);
    if (!ex && isNew && this.#registers()) registerResource(res.name, this.opts.configFile);
    return ex;
  }

  /** Whether this run records its configuration file for later handler calls (registry.ts). */
  #registers(): boolean {
    return !this.opts.dryRun && this.opts.configFile !== "STDIN";
  }

  async #resize(ctx: Ctx): Promise<number> {
    const res = ctx.res!;
    const vol = ctx.vol!;
    const isResize = ctx.cmd.name === "resize";
    const argv = [this.opts.drbdsetup, "resize", String(vol.minor)];
    const size = vol.diskOptions.find((o) => o.name === "size") ??
      res.diskOptions.find((o) => o.name === "size");
    if (size) argv.push(`--size=${size.value}`);
    argv.push(...this.setupOptions(ctx.cmd.context));
    const ex = await this.system(argv, "long", res.name, !isResize);
    if (ex) return ex;
    await this.system(
      [this.opts.drbdsetup, "check-resize", String(vol.minor)],
      "short",
      res.name,
      !isResize,
    );
    return 0;
  }

  async #newPeer(ctx: Ctx): Promise<number> {
    const { res, conn } = ctx;
    const reset = ctx.cmd.name === "net-options" && ctx.cmd !== findCommand("net-options");
    const argv = [this.opts.drbdsetup, ctx.cmd.name, res!.name, peerNodeId(conn!)];
    if (reset) argv.push("--set-defaults");
    let list = conn!.netOptions;
    if (ctx.cmd.name.startsWith("net-options")) {
      list = list.filter((o) => o.name !== "transport");
      conn!.netOptions = list;
    }
    argv.push(...this.makeOptions(list));
    argv.push(...this.setupOptions(ctx.cmd.context));
    return await this.system(argv, "short", res!.name);
  }

  async #path(ctx: Ctx): Promise<number> {
    const { res, conn, path } = ctx;
    const argv = [this.opts.drbdsetup, ctx.cmd.name, res!.name, peerNodeId(conn!)];
    argv.push(formatAddress(path!.myAddress), formatAddress(path!.connectTo ?? path!.peerAddress));
    argv.push(...this.setupOptions(ctx.cmd.context));
    return await this.system(argv, "short", res!.name);
  }

  async #connect(ctx: Ctx): Promise<number> {
    const { res, conn } = ctx;
    const argv = [this.opts.drbdsetup, ctx.cmd.name, res!.name, peerNodeId(conn!)];
    argv.push(...this.setupOptions(ctx.cmd.context));
    return await this.system(argv, "short", res!.name);
  }

  async #peerDevice(ctx: Ctx): Promise<number> {
    const { res, conn, vol } = ctx;
    const pd = findPeerDevice(conn!, vol!.vnr);
    if (!pd) {
      this.io.err("Could not find peer_device object!\n");
      this.exit(E.THINKO);
    }
    const argv = [
      this.opts.drbdsetup,
      ctx.cmd.name,
      res!.name,
      peerNodeId(conn!),
      String(vol!.vnr),
    ];
    if (ctx.cmd !== PEER_DEVICE_OPTIONS) argv.push("--set-defaults");
    argv.push(...this.makeOptions(pd.options));
    argv.push(...this.setupOptions(ctx.cmd.context));
    return await this.system(argv, "short", res!.name);
  }

  /**
   * drbdadm 9.22 crashes (SIGSEGV, exit 139) in `-d outdate` on a diskless volume, and its
   * buffered output is lost. We end the same way, but with a message and before printing.
   */
  checkDisklessOutdate(res: Resource, vol?: Volume): void {
    if (!this.opts.dryRun) return;
    for (const v of vol ? [vol] : res.me?.volumes ?? []) {
      if (hasDisk(v)) continue;
      this.io.err(`outdate: minor ${v.minor} has no local disk to outdate\n`);
      this.exit(139);
    }
  }

  /**
   * Ends drbdadm when `disk ""` would be the backing device of a step (attach, or drbdmeta on
   * internal metadata). drbdadm 9.22 takes the empty string for a disk and then fails an
   * assertion there (exit 134, its output lost); we name the disk keyword instead.
   */
  #refuseEmptyDisk(ctx: Ctx, vol: Volume): void {
    if (vol.disk !== "") return;
    const at = vol.diskPos ? `${vol.diskPos.file}:${vol.diskPos.line}: ` : "";
    this.io.err(
      `${at}in resource ${ctx.res?.name}, volume ${vol.vnr}: 'disk ""' names no backing ` +
        `device, which ${ctx.cmd.name} needs.\n`,
    );
    this.exit(E.CONFIG_INVALID);
  }

  async #outdate(ctx: Ctx): Promise<number> {
    let rv = await this.drbdsetup(ctx, "short", true);
    if (rv === 17) return rv;
    if (rv === 5) {
      rv = await this.drbdmeta(ctx, "very-long");
      return rv ? 5 : 0;
    }
    if (rv || this.opts.dryRun) rv = await this.drbdmeta(ctx, "very-long");
    return rv;
  }

  async #setupAndMeta(ctx: Ctx): Promise<number> {
    const setupCmd = {
      ...ctx.cmd,
      context: ctx.cmd.context === "forceable" ? undefined : ctx.cmd.context,
    };
    let rv = await this.drbdsetup({ ...ctx, cmd: setupCmd }, "short", true);
    const backing = ctx.vol && hasDisk(ctx.vol) && ctx.vol.metaDisk;
    if (rv === 11 || rv === 17 || !backing) return rv;
    if (rv || this.opts.dryRun) rv = await this.drbdmeta(ctx, "very-long");
    return rv;
  }

  async #invalidate(ctx: Ctx): Promise<number> {
    let rv = await this.callCmd(INVALIDATE_SETUP, ctx, false);
    if (rv === 11 || rv === 17) return rv;
    if (rv || this.opts.dryRun) rv = await this.callCmd(INVALIDATE_META, ctx, false);
    return rv;
  }

  async #forgetPeer(ctx: Ctx): Promise<number> {
    let rv = await this.callCmd(FORGET_PEER_SETUP, ctx, false);
    if (rv === 11 || rv === 17) return rv;
    if (rv || this.opts.dryRun) rv = await this.callCmd(FORGET_PEER_META, ctx, false);
    return rv;
  }

  async #createMd(ctx: Ctx): Promise<number> {
    const res = ctx.res!;
    const idx = this.opts.backendOptions.findIndex((b) => b.startsWith("--max-peers="));
    let maxPeers: string;
    let saved: string | undefined;
    if (idx >= 0) {
      saved = this.opts.backendOptions[idx];
      maxPeers = saved.slice("--max-peers=".length);
      this.opts.backendOptions.splice(idx, 1);
    } else {
      let n = 0;
      for (const conn of res.connections) {
        if (conn.ignore) continue;
        if (!conn.peer || conn.peer.volumes.some((v) => hasDisk(v))) n++;
      }
      maxPeers = String(n || 1);
    }
    let deviceUuid = 0n;
    if (!this.opts.dryRun) deviceUuid = await this.#readDevUuid(ctx);
    const rv = await this.drbdmeta(ctx, "very-long", maxPeers);
    if (saved !== undefined) this.opts.backendOptions.unshift(saved);
    if (rv || this.opts.dryRun) return rv;
    if (deviceUuid === 0n) {
      const r = crypto.getRandomValues(new BigUint64Array(1));
      deviceUuid = r[0];
    }
    const backend = this.opts.backendOptions;
    this.opts.backendOptions = [deviceUuid.toString(16).toUpperCase().padStart(16, "0")];
    const uuidCmd = { ...ctx.cmd, name: "write-dev-uuid", context: "wildcard" as const };
    await this.drbdmeta({ ...ctx, cmd: uuidCmd }, "very-long");
    this.opts.backendOptions = backend;
    return rv;
  }

  /** The device UUID in existing metadata (0 when there is none), read without printing. */
  async #readDevUuid(ctx: Ctx): Promise<bigint> {
    const capture = new MemoryConsole();
    const v = ctx.vol!;
    const internal = v.metaDisk === "internal";
    if (internal) this.#refuseEmptyDisk(ctx, v);
    const argv = [
      this.opts.drbdmeta,
      String(v.minor),
      "v09",
      (internal ? v.disk : v.metaDisk) ?? "",
      v.metaIndex === "flexible"
        ? (internal ? "flex-internal" : "flex-external")
        : v.metaIndex ?? "",
      "read-dev-uuid",
    ];
    await this.runner(argv, capture, { quiet: true, sleeps: "very-long" });
    const m = /^\s*([0-9a-fA-F]+)/.exec(capture.stdout);
    return m ? BigInt("0x" + m[1]) : 0n;
  }

  #up(ctx: Ctx): number {
    const res = ctx.res!;
    this.schedule(NEW_RESOURCE, ctx, "prereq");
    // up and adjust bind the peers themselves: a minor-N name did not
    setPeers(this.config, res);
    for (const conn of res.connections) {
      if (conn.ignore) continue;
      const c = { ...ctx, conn };
      this.schedule(NEW_PEER, c, "net-prep-up");
      this.schedule(NEW_PATH, c, "net-path");
      this.schedule(CONNECT, c, "net-connect");
      for (const pd of conn.peerDevices) {
        if (pd.options.length === 0) continue;
        const vol = conn.peer?.volumes.find((v) => v.vnr === pd.vnr);
        this.schedule(PEER_DEVICE_OPTIONS, { ...c, vol }, "peer-device");
      }
    }
    for (const vol of res.me?.volumes ?? []) {
      const v = { ...ctx, conn: undefined, vol };
      this.schedule(NEW_MINOR, v, "disk-prep-up");
      if (hasDisk(vol)) this.schedule(ATTACH, v, "disk");
    }
    return 0;
  }

  /**
   * drbdadm's adjust: compares the resource with what the node runs (`drbdsetup show`) and
   * schedules the steps that make them agree (see adjust.ts).
   */
  async #adjust(ctx: Ctx): Promise<number> {
    const res = ctx.res!;
    reselectMeByProxy(res, this.opts.hostname);
    setPeers(this.config, res);
    if (!this.#adjustFlags) {
      const take = (prefix: string) => {
        const i = this.opts.backendOptions.findIndex((b) => b.startsWith(prefix));
        if (i >= 0) this.opts.backendOptions.splice(i, 1);
        return i >= 0;
      };
      this.#adjustFlags = { skipDisk: take("--skip-disk"), skipNet: take("--skip-net") };
    }
    const { skipDisk, skipNet } = this.#adjustFlags;
    // loaded here: no other command needs the comparison
    const { planAdjust } = await import("./adjust.ts");
    const running = (await this.#runningConfig()).get(res.name);
    const note = this.opts.verbose > 2 ? (m: string) => this.io.err(m) : undefined;
    planAdjust(this, ctx, running, { disk: !skipDisk, net: !skipNet, note });
    return 0;
  }

  /** Adjust's proxy part of a connection: its proxy connection is set up anew. */
  adjustProxy(ctx: Ctx): void {
    const path = ctx.conn!.paths[0];
    if (!path?.myProxy || !hostnameInList(this.opts.hostname, path.myProxy.onHosts)) return;
    this.schedule(PROXY_CONN_DOWN, ctx, "net-prep-down");
    this.schedule(PROXY_CONN_UP, ctx, "net-prep-up");
    this.schedule(PROXY_CONN_PLUGINS, ctx, "net-prep-up");
  }

  /**
   * The node's running resources by name, from `drbdsetup show` (once per run; its errors are
   * not shown: no daemon means nothing runs). `FAKE_DRBDSETUP_SHOW=FILE` reads that file
   * instead, as drbdadm 9.22 does.
   */
  async #runningConfig(): Promise<Map<string, RunningResource>> {
    if (this.#running) return this.#running;
    let text = "";
    const fake = Deno.env.get("FAKE_DRBDSETUP_SHOW");
    if (fake) {
      try {
        text = Deno.readTextFileSync(fake);
      } catch {
        this.io.err(`Failed to open FAKE_DRBDSETUP_SHOW ${fake}\n`);
        this.exit(E.USAGE);
      }
    } else {
      const capture = new MemoryConsole();
      const rv = await this.runner([this.opts.drbdsetup, "show"], capture, {
        quiet: true,
        sleeps: "short",
      });
      if (rv === 0) text = capture.stdout;
    }
    this.#running = new Map(parseRunningConfig(text).map((r) => [r.name, r]));
    return this.#running;
  }

  async #checkProxy(ctx: Ctx, up: boolean): Promise<number> {
    const conn = ctx.conn!;
    if (conn.paths.length > 1) {
      this.io.err("Multiple paths in connection within proxy setup not allowed\n");
      this.exit(E.CONFIG_INVALID);
    }
    const path = conn.paths[0];
    const { hostname } = this.opts;
    const res = ctx.res!;
    // a connection named on the command line must have a proxy here; others are skipped
    const skip = (message: string): number => {
      if (!this.onCmdline.has(conn)) return 0;
      this.io.err(message);
      this.exit(E.CONFIG_INVALID);
    };
    if (!path?.myProxy) {
      const [open, close] = conn.name ? [`'${conn.name}' (`, ")"] : ["", ""];
      const peer = conn.peer?.names.length ? conn.peer.names.join(" ") : "UNKNOWN";
      return skip(
        `${res.file}:${conn.pos.line}: In resource '${res.name}', no proxy config for ` +
          `connection ${open}from '${hostname}' to '${peer}'${close}.\n`,
      );
    }
    if (!hostnameInList(hostname, path.myProxy.onHosts)) {
      return skip(`The proxy config in resource ${res.name} is not for ${hostname}.\n`);
    }
    if (!path.peerProxy) {
      return skip(`There is no proxy config for the peer in resource ${res.name}.\n`);
    }
    if (!up) return await this.#proxyConnDown(ctx);
    return await this.#proxyConnUp(ctx) || await this.#proxyConnPlugins(ctx);
  }

  #proxyName(ctx: Ctx): string {
    const path = ctx.conn!.paths[0];
    return `${ctx.conn!.name ?? ctx.res!.name}-${path.peerProxy!.onHosts.join("_")}-${
      path.myProxy!.onHosts.join("_")
    }`;
  }

  async #proxyConnUp(ctx: Ctx): Promise<number> {
    const path = ctx.conn!.paths[0];
    if (!path?.myProxy || !path.peerProxy) return 0;
    const hp = (a?: Address) => `${a?.addr ?? ""}:${a?.port ?? ""}`;
    const text = `add connection ${this.#proxyName(ctx)} ${hp(path.myProxy.inside)} ` +
      `${hp(path.peerProxy.outside)} ${hp(path.myProxy.outside)} ${hp(path.myAddress)}`;
    return await this.system([this.opts.drbdProxyCtl, "-c", text], "short", ctx.res!.name);
  }

  async #proxyConnDown(ctx: Ctx): Promise<number> {
    const path = ctx.conn!.paths[0];
    if (!path?.myProxy || !path.peerProxy) return 0;
    const text = `del connection ${this.#proxyName(ctx)}`;
    return await this.system([this.opts.drbdProxyCtl, "-c", text], "short", ctx.res!.name);
  }

  async #proxyConnPlugins(ctx: Ctx): Promise<number> {
    const path = ctx.conn!.paths[0];
    if (!path?.myProxy || !path.peerProxy) return 0;
    const name = this.#proxyName(ctx);
    const argv = [this.opts.drbdProxyCtl];
    for (const o of path.myProxy.options) argv.push("-c", `set ${o.name} ${name} ${o.value}`);
    const plugins = path.myProxy.plugins;
    if (plugins.length > 0) {
      plugins.forEach((p, i) => argv.push("-c", `set plugin ${name} ${i} ${p.name}`));
      argv.push(`set plugin ${name} ${plugins.length} END`);
    }
    return argv.length > 2 ? await this.system(argv, "short", ctx.res!.name) : 0;
  }

  async #waitConnect(ctx: Ctx): Promise<number> {
    const { res, vol, conn } = ctx;
    const r = res!;
    const argv = [this.opts.drbdsetup];
    if (vol && conn) argv.push(`${ctx.cmd.name}-volume`, r.name, peerNodeId(conn), String(vol.vnr));
    else if (conn) argv.push(`${ctx.cmd.name}-connection`, r.name, peerNodeId(conn));
    else argv.push(`${ctx.cmd.name}-resource`, r.name);
    if (this.opts.stacked && !r.stackedTimeouts) {
      let timeout = 20;
      const ci = r.netOptions.find((o) => o.name === "connect-int");
      if (ci?.value) timeout = (parseInt(ci.value, 10) || 0) * 2;
      argv.push("--wfc-timeout", String(timeout));
    } else argv.push(...this.makeOptions(r.startupOptions));
    return await this.system(argv, "forever", r.name);
  }

  async #waitConInt(): Promise<number> {
    if (!this.opts.tty) {
      this.io.err("WARN: stdin/stdout is not a TTY; using /dev/console");
      this.io.out("WARN: stdin/stdout is not a TTY; using /dev/console");
    }
    for (const r of this.config.resources) {
      if (r.ignore || r.stacked !== this.opts.stacked) continue;
      const argv = [this.opts.drbdsetup, "wait-connect-resource", r.name];
      argv.push(...this.makeOptions(r.startupOptions));
      await this.system(argv, "pid", r.name);
    }
    return 0;
  }

  async #khelper(ctx: Ctx): Promise<number> {
    const res = ctx.res!;
    const handler = res.handlers.find((h) => h.name === ctx.cmd.name);
    if (!handler?.value) return 0;
    const vols = res.me?.volumes ?? [];
    const env: Record<string, string> = {
      DRBD_CONF: this.opts.configFile,
      DRBD_RESOURCE: res.name,
      DRBD_MINOR: vols.map((v) => String(v.minor)).join(" "),
      DRBD_VOLUME: vols.map((v) => String(v.vnr)).join(" "),
      DRBD_LL_DISK: vols.map((v) => shellEscape(hasDisk(v) ? v.disk! : "none")).join(" "),
      DRBD_MY_NODE_ID: Deno.env.get("DRBD_MY_NODE_ID") ?? res.me?.nodeId ?? "",
    };
    for (const h of res.hosts) if (h.nodeId) env[`DRBD_NODE_ID_${h.nodeId}`] = h.names.join(" ");
    return await this.system(["/bin/sh", "-c", handler.value], "very-long", res.name, false, env);
  }

  #shModParms(): number {
    let mc = this.config.global.minorCount;
    if (!mc) {
      let minors = 0;
      for (const r of this.config.resources) if (!r.ignore) minors += r.me?.volumes.length ?? 0;
      mc = Math.min(Math.max(minors + 3, 32), 255);
    }
    this.io.out(`minor_count=${mc}\n`);
    return 0;
  }

  #shUdev(ctx: Ctx): number {
    const { res, vol } = ctx;
    if (!vol) {
      this.io.err("volume not specified\n");
      return 1;
    }
    const dev = deviceOf(vol);
    this.io.out(
      dev.startsWith("/dev/drbd") ? `DEVICE=${dev.slice(5)}\n` : `DEVICE=drbd${vol.minor}\n`,
    );
    const link = vol.implicit && !this.config.global.udevAlwaysUseVnr
      ? `drbd/by-res/${res!.name}`
      : `drbd/by-res/${res!.name}/${vol.vnr}`;
    this.io.out(`SYMLINK=${link}\nSYMLINK_BY_RES=${link}\n`);
    if (hasDisk(vol)) {
      const d = vol.disk!;
      this.io.out(`SYMLINK_BY_DISK=drbd/by-disk/${d.startsWith("/dev/") ? d.slice(5) : d}\n`);
    }
    return 0;
  }

  #shLowerResource(ctx: Ctx): number {
    const res = ctx.res!;
    if (!this.opts.stacked) {
      this.io.err("sh-lower-resource only available in stacked mode\n");
      this.exit(E.USAGE);
    }
    if (!res.stacked) {
      this.io.err(`'${res.name}' is not stacked on this host (${this.opts.hostname})\n`);
      this.exit(E.USAGE);
    }
    this.io.out(`${res.me?.lower?.name ?? res.me?.lowerName ?? ""}\n`);
    return 0;
  }
}

/** `af:addr:port`, with brackets around IPv6 addresses, as drbdsetup's path arguments. */
export function formatAddress(a: Address | undefined): string {
  if (!a) return "";
  return a.af === "ipv6" ? `${a.af}:[${a.addr}]:${a.port}` : `${a.af}:${a.addr}:${a.port}`;
}

function findPeerDevice(conn: Connection, vnr: number): PeerDevice | undefined {
  return conn.peerDevices.find((p) => p.vnr === vnr);
}
