import assert from "node:assert/strict";
import { dfHuman, formatOverview, type MountInfo } from "../../lib/status/mod.ts";
import { primaryConnected, standalone, syncing, twoVolumesTwoPeers } from "./fixtures.ts";

const MNT: MountInfo = {
  mountPoint: "/mnt",
  fsType: "ext4",
  totalBytes: 1023303680,
  freeBytes: 1020600320,
  availBytes: 951009280,
};

Deno.test("drbd-overview aligns one row per minor with state, roles, disks, protocol, flags and the mount", () => {
  const r1 = twoVolumesTwoPeers();
  assert.equal(
    formatOverview([primaryConnected(), r1], { mounts: new Map([[0, MNT]]) }),
    "  0:r0/0  Connected Primary/Secondary UpToDate/UpToDate C r----- /mnt ext4 976M 2.6M 907M 1% \n" +
      " 10:r1/0  Connected Secondary/Primary UpToDate/UpToDate C r----- \n" +
      " 11:r1/1  Connected Secondary/Primary UpToDate/UpToDate C r----- \n",
  );
});

Deno.test("drbd-overview shows the resync progress bar under a syncing minor", () => {
  assert.equal(
    formatOverview([syncing()]),
    "  0:r0/0  SyncSource Primary/Secondary UpToDate/Inconsistent C r----- \n" +
      "\t[====>...............] sync'ed: 28.3% (3013944/4193112)K\n",
  );
});

Deno.test("drbd-overview of a StandAlone minor moves the flags into the missing protocol column, as 8.4's script did", () => {
  assert.equal(
    formatOverview([standalone(), primaryConnected()]),
    "  0:r0/0  Connected  Primary/Secondary UpToDate/UpToDate C      r----- \n" +
      "  3:r3/0  StandAlone Primary/Unknown   UpToDate/DUnknown r----- \n",
  );
});

Deno.test("drbd-overview lists configured minors that are down as Unconfigured", () => {
  assert.equal(
    formatOverview([], { configured: [{ minor: 7, resource: "web", volume: 0 }] }),
    "  7:web/0  Unconfigured . . . . \n",
  );
  assert.equal(formatOverview([]), "");
});

Deno.test("drbd-overview sizes read like df -h: powers of 1024, rounded up, one decimal below 10", () => {
  assert.equal(dfHuman(0), "0");
  assert.equal(dfHuman(1023), "1023");
  assert.equal(dfHuman(1024), "1.0K");
  assert.equal(dfHuman(1025), "1.1K");
  assert.equal(dfHuman(10 * 1024 - 1), "10K");
  assert.equal(dfHuman(1024 * 1024 - 1), "1.0M");
  assert.equal(dfHuman(214748364800), "200G");
  assert.equal(dfHuman(1395864371), "1.3G");
  assert.equal(dfHuman(1.5 * 2 ** 40), "1.5T");
});
