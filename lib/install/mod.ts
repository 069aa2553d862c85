/**
 * `udrbd install`: puts the tools (drbdadm, drbdsetup, drbdmeta, drbd-overview and udrbd),
 * shell completions, man pages and systemd units under a prefix, records them in a manifest,
 * and removes exactly those again.
 *
 * ```ts
 * import { install, uninstall } from "./mod.ts";
 * const done = await install({ prefix: "/usr/local", dryRun: true });
 * for (const a of done.actions) console.log(a);
 * ```
 *
 * @module
 */
export {
  DEFAULT_PREFIX,
  install,
  type InstallOptions,
  type InstallResult,
  uninstall,
} from "./run.ts";
export {
  currentSource,
  type InstallItem,
  type InstallSource,
  planItems,
  TOOL_NAMES,
  wrapperScript,
} from "./items.ts";
export {
  type EntryState,
  entryState,
  formatManifest,
  type ManifestEntry,
  manifestPath,
  parseManifest,
  sha256,
} from "./manifest.ts";
export { daemonUnit, resourceTarget, resourceUnit } from "./units.ts";
