/**
 * Reading a configuration: lex, parse (following includes), resolve hosts and connections,
 * validate — the steps drbdadm 9.22 takes before running a command.
 *
 * @module
 */

import type { Config } from "./types.ts";
import { ConfigError } from "./errors.ts";

/** Options for {@link parseConfigFile} and {@link parseConfigText}. */
export interface ParseOptions {
  /** Node name selecting `on` sections; defaults to {@link nodeName}(). */
  hostname?: string;
  /** File name to report in positions and dumps (parseConfigText only; default "STDIN"). */
  file?: string;
  /** Directory against which relative `include` globs resolve (default: the file's folder). */
  baseDir?: string;
}

/**
 * Parses a drbd.conf file (with its includes) and resolves it as drbdadm's `post_parse` does:
 * volumes are merged into host sections, node-ids assigned, implicit connections created and
 * `this host` selected. Common options are NOT yet copied into resources (see `expandCommon`).
 * Throws {@link ConfigError} on the first syntax error or when the file cannot be read.
 */
export function parseConfigFile(path: string, options: ParseOptions = {}): Config {
  throw new ConfigError(`not implemented: ${path} ${options.hostname ?? ""}`);
}

/** Like {@link parseConfigFile}, for configuration text already in memory (e.g. `-c -`). */
export function parseConfigText(text: string, options: ParseOptions = {}): Config {
  throw new ConfigError(`not implemented: ${text.length} ${options.file ?? ""}`);
}

/** Options for {@link loadConfig}: what drbdadm's main() knows about the command. */
export interface LoadOptions extends ParseOptions {
  /** The drbdadm command (e.g. `dump`, `dump-xml`, `up`, `sh-resources`). */
  command: string;
  /** Resource arguments as given on the command line (`[]` or `["all"]` for all). */
  resources?: string[];
  /** `-d` (dry run): common options are expanded even for dump. */
  dryRun?: boolean;
  /** `-v`: verbose dump (implicit sections printed, common expanded). */
  verbose?: boolean;
  /** Whether this command checks that this host's address exists locally (drbdadm's verify_ips). */
  verifyIps?: boolean;
  /** `-t FILE`: a second file parsed after the main one (dump, sh-nop). */
  configToTest?: string;
}

/**
 * The whole configuration pipeline of drbdadm for one command: parse, post-parse, expand common
 * (unless a plain dump), global validation, and address verification of the named resources.
 * Returns the configuration plus the warnings drbdadm prints; throws {@link ConfigError} with
 * drbdadm's messages and exit code when drbdadm would stop.
 */
export function loadConfig(
  path: string,
  options: LoadOptions,
): { config: Config; warnings: string[] } {
  throw new ConfigError(`not implemented: ${path} ${options.command}`);
}
