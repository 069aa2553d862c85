import assert from "node:assert/strict";
import {
  diffEvents,
  formatEvent,
  formatTimestamp,
  type ResourceStatus,
  snapshotEvents,
  type StatusEvent,
} from "../../lib/status/mod.ts";
import {
  connection,
  device,
  disklessClient,
  peerDevice,
  primaryConnected,
  resource,
  syncing,
  twoVolumesTwoPeers,
} from "./fixtures.ts";

function lines(events: StatusEvent[], opts = {}): string {
  return events.map((e) => formatEvent(e, opts)).join("");
}

Deno.test("events2 --now lists every object as exists, newest connection and highest volume first, then exists -", () => {
  assert.equal(
    snapshotEvents([twoVolumesTwoPeers()]),
    "exists resource name:r1 role:Secondary suspended:no force-io-failures:no may_promote:no promotion_score:10202\n" +
      "exists connection name:r1 peer-node-id:2 conn-name:carol connection:Connecting role:Unknown\n" +
      "exists connection name:r1 peer-node-id:0 conn-name:alice connection:Connected role:Primary\n" +
      "exists device name:r1 volume:1 minor:11 backing_dev:none disk:UpToDate client:no quorum:yes\n" +
      "exists device name:r1 volume:0 minor:10 backing_dev:none disk:UpToDate client:no quorum:yes\n" +
      "exists peer-device name:r1 peer-node-id:2 conn-name:carol volume:1 replication:Off peer-disk:DUnknown peer-client:no resync-suspended:no\n" +
      "exists peer-device name:r1 peer-node-id:2 conn-name:carol volume:0 replication:Off peer-disk:DUnknown peer-client:no resync-suspended:no\n" +
      "exists peer-device name:r1 peer-node-id:0 conn-name:alice volume:1 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no\n" +
      "exists peer-device name:r1 peer-node-id:0 conn-name:alice volume:0 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no\n" +
      "exists -\n",
  );
});

Deno.test("events2 --now on a node without resources prints only exists -", () => {
  assert.equal(snapshotEvents([]), "exists -\n");
  assert.equal(snapshotEvents([syncing()], { resourceFilter: "other" }), "exists -\n");
});

Deno.test("events2 --now --statistics adds counters, resync progress, speed and eta", () => {
  assert.equal(
    snapshotEvents([syncing()], { statistics: true }),
    "exists resource name:r0 role:Primary suspended:no force-io-failures:no write-ordering:flush may_promote:no promotion_score:10101\n" +
      "exists connection name:r0 peer-node-id:1 conn-name:bob connection:Connected role:Secondary congested:no ap-in-flight:0 rs-in-flight:0\n" +
      "exists device name:r0 volume:0 minor:0 backing_dev:none disk:UpToDate client:no quorum:yes size:4193112 read:1131168 written:0 al-writes:3 bm-writes:1 upper-pending:0 lower-pending:0 al-suspended:no blocked:no\n" +
      "exists peer-device name:r0 peer-node-id:1 conn-name:bob volume:0 replication:SyncSource peer-disk:Inconsistent peer-client:no resync-suspended:no done:28.12 received:0 sent:1130496 out-of-sync:3013944 pending:4 unacked:0 dbdt1:70.25 eta:42\n" +
      "exists -\n",
  );
});

Deno.test("events2 shows paths with their established flag after the connection's peer devices", () => {
  const r = primaryConnected();
  r.connections[0].udrbd = {
    protocol: "C",
    paths: [{ local: "ipv4:10.0.0.1:7789", peer: "ipv4:10.0.0.2:7789", established: true }],
  };
  const text = snapshotEvents([r]);
  assert.ok(
    text.endsWith(
      "exists peer-device name:r0 peer-node-id:1 conn-name:bob volume:0 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no\n" +
        "exists path name:r0 peer-node-id:1 conn-name:bob local:ipv4:10.0.0.1:7789 peer:ipv4:10.0.0.2:7789 established:yes\n" +
        "exists -\n",
    ),
    text,
  );
});

Deno.test("events2 may_promote says yes for an idle Secondary with UpToDate data and no Primary anywhere", () => {
  const r = primaryConnected();
  r.role = "Secondary";
  // UpToDate here (1 volume × 100) plus two UpToDate replicas
  assert.match(snapshotEvents([r]), /may_promote:yes promotion_score:10102\n/);
  // a diskless client may promote through an UpToDate Secondary peer
  const client = disklessClient();
  client.connections[0]["peer-role"] = "Secondary";
  assert.match(snapshotEvents([client]), /may_promote:yes promotion_score:1\n/);
});

Deno.test("events2 change lines show only what changed", () => {
  const before = primaryConnected();
  const after = primaryConnected();
  after.connections[0]["connection-state"] = "Connecting";
  after.connections[0]["peer-role"] = "Unknown";
  after.connections[0].peer_devices[0]["replication-state"] = "Off";
  after.connections[0].peer_devices[0]["peer-disk-state"] = "DUnknown";
  assert.equal(
    lines(diffEvents(before, after)),
    // losing the peer's replica lowers the promotion score
    "change resource name:r0 may_promote:no promotion_score:10101\n" +
      "change connection name:r0 peer-node-id:1 conn-name:bob connection:Connecting role:Unknown\n" +
      "change peer-device name:r0 peer-node-id:1 conn-name:bob volume:0 replication:Off peer-disk:DUnknown peer-client:no\n",
  );
  // nothing changed: nothing printed
  assert.equal(lines(diffEvents(before, primaryConnected())), "");
});

Deno.test("events2 role and disk changes of a resource", () => {
  const before = primaryConnected();
  const after = primaryConnected();
  after.role = "Secondary";
  after.devices[0]["disk-state"] = "Outdated";
  assert.equal(
    lines(diffEvents(before, after)),
    // Outdated data no longer counts, but the UpToDate Secondary peer still allows promotion
    "change resource name:r0 role:Secondary may_promote:yes promotion_score:1\n" +
      "change device name:r0 volume:0 minor:0 backing_dev:/dev/vg/r0 disk:Outdated client:no quorum:yes\n",
  );
});

Deno.test("events2 --full repeats every field on a change", () => {
  const before = primaryConnected();
  const after = primaryConnected();
  after.role = "Secondary";
  assert.equal(
    formatEvent({ object: "resource", action: "change", resource: after, before }, { full: true }),
    "change resource name:r0 role:Secondary suspended:no force-io-failures:no write-ordering:flush may_promote:yes promotion_score:10102\n",
  );
});

Deno.test("events2 reports a new connection as create and a removed one as destroy", () => {
  const before: ResourceStatus = resource({ devices: [device()] });
  const after: ResourceStatus = resource({
    devices: [device()],
    connections: [connection({ "connection-state": "StandAlone", "peer-role": "Unknown" })],
  });
  assert.equal(
    lines(diffEvents(before, after)),
    "create connection name:r0 peer-node-id:1 conn-name:bob connection:StandAlone role:Unknown\n",
  );
  assert.equal(
    lines(diffEvents(after, before)),
    "destroy connection name:r0 peer-node-id:1 conn-name:bob\n",
  );
  assert.equal(lines(diffEvents(after, undefined)), "destroy resource name:r0\n");
});

Deno.test("events2 removing a volume destroys its peer devices before the device", () => {
  const before = twoVolumesTwoPeers();
  const after = twoVolumesTwoPeers();
  after.devices = after.devices.filter((d) => d.volume === 0);
  for (const c of after.connections) c.peer_devices = c.peer_devices.filter((p) => p.volume === 0);
  assert.equal(
    lines(diffEvents(before, after)),
    "change resource name:r1 may_promote:no promotion_score:10102\n" +
      "destroy peer-device name:r1 peer-node-id:2 conn-name:carol volume:1\n" +
      "destroy peer-device name:r1 peer-node-id:0 conn-name:alice volume:1\n" +
      "destroy device name:r1 volume:1\n",
  );
});

Deno.test("events2 reports resync progress on every statistics change of a peer device", () => {
  const before = syncing();
  const after = syncing();
  after.connections[0].peer_devices[0]["out-of-sync"] = 2097152;
  assert.equal(
    lines(diffEvents(before, after)),
    "change peer-device name:r0 peer-node-id:1 conn-name:bob volume:0 done:49.99\n",
  );
});

Deno.test("events2 helper call and response lines", () => {
  assert.equal(
    formatEvent({
      object: "helper",
      action: "call",
      helper: "before-resync-target",
      resource: "r0",
      peerNodeId: 1,
      connName: "bob",
      volume: 0,
      minor: 0,
    }),
    "call helper name:r0 peer-node-id:1 conn-name:bob volume:0 minor:0 helper:before-resync-target\n",
  );
  assert.equal(
    formatEvent({
      object: "helper",
      action: "response",
      helper: "fence-peer",
      resource: "r0",
      peerNodeId: 1,
      connName: "bob",
      status: 4,
    }),
    "response helper name:r0 peer-node-id:1 conn-name:bob helper:fence-peer status:4\n",
  );
  assert.equal(
    formatEvent({ object: "resource", action: "rename", name: "r0", newName: "data" }),
    "rename resource name:r0 new_name:data\n",
  );
});

Deno.test("events2 --timestamps prefixes local time with microseconds and the UTC offset", () => {
  const at = Date.UTC(2024, 4, 1, 10, 34, 56) * 1000 + 123456;
  assert.equal(formatTimestamp(at, 7200), "2024-05-01T12:34:56.123456+02:00 ");
  assert.equal(formatTimestamp(at, -(3 * 3600 + 1800)), "2024-05-01T07:04:56.123456-03:30 ");
  // drbdsetup truncates the hour toward zero, so half an hour west still reads +00
  assert.equal(formatTimestamp(at, -1800), "2024-05-01T10:04:56.123456+00:30 ");
  assert.equal(
    snapshotEvents([], { timestamps: true, at, utcOffsetSeconds: 0 }),
    "2024-05-01T10:34:56.123456+00:00 exists -\n",
  );
});

Deno.test("events2 --color paints states like status does", () => {
  const text = snapshotEvents([primaryConnected()], { color: "always" });
  assert.ok(text.includes("role:\x1b[1;36mPrimary\x1b[0m suspended:no"), text);
  assert.ok(text.includes("disk:\x1b[1;32mUpToDate\x1b[0m client:no"), text);
  assert.ok(text.includes("replication:Established peer-disk:\x1b[32mUpToDate\x1b[0m"), text);
  const peer = peerDevice({ "replication-state": "PausedSyncT" });
  const line = formatEvent({
    object: "peer-device",
    action: "exists",
    resource: "r0",
    connection: { "peer-node-id": 1, name: "bob" },
    peerDevice: peer,
  }, { color: "always" });
  assert.ok(line.includes("replication:\x1b[1;31mPausedSyncT\x1b[0m"), line);
});
