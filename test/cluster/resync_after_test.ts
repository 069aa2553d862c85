/**
 * resync-after between two resources on two loopback daemons: r1 resyncs after r0, so while r0
 * resyncs, r1's resync waits (PausedSyncS/T, `resync-suspended:dependency`, resume-sync refused
 * with DRBD's code 156) and continues by itself when r0 is done; both end UpToDate.
 * disk-options and attach refuse a resync-after that would make a cycle or names no minor.
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

Deno.test("disk-options and attach refuse a resync-after cycle (133) and a minor below -1 (132), with drbdsetup's texts", async () => {
  const c = await Cluster.create({ resources: r1 });
  const setup = (...args: string[]) => c.alpha.udrbd(["drbdsetup", ...args]);
  try {
    const f = await Deno.open(`${c.alpha.dir}/disk1.img`, { write: true, create: true });
    await f.truncate(R1_SIZE);
    f.close();
    await c.alpha.adm("create-md", "--force", "r1");
    await c.alpha.adm("up", "r0");
    await c.alpha.adm("up", "r1"); // minor 1 resyncs after minor 0
    for (const after of ["1", "0"]) {
      const r = await setup("disk-options", "0", `--resync-after=${after}`);
      assert.equal(r.code, 10, r.stderr);
      assert.equal(
        r.stderr,
        "0: Failure: (133) This would cause a resync-after dependency cycle\n",
      );
    }
    const invalid = await setup("disk-options", "0", "--resync-after=-2");
    assert.equal(invalid.code, 10, invalid.stderr);
    assert.equal(invalid.stderr, "0: Failure: (132) The resync-after minor number is invalid\n");
    // A minor that does not exist (yet) is allowed, as in DRBD.
    const later = await setup("disk-options", "0", "--resync-after=7");
    assert.equal(later.code, 0, later.stderr);

    // attach checks the same before it opens anything.
    assert.equal((await setup("detach", "0")).code, 0);
    const attach = await setup(
      "attach",
      "0",
      c.alpha.disk,
      c.alpha.disk,
      "internal",
      "--resync-after=1",
    );
    assert.equal(attach.code, 10, attach.stderr);
    assert.equal(
      attach.stderr,
      "0: Failure: (133) This would cause a resync-after dependency cycle\n",
    );
    assert.equal((await c.alpha.status()).devices[0]["disk-state"], "Diskless");
    // Once minor 1 no longer depends on 0, the same is fine.
    assert.equal((await setup("disk-options", "1", "--resync-after=-1")).code, 0);
    const ok = await setup(
      "attach",
      "0",
      c.alpha.disk,
      c.alpha.disk,
      "internal",
      "--resync-after=1",
    );
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await c.alpha.status()).devices[0]["disk-state"], "Inconsistent");
  } finally {
    await c.close();
  }
});
