/**
 * The node's state as data: the status snapshot every status surface formats
 * (lib/status/types.ts, drbdsetup 9.22's JSON shape) and the running configuration that
 * `drbdsetup show` prints.
 *
 * @module
 */

import type {
  ConnectionStatus,
  DeviceStatus,
  PeerDeviceStatus,
  ResourceStatus,
} from "../status/types.ts";
import type { PeerDevice, Resource } from "./resource.ts";
import { resyncSuspendedText } from "../status/types.ts";
import type { ShowResource } from "../setup/show.ts";

export type { ShowResource };

/** The status snapshot of a resource. */
export function resourceStatus(r: Resource): ResourceStatus {
  const devices: DeviceStatus[] = [...r.devices.values()]
    .sort((a, b) => a.volume - b.volume)
    .map((d) => ({
      volume: d.volume,
      minor: d.minor,
      "disk-state": d.diskState,
      client: false,
      quorum: true,
      size: d.size / 1024,
      read: Math.floor(d.stats.read),
      written: Math.floor(d.stats.written),
      "al-writes": d.disk?.al.stats.alWrites ?? 0,
      "bm-writes": d.stats.bmWrites,
      "upper-pending": d.stats.upperPending,
      "lower-pending": d.stats.lowerPending,
      "al-suspended": false,
      blocked: r.suspendedUser ? "upper" : "no",
      udrbd: d.disk ? { backingDev: d.disk.backing } : {},
    }));
  const connections: ConnectionStatus[] = [...r.connections.values()].map((c) => {
    const peer_devices: PeerDeviceStatus[] = [...r.devices.values()]
      .sort((a, b) => a.volume - b.volume)
      .map((d) => {
        const pd = c.peerDevice(d.volume);
        const meta = d.disk?.meta;
        const slot = meta?.slotOf(c.peerNodeId);
        const outOfSync = slot !== undefined && meta ? meta.outOfSync(slot) * 4 : 0;
        return {
          volume: d.volume,
          "replication-state": pd.replication,
          "peer-disk-state": pd.peerDisk,
          "peer-client": false,
          "resync-suspended": resyncSuspendedText({
            user: pd.resyncSuspUser,
            peer: pd.resyncSuspPeer,
            dependency: pd.resyncSuspDependency,
          }),
          received: Math.floor(pd.received),
          sent: Math.floor(pd.sent),
          "out-of-sync": outOfSync,
          pending: 0,
          unacked: 0,
          ...syncStats(pd, outOfSync / 4),
        };
      });
    const protocol = c.net.protocol as "A" | "B" | "C" | undefined;
    return {
      "peer-node-id": c.peerNodeId,
      name: c.name,
      "connection-state": c.state,
      congested: false,
      "peer-role": c.peerRole,
      "ap-in-flight": 0,
      "rs-in-flight": 0,
      peer_devices,
      udrbd: {
        protocol: protocol ?? "C",
        epochs: 1,
        paths: c.paths.map((p, i) => ({
          local: p.local,
          peer: p.remote,
          established: i === c.establishedPath && c.state === "Connected",
        })),
      },
    };
  });
  return {
    name: r.name,
    "node-id": r.nodeId,
    role: r.role,
    "suspended-user": r.suspendedUser,
    "suspended-no-data": false,
    "suspended-fencing": false,
    "suspended-quorum": false,
    "force-io-failures": false,
    "write-ordering": "flush",
    devices,
    connections,
  };
}

/**
 * The resync or verify statistics of a peer device, present (as drbdsetup prints them) only
 * while something is left to do; the kernel's rules: `rs-c-sync-rate` on the side that runs the
 * controller (udrbd's SyncSource pushes, where DRBD's SyncTarget pulls), `ov-*` during verify.
 */
function syncStats(pd: PeerDevice, outOfSyncBits: number): Partial<PeerDeviceStatus> {
  const zero = {
    "rs-total": 0,
    "rs-dt-start-ms": 0,
    "rs-paused-ms": 0,
    "rs-dt0-ms": 0,
    "rs-db0-sectors": 0,
    "rs-dt1-ms": 0,
    "rs-db1-sectors": 0,
  };
  const now = performance.now();
  const run = pd.verify;
  if (run) {
    if (run.leftBits === 0) return zero;
    return {
      ...run.progress.stats(run.leftBits, now),
      "ov-start-sector": run.startSector,
      "ov-stop-sector": Number.isFinite(run.stopSector) ? run.stopSector : 2 ** 64 - 1,
      "ov-position": run.position,
      "ov-left": run.leftBits * 8,
      "ov-skipped": run.skipped * 8,
      "rs-c-sync-rate": pd.cSyncRate,
    };
  }
  const rs = pd.resync;
  if (!rs || outOfSyncBits === 0) return zero;
  return {
    ...rs.stats(outOfSyncBits, now),
    "rs-failed": 0,
    "rs-same-csum": 0,
    "rs-c-sync-rate": pd.cSyncRate,
  };
}

/** The running configuration of a resource. */
export function showResource(r: Resource): ShowResource {
  return {
    name: r.name,
    nodeId: r.nodeId,
    options: { ...r.options },
    connections: [...r.connections.values()].map((c) => ({
      peerNodeId: c.peerNodeId,
      name: c.name,
      paths: c.paths.map((p) => ({ ...p })),
      net: { ...c.net },
      standalone: c.state === "StandAlone",
      peerDevices: [...c.peerDevices.values()]
        .filter((pd) => Object.keys(pd.options).length > 0)
        .map((pd) => ({ volume: pd.volume, options: { ...pd.options } })),
    })),
    volumes: [...r.devices.values()].sort((a, b) => a.volume - b.volume).map((d) => ({
      volume: d.volume,
      minor: d.minor,
      disk: d.disk
        ? {
          backingDev: d.disk.backing,
          metaDev: d.disk.metaIndex === "internal" ? "internal" : d.disk.metaPath,
          metaIdx: String(d.disk.metaIndex),
          options: { ...d.disk.options },
        }
        : undefined,
    })),
  };
}
