/**
 * resync-after between two resources on two loopback daemons: r1 resyncs after r0, so while r0
 * resyncs, r1's resync waits (PausedSyncS/T, `resync-suspended:dependency`, resume-sync refused
 * with DRBD's code 156) and continues by itself when r0 is done; both end UpToDate.
 */
import assert from "node:assert/strict";
import { Cluster, type ClusterNode, peerDevice, untilLogged } from "./helpers.ts";

const R1_SIZE = 4 << 20;

/** r1: minor 1 on its own backing file, resyncing after r0. */
function r1(n: ClusterNode, port: number): string {
  const host = (name: string, p: number) =>
    `on ${name} { node-id ${name === "alpha" ? 0 : 1}; device /dev/drbd1 minor 1; ` +
    `disk ${n.dir}/../${name}/disk1.img; meta-disk internal; address 127.0.0.1:${p}; }`;
  return `resource r1 {
  net { protocol C; connect-int 1; }
  disk { resync-rate 100M; resync-after r0; }
  ${host("alpha", port + 2)}
  ${host("beta", port + 3)}
}
`;
}

Deno.test("a resource with resync-after waits (PausedSyncS/T, resync-suspended:dependency) while the other resyncs, then resyncs by itself", async () => {
  // r0: 16 MiB at a fixed 3 MiB/s, so it is still resyncing when r1 needs its resync.
  const c = await Cluster.create({ disk: "resync-rate 3M; c-plan-ahead 0;", resources: r1 });
  try {
    for (const n of [c.alpha, c.beta]) {
      const f = await Deno.open(`${n.dir}/disk1.img`, { write: true, create: true });
      await f.truncate(R1_SIZE);
      f.close();
      await n.adm("create-md", "--force", "r1");
      await n.adm("up", "r0");
      await n.adm("up", "r1");
    }
    await c.alpha.adm("primary", "--force", "r0");
    await untilLogged(
      c,
      async () => peerDevice(await c.alpha.status("r0"))["replication-state"] === "SyncSource",
      "r0 to resync",
    );
    await c.alpha.adm("primary", "--force", "r1");
    await untilLogged(c, async () => {
      const [a, b] = [
        peerDevice(await c.alpha.status("r1")),
        peerDevice(await c.beta.status("r1")),
      ];
      return a["replication-state"] === "PausedSyncS" &&
        a["resync-suspended"].includes("dependency") &&
        b["replication-state"] === "PausedSyncT" && b["resync-suspended"].includes("dependency");
    }, "r1 to wait for r0 on both nodes");
    const text = (await c.alpha.udrbd(["drbdsetup", "status", "r1"])).stdout;
    // (beta's r1 waits for its own r0 too, and says so: alpha's r1 is held by the peer as well)
    assert.match(
      text,
      /replication:PausedSyncS\s+peer-disk:Inconsistent\s+done:[\d.]+\s+resync-suspended:peer,dependency/,
      text,
    );
    // Not the user's pause: resume-sync cannot lift it.
    const refused = await c.alpha.udrbd(["drbdsetup", "resume-sync", "r1", "1", "0"]);
    assert.equal(refused.code, 10, refused.stderr);
    assert.equal(
      refused.stderr,
      "r1: Failure: (156) Sync-pause flag is already cleared.\n" +
        "Note: Resync pause caused by a local resync-after dependency.\n",
    );

    await untilLogged(c, async () => {
      for (const n of [c.alpha, c.beta]) {
        for (const res of ["r0", "r1"]) {
          const s = await n.status(res);
          const pd = peerDevice(s);
          if (
            s.devices[0]["disk-state"] !== "UpToDate" || pd["peer-disk-state"] !== "UpToDate" ||
            pd["replication-state"] !== "Established" || pd["resync-suspended"] !== "no"
          ) return false;
        }
      }
      return true;
    }, "both resources to finish their resyncs");
    const log = c.alpha.log();
    // r1 began paused and continued only once r0 was done.
    assert.match(log, /r1 beta\/0: Began resync as PausedSyncS/);
    const r0Done = log.indexOf("r0 beta/0: Resync done");
    const r1Continues = log.indexOf("r1 beta/0: Syncer continues.");
    assert.ok(r0Done >= 0 && r1Continues > r0Done, log);
    // Held, not restarted: every block of r1 crossed once.
    const b1 = await c.beta.status("r1");
    assert.equal(peerDevice(b1).received, b1.devices[0].size);
  } finally {
    await c.close();
  }
});
