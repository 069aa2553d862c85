/**
 * Reading a configuration: lex, parse (following includes), resolve hosts and connections,
 * validate — the steps drbdadm 9.22 takes before running a command.
 *
 * @module
 */

import type { Config, Resource } from "./types.ts";
import { ConfigError, type Diagnostic, directoryMessage, EXIT, joinRunOns } from "./errors.ts";
import { hostHasIp, nodeName } from "./host.ts";
import { ParseAbort, Parser } from "./parser.ts";
import { postParse, ResolveAbort, type ResolveContext, setPeerInResource } from "./resolve.ts";
import { expandCommon } from "./inherit.ts";
import { canonifyPath } from "./files.ts";
import { hostnameInList } from "./parser.ts";
import { badVolumeNumber, readAdmNumber, splitArgId, u32 } from "./arg_ids.ts";
import type { Problems } from "./problems.ts";
import { phase } from "./timing.ts";
import { convertResyncAfter } from "./resync_after.ts";
import { matchOnProxy } from "./proxy_match.ts";

/** Options for {@link parseConfigFile} and {@link parseConfigText}. */
export interface ParseOptions {
  /** Node name selecting `on` sections; defaults to {@link nodeName}(). */
  hostname?: string;
  /** File name to report in positions and dumps (parseConfigText only; default "STDIN"). */
  file?: string;
  /** `-t FILE`: a second file parsed after the main one (its text is read from disk). */
  configToTest?: string;
  /** `-E FILE` (repeatable): files that `include` statements skip. */
  configToExclude?: string[];
  /** `-v`: report include patterns that match nothing. */
  verbose?: boolean;
}

/** A parsed configuration plus what drbdadm printed to stderr on the way. */
interface Loaded {
  config: Config;
  diagnostics: Diagnostic[];
  ctx: ResolveContext;
}

const contexts = new WeakMap<Config, ResolveContext>();

function fail(diagnostics: Diagnostic[], exitCode: number): never {
  const first = diagnostics.find((d) => !d.warning) ?? diagnostics[diagnostics.length - 1];
  throw new ConfigError(first?.message ?? "invalid configuration", {
    pos: first?.pos,
    exitCode,
    diagnostics,
  });
}

function parseAndResolve(
  file: string,
  save: string,
  text: string,
  options: ParseOptions,
): Loaded {
  const hostname = options.hostname ?? nodeName();
  const parser = new Parser({
    hostname,
    excludeFiles: options.configToExclude,
    verbose: options.verbose,
  });
  phase("node name");
  try {
    parser.parseTop(file, text, save);
    if (options.configToTest) {
      let t: string;
      try {
        t = Deno.readTextFileSync(options.configToTest);
      } catch {
        parser.problems.error(`Can not open '${options.configToTest}'.\n.`);
        throw new ParseAbort(EXIT.EXEC_ERROR);
      }
      parser.parseTop(options.configToTest, t, canonifyPath(options.configToTest));
    }
  } catch (e) {
    if (e instanceof ParseAbort) fail(parser.problems.list, e.exitCode);
    throw e;
  }
  if (!parser.problems.valid) fail(parser.problems.list, EXIT.CONFIG_INVALID);
  phase("lex + parse");
  const config: Config = {
    file: save,
    hostname,
    global: parser.global,
    common: parser.common,
    resources: parser.resources,
  };
  const ctx: ResolveContext = {
    hostname,
    problems: parser.problems,
    parser,
    file,
    lastLine: parser.lastLine,
  };
  try {
    postParse(ctx, config.resources);
  } catch (e) {
    if (e instanceof ParseAbort) fail(parser.problems.list, e.exitCode);
    if (e instanceof ResolveAbort) {
      parser.problems.error(e.message);
      fail(parser.problems.list, e.exitCode);
    }
    throw e;
  }
  parser.finish();
  phase("post-parse (resolve)");
  contexts.set(config, ctx);
  return { config, diagnostics: parser.problems.list, ctx };
}

/** The error for a configuration file that cannot be read, as drbdadm reports it. */
function unreadable(path: string, e: unknown): ConfigError {
  return e instanceof Deno.errors.IsADirectory
    ? new ConfigError(directoryMessage(path), { exitCode: EXIT.SYNTAX })
    : new ConfigError(`Can not open '${path}'.\n.`, { exitCode: EXIT.EXEC_ERROR });
}

/**
 * Parses a drbd.conf file (with its includes) and resolves it as drbdadm's `post_parse` does:
 * volumes are merged into host sections, node-ids assigned, implicit connections created and
 * this host's section selected (`res.me`). Common options are NOT yet copied into resources
 * (see `expandCommon`). Throws {@link ConfigError} for syntax errors and unreadable files; the
 * semantic problems post-parse finds are in `configProblems(config)`.
 */
export function parseConfigFile(path: string, options: ParseOptions = {}): Config {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw unreadable(path, e);
  }
  return parseAndResolve(path, canonifyPath(path), text, options).config;
}

/** Like {@link parseConfigFile}, for configuration text already in memory (e.g. `-c -`). */
export function parseConfigText(text: string, options: ParseOptions = {}): Config {
  const file = options.file ?? "STDIN";
  return parseAndResolve(file, file, text, options).config;
}

/**
 * Binds each connection of `res` to its peer host section, adds the implicit `_name` net option
 * and `bitmap no` for diskless peers (drbdadm's set_peer_in_resource). `loadConfig` does this
 * for resources named on the command line; call it for commands that need peers
 * (drbdadm's need_peer) when iterating over `all`. Idempotent.
 */
export function setPeers(config: Config, res: Resource): void {
  const ctx = contexts.get(config);
  if (ctx) setPeerInResource(ctx, res);
}

/** Every message (errors and warnings) recorded for a configuration so far, in order. */
export function configProblems(config: Config): Diagnostic[] {
  return contexts.get(config)?.problems.list ?? [];
}

/** Options for {@link loadConfig}: what drbdadm's main() knows about the command. */
export interface LoadOptions extends ParseOptions {
  /** The drbdadm command (`dump` and `dump-xml` are special: no expansion, lenient). */
  command: string;
  /** Resource arguments as given (`[]` or `["all"]` for all; `res/vol`, `res:peer` allowed). */
  resources?: string[];
  /** The command needs resource names (drbdadm's res_name_required); default true. */
  resNameRequired?: boolean;
  /** `-d` (dry run): common options are expanded even for dump; IPs not verified off a tty. */
  dryRun?: boolean;
  /** `-v`: verbose dump (implicit sections printed, common expanded). */
  verbose?: boolean;
  /** The command checks that this host's address exists locally (drbdadm's verify_ips flag). */
  verifyIps?: boolean;
  /**
   * Proxy commands: this host's part of a resource is where its proxy runs (drbdadm's
   * MATCH_ON_PROXY), chosen before the resources are validated.
   */
  matchOnProxy?: boolean;
  /** `-S`: stacked resources are the ones to work on with `all`. */
  stacked?: boolean;
  /** Whether stdin and stdout are terminals (drbdadm relaxes some checks otherwise). */
  tty?: boolean;
}

/** What {@link loadConfig} returns. */
export interface LoadResult {
  /** The whole configuration (resolved; common expanded unless a plain dump). */
  config: Config;
  /** The resources to run the command on, in order (for dump: including ignored ones). */
  selected: Resource[];
  /** Messages drbdadm prints to stderr without stopping (print them in order). */
  warnings: string[];
  /** Exit code drbdadm ends with even when it continues (e.g. 1 for an ignored resource). */
  exitCode: number;
}

/** The resource part of `res`, `res/vol` or `res:peer` arguments. */
export function resourceNameOf(arg: string): string {
  return arg.replace(/[/:].*$/, "");
}

/**
 * The whole configuration pipeline of drbdadm for one command: parse, post-parse, expand common
 * (unless a plain dump), global validation, and address verification of the selected
 * resources. Returns the configuration, the selected resources and the warnings drbdadm prints;
 * throws {@link ConfigError} with drbdadm's messages and exit code when drbdadm would stop.
 */
export function loadConfig(path: string, options: LoadOptions): LoadResult {
  const isDump = options.command === "dump" || options.command === "dump-xml";
  const names = options.resources ?? [];
  let text: string;
  const fromStdin = path === "-";
  if (fromStdin) {
    text = new TextDecoder().decode(readAllStdin());
  } else {
    try {
      text = Deno.readTextFileSync(path);
    } catch (e) {
      throw unreadable(path, e);
    }
  }
  const file = fromStdin ? "STDIN" : path;
  phase("read config file");
  const { config, ctx } = parseAndResolve(file, fromStdin ? "STDIN" : canonifyPath(path), text, {
    ...options,
  });
  const problems = ctx.problems;
  if (!isDump || options.dryRun || options.verbose) {
    try {
      expandCommon(config);
    } catch (e) {
      // a value drbdadm cannot read as a number ends the run at once (after what came before)
      if (e instanceof ConfigError && e.exitCode !== EXIT.CONFIG_INVALID) {
        fail([...problems.list, ...e.diagnostics], e.exitCode);
      }
      if (e instanceof ConfigError) {
        for (let dIdx = 0; dIdx < e.diagnostics.length; dIdx++) {
          const d = e.diagnostics[dIdx];
          problems.list.push(d);
        }
      } else throw e;
    }
    phase("expand common");
  }
  const noTty = !(options.tty ?? isTty());
  const warnings = () => joinRunOns(problems.list.map((d) => d.message));
  const needsRes = (options.resNameRequired ?? true) || names.length > 0;
  let exitCode = 0;
  if (!needsRes) {
    return { config, selected: config.resources, warnings: warnings(), exitCode };
  }
  if (config.resources.length === 0 && !isDump) {
    problems.error("no resources defined!");
    fail(problems.list, EXIT.USAGE);
  }
  // drbdadm selects by proxy in post_parse, before validation and resync-after conversion
  if (options.matchOnProxy) matchOnProxy(config);
  for (let resIdx = 0; resIdx < config.resources.length; resIdx++) {
    const res = config.resources[resIdx];
    validateResource(ctx, config, res, noTty, !!options.matchOnProxy);
    if (!problems.valid) fail(problems.list, EXIT.CONFIG_INVALID);
    if (!isDump) {
      convertResyncAfter(config, res, noTty, problems);
      convertDiscardOpt(ctx, res.netOptions);
      for (let cIdx = 0; cIdx < res.connections.length; cIdx++) {
        const c = res.connections[cIdx];
        convertDiscardOpt(ctx, c.netOptions);
      }
      if (!problems.valid) fail(problems.list, EXIT.CONFIG_INVALID);
    }
  }
  if (!problems.valid) fail(problems.list, EXIT.CONFIG_INVALID);
  phase("validate resources");
  const verify = (res: Resource) => {
    if (
      config.global.disableIpVerification || (options.dryRun && noTty) || !options.verifyIps ||
      res.ignore || (res.stacked && !options.stacked) || !res.me?.address?.addr
    ) return;
    const a = res.me.address;
    if (!hostHasIp(a.af, a.addr)) {
      const first = ctx.parser.firstUse(`${a.addr}:${a.port}`);
      problems.error(
        `${first ?? res.file}: in resource ${res.name}, on ${
          res.me.names.join(" ")
        }:\n\tIP ${a.addr} not found on this host.`,
      );
    }
  };
  let selected: Resource[];
  if (names.length === 0 || names[0] === "all") {
    for (let resIdx = 0; resIdx < config.resources.length; resIdx++) {
      const res = config.resources[resIdx];
      verify(res);
    }
    if (!problems.valid) fail(problems.list, EXIT.CONFIG_INVALID);
    selected = config.resources.filter((r) =>
      isDump || (!r.ignore && r.stacked === !!options.stacked)
    );
  } else {
    // drbdadm reads every name's volume number before it looks at any name
    const bad = badVolumeNumber(names);
    if (bad) {
      problems.error(bad.error);
      fail(problems.list, bad.exitCode);
    }
    // a minor number is read only while no name has found a resource (see findByArg): any
    // resource name does (drbdadm's checks see them all first), a minor-N once it is reached
    let named = names.some((n) => findByName(config, n));
    selected = [];
    for (let nIdx = 0; nIdx < names.length; nIdx++) {
      const n = names[nIdx];
      const res = findByArg(config, n, named, problems);
      if (res) named = true;
      // drbdadm binds peers for names only: ctx_by_minor leaves `minor-N` unbound (no `_name`)
      if (res && res.name === splitArgId(n).resName) {
        setPeerInResource(ctx, res);
      }
      if (!res) {
        problems.error(`'${n}' not defined in your config (for this host).`);
        fail(problems.list, EXIT.USAGE);
      }
      if (res.ignore && !isDump) {
        problems.warn(
          `'${res.name}' ignored, since this host (${config.hostname}) is not mentioned with an 'on' keyword.`,
        );
        exitCode = Math.max(exitCode, EXIT.USAGE);
        continue;
      }
      // a dump checks each named resource's address only when it reaches it (drbdadm's
      // verify_ips before call_cmd): an unknown name before it ends the run first
      if (isDump) pendingVerify.set(res, () => verify(res));
      else verify(res);
      if (!isDump && !problems.valid) fail(problems.list, EXIT.CONFIG_INVALID);
      selected.push(res);
    }
  }
  phase("verify addresses, select");
  return { config, selected, warnings: warnings(), exitCode };
}

const pendingVerify = new WeakMap<Resource, () => void>();

/**
 * For a dump of named resources: checks that this host's address of `res` exists here, as
 * drbdadm does just before it prints that resource (each time it is named); returns the
 * messages to print (none when the address is fine).
 */
export function verifyBeforeDump(config: Config, res: Resource): string[] {
  const check = pendingVerify.get(res);
  if (!check) return [];
  const problems = contexts.get(config)?.problems;
  if (!problems) return [];
  const before = problems.list.length;
  check();
  return joinRunOns(problems.list.slice(before).map((d) => d.message));
}

function findByName(config: Config, arg: string): Resource | undefined {
  // drbdadm's ctx_by_name treats resources without this host as unknown
  const byName = config.resources.find((r) => r.name === splitArgId(arg).resName);
  return byName?.ignore ? undefined : byName;
}

/**
 * The resource `arg` names. A `minor-N` is looked up only when `named` is false: once a name
 * found a resource, drbdadm never reads a minor number (a later unknown name ends the run).
 */
function findByArg(
  config: Config,
  arg: string,
  named: boolean,
  problems: Problems,
): Resource | undefined {
  const byName = findByName(config, arg);
  if (byName || named || !arg.startsWith("minor-")) return byName;
  const read = readAdmNumber(arg.slice(6));
  if (read.error !== undefined) {
    problems.error(read.error);
    fail(problems.list, read.exitCode);
  }
  const minor = u32(read.value);
  return config.resources.find((r) =>
    !r.ignore && r.me?.volumes.some((v) => v.minor === minor && minor !== 0xffffffff)
  );
}

function isTty(): boolean {
  try {
    return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

function readAllStdin(): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = Deno.stdin.readSync(buf);
    if (n === null || n === 0) break;
    chunks.push(buf.slice(0, n));
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (let cIdx = 0; cIdx < chunks.length; cIdx++) {
    const c = chunks[cIdx];
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** drbdadm's validate_resource. */
function validateResource(
  ctx: ResolveContext,
  config: Config,
  res: Resource,
  noTty: boolean,
  onProxy: boolean,
): void {
  const p = ctx.problems;
  const at = `${res.file}:${res.pos.line}`;
  // a copy to iterate over only when an entry may be removed (rare; this runs per resource)
  const resyncAfter = res.diskOptions.some((o) => o.name === "resync-after");
  for (const opt of resyncAfter ? [...res.diskOptions] : []) {
    if (opt.name !== "resync-after") continue;
    const other = config.resources.find((r) => r.name === resourceNameOf(opt.value ?? ""));
    // (on a proxy, a resource whose proxy runs elsewhere is a fine resync-after target)
    if (!other || (other.ignore && !onProxy)) {
      const msg = `${at}: in resource ${res.name}:\n\tresource '${opt.value}' mentioned in ` +
        `'resync-after' option is not known${other ? " on this host" : ""}.`;
      if (noTty) {
        p.warn(msg, res.pos);
        res.diskOptions.splice(res.diskOptions.indexOf(opt), 1);
      } else p.error(msg, res.pos);
    }
  }
  if (res.hosts.length === 0) {
    p.error(
      `${at}: in resource ${res.name}:\n\ta host sections ('on ${config.hostname} { ... }') is missing.`,
      res.pos,
    );
  }
  if (res.ignore) return;
  if (!res.me) {
    p.error(
      `${at}: in resource ${res.name}:\n\tmissing section 'on ${config.hostname} { ... }'.`,
      res.pos,
    );
  }
  const asb = res.netOptions.find((o) => o.name === "after-sb-0pri");
  if (asb?.value?.startsWith("discard-node-")) {
    const node = asb.value.slice(13);
    if (!res.hosts.some((h) => hostnameInList(node, h.names))) {
      p.error(
        `${at}: in resource ${res.name}:\n\tthe nodename in the '${asb.value}' option is not known.`,
        res.pos,
      );
    }
  }
  let prev: boolean | undefined;
  for (let hIdx = 0; hIdx < res.hosts.length; hIdx++) {
    const h = res.hosts[hIdx];
    const has = !!h.proxy;
    if (prev !== undefined && prev !== has) {
      p.error(
        `${at}: in resource ${res.name}:\n\tEither all 'on' sections must contain a proxy subsection, or none.`,
        res.pos,
      );
    }
    prev = has;
  }
  for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
    const conn = res.connections[connIdx];
    for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
      const path = conn.paths[pathIdx];
      let pv: boolean | undefined;
      for (let haIdx = 0; haIdx < path.hosts.length; haIdx++) {
        const ha = path.hosts[haIdx];
        const has = !!ha.proxy;
        if (pv !== undefined && pv !== has) {
          p.error(
            `${res.file}:${conn.pos.line}: in connection in resource ${res.name}:\n` +
              "Either all 'host' statements must have a proxy subsection, or none.",
            { file: res.file, line: conn.pos.line },
          );
        }
        pv = has;
      }
    }
  }
}

function convertDiscardOpt(ctx: ResolveContext, list: Resource["netOptions"]): void {
  const opt = list.find((o) => o.name === "after-sb-0pri");
  if (opt?.value?.startsWith("discard-node-")) {
    opt.value = opt.value.slice(13) === ctx.hostname ? "discard-local" : "discard-remote";
  }
}
