/**
 * drbd.conf: parse, resolve, validate and print configurations exactly as drbdadm 9.22 does.
 *
 * Typical use by drbdadm's command layer:
 *
 * ```ts
 * const { config, selected, warnings } = loadConfig("/etc/drbd.conf", {
 *   command: "up",
 *   resources: ["r0"],
 *   verifyIps: true,
 * });
 * for (const w of warnings) console.error(w);
 * for (const res of selected) { ... res.me!.volumes ... }
 * ```
 *
 * Errors are thrown as {@link ConfigError}: print `error.messages` to stderr, exit with
 * `error.exitCode`.
 *
 * @module
 */

export type * from "./types.ts";
export { ConfigError, type Diagnostic, EXIT } from "./errors.ts";
export { hostHasIp, nodeName } from "./host.ts";
export {
  configProblems,
  loadConfig,
  type LoadOptions,
  type LoadResult,
  parseConfigFile,
  parseConfigText,
  type ParseOptions,
  resourceNameOf,
  setPeers,
} from "./load.ts";
export { expandCommon } from "./inherit.ts";
export { findResource, type SelectOptions, selectResources } from "./select.ts";
export { dumpConfig, type DumpOptions, dumpXml, escConf, escXml } from "./dump.ts";
