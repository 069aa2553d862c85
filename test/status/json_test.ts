import assert from "node:assert/strict";
import { formatStatusJson } from "../../lib/status/mod.ts";
import {
  connection,
  device,
  disklessClient,
  peerDevice,
  primaryConnected,
  resource,
  standalone,
  syncing,
  twoVolumesTwoPeers,
} from "./fixtures.ts";

Deno.test("status --json prints drbdsetup 9.22's exact layout for a connected resource", () => {
  assert.equal(
    formatStatusJson([primaryConnected()]),
    `[
{
  "name": "r0",
  "node-id": 0,
  "role": "Primary",
  "suspended": false,
  "suspended-user": false,
  "suspended-no-data": false,
  "suspended-fencing": false,
  "suspended-quorum": false,
  "force-io-failures": false,
  "write-ordering": "flush",
  "devices": [
    {
      "volume": 0,
      "minor": 0,
      "disk-state": "UpToDate",
      "client": false,
      "quorum": true,
      "size": 1048508,
      "read": 0,
      "written": 0,
      "al-writes": 0,
      "bm-writes": 0,
      "upper-pending": 0,
      "lower-pending": 0
    } ],
  "connections": [
    {
      "peer-node-id": 1,
      "name": "bob",
      "connection-state": "Connected", 
      "congested": false,
      "peer-role": "Secondary",
      "ap-in-flight": 0,
      "rs-in-flight": 0,
      "peer_devices": [
        {
          "volume": 0,
          "replication-state": "Established",
          "peer-disk-state": "UpToDate",
          "peer-client": false,
          "resync-suspended": "no",
          "received": 0,
          "sent": 0,
          "out-of-sync": 0,
          "pending": 0,
          "unacked": 0,
          "has-sync-details": false,
          "has-online-verify-details": false,
          "percent-in-sync": 100.00
        } ]
    } ]
}
]

`,
  );
});

Deno.test("status --json during resync adds the resync details, speeds and estimate", () => {
  const text = formatStatusJson([syncing()]);
  assert.ok(
    text.includes(`          "percent-in-sync": 28.12,
          "rs-total": 8386224,
          "rs-dt-start-ms": 16000,
          "rs-paused-ms": 0,
          "rs-dt0-ms": 9000,
          "rs-db0-sectors": 1294848,
          "rs-dt1-ms": 3000,
          "rs-db1-sectors": 431616,
          "rs-failed": 0,
          "rs-same-csum": 0,
          "want": 0.00,
          "db0/dt0 [MiB/s]": 70.25,
          "db1/dt1 [MiB/s]": 70.25,
          "estimated-seconds-to-finish": 42,
          "db/dt [MiB/s]": 71.97,
          "percent-resync-done": 28.12
        } ]`),
    text,
  );
});

Deno.test("status --json of a SyncTarget reports the controller's wanted rate in MiB/s", () => {
  const r = resource({
    devices: [device({ "disk-state": "Inconsistent", size: 1048508 })],
    connections: [connection({
      peer_devices: [peerDevice({
        "replication-state": "SyncTarget",
        "out-of-sync": 524288,
        "rs-total": 2097016,
        "rs-c-sync-rate": 250880,
      })],
    })],
  });
  const text = formatStatusJson([r]);
  assert.match(text, /"want": 245\.00,\n/);
  // no progress since the marks: 9.22's "unknown" estimate
  assert.match(text, /"estimated-seconds-to-finish": 987654321,\n/);
});

Deno.test("status --json of an online verify reports the verify position instead of resync failures", () => {
  const r = resource({
    devices: [device()],
    connections: [connection({
      peer_devices: [peerDevice({
        "replication-state": "VerifyS",
        "rs-total": 2097016,
        "ov-start-sector": 0,
        "ov-stop-sector": 2097016,
        "ov-position": 1572762,
        "ov-left": 524254,
      })],
    })],
  });
  const text = formatStatusJson([r]);
  assert.match(text, /"has-online-verify-details": true,/);
  assert.match(
    text,
    /"ov-start-sector": 0,\n {10}"ov-stop-sector": 2097016,\n {10}"ov-position": 1572762,\n {10}"ov-left": 524254,\n {10}"ov-skipped": 0,\n {10}"want"/,
  );
  assert.doesNotMatch(text, /rs-failed/);
  assert.match(text, /"percent-resync-done": 75\.00\n/);
});

Deno.test("status --json is valid JSON for every snapshot and lists resources by name", () => {
  const all = [standalone(), twoVolumesTwoPeers(), disklessClient(), syncing(), primaryConnected()];
  const parsed = JSON.parse(formatStatusJson(all));
  assert.deepEqual(parsed.map((r: { name: string }) => r.name), ["r0", "r0", "r1", "r2", "r3"]);
  const r1 = parsed[2];
  assert.deepEqual(r1.devices.map((d: { minor: number }) => d.minor), [10, 11]);
  assert.equal(r1.connections[1]["connection-state"], "Connecting");
  assert.equal(parsed[3].devices[0].client, true);
});

Deno.test("status --json with no resources or an unknown filter prints an empty array", () => {
  assert.equal(formatStatusJson([]), "[\n]\n\n");
  assert.equal(formatStatusJson([syncing()], { resourceFilter: "nope" }), "[\n]\n\n");
  assert.equal(
    formatStatusJson([resource()]).includes(`"devices": [\n ],\n  "connections": [\n ]\n}`),
    true,
  );
});
