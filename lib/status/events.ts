/**
 * `drbdsetup events2` lines as drbd-utils 9.22 prints them. An event names an object (resource,
 * device, connection, peer-device, path, helper), an action (exists, create, change, destroy,
 * call, response, rename) and carries the object's new state and, for changes, its previous state:
 * like 9.22, a change line shows only the fields that differ (all of them with `--full`).
 * {@link diffEvents} turns two snapshots of a resource into the events 9.22 would print, in its
 * order; {@link snapshotEvents} gives the `exists` lines of `events2 --now`.
 *
 * @module
 */
import type { Role } from "../engine/states.ts";
import { cstateColor, diskColor, replColor, roleColor } from "./color.ts";
import { peerDeviceStatistics, type PieceSink } from "./text.ts";
import type {
  ConnectionStatus,
  DeviceStatus,
  PathStatus,
  PeerDeviceStatus,
  ResourceStatus,
} from "./types.ts";
import { suspendedText } from "./types.ts";

/** What happened to the object. */
export type EventAction = "exists" | "create" | "change" | "destroy";

/** A resource appeared, changed or went away; `before` is its previous state for a change. */
export interface ResourceEvent {
  object: "resource";
  action: EventAction;
  resource: ResourceStatus;
  before?: ResourceStatus;
}

/** A resource was renamed (`rename resource name:old new_name:new`). */
export interface RenameEvent {
  object: "resource";
  action: "rename";
  name: string;
  newName: string;
}

/** A device (volume) event. */
export interface DeviceEvent {
  object: "device";
  action: EventAction;
  resource: string;
  device: DeviceStatus;
  before?: DeviceStatus;
}

/** A connection event. */
export interface ConnectionEvent {
  object: "connection";
  action: EventAction;
  resource: string;
  connection: ConnectionStatus;
  before?: ConnectionStatus;
}

/** A peer-device event; `connection` identifies the peer (its node-id and name). */
export interface PeerDeviceEvent {
  object: "peer-device";
  action: EventAction;
  resource: string;
  connection: { "peer-node-id": number; name: string };
  peerDevice: PeerDeviceStatus;
  before?: PeerDeviceStatus;
}

/** A path event (only `established` changes are reported). */
export interface PathEvent {
  object: "path";
  action: EventAction;
  resource: string;
  connection: { "peer-node-id": number; name: string };
  path: PathStatus;
  before?: PathStatus;
}

/** A handler (helper script) call or its response with the exit status. */
export interface HelperEvent {
  object: "helper";
  action: "call" | "response";
  helper: string;
  /** The helper's exit status (response only). */
  status?: number;
  resource?: string;
  peerNodeId?: number;
  connName?: string;
  local?: string;
  peer?: string;
  volume?: number;
  minor?: number;
}

/** One events2 event. */
export type StatusEvent =
  | ResourceEvent
  | RenameEvent
  | DeviceEvent
  | ConnectionEvent
  | PeerDeviceEvent
  | PathEvent
  | HelperEvent;

/** Options of {@link formatEvent}, mirroring events2's flags. */
export interface EventFormatOptions {
  /** `--timestamps`: prefix each line with the local time of `at`. */
  timestamps?: boolean;
  /** When the event happened, microseconds since the epoch (default: now). */
  at?: number;
  /** The local UTC offset in seconds for timestamps (default: the system's for `at`). */
  utcOffsetSeconds?: number;
  /** `--statistics`. */
  statistics?: boolean;
  /** `--full`: every field on every line (implies statistics). */
  full?: boolean;
  /** `--color=always`. */
  color?: "never" | "always";
}

/** The line that ends the initial state (`exists -`). */
export function endOfInitialState(options: EventFormatOptions = {}): string {
  return `${timestampPrefix(options)}exists -\n`;
}

/**
 * Format one event as 9.22's events2 prints it, newline included; "" when a change carries
 * nothing that 9.22 would show with these options.
 */
export function formatEvent(event: StatusEvent, options: EventFormatOptions = {}): string {
  const full = options.full ?? false;
  const o: Opts = {
    full,
    statistics: full || (options.statistics ?? false),
    verbose: (full ? 1 : 0) + (options.statistics ? 1 : 0),
    color: options.color === "always",
  };
  const body = eventBody(event, o);
  return body === null ? "" : timestampPrefix(options) + body + "\n";
}

interface Opts {
  full: boolean;
  statistics: boolean;
  verbose: number;
  color: boolean;
}

function eventBody(e: StatusEvent, o: Opts): string | null {
  switch (e.object) {
    case "resource":
      return e.action === "rename"
        ? `rename resource name:${e.name} new_name:${e.newName}`
        : resourceBody(e, o);
    case "device":
      return deviceBody(e, o);
    case "connection":
      return connectionBody(e, o);
    case "peer-device":
      return peerDeviceBody(e, o);
    case "path":
      return pathBody(e);
    case "helper":
      return helperBody(e);
  }
}

function yesNo(b: boolean): string {
  return b ? "yes" : "no";
}

function action(e: { action: EventAction }, hasBefore: boolean): string {
  // 9.22 calls an update of a known object "change" and a new one by the event's own action
  if (e.action === "destroy") return "destroy";
  return hasBefore ? "change" : e.action === "change" ? "create" : e.action;
}

/** Whether a resource may be promoted, and its score, as 9.22's events2 derives them. */
export function promotionInfo(r: ResourceStatus): { mayPromote: boolean; score: number } {
  const none = { mayPromote: false, score: 0 };
  if (r.devices.length === 0) return none;
  let upToDate = 0;
  let allHaveDisk = true;
  let minReplicas = -1;
  let allStable = true;
  for (const d of r.devices) {
    if (!d.quorum) return none;
    const disk = d["disk-state"];
    const peers = r.connections.flatMap((c) =>
      c.peer_devices.filter((pd) => pd.volume === d.volume)
    );
    const replicas = (disk === "UpToDate" ? 1 : 0) +
      peers.filter((pd) => pd["peer-disk-state"] === "UpToDate").length;
    if (disk === "UpToDate") upToDate++;
    else if (disk !== "Consistent" && disk !== "Inconsistent") allHaveDisk = false;
    if (minReplicas === -1 || replicas < minReplicas) minReplicas = replicas;
    // 9.22 also accepts a peer's UpToDate disk that the peer flags stable; a peer that is not
    // Primary keeps its data stable, which is what that flag says
    const stable = disk === "UpToDate" ||
      r.connections.some((c) =>
        c["peer-role"] !== "Primary" &&
        c.peer_devices.some((pd) => pd.volume === d.volume && pd["peer-disk-state"] === "UpToDate")
      );
    if (!stable) allStable = false;
  }
  if (minReplicas <= 0) return none;
  const havePrimary = r.role === "Primary" ||
    r.connections.some((c) => c["peer-role"] === "Primary");
  return {
    mayPromote: !havePrimary && allStable,
    score: (allHaveDisk ? 1 : 0) * 10000 + Math.min(upToDate, 99) * 100 + Math.min(minReplicas, 99),
  };
}

function resourceBody(e: ResourceEvent, o: Opts): string | null {
  const r = e.resource;
  const b = e.before;
  if (e.action === "destroy") return `destroy resource name:${r.name}`;
  const roleChanged = !b || b.role !== r.role;
  const infoChanged = !b || suspendedText(b) !== suspendedText(r);
  const failIoChanged = !b || b["force-io-failures"] !== r["force-io-failures"];
  const statsChanged = o.statistics && (!b || b["write-ordering"] !== r["write-ordering"]);
  const promo = promotionInfo(r);
  let promoChanged = true;
  if (b) {
    const old = promotionInfo(b);
    promoChanged = old.mayPromote !== promo.mayPromote || old.score !== promo.score;
  }
  if (!roleChanged && !infoChanged && !failIoChanged && !statsChanged && !promoChanged) {
    return null;
  }
  let s = `${action(e, !!b)} resource name:${r.name}`;
  if (roleChanged || o.full) s += ` role:${roleColor(r.role, true, o.color)}`;
  if (infoChanged || o.full) s += ` suspended:${suspendedText(r)}`;
  if (failIoChanged || o.full) s += ` force-io-failures:${yesNo(r["force-io-failures"])}`;
  if (statsChanged || o.full) s += ` write-ordering:${r["write-ordering"]}`;
  if (promoChanged || o.full) {
    s += ` may_promote:${yesNo(promo.mayPromote)} promotion_score:${promo.score}`;
  }
  return s;
}

const DEVICE_STATS = [
  "size",
  "read",
  "written",
  "al-writes",
  "bm-writes",
  "upper-pending",
  "lower-pending",
  "al-suspended",
  "blocked",
] as const;

function deviceBody(e: DeviceEvent, o: Opts): string | null {
  const d = e.device;
  const b = e.before;
  if (e.action === "destroy") return `destroy device name:${e.resource} volume:${d.volume}`;
  const infoChanged = !b || b["disk-state"] !== d["disk-state"] || b.quorum !== d.quorum;
  const statsChanged = o.statistics && (!b || DEVICE_STATS.some((k) => b[k] !== d[k]));
  if (!infoChanged && !statsChanged) return null;
  let s = `${action(e, !!b)} device name:${e.resource} volume:${d.volume} minor:${d.minor}`;
  if (infoChanged || o.full) {
    s += ` backing_dev:${d.udrbd?.backingDev || "none"}`;
    s += ` disk:${diskColor(d["disk-state"], d.client, true, o.color)}`;
    s += ` client:${yesNo(d.client)}`;
    s += ` quorum:${yesNo(d.quorum)}`;
  }
  if (statsChanged || o.full) {
    if (o.statistics) {
      if (o.verbose) s += ` size:${d.size}`;
      s += ` read:${d.read} written:${d.written}`;
      if (o.verbose) {
        s += ` al-writes:${d["al-writes"]} bm-writes:${d["bm-writes"]}`;
        s += ` upper-pending:${d["upper-pending"]} lower-pending:${d["lower-pending"]}`;
        if (!b || b["al-suspended"] !== d["al-suspended"] || o.full) {
          s += ` al-suspended:${yesNo(d["al-suspended"])}`;
        }
      }
    }
    if ((!b || b.blocked !== d.blocked) && (o.verbose || d.blocked !== "no")) {
      s += ` blocked:${d.blocked}`;
    }
  }
  return s;
}

function connectionBody(e: ConnectionEvent, o: Opts): string | null {
  const c = e.connection;
  const b = e.before;
  const id = `name:${e.resource} peer-node-id:${c["peer-node-id"]} conn-name:${c.name}`;
  if (e.action === "destroy") return `destroy connection ${id}`;
  const stateChanged = !b || b["connection-state"] !== c["connection-state"];
  const roleChanged = !b || b["peer-role"] !== c["peer-role"];
  const statsChanged = o.statistics &&
    (!b || b.congested !== c.congested || b["ap-in-flight"] !== c["ap-in-flight"] ||
      b["rs-in-flight"] !== c["rs-in-flight"]);
  if (!stateChanged && !roleChanged && !statsChanged) return null;
  let s = `${action(e, !!b)} connection ${id}`;
  if (stateChanged || o.full) s += ` connection:${cstateColor(c["connection-state"], o.color)}`;
  if (roleChanged || o.full) s += ` role:${roleColor(c["peer-role"] as Role, false, o.color)}`;
  if (statsChanged || o.full) {
    if (!b || b.congested !== c.congested || o.full) s += ` congested:${yesNo(c.congested)}`;
    s += ` ap-in-flight:${c["ap-in-flight"]} rs-in-flight:${c["rs-in-flight"]}`;
  }
  return s;
}

const PEER_DEVICE_STATS = [
  "received",
  "sent",
  "out-of-sync",
  "pending",
  "unacked",
  "rs-total",
  "rs-dt-start-ms",
  "rs-paused-ms",
  "rs-dt0-ms",
  "rs-db0-sectors",
  "rs-dt1-ms",
  "rs-db1-sectors",
  "rs-failed",
  "rs-same-csum",
  "ov-start-sector",
  "ov-stop-sector",
  "ov-position",
  "ov-left",
  "ov-skipped",
  "rs-c-sync-rate",
] as const;

class LineSink implements PieceSink {
  text = "";
  print(_indent: number, piece: string): void {
    this.text += piece;
  }
}

function peerDeviceBody(e: PeerDeviceEvent, o: Opts): string | null {
  const pd = e.peerDevice;
  const b = e.before;
  const id = `name:${e.resource} peer-node-id:${e.connection["peer-node-id"]} ` +
    `conn-name:${e.connection.name} volume:${pd.volume}`;
  if (e.action === "destroy") return `destroy peer-device ${id}`;
  const replChanged = !b || b["replication-state"] !== pd["replication-state"];
  const diskChanged = !b || b["peer-disk-state"] !== pd["peer-disk-state"];
  const clientChanged = (b?.["peer-client"] ?? false) !== pd["peer-client"];
  const suspChanged = !b || b["resync-suspended"] !== pd["resync-suspended"];
  // unlike the other objects, 9.22 compares peer-device statistics even without --statistics
  const statsChanged = !b || PEER_DEVICE_STATS.some((k) => b[k] !== pd[k]);
  if (!replChanged && !diskChanged && !suspChanged && !statsChanged) return null;
  let s = `${action(e, !!b)} peer-device ${id}`;
  if (replChanged || o.full) s += ` replication:${replColor(pd["replication-state"], o.color)}`;
  if (diskChanged || o.full || clientChanged) {
    s += ` peer-disk:${diskColor(pd["peer-disk-state"], pd["peer-client"], false, o.color)}`;
    s += ` peer-client:${yesNo(pd["peer-client"])}`;
  }
  if (suspChanged || o.full) s += ` resync-suspended:${pd["resync-suspended"]}`;
  if (statsChanged || o.full) {
    const sink = new LineSink();
    peerDeviceStatistics(sink, pd, 0, o.verbose, true, o.statistics);
    s += sink.text;
  }
  return s;
}

function pathBody(e: PathEvent): string | null {
  const p = e.path;
  const id = `name:${e.resource} peer-node-id:${e.connection["peer-node-id"]} ` +
    `conn-name:${e.connection.name} local:${p.local} peer:${p.peer}`;
  if (e.action === "destroy") return `destroy path ${id}`;
  const b = e.before;
  // 9.22 reports a known path only when `established` flips, even with --full
  if (b && b.established === p.established) return null;
  return `${action(e, !!b)} path ${id} established:${yesNo(p.established)}`;
}

function helperBody(e: HelperEvent): string {
  let s = `${e.action} helper`;
  if (e.resource !== undefined) s += ` name:${e.resource}`;
  if (e.peerNodeId !== undefined) s += ` peer-node-id:${e.peerNodeId}`;
  if (e.connName) s += ` conn-name:${e.connName}`;
  if (e.local && e.peer) s += ` local:${e.local} peer:${e.peer}`;
  if (e.volume !== undefined) s += ` volume:${e.volume}`;
  if (e.minor !== undefined) s += ` minor:${e.minor}`;
  s += ` helper:${e.helper}`;
  if (e.action === "response") s += ` status:${e.status ?? 0}`;
  return s;
}

/**
 * The events 9.22 prints when a resource goes from `before` to `after` (undefined: it did not
 * exist / no longer exists), in 9.22's order: resource, connections, devices, then per connection
 * its peer devices and paths, then what disappeared. `action` names new objects ("exists" while
 * reporting the initial state, "create" afterwards). Connections, devices, peer devices and paths
 * are visited newest first, as 9.22's lists hold them.
 */
export function diffEvents(
  before: ResourceStatus | undefined,
  after: ResourceStatus | undefined,
  action: "exists" | "create" = "create",
): StatusEvent[] {
  const events: StatusEvent[] = [];
  if (!after) {
    if (!before) return events;
    return [{ object: "resource", action: "destroy", resource: before }];
  }
  const name = after.name;
  const conns = [...after.connections].reverse();
  const devices = [...after.devices].sort((a, b) => b.volume - a.volume);
  const findConn = (r: ResourceStatus | undefined, n: string) =>
    r?.connections.find((c) => c.name === n);
  events.push({ object: "resource", action, resource: after, before });
  for (const c of conns) {
    events.push({
      object: "connection",
      action,
      resource: name,
      connection: c,
      before: findConn(before, c.name),
    });
  }
  for (const d of devices) {
    const old = before?.devices.find((x) => x.volume === d.volume);
    events.push({ object: "device", action, resource: name, device: d, before: old });
  }
  for (const c of conns) {
    const oldConn = findConn(before, c.name);
    const ident = { "peer-node-id": c["peer-node-id"], name: c.name };
    for (const pd of [...c.peer_devices].sort((a, b) => b.volume - a.volume)) {
      const old = oldConn?.peer_devices.find((x) => x.volume === pd.volume);
      events.push({
        object: "peer-device",
        action,
        resource: name,
        connection: ident,
        peerDevice: pd,
        before: old,
      });
    }
    const paths = c.udrbd?.paths ?? [];
    const oldPaths = oldConn?.udrbd?.paths ?? [];
    const samePath = (a: PathStatus, b: PathStatus) => a.local === b.local && a.peer === b.peer;
    for (const p of [...paths].reverse()) {
      const old = oldPaths.find((x) => samePath(x, p));
      events.push({
        object: "path",
        action,
        resource: name,
        connection: ident,
        path: p,
        before: old,
      });
    }
    for (const p of [...oldPaths].reverse()) {
      if (!paths.some((x) => samePath(x, p))) {
        events.push({
          object: "path",
          action: "destroy",
          resource: name,
          connection: ident,
          path: p,
        });
      }
    }
    for (const pd of [...(oldConn?.peer_devices ?? [])].sort((a, b) => b.volume - a.volume)) {
      if (!c.peer_devices.some((x) => x.volume === pd.volume)) {
        events.push({
          object: "peer-device",
          action: "destroy",
          resource: name,
          connection: ident,
          peerDevice: pd,
        });
      }
    }
  }
  for (const c of [...(before?.connections ?? [])].reverse()) {
    if (!findConn(after, c.name)) {
      events.push({ object: "connection", action: "destroy", resource: name, connection: c });
    }
  }
  for (const d of [...(before?.devices ?? [])].sort((a, b) => b.volume - a.volume)) {
    if (!after.devices.some((x) => x.volume === d.volume)) {
      events.push({ object: "device", action: "destroy", resource: name, device: d });
    }
  }
  return events;
}

/**
 * `drbdsetup events2 --now` for a snapshot: every resource's `exists` lines in creation order,
 * then `exists -`. `resourceFilter` limits it to one resource ("all" or absent: every one).
 */
export function snapshotEvents(
  resources: readonly ResourceStatus[],
  options: EventFormatOptions & { resourceFilter?: string } = {},
): string {
  const filter = options.resourceFilter;
  let out = "";
  for (const r of resources) {
    if (filter && filter !== "all" && r.name !== filter) continue;
    for (const e of diffEvents(undefined, r, "exists")) out += formatEvent(e, options);
  }
  return out + endOfInitialState(options);
}

/**
 * The `--timestamps` prefix, 9.22's layout: `2024-05-01T12:34:56.123456+02:00 ` in local time
 * (the hour offset truncates toward zero, as in drbdsetup).
 */
export function formatTimestamp(atMicros: number, utcOffsetSeconds?: number): string {
  const ms = Math.floor(atMicros / 1000);
  const off = utcOffsetSeconds ?? -new Date(ms).getTimezoneOffset() * 60;
  const local = new Date(ms + off * 1000);
  const p2 = (n: number) => String(n).padStart(2, "0");
  const micros = ((atMicros % 1_000_000) + 1_000_000) % 1_000_000;
  const hours = Math.trunc(off / 3600);
  const sign = hours < 0 ? "-" : "+";
  return `${String(local.getUTCFullYear()).padStart(4, "0")}-${p2(local.getUTCMonth() + 1)}-` +
    `${p2(local.getUTCDate())}T${p2(local.getUTCHours())}:${p2(local.getUTCMinutes())}:` +
    `${p2(local.getUTCSeconds())}.${String(Math.floor(micros)).padStart(6, "0")}` +
    `${sign}${p2(Math.abs(hours))}:${p2(Math.floor(Math.abs(off) / 60) % 60)} `;
}

function timestampPrefix(o: EventFormatOptions): string {
  if (!o.timestamps) return "";
  return formatTimestamp(o.at ?? Date.now() * 1000, o.utcOffsetSeconds);
}
