/**
 * Realistic snapshots for the status formatter tests: builders with DRBD's idle defaults and a
 * handful of named cluster situations.
 *
 * @module
 */
import type {
  ConnectionStatus,
  DeviceStatus,
  PeerDeviceStatus,
  ResourceStatus,
} from "../../lib/status/mod.ts";

/** A resource with idle defaults. */
export function resource(over: Partial<ResourceStatus> = {}): ResourceStatus {
  return {
    name: "r0",
    "node-id": 0,
    role: "Secondary",
    "suspended-user": false,
    "suspended-no-data": false,
    "suspended-fencing": false,
    "suspended-quorum": false,
    "force-io-failures": false,
    "write-ordering": "flush",
    devices: [],
    connections: [],
    ...over,
  };
}

/** An attached, UpToDate, idle device. */
export function device(over: Partial<DeviceStatus> = {}): DeviceStatus {
  return {
    volume: 0,
    minor: 0,
    "disk-state": "UpToDate",
    client: false,
    quorum: true,
    size: 1048508,
    read: 0,
    written: 0,
    "al-writes": 0,
    "bm-writes": 0,
    "upper-pending": 0,
    "lower-pending": 0,
    "al-suspended": false,
    blocked: "no",
    ...over,
  };
}

/** A connected Secondary peer with protocol C. */
export function connection(over: Partial<ConnectionStatus> = {}): ConnectionStatus {
  return {
    "peer-node-id": 1,
    name: "bob",
    "connection-state": "Connected",
    congested: false,
    "peer-role": "Secondary",
    "ap-in-flight": 0,
    "rs-in-flight": 0,
    peer_devices: [],
    udrbd: { protocol: "C", epochs: 1 },
    ...over,
  };
}

/** An Established peer device whose peer is UpToDate. */
export function peerDevice(over: Partial<PeerDeviceStatus> = {}): PeerDeviceStatus {
  return {
    volume: 0,
    "replication-state": "Established",
    "peer-disk-state": "UpToDate",
    "peer-client": false,
    "resync-suspended": "no",
    received: 0,
    sent: 0,
    "out-of-sync": 0,
    pending: 0,
    unacked: 0,
    ...over,
  };
}

/** r0 on alice: Primary, one volume, bob connected and in sync. */
export function primaryConnected(): ResourceStatus {
  return resource({
    role: "Primary",
    devices: [device({ udrbd: { backingDev: "/dev/vg/r0" } })],
    connections: [connection({ peer_devices: [peerDevice()] })],
  });
}

/**
 * r0 on alice, SyncSource to bob: 4 GiB, 2.9 GiB still to go (1179168 of 4193112 KiB done),
 * 16 s running, marks 9 s and 3 s ago.
 */
export function syncing(): ResourceStatus {
  return resource({
    role: "Primary",
    devices: [device({ size: 4193112, read: 1131168, written: 0, "al-writes": 3, "bm-writes": 1 })],
    connections: [connection({
      peer_devices: [peerDevice({
        "replication-state": "SyncSource",
        "peer-disk-state": "Inconsistent",
        sent: 1130496,
        "out-of-sync": 3013944,
        pending: 4,
        "rs-total": 8386224,
        "rs-dt-start-ms": 16000,
        "rs-paused-ms": 0,
        "rs-dt0-ms": 9000,
        "rs-db0-sectors": 1294848,
        "rs-dt1-ms": 3000,
        "rs-db1-sectors": 431616,
        "rs-failed": 0,
        "rs-same-csum": 0,
      })],
    })],
  });
}

/** r1 on bob: Secondary, two volumes, peers alice (Primary, connected) and carol (connecting). */
export function twoVolumesTwoPeers(): ResourceStatus {
  return resource({
    name: "r1",
    "node-id": 1,
    devices: [
      device({ volume: 1, minor: 11, size: 2097052 }),
      device({ volume: 0, minor: 10 }),
    ],
    connections: [
      connection({
        "peer-node-id": 0,
        name: "alice",
        "peer-role": "Primary",
        peer_devices: [peerDevice({ volume: 0 }), peerDevice({ volume: 1 })],
      }),
      connection({
        "peer-node-id": 2,
        name: "carol",
        "connection-state": "Connecting",
        "peer-role": "Unknown",
        peer_devices: [
          peerDevice({ volume: 0, "replication-state": "Off", "peer-disk-state": "DUnknown" }),
          peerDevice({ volume: 1, "replication-state": "Off", "peer-disk-state": "DUnknown" }),
        ],
      }),
    ],
  });
}

/** r2 on a diskless client: intentionally Diskless, reading from alice (Primary). */
export function disklessClient(): ResourceStatus {
  return resource({
    name: "r2",
    "node-id": 2,
    devices: [device({ minor: 2, "disk-state": "Diskless", client: true, size: 1048508 })],
    connections: [connection({
      "peer-node-id": 0,
      name: "alice",
      "peer-role": "Primary",
      peer_devices: [peerDevice()],
    })],
  });
}

/** r3 on alice after a split brain: StandAlone towards bob, 12 MiB out of sync. */
export function standalone(): ResourceStatus {
  return resource({
    name: "r3",
    role: "Primary",
    devices: [device({ minor: 3 })],
    connections: [connection({
      "connection-state": "StandAlone",
      "peer-role": "Unknown",
      udrbd: {},
      peer_devices: [
        peerDevice({
          "replication-state": "Off",
          "peer-disk-state": "DUnknown",
          "out-of-sync": 12288,
        }),
      ],
    })],
  });
}
