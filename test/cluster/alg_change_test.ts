/**
 * net-options on two loopback daemons while a resync or an online verify runs: DRBD refuses a
 * new csums-alg during a resync (148) and a new verify-alg during a verify (149), with
 * drbdsetup's texts and exit code 10, and takes the same change once the run is over.
 */
import assert from "node:assert/strict";
import { Cluster, peerDevice, untilLogged } from "./helpers.ts";

Deno.test("net-options cannot change csums-alg during a resync or verify-alg during a verify, and can afterwards", async () => {
  // 16 MiB at a fixed 3 MiB/s: the initial sync and the verify each last a few seconds.
  const c = await Cluster.create({
    net: { alpha: "verify-alg crc32c;", beta: "verify-alg crc32c;" },
    disk: "resync-rate 3M; c-plan-ahead 0; c-max-rate 3M;",
  });
  const state = async () => peerDevice(await c.alpha.status())["replication-state"];
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await c.alpha.adm("primary", "--force", "r0");
    await untilLogged(c, async () => await state() === "SyncSource", "the initial sync to start");
    for (const [n, peer] of [[c.alpha, "1"], [c.beta, "0"]] as const) {
      const r = await n.udrbd(["drbdsetup", "net-options", "r0", peer, "--csums-alg=md5"]);
      assert.equal(r.code, 10, r.stderr);
      assert.equal(
        r.stderr,
        "r0: Failure: (148) Can not change csums-alg while resync is in progress\n",
      );
    }
    await untilLogged(c, async () => await state() === "Established", "the sync to finish");

    const verify = await c.alpha.udrbd(["drbdsetup", "verify", "r0", "1", "0"]);
    assert.equal(verify.code, 0, verify.stderr);
    await untilLogged(c, async () => await state() === "VerifyS", "the verify to run");
    const refused = await c.alpha.udrbd([
      "drbdsetup",
      "net-options",
      "r0",
      "1",
      "--verify-alg=sha1",
    ]);
    assert.equal(refused.code, 10, refused.stderr);
    assert.equal(
      refused.stderr,
      "r0: Failure: (149) Can not change verify-alg while online verify runs\n",
    );
    // The running algorithm again is no change.
    const same = await c.alpha.udrbd([
      "drbdsetup",
      "net-options",
      "r0",
      "1",
      "--verify-alg=crc32c",
    ]);
    assert.equal(same.code, 0, same.stderr);
    await untilLogged(c, async () => await state() === "Established", "the verify to finish");
    assert.match(c.alpha.log(), /Online verify done/);

    for (const option of ["--verify-alg=sha1", "--csums-alg=md5"]) {
      const r = await c.alpha.udrbd(["drbdsetup", "net-options", "r0", "1", option]);
      assert.equal(r.code, 0, r.stderr);
    }
    await untilLogged(
      c,
      () => /using verify-alg: "sha1"/.test(c.beta.log()),
      "beta to take over the new verify-alg",
    );
  } finally {
    await c.close();
  }
});
