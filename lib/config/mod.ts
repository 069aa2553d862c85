/**
 * drbd.conf: parse, resolve, validate and print configurations exactly as drbdadm 9.22 does.
 *
 * Typical use by drbdadm's command layer:
 *
 * ```ts
 * const { config, selected, warnings, exitCode } = loadConfig("/etc/drbd.conf", {
 *   command: "up", // "dump"/"dump-xml" are lenient and not expanded
 *   resources: ["r0"], // [] or ["all"]: every resource of this host
 *   verifyIps: true, // the command's verify_ips flag
 *   resNameRequired: true, // the command's res_name_required flag
 *   dryRun: false, // -d
 *   configToTest: undefined, // -t FILE
 * });
 * for (const w of warnings) console.error(w);
 * for (const res of selected) { ... res.me!.volumes ... res.connections ... }
 * ```
 *
 * - Host selection: `res.me` is this node's host section (`nodeName()`: `UDRBD_HOSTNAME`,
 *   `__DRBD_NODE__`, then `uname -n`); `res.ignore` when the node has none.
 * - Peers: `setPeers(config, res)` binds connections to peers (`conn.peer`, `path.peerAddress`,
 *   the `_name` net option); `loadConfig` does it for named resources.
 * - Printing: `dumpConfig` / `dumpXml` with `{ header: false }` for named resources.
 * - Errors are thrown as {@link ConfigError}: print `error.messages` to stderr, exit with
 *   `error.exitCode`.
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
  verifyBeforeDump,
} from "./load.ts";
export { expandCommon } from "./inherit.ts";
export { findResource, type SelectOptions, selectResources } from "./select.ts";
export { matchOnProxy, reselectMeByProxy } from "./proxy_match.ts";
export { dumpConfig, type DumpOptions, dumpXml, escConf, escXml } from "./dump.ts";
