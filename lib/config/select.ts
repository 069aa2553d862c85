/**
 * Finding resources by the names given on drbdadm's command line.
 *
 * @module
 */

import type { Config, Resource } from "./types.ts";
import { ConfigError, EXIT } from "./errors.ts";

/** Options for {@link selectResources}. */
export interface SelectOptions {
  /** Keep resources this host is not part of (`dump` does). */
  includeIgnored?: boolean;
  /** `-S`: select stacked resources instead of lower ones for `all`. */
  stacked?: boolean;
}

/**
 * The resource called `name` (exact match) or undefined. Does not parse `res/vol` or
 * `res:peer`: split those first.
 */
export function findResource(config: Config, name: string): Resource | undefined {
  return config.resources.find((r) => r.name === name);
}

/**
 * Resolves command-line resource names: `[]` or `["all"]` gives every resource of this host
 * (all resources for dump with `includeIgnored`); otherwise each name must exist, else throws
 * {@link ConfigError} "'NAME' not defined in your config (for this host)." with exit code 1.
 */
export function selectResources(
  config: Config,
  names: string[],
  options: SelectOptions = {},
): Resource[] {
  if (names.length === 0 || (names.length === 1 && names[0] === "all")) {
    return config.resources.filter((r) =>
      (options.includeIgnored || !r.ignore) &&
      (options.includeIgnored || r.stacked === !!options.stacked)
    );
  }
  return names.map((n) => {
    const r = findResource(config, n);
    if (!r) {
      throw new ConfigError(`'${n}' not defined in your config (for this host).`, {
        exitCode: EXIT.USAGE,
      });
    }
    return r;
  });
}
