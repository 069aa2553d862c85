/**
 * `drbdsetup status --json` exactly as drbd-utils 9.22 prints it: its hand-written layout
 * (indentation, key order, the space after "connection-state"'s comma, the closing blank line)
 * and its derived values (percent-in-sync, resync speeds and estimates).
 *
 * @module
 */
import { fixed } from "./printf.ts";
import {
  mibPerSecond,
  sectorsToGo,
  selectResources,
  sortConnections,
  sortDevices,
} from "./text.ts";
import type { ConnectionStatus, DeviceStatus, PeerDeviceStatus, ResourceStatus } from "./types.ts";
import { hasSyncDetails, isSuspended } from "./types.ts";
import { isSyncing } from "../engine/states.ts";

/**
 * Render `drbdsetup status --json` (optionally for one resource; "all" or absent for every one).
 * A named filter that matches nothing gives the empty array, and the caller prints 9.22's
 * "No such resource" error.
 */
export function formatStatusJson(
  resources: readonly ResourceStatus[],
  options: { resourceFilter?: string } = {},
): string {
  const parts = selectResources(resources, options.resourceFilter).map(resourceJson);
  return "[\n" + parts.map((p) => p + "\n").join(",\n") + "]\n\n";
}

function resourceJson(r: ResourceStatus): string {
  let s = "{\n" +
    `  "name": "${r.name}",\n` +
    `  "node-id": ${r["node-id"]},\n` +
    `  "role": "${r.role}",\n` +
    `  "suspended": ${isSuspended(r)},\n` +
    `  "suspended-user": ${r["suspended-user"]},\n` +
    `  "suspended-no-data": ${r["suspended-no-data"]},\n` +
    `  "suspended-fencing": ${r["suspended-fencing"]},\n` +
    `  "suspended-quorum": ${r["suspended-quorum"]},\n` +
    `  "force-io-failures": ${r["force-io-failures"]},\n` +
    `  "write-ordering": "${r["write-ordering"]}",\n` +
    `  "devices": [\n`;
  const devices = sortDevices(r.devices);
  s += devices.map(deviceJson).join(",\n");
  s += ' ],\n  "connections": [\n';
  const sizes = new Map(devices.map((d) => [d.volume, d.size]));
  const conns = sortConnections(r.connections);
  // drbdsetup fetches peer devices only when the resource has devices
  s += conns.map((c) => connectionJson(c, devices.length > 0, sizes)).join(",\n");
  return s + " ]\n}";
}

function deviceJson(d: DeviceStatus): string {
  return "    {\n" +
    `      "volume": ${d.volume},\n` +
    `      "minor": ${d.minor},\n` +
    `      "disk-state": "${d["disk-state"]}",\n` +
    `      "client": ${d.client},\n` +
    `      "quorum": ${d.quorum},\n` +
    `      "size": ${d.size},\n` +
    `      "read": ${d.read},\n` +
    `      "written": ${d.written},\n` +
    `      "al-writes": ${d["al-writes"]},\n` +
    `      "bm-writes": ${d["bm-writes"]},\n` +
    `      "upper-pending": ${d["upper-pending"]},\n` +
    `      "lower-pending": ${d["lower-pending"]}\n` +
    "    }";
}

function connectionJson(
  c: ConnectionStatus,
  withPeerDevices: boolean,
  sizes: Map<number, number>,
): string {
  let s = "    {\n" +
    `      "peer-node-id": ${c["peer-node-id"]},\n` +
    `      "name": "${c.name}",\n` +
    `      "connection-state": "${c["connection-state"]}", \n` +
    `      "congested": ${c.congested},\n` +
    `      "peer-role": "${c["peer-role"]}",\n` +
    `      "ap-in-flight": ${c["ap-in-flight"]},\n` +
    `      "rs-in-flight": ${c["rs-in-flight"]},\n` +
    `      "peer_devices": [\n`;
  if (withPeerDevices) {
    const pds = [...c.peer_devices].sort((a, b) => a.volume - b.volume);
    s += pds.map((pd) => peerDeviceJson(pd, sizes.get(pd.volume) ?? 0)).join(",\n");
  }
  return s + " ]\n    }";
}

const IN = "          ";

function peerDeviceJson(pd: PeerDeviceStatus, size: number): string {
  const details = hasSyncDetails(pd);
  const repl = pd["replication-state"];
  const withoutDetails = pd["rs-total"] === undefined && isSyncing(repl);
  const oosSectors = pd["out-of-sync"] * 2;
  const sizeSectors = size * 2;
  const inSync = sizeSectors === 0 ? 0 : 100 * (1 - oosSectors / sizeSectors);
  let s = "        {\n" +
    `${IN}"volume": ${pd.volume},\n` +
    `${IN}"replication-state": "${repl}",\n` +
    `${IN}"peer-disk-state": "${pd["peer-disk-state"]}",\n` +
    `${IN}"peer-client": ${pd["peer-client"]},\n` +
    `${IN}"resync-suspended": "${pd["resync-suspended"]}",\n` +
    `${IN}"received": ${pd.received},\n` +
    `${IN}"sent": ${pd.sent},\n` +
    `${IN}"out-of-sync": ${pd["out-of-sync"]},\n` +
    `${IN}"pending": ${pd.pending},\n` +
    `${IN}"unacked": ${pd.unacked},\n` +
    `${IN}"has-sync-details": ${details},\n` +
    `${IN}"has-online-verify-details": ${details && !!pd["ov-left"]},\n` +
    `${IN}"percent-in-sync": ${fixed(inSync, 2)}${details || withoutDetails ? "," : ""}\n`;
  if (details) {
    const total = pd["rs-total"] ?? 0;
    s += `${IN}"rs-total": ${total},\n` +
      `${IN}"rs-dt-start-ms": ${pd["rs-dt-start-ms"] ?? 0},\n` +
      `${IN}"rs-paused-ms": ${pd["rs-paused-ms"] ?? 0},\n` +
      `${IN}"rs-dt0-ms": ${pd["rs-dt0-ms"] ?? 0},\n` +
      `${IN}"rs-db0-sectors": ${pd["rs-db0-sectors"] ?? 0},\n` +
      `${IN}"rs-dt1-ms": ${pd["rs-dt1-ms"] ?? 0},\n` +
      `${IN}"rs-db1-sectors": ${pd["rs-db1-sectors"] ?? 0},\n`;
    if (pd["ov-left"]) {
      s += `${IN}"ov-start-sector": ${pd["ov-start-sector"] ?? 0},\n` +
        `${IN}"ov-stop-sector": ${pd["ov-stop-sector"] ?? 0},\n` +
        `${IN}"ov-position": ${pd["ov-position"] ?? 0},\n` +
        `${IN}"ov-left": ${pd["ov-left"]},\n` +
        `${IN}"ov-skipped": ${pd["ov-skipped"] ?? 0},\n`;
    } else {
      s += `${IN}"rs-failed": ${pd["rs-failed"] ?? 0},\n` +
        `${IN}"rs-same-csum": ${pd["rs-same-csum"] ?? 0},\n`;
    }
    const rate = pd["rs-c-sync-rate"] ?? 0;
    s += `${IN}"want": ${fixed(rate ? rate / 1024.0 : 0, 2)},\n`;
    s += `${IN}"db0/dt0 [MiB/s]": ${
      fixed(mibPerSecond(pd["rs-db0-sectors"] ?? 0, pd["rs-dt0-ms"] || 1), 2)
    },\n`;
    const db1 = pd["rs-db1-sectors"] ?? 0;
    const dt1 = pd["rs-dt1-ms"] || 1;
    s += `${IN}"db1/dt1 [MiB/s]": ${fixed(mibPerSecond(db1, dt1), 2)},\n`;
    const toGo = sectorsToGo(pd);
    s += `${IN}"estimated-seconds-to-finish": ${
      fixed(db1 <= 0 ? 987654321 : dt1 * 1e-3 * toGo / db1, 0)
    },\n`;
    const db = total - toGo;
    const dt = (pd["rs-dt-start-ms"] ?? 0) - (pd["rs-paused-ms"] ?? 0);
    s += `${IN}"db/dt [MiB/s]": ${fixed(mibPerSecond(db, dt || 1), 2)},\n`;
    s += `${IN}"percent-resync-done": ${fixed(total === 0 ? 0 : 100.0 * db / total, 2)}\n`;
  } else if (withoutDetails) {
    s += `${IN}"percent-resync-done": ${fixed(100 * (1 - oosSectors / sizeSectors), 2)}\n`;
  }
  return s + "        }";
}
