/**
 * `drbdsetup status` / `drbdadm status` text, as drbd-utils 9.22 prints it: one block per
 * resource (sorted by name), a line per volume and per connection, peer-device lines under each
 * connection, optional verbose and statistics fields, colors and wrapping.
 *
 * @module
 */
import { boolColor, cstateColor, diskColor, replColor, roleColor } from "./color.ts";
import { fixed } from "./printf.ts";
import type {
  ConnectionStatus,
  DeviceStatus,
  PeerDeviceStatus,
  ResourceStatus,
  WriteOrdering,
} from "./types.ts";
import { hasSyncDetails, isSuspended, suspendedText } from "./types.ts";
import { isSyncing } from "../engine/states.ts";
import { WrapWriter } from "./wrap.ts";

/** Options of {@link formatStatus}, mirroring drbdsetup status's flags. */
export interface StatusTextOptions {
  /** `--verbose`; a number counts repeated `-v` (2 shows the resync internals). */
  verbose?: boolean | number;
  /** `--statistics`. */
  statistics?: boolean;
  /** `--color`: "always" or "never" (the caller resolves "auto" against its stdout). */
  color?: "never" | "always";
  /** Only this resource ("all" or absent: every resource). */
  resourceFilter?: string;
  /** Whether stdout is a terminal: 9.22 hides `client:` of Diskless volumes on terminals. */
  tty?: boolean;
  /** Terminal width for wrapping; 80 (drbdsetup's fallback when stdout is not a terminal). */
  columns?: number;
}

/** The text drbdsetup prints when no resource exists at all. */
export const NO_RESOURCES_TEXT = "# No currently configured DRBD found.\n";

/** Resources sorted as drbdsetup lists them (byte order of names). */
export function sortResources(resources: readonly ResourceStatus[]): ResourceStatus[] {
  return [...resources].sort((a, b) => compareBytes(a.name, b.name));
}

/** Connections sorted as drbdsetup lists them (unnamed first, then by name). */
export function sortConnections(conns: readonly ConnectionStatus[]): ConnectionStatus[] {
  return [...conns].sort((a, b) => {
    if (!a.name !== !b.name) return a.name ? 1 : -1;
    return compareBytes(a.name, b.name);
  });
}

/** Devices in minor order, as the kernel lists them. */
export function sortDevices(devices: readonly DeviceStatus[]): DeviceStatus[] {
  return [...devices].sort((a, b) => a.minor - b.minor);
}

/** Peer devices in volume order. */
export function sortPeerDevices(pds: readonly PeerDeviceStatus[]): PeerDeviceStatus[] {
  return [...pds].sort((a, b) => a.volume - b.volume);
}

function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Resources that `resourceFilter` selects, in drbdsetup's order. An empty result for a named
 * filter is drbdsetup's "<name>: No such resource" (exit code 10), which the caller reports.
 */
export function selectResources(
  resources: readonly ResourceStatus[],
  resourceFilter?: string,
): ResourceStatus[] {
  const all = !resourceFilter || resourceFilter === "all";
  return sortResources(resources).filter((r) => all || r.name === resourceFilter);
}

/**
 * Render `drbdsetup status` text exactly as drbd-utils 9.22 prints it. With no resources at all
 * this is the "# No currently configured DRBD found." line; a filter that matches nothing gives
 * "" (see {@link selectResources} for the error the caller prints).
 */
export function formatStatus(
  resources: readonly ResourceStatus[],
  options: StatusTextOptions = {},
): string {
  const verbose = Number(options.verbose ?? 0);
  const ctx: Ctx = {
    w: new WrapWriter(options.columns ?? 80),
    verbose,
    statistics: options.statistics ?? false,
    color: options.color === "always",
    tty: options.tty ?? false,
  };
  let head = "";
  if (resources.length === 0) head = NO_RESOURCES_TEXT;
  for (const r of selectResources(resources, options.resourceFilter)) {
    resourceLine(ctx, r);
    const devices = sortDevices(r.devices);
    const single = devices.length === 1;
    for (const d of devices) deviceLine(ctx, d, single);
    const sizes = new Map(devices.map((d) => [d.volume, d.size]));
    for (const c of sortConnections(r.connections)) {
      connectionLines(ctx, c, single, r.devices.length > 0, sizes);
    }
    ctx.w.print(0, "\n");
  }
  return head + ctx.w.text;
}

interface Ctx {
  w: WrapWriter;
  verbose: number;
  statistics: boolean;
  color: boolean;
  tty: boolean;
}

const WRITE_ORDERING: readonly WriteOrdering[] = ["none", "drain", "flush", "barrier"];

function resourceLine(ctx: Ctx, r: ResourceStatus): void {
  const { w, verbose } = ctx;
  w.print(0, r.name);
  if (verbose && r["node-id"] >= 0) w.print(4, ` node-id:${r["node-id"]}`);
  w.print(4, ` role:${roleColor(r.role, true, ctx.color)}`);
  if (verbose || isSuspended(r)) w.print(4, ` suspended:${suspendedText(r)}`);
  if (verbose || r["force-io-failures"]) {
    const fail = r["force-io-failures"];
    w.print(4, ` force-io-failures:${boolColor(fail ? "yes" : "no", !fail, ctx.color)}`);
  }
  if (ctx.statistics && verbose) {
    w.print(4, "\n");
    if (WRITE_ORDERING.includes(r["write-ordering"])) {
      w.print(4, ` write-ordering:${r["write-ordering"]}`);
    }
  }
  w.print(0, "\n");
}

function deviceLine(ctx: Ctx, d: DeviceStatus, single: boolean): void {
  const { w, verbose } = ctx;
  let indent = 2;
  if (verbose || !(single && d.volume === 0)) {
    w.print(indent, `volume:${d.volume}`);
    indent = 6;
    if (verbose) w.print(indent, ` minor:${d.minor}`);
  }
  const disk = d["disk-state"];
  w.print(indent, ` disk:${diskColor(disk, d.client, true, ctx.color)}`);
  if (disk === "Diskless" && (verbose || !ctx.tty)) {
    w.print(indent, ` client:${d.client ? "yes" : "no"}`);
  }
  if (verbose) w.print(indent, ` backing_dev:${d.udrbd?.backingDev || "none"}`);
  if (verbose || !d.quorum) {
    w.print(indent, ` quorum:${boolColor(d.quorum ? "yes" : "no", d.quorum, ctx.color)}`);
  }
  indent = 6;
  if (ctx.statistics) w.print(indent, "\n");
  deviceStatistics(ctx, d, indent);
  w.print(indent, "\n");
}

function deviceStatistics(ctx: Ctx, d: DeviceStatus, indent: number): void {
  const { w, verbose } = ctx;
  if (ctx.statistics) {
    if (verbose) w.print(indent, ` size:${d.size}`);
    w.print(indent, ` read:${d.read}`);
    w.print(indent, ` written:${d.written}`);
    if (verbose) {
      w.print(indent, ` al-writes:${d["al-writes"]}`);
      w.print(indent, ` bm-writes:${d["bm-writes"]}`);
      w.print(indent, ` upper-pending:${d["upper-pending"]}`);
      w.print(indent, ` lower-pending:${d["lower-pending"]}`);
      w.print(indent, ` al-suspended:${d["al-suspended"] ? "yes" : "no"}`);
    }
  }
  if (verbose || d.blocked !== "no") w.print(indent, ` blocked:${d.blocked}`);
}

function connectionLines(
  ctx: Ctx,
  c: ConnectionStatus,
  single: boolean,
  hasDevices: boolean,
  sizes: Map<number, number>,
): void {
  const { w, verbose } = ctx;
  if (c.name) w.print(2, c.name);
  if (verbose || !c.name) w.print(c.name ? 6 : 2, ` node-id:${c["peer-node-id"]}`);
  const cs = c["connection-state"];
  if (verbose || cs !== "Connected") w.print(6, ` connection:${cstateColor(cs, ctx.color)}`);
  if (verbose || cs === "Connected") {
    w.print(6, ` role:${roleColor(c["peer-role"], false, ctx.color)}`);
  }
  if (verbose || c.congested) {
    w.print(6, ` congested:${c.congested ? "yes" : "no"}`);
    w.print(6, ` ap-in-flight:${c["ap-in-flight"]}`);
    w.print(6, ` rs-in-flight:${c["rs-in-flight"]}`);
  }
  w.print(0, "\n");
  // drbdsetup lists peer devices only for resources that have devices
  if (!hasDevices) return;
  if (verbose || ctx.statistics || cs === "Connected") {
    for (const pd of sortPeerDevices(c.peer_devices)) {
      peerDeviceLine(ctx, pd, single, sizes.get(pd.volume) ?? 0);
    }
  }
}

/** Sectors still to resync or verify, as 9.22 derives them. */
export function sectorsToGo(pd: PeerDeviceStatus): number {
  return pd["ov-left"] || pd["out-of-sync"] * 2 - (pd["rs-failed"] ?? 0);
}

/** Resync/verify progress in percent (the `done:` value); only meaningful with sync details. */
export function percentDone(pd: PeerDeviceStatus): number {
  const total = pd["rs-total"] ?? 0;
  return 100 * (total - sectorsToGo(pd)) / total;
}

function peerDeviceLine(ctx: Ctx, pd: PeerDeviceStatus, single: boolean, size: number): void {
  const { w, verbose } = ctx;
  let indent = 4;
  if (verbose || !(single && pd.volume === 0)) {
    w.print(indent, `volume:${pd.volume}`);
    indent = 8;
  }
  const repl = pd["replication-state"];
  if (verbose || (repl !== "Off" && repl !== "Established")) {
    w.print(indent, ` replication:${replColor(repl, ctx.color)}`);
    indent = 8;
  }
  const disk = pd["peer-disk-state"];
  if (verbose || ctx.statistics || repl !== "Off" || disk !== "DUnknown") {
    w.print(indent, ` peer-disk:${diskColor(disk, pd["peer-client"], false, ctx.color)}`);
    if (disk === "Diskless" && (verbose || !ctx.tty)) {
      w.print(indent, ` peer-client:${pd["peer-client"] ? "yes" : "no"}`);
    }
    indent = 8;
    if (hasSyncDetails(pd)) w.print(indent, ` done:${fixed(percentDone(pd), 2)}`);
    else if (pd["rs-total"] === undefined && isSyncing(pd["replication-state"]) && size > 0) {
      // a peer device without resync counters: estimate from out-of-sync, as 9.22 does
      w.print(indent, ` done:${fixed(100 * (1 - pd["out-of-sync"] / size), 2)}`);
    }
    if (verbose || pd["resync-suspended"] !== "no") {
      w.print(indent, ` resync-suspended:${pd["resync-suspended"]}`);
    }
    if (ctx.statistics) {
      w.print(indent, "\n");
      peerDeviceStatistics(w, pd, indent, verbose, false);
    }
  }
  w.print(0, "\n");
}

/** Something that accepts pieces with an indent: the wrapping writer or a plain line. */
export interface PieceSink {
  print(indent: number, piece: string): void;
}

/**
 * drbdsetup's peer-device statistics fields (shared by status and events2). `forEvent` adds the
 * leading `done:` that events2 prints and stops there unless statistics are on.
 */
export function peerDeviceStatistics(
  w: PieceSink,
  pd: PeerDeviceStatus,
  indent: number,
  verbose: number,
  forEvent: boolean,
  statistics = true,
): void {
  const details = hasSyncDetails(pd);
  const toGo = details ? sectorsToGo(pd) : 0;
  if (forEvent) {
    if (details) w.print(indent, ` done:${fixed(percentDone(pd), 2)}`);
    if (!statistics) return;
  }
  w.print(indent, ` received:${pd.received}`);
  w.print(indent, ` sent:${pd.sent}`);
  if (verbose || pd["out-of-sync"]) w.print(indent, ` out-of-sync:${pd["out-of-sync"]}`);
  if (!verbose) return;
  w.print(indent, ` pending:${pd.pending}`);
  w.print(indent, ` unacked:${pd.unacked}`);
  if (!details) return;
  const total = pd["rs-total"] ?? 0;
  if (verbose > 1) {
    w.print(indent, ` rs-total:${total}`);
    w.print(indent, ` rs-dt-start-ms:${pd["rs-dt-start-ms"] ?? 0}`);
    w.print(indent, ` rs-paused-ms:${pd["rs-paused-ms"] ?? 0}`);
    w.print(indent, ` rs-dt0-ms:${pd["rs-dt0-ms"] ?? 0}`);
    w.print(indent, ` rs-db0-sectors:${pd["rs-db0-sectors"] ?? 0}`);
    w.print(indent, ` rs-dt1-ms:${pd["rs-dt1-ms"] ?? 0}`);
    w.print(indent, ` rs-db1-sectors:${pd["rs-db1-sectors"] ?? 0}`);
    if (pd["ov-left"]) {
      w.print(indent, ` ov-start-sector:${pd["ov-start-sector"] ?? 0}`);
      w.print(indent, ` ov-stop-sector:${pd["ov-stop-sector"] ?? 0}`);
      w.print(indent, ` ov-position:${pd["ov-position"] ?? 0}`);
      w.print(indent, ` ov-left:${pd["ov-left"]}`);
      w.print(indent, ` ov-skipped:${pd["ov-skipped"] ?? 0}`);
    } else {
      w.print(indent, ` rs-failed:${pd["rs-failed"] ?? 0}`);
      w.print(indent, ` rs-same-csum:${pd["rs-same-csum"] ?? 0}`);
    }
    const want = pd["rs-c-sync-rate"] ?? 0;
    if (want) w.print(indent, ` want:${fixed(want / 1024, 2)}`);
    const dt = (pd["rs-dt-start-ms"] ?? 0) - (pd["rs-paused-ms"] ?? 0);
    w.print(indent, ` dbdt:${fixed(mibPerSecond(total - toGo, dt || 1), 2)}`);
    w.print(
      indent,
      ` dbdt0:${fixed(mibPerSecond(pd["rs-db0-sectors"] ?? 0, pd["rs-dt0-ms"] || 1), 2)}`,
    );
  }
  const db = pd["rs-db1-sectors"] ?? 0;
  const dt = pd["rs-dt1-ms"] || 1;
  w.print(indent, ` dbdt1:${fixed(mibPerSecond(db, dt), 2)}`);
  w.print(indent, ` eta:${fixed(db > 0 ? dt * 1e-3 * toGo / db : NaN, 0)}`);
}

/** Sectors per millisecond to MiB/s, in 9.22's order of operations. */
export function mibPerSecond(sectors: number, ms: number): number {
  return sectors / ms * 1000.0 / 2048.0;
}
