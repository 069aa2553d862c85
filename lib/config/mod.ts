/**
 * drbd.conf: parse, resolve, validate and print configurations exactly as drbdadm 9.22 does.
 *
 * Typical use by drbdadm's command layer:
 *
 * ```ts
 * const config = loadConfig("/etc/drbd.conf", { hostname: nodeName(), command: "up" });
 * for (const res of selectResources(config, ["r0"])) { ... res.me!.volumes ... }
 * ```
 *
 * Errors are thrown as {@link ConfigError}: print `error.messages` to stderr, exit with
 * `error.exitCode`.
 *
 * @module
 */

export type * from "./types.ts";
export { ConfigError, type Diagnostic } from "./errors.ts";
export { nodeName } from "./host.ts";
export {
  loadConfig,
  type LoadOptions,
  parseConfigFile,
  parseConfigText,
  type ParseOptions,
} from "./load.ts";
export { expandCommon } from "./inherit.ts";
export { findResource, type SelectOptions, selectResources } from "./select.ts";
export { dumpConfig, type DumpOptions, dumpXml } from "./dump.ts";
