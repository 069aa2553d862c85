/**
 * The status surfaces as pure formatters over one snapshot of the node ({@link ResourceStatus}):
 * `drbdsetup status` text and `--json`, `events2` lines, DRBD 8.4's /proc/drbd and
 * drbd-overview. Each function takes the snapshot (plus options) and returns the exact text the
 * corresponding drbd-utils 9.22 / DRBD 8.4 tool prints; nothing here does I/O.
 *
 * ```ts
 * import { formatStatus } from "./mod.ts";
 * console.log(formatStatus(snapshot, { verbose: false, statistics: false, color: "never" }));
 * ```
 *
 * @module
 */
export type {
  Blocked,
  ConnectionExtras,
  ConnectionStatus,
  DeviceExtras,
  DeviceStatus,
  PathStatus,
  PeerDeviceStatus,
  ResourceExtras,
  ResourceStatus,
  ResyncSuspended,
  WriteOrdering,
} from "./types.ts";
export { hasSyncDetails, isSuspended, resyncSuspendedText, suspendedText } from "./types.ts";
export {
  formatStatus,
  NO_RESOURCES_TEXT,
  percentDone,
  selectResources,
  type StatusTextOptions,
} from "./text.ts";
export { formatStatusJson } from "./json.ts";
export {
  type ConnectionEvent,
  type DeviceEvent,
  diffEvents,
  endOfInitialState,
  type EventAction,
  type EventFormatOptions,
  formatEvent,
  formatTimestamp,
  type HelperEvent,
  type PathEvent,
  type PeerDeviceEvent,
  promotionInfo,
  type RenameEvent,
  type ResourceEvent,
  snapshotEvents,
  type StatusEvent,
} from "./events.ts";
export {
  connectionState84,
  diskState84,
  formatProcDrbd,
  type Minor84,
  minors84,
  type ProcVersion,
} from "./proc.ts";
export { dfHuman, formatOverview, type MountInfo, type OverviewOptions } from "./overview.ts";
