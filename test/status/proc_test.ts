import assert from "node:assert/strict";
import { connectionState84, formatProcDrbd } from "../../lib/status/mod.ts";
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

const HEAD = "version: 8.4.11 (api:1/proto:86-101)\nGIT-hash: test build by tests\n";
const V = { buildTag: "GIT-hash: test build by tests" };

Deno.test("/proc/drbd shows a connected minor in DRBD 8.4's two-line layout", () => {
  assert.equal(
    formatProcDrbd([primaryConnected()], V),
    HEAD +
      " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n" +
      "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n",
  );
});

Deno.test("/proc/drbd during resync shows the progress bar, amounts, finish time and speeds", () => {
  assert.equal(
    formatProcDrbd([syncing()], V),
    HEAD +
      " 0: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----\n" +
      "    ns:1130496 nr:0 dw:0 dr:1131168 al:3 bm:1 lo:0 pe:4 ua:0 ap:0 ep:1 wo:f oos:3013944\n" +
      "\t[====>...............] sync'ed: 28.3% (3013944/4193112)K\n" +
      "\tfinish: 0:00:41 speed: 71,936 (73,696) K/sec\n",
  );
});

Deno.test("/proc/drbd on a SyncTarget shows the wanted rate, MiB amounts for big devices and a stall", () => {
  const r = resource({
    devices: [device({ "disk-state": "Inconsistent", size: 104857600 })],
    connections: [connection({
      "peer-role": "Primary",
      peer_devices: [peerDevice({
        "replication-state": "SyncTarget",
        received: 10485760,
        "out-of-sync": 94371840,
        "rs-total": 209715200,
        "rs-dt-start-ms": 400000,
        "rs-dt0-ms": 200000,
        "rs-db0-sectors": 0,
        "rs-c-sync-rate": 1250000,
      })],
    })],
  });
  const text = formatProcDrbd([r], V);
  assert.ok(
    text.endsWith(
      "\t[=>..................] sync'ed: 10.1% (92160/102400)M\n" +
        "\tfinish: 13107:12:00 speed: 0 (26,212) want: 1,250,000 K/sec (stalled)\n",
    ),
    text,
  );
});

Deno.test("/proc/drbd maps DRBD 9 states to 8.4 words and leaves no protocol letter when unconnected", () => {
  const text = formatProcDrbd([standalone(), disklessClient(), twoVolumesTwoPeers()], V);
  assert.equal(
    text,
    HEAD +
      "\n" +
      " 2: cs:Connected ro:Secondary/Primary ds:Diskless/UpToDate C r-----\n" +
      "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n" +
      " 3: cs:StandAlone ro:Primary/Unknown ds:UpToDate/DUnknown   r-----\n" +
      "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:12288\n" +
      "\n" +
      "10: cs:Connected ro:Secondary/Primary ds:UpToDate/UpToDate C r-----\n" +
      "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n" +
      "11: cs:Connected ro:Secondary/Primary ds:UpToDate/UpToDate C r-----\n" +
      "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0\n",
  );
  const c = connection({ "connection-state": "Connecting" });
  assert.equal(connectionState84(c), "WFConnection");
  assert.equal(
    connectionState84(connection(), peerDevice({ "replication-state": "Off" })),
    "WFReportParams",
  );
  assert.equal(
    connectionState84(connection(), peerDevice({ "replication-state": "PausedSyncT" })),
    "PausedSyncT",
  );
  assert.equal(
    connectionState84(connection({ "connection-state": "NetworkFailure" })),
    "NetworkFailure",
  );
  assert.equal(connectionState84(undefined), "StandAlone");
});

Deno.test("/proc/drbd shows an unused Secondary without disk or peer as Unconfigured", () => {
  const r = resource({ devices: [device({ minor: 1, "disk-state": "Diskless" })] });
  assert.equal(formatProcDrbd([r], V), HEAD + "\n 1: cs:Unconfigured\n");
});

Deno.test("/proc/drbd flags: suspended I/O, paused resync reasons, congestion, AL suspended", () => {
  const r = resource({
    "suspended-no-data": true,
    "write-ordering": "drain",
    devices: [device({ "al-suspended": true })],
    connections: [connection({
      congested: true,
      udrbd: { protocol: "A", epochs: 3 },
      peer_devices: [peerDevice({
        "replication-state": "PausedSyncS",
        "peer-disk-state": "Inconsistent",
        "resync-suspended": "user,dependency",
      })],
    })],
  });
  assert.equal(
    formatProcDrbd([r], V),
    HEAD +
      " 0: cs:PausedSyncS ro:Secondary/Secondary ds:UpToDate/Inconsistent A sa-uns\n" +
      "    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:3 wo:d oos:0\n",
  );
});

Deno.test("/proc/drbd during online verify says verified: and counts ov-left", () => {
  const r = resource({
    devices: [device({ size: 1048508 })],
    connections: [connection({
      peer_devices: [peerDevice({
        "replication-state": "VerifyT",
        "rs-total": 2097016,
        "ov-left": 1048508,
        "rs-dt-start-ms": 10000,
        "rs-dt0-ms": 10000,
        "rs-db0-sectors": 1048508,
      })],
    })],
  });
  const text = formatProcDrbd([r], V);
  assert.ok(
    text.endsWith(
      "\t[=========>..........] verified: 50.4% (524252/1048508)K\n" +
        "\tfinish: 0:00:09 speed: 52,424 (52,424) K/sec\n",
    ),
    text,
  );
});
