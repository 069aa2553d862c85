/**
 * Online verify on two loopback daemons, through the real CLI: refused without verify-alg,
 * nothing found on identical disks, and blocks corrupted behind the secondary's back found
 * exactly (counted and logged as DRBD logs them), then repaired by a disconnect/connect resync;
 * the `out-of-sync` handler runs on both nodes when a run found something. Both nodes must use the
 * same verify-alg: different ones at connect leave both StandAlone, a change on one connected
 * node is taken over by the other, as DRBD's SyncParam does.
 */
import assert from "node:assert/strict";
import {
  Cluster,
  type ClusterNode,
  peerDevice,
  sha256Prefix,
  synced,
  until,
  upAndSynced,
} from "./helpers.ts";

const DONE = /Online verify done \(total \d+ sec; paused 0 sec; \d+ K\/sec\)/;

/** Waits until both logs report the end of a verify run (the `nth` one). */
async function verifyDone(c: Cluster, nth = 1): Promise<void> {
  const count = (log: string) => log.split("Online verify done").length - 1;
  await until(
    () => count(c.alpha.log()) >= nth && count(c.beta.log()) >= nth,
    "online verify to finish on both nodes",
  );
  await until(async () => {
    const [a, b] = [await c.alpha.status(), await c.beta.status()];
    return peerDevice(a)["replication-state"] === "Established" &&
      peerDevice(b)["replication-state"] === "Established";
  }, "both nodes to return to Established");
}

Deno.test("online verify needs verify-alg and finds nothing on identical disks", async () => {
  const c = await Cluster.create();
  try {
    await upAndSynced(c);
    const refused = await c.alpha.udrbd(["drbdsetup", "verify", "r0", "1", "0"]);
    assert.equal(refused.code, 11, refused.stderr);
    assert.equal(
      refused.stderr,
      "r0: State change failed: (-14) Need a verify algorithm to start online verify\n",
    );
    for (const [n, peer] of [[c.alpha, "1"], [c.beta, "0"]] as const) {
      const r = await n.udrbd(["drbdsetup", "net-options", "r0", peer, "--verify-alg=sha1"]);
      assert.equal(r.code, 0, r.stderr);
    }
    await c.alpha.adm("verify", "r0");
    await verifyDone(c);
    for (const n of [c.alpha, c.beta]) {
      assert.match(n.log(), DONE);
      assert.doesNotMatch(n.log(), /Out of sync|found \d+ 4k blocks/);
      assert.equal(peerDevice(await n.status())["out-of-sync"], 0);
    }
    assert.match(c.alpha.log(), /Starting Online Verify from sector 0/);
    assert.match(c.beta.log(), /Online Verify start sector: 0/);
  } finally {
    await c.close();
  }
});

Deno.test("online verify finds exactly the blocks corrupted on the secondary, and a reconnect repairs them", async () => {
  // c-max-rate 4M: the verify of 16 MiB takes a few seconds, long enough to watch it.
  const c = await Cluster.create({
    net: { alpha: "verify-alg crc32c;", beta: "verify-alg crc32c;" },
    disk: "c-max-rate 4M;",
  });
  try {
    await upAndSynced(c);
    const bytes = (await c.alpha.status()).devices[0].size * 1024;
    // Behind the daemon's back: block 5, and blocks 1000-1001, of beta's data area.
    const f = await Deno.open(c.beta.disk, { write: true });
    try {
      for (const [block, count] of [[5, 1], [1000, 2]]) {
        await f.seek(block * 4096, Deno.SeekMode.Start);
        await f.write(new Uint8Array(count * 4096).fill(0xee));
      }
    } finally {
      f.close();
    }
    // Verify started on the secondary this time; the Primary answers.
    await c.beta.adm("verify", "r0");
    await until(async () => {
      const b = peerDevice(await c.beta.status());
      return b["replication-state"] === "VerifyS" && (b["ov-left"] ?? 0) > 0;
    }, "beta to be VerifyS");
    const a = peerDevice(await c.alpha.status());
    assert.ok(
      a["replication-state"] === "VerifyT" || a["replication-state"] === "Established",
      a["replication-state"],
    );
    const verbose = (await c.beta.udrbd(["drbdsetup", "status", "--verbose", "--statistics"]))
      .stdout;
    assert.match(verbose, /replication:VerifyS\s+peer-disk:UpToDate\s+done:\d+\.\d\d/);
    // Another verify while one runs is refused.
    const busy = await c.beta.udrbd(["drbdsetup", "verify", "r0", "0", "0"]);
    assert.match(busy.stderr, /\(-8\) Can not start OV\/resync since it is already active/);
    await verifyDone(c);
    for (const n of [c.alpha, c.beta]) {
      const log = n.log();
      assert.match(log, DONE);
      assert.match(log, /Out of sync: start=40, size=8 \(sectors\)/);
      assert.match(log, /Out of sync: start=8000, size=16 \(sectors\)/);
      assert.match(log, /Online verify found 3 4k blocks out of sync!/);
      // Marked, not repaired: DRBD leaves that to a reconnect.
      assert.equal(peerDevice(await n.status())["out-of-sync"], 3 * 4);
    }

    await c.beta.adm("disconnect", "r0");
    await c.beta.adm("connect", "r0");
    await until(() => synced(c), "the resync after reconnect");
    // Only the three blocks crossed the wire.
    assert.equal(peerDevice(await c.beta.status()).received, 3 * 4);
    await c.beta.adm("down", "r0");
    assert.equal(await sha256Prefix(c.beta.disk, bytes), await sha256Prefix(c.alpha.disk, bytes));
  } finally {
    await c.close();
  }
});

Deno.test("online verify that finds a corrupted block runs the out-of-sync handler on both nodes with DRBD's environment", async () => {
  const handlers = (n: ClusterNode) => `handlers { out-of-sync "env > ${n.dir}/out-of-sync.env"; }`;
  const c = await Cluster.create({
    net: { alpha: "verify-alg sha256;", beta: "verify-alg sha256;" },
    extra: handlers,
  });
  try {
    await upAndSynced(c);
    // Block 7 of beta's data area, behind the daemon's back.
    const f = await Deno.open(c.beta.disk, { write: true });
    try {
      await f.seek(7 * 4096, Deno.SeekMode.Start);
      await f.write(new Uint8Array(4096).fill(0x5a));
    } finally {
      f.close();
    }
    await c.alpha.adm("verify", "r0");
    await verifyDone(c);
    await until(
      () => [c.alpha, c.beta].every((n) => /drbdadm out-of-sync exit code 0/.test(n.log())),
      "the out-of-sync handler to run on both nodes",
    );
    for (const [n, peerId] of [[c.alpha, "1"], [c.beta, "0"]] as const) {
      assert.match(n.log(), /Online verify found 1 4k blocks out of sync!/);
      const env: Record<string, string> = {};
      for (const line of Deno.readTextFileSync(`${n.dir}/out-of-sync.env`).split("\n")) {
        const eq = line.indexOf("=");
        if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
      }
      assert.equal(env.DRBD_RESOURCE, "r0");
      assert.equal(env.DRBD_MINOR, "0");
      assert.equal(env.DRBD_VOLUME, "0");
      assert.equal(env.DRBD_BACKING_DEV, n.disk);
      assert.equal(env.DRBD_PEER_NODE_ID, peerId);
      assert.equal(env.DRBD_CSTATE, "Connected");
    }
  } finally {
    await c.close();
  }
});

Deno.test("nodes configured with different verify-alg stay StandAlone and both logs name the two algorithms", async () => {
  const c = await Cluster.create({
    net: { alpha: "verify-alg sha1;", beta: "verify-alg md5;" },
  });
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    const state = async (n: ClusterNode) => (await n.status()).connections[0]["connection-state"];
    // Each node logs its own finding, or, when the peer refused first and dropped the
    // connection before this node read the peer's SyncParam, the peer's reason: either way
    // a line naming both algorithms.
    const named = /Different verify-alg settings\. me="(sha1|md5)" peer="(sha1|md5)"/;
    const both = (log: string) => {
      const m = named.exec(log);
      return m !== null && m[1] !== m[2];
    };
    await until(
      async () =>
        both(c.alpha.log()) && both(c.beta.log()) &&
        await state(c.alpha) === "StandAlone" && await state(c.beta) === "StandAlone",
      "both nodes StandAlone, naming the verify-alg of each side",
    );
  } finally {
    await c.close();
  }
});

Deno.test("verify-alg set with net-options on one connected node is taken over by the peer, which can then verify", async () => {
  const c = await Cluster.create();
  try {
    await upAndSynced(c);
    const r = await c.alpha.udrbd(["drbdsetup", "net-options", "r0", "1", "--verify-alg=sha256"]);
    assert.equal(r.code, 0, r.stderr);
    await until(() => /using verify-alg: "sha256"/.test(c.beta.log()), "beta to take sha256");
    const show = await c.beta.udrbd(["drbdsetup", "show", "r0"]);
    assert.match(show.stdout, /verify-alg\s+"sha256";/, show.stdout);
    // Started on beta, whose own configuration names no verify-alg.
    await c.beta.adm("verify", "r0");
    await verifyDone(c);
    for (const n of [c.alpha, c.beta]) assert.match(n.log(), DONE);
  } finally {
    await c.close();
  }
});
