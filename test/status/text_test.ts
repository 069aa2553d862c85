import assert from "node:assert/strict";
import { formatStatus, NO_RESOURCES_TEXT, selectResources } from "../../lib/status/mod.ts";
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

Deno.test("status of a connected single-volume Primary shows role, disk, peer role and peer disk", () => {
  assert.equal(
    formatStatus([primaryConnected()]),
    "r0 role:Primary\n" +
      "  disk:UpToDate\n" +
      "  bob role:Secondary\n" +
      "    peer-disk:UpToDate\n" +
      "\n",
  );
});

Deno.test("status during resync shows the replication state and done percentage", () => {
  assert.equal(
    formatStatus([syncing()]),
    "r0 role:Primary\n" +
      "  disk:UpToDate\n" +
      "  bob role:Secondary\n" +
      "    replication:SyncSource peer-disk:Inconsistent done:28.12\n" +
      "\n",
  );
});

Deno.test("status with two volumes and two peers lists volumes in minor order and hides an unconnected peer's volumes", () => {
  assert.equal(
    formatStatus([twoVolumesTwoPeers()]),
    "r1 role:Secondary\n" +
      "  volume:0 disk:UpToDate\n" +
      "  volume:1 disk:UpToDate\n" +
      "  alice role:Primary\n" +
      "    volume:0 peer-disk:UpToDate\n" +
      "    volume:1 peer-disk:UpToDate\n" +
      "  carol connection:Connecting\n" +
      "\n",
  );
});

Deno.test("status of a diskless client says client:yes when piped and hides it on a terminal", () => {
  const piped = "r2 role:Secondary\n  disk:Diskless client:yes\n  alice role:Primary\n" +
    "    peer-disk:UpToDate\n\n";
  assert.equal(formatStatus([disklessClient()]), piped);
  assert.equal(formatStatus([disklessClient()], { tty: true }), piped.replace(" client:yes", ""));
});

Deno.test("status of a StandAlone connection shows the connection state and no peer volumes", () => {
  assert.equal(
    formatStatus([standalone()]),
    "r3 role:Primary\n  disk:UpToDate\n  bob connection:StandAlone\n\n",
  );
});

Deno.test("status shows suspension, lost quorum, forced I/O failures and blocked I/O only when they matter", () => {
  const r = resource({
    "suspended-user": true,
    "suspended-quorum": true,
    "force-io-failures": true,
    devices: [device({ quorum: false, blocked: "upper,lower" })],
  });
  assert.equal(
    formatStatus([r]),
    "r0 role:Secondary suspended:user,quorum force-io-failures:yes\n" +
      "  disk:UpToDate quorum:no blocked:upper,lower\n\n",
  );
});

Deno.test("status --verbose --statistics prints every field and wraps at 80 columns like drbdsetup", () => {
  assert.equal(
    formatStatus([primaryConnected()], { verbose: true, statistics: true }),
    "r0 node-id:0 role:Primary suspended:no force-io-failures:no\n" +
      "    write-ordering:flush\n" +
      "  volume:0 minor:0 disk:UpToDate backing_dev:/dev/vg/r0 quorum:yes\n" +
      "      size:1048508 read:0 written:0 al-writes:0 bm-writes:0 upper-pending:0\n" +
      "      lower-pending:0 al-suspended:no blocked:no\n" +
      "  bob node-id:1 connection:Connected role:Secondary congested:no ap-in-flight:0\n" +
      "      rs-in-flight:0\n" +
      "    volume:0 replication:Established peer-disk:UpToDate resync-suspended:no\n" +
      "        received:0 sent:0 out-of-sync:0 pending:0 unacked:0\n" +
      "\n",
  );
});

Deno.test("status --statistics without --verbose shows traffic and only a non-zero out-of-sync", () => {
  assert.equal(
    formatStatus([standalone()], { statistics: true }),
    "r3 role:Primary\n" +
      "  disk:UpToDate\n" +
      "      read:0 written:0\n" +
      "  bob connection:StandAlone\n" +
      "    peer-disk:DUnknown\n" +
      "        received:0 sent:0 out-of-sync:12288\n" +
      "\n",
  );
});

Deno.test("status -vv --statistics during resync shows the resync internals, speeds and eta", () => {
  const text = formatStatus([syncing()], { verbose: 2, statistics: true });
  assert.ok(
    text.endsWith(
      "    volume:0 replication:SyncSource peer-disk:Inconsistent done:28.12\n" +
        "        resync-suspended:no\n" +
        "        received:0 sent:1130496 out-of-sync:3013944 pending:4 unacked:0\n" +
        "        rs-total:8386224 rs-dt-start-ms:16000 rs-paused-ms:0 rs-dt0-ms:9000\n" +
        "        rs-db0-sectors:1294848 rs-dt1-ms:3000 rs-db1-sectors:431616 rs-failed:0\n" +
        "        rs-same-csum:0 dbdt:71.97 dbdt0:70.25 dbdt1:70.25 eta:42\n\n",
    ),
    text,
  );
  // one -v shows only the short-term speed and the estimate
  const once = formatStatus([syncing()], { verbose: 1, statistics: true });
  assert.ok(once.includes("pending:4 unacked:0\n        dbdt1:70.25 eta:42\n"), once);
});

Deno.test("status of an online verify counts progress from ov-left", () => {
  const r = resource({
    devices: [device()],
    connections: [connection({
      peer_devices: [peerDevice({
        "replication-state": "VerifyS",
        "rs-total": 2097016,
        "ov-left": 524254,
        "rs-dt1-ms": 1000,
        "rs-db1-sectors": 10000,
      })],
    })],
  });
  assert.match(formatStatus([r]), /replication:VerifyS peer-disk:UpToDate done:75\.00\n/);
});

Deno.test("status colors: Primary cyan, UpToDate green, sync states red, resource name plain", () => {
  const text = formatStatus([syncing()], { color: "always" });
  assert.equal(
    text,
    "r0 role:\x1b[1;36mPrimary\x1b[0m\n" +
      "  disk:\x1b[1;32mUpToDate\x1b[0m\n" +
      "  bob role:Secondary\n" +
      "    replication:\x1b[31mSyncSource\x1b[0m peer-disk:\x1b[31mInconsistent\x1b[0m done:28.12\n" +
      "\n",
  );
});

Deno.test("status colors: an intentional client's Diskless is green, StandAlone red and bold, lost quorum red", () => {
  assert.ok(
    formatStatus([disklessClient()], { color: "always" }).includes(
      "disk:\x1b[1;32mDiskless\x1b[0m client:yes",
    ),
  );
  const lost = resource({ devices: [device({ "disk-state": "Outdated", quorum: false })] });
  assert.equal(
    formatStatus([lost], { color: "always" }),
    "r0 role:Secondary\n  disk:\x1b[1;31mOutdated\x1b[0m quorum:\x1b[1;31mno\x1b[0m\n\n",
  );
  assert.ok(
    formatStatus([standalone()], { color: "always" }).includes(
      "bob connection:\x1b[1;31mStandAlone\x1b[0m\n",
    ),
  );
  const syncTarget = resource({
    devices: [device({ "disk-state": "Inconsistent" })],
    connections: [connection({
      "peer-role": "Primary",
      peer_devices: [peerDevice({ "replication-state": "SyncTarget" })],
    })],
  });
  // the local side of a resync is bold, the peer's role uses the plain palette
  assert.ok(
    formatStatus([syncTarget], { color: "always" }).includes(
      "  bob role:\x1b[36mPrimary\x1b[0m\n    replication:\x1b[1;31mSyncTarget\x1b[0m",
    ),
  );
});

Deno.test("status sorts resources and connections by name and filters to one resource", () => {
  const a = resource({ name: "alpha" });
  const z = resource({
    name: "zulu",
    connections: [
      connection({ name: "mike", "connection-state": "Connecting", "peer-node-id": 2 }),
      connection({ name: "kilo", "connection-state": "Connecting" }),
    ],
  });
  assert.equal(
    formatStatus([z, a]),
    "alpha role:Secondary\n\n" +
      "zulu role:Secondary\n  kilo connection:Connecting\n  mike connection:Connecting\n\n",
  );
  assert.equal(formatStatus([z, a], { resourceFilter: "alpha" }), "alpha role:Secondary\n\n");
  assert.equal(formatStatus([z, a], { resourceFilter: "nope" }), "");
  assert.deepEqual(selectResources([z, a], "nope"), []);
  assert.equal(formatStatus([]), NO_RESOURCES_TEXT);
});

Deno.test("status wraps long lines at the terminal width with the field's indent", () => {
  assert.equal(
    formatStatus([primaryConnected()], { verbose: true, columns: 40 }),
    "r0 node-id:0 role:Primary suspended:no\n" +
      "    force-io-failures:no\n" +
      "  volume:0 minor:0 disk:UpToDate\n" +
      "      backing_dev:/dev/vg/r0 quorum:yes\n" +
      "      blocked:no\n" +
      "  bob node-id:1 connection:Connected\n" +
      "      role:Secondary congested:no\n" +
      "      ap-in-flight:0 rs-in-flight:0\n" +
      "    volume:0 replication:Established\n" +
      "        peer-disk:UpToDate\n" +
      "        resync-suspended:no\n" +
      "\n",
  );
});
