/**
 * Two udrbd daemons (alpha, beta) on loopback, driven by the real CLI as a user would: initial
 * full sync, replicated writes through the NBD export, bitmap-based resync after a disconnect,
 * and a wrong shared secret. Disks are compared byte for byte over their data areas.
 */
import assert from "node:assert/strict";
import {
  Cluster,
  have,
  peerDevice,
  qemuIo,
  sha256Prefix,
  synced,
  until,
  upAndSynced,
} from "./helpers.ts";

const haveQemu = have("qemu-io");

Deno.test("a forced primary fully syncs a fresh peer: both disks UpToDate and identical", async () => {
  const c = await Cluster.create();
  try {
    // Data on alpha's disk before it becomes the sync source: the sync must carry it over.
    const seed = await Deno.open(c.alpha.disk, { write: true });
    await seed.write(new Uint8Array(64 << 10).fill(0x5a));
    seed.close();
    const bytes = await upAndSynced(c);
    const a = await c.alpha.status();
    const b = await c.beta.status();
    assert.equal(a.role, "Primary");
    assert.equal(b.role, "Secondary");
    assert.equal(a.connections[0]["connection-state"], "Connected");
    assert.equal(a.connections[0]["peer-role"], "Secondary");
    assert.equal(b.connections[0]["peer-role"], "Primary");
    assert.equal(peerDevice(a)["out-of-sync"], 0);
    assert.equal(peerDevice(b)["out-of-sync"], 0);
    assert.equal(peerDevice(a)["rs-total"], 0);
    const text = (await c.beta.udrbd(["drbdsetup", "status", "r0"])).stdout;
    assert.match(
      text,
      /r0 role:Secondary\n {2}disk:UpToDate\n {2}alpha role:Primary\n {4}peer-disk:UpToDate/,
    );
    await c.beta.adm("down", "r0");
    assert.equal(await sha256Prefix(c.beta.disk, bytes), await sha256Prefix(c.alpha.disk, bytes));
  } finally {
    await c.close();
  }
});

Deno.test("writes on the primary reach the peer's disk with protocol C", {
  ignore: !haveQemu,
}, async () => {
  const c = await Cluster.create();
  try {
    const bytes = await upAndSynced(c);
    await qemuIo(
      c.alpha.socket,
      "write -P 0xa1 0 1M",
      "write -P 0xb2 3M 6k",
      "write -z 5M 64k",
      "flush",
    );
    // Protocol C: every write was acked by beta's disk before qemu-io saw it complete.
    assert.equal(peerDevice(await c.alpha.status())["out-of-sync"], 0);
    await c.beta.adm("down", "r0");
    const beta = await Deno.readFile(c.beta.disk);
    assert.ok(beta.subarray(0, 1 << 20).every((x) => x === 0xa1));
    assert.ok(beta.subarray(3 << 20, (3 << 20) + 6144).every((x) => x === 0xb2));
    assert.equal(await sha256Prefix(c.beta.disk, bytes), await sha256Prefix(c.alpha.disk, bytes));
  } finally {
    await c.close();
  }
});

Deno.test("after a disconnect only the blocks written meanwhile are resynced", {
  ignore: !haveQemu,
}, async () => {
  const c = await Cluster.create();
  try {
    const bytes = await upAndSynced(c);
    await c.beta.adm("disconnect", "r0");
    await until(
      async () => (await c.alpha.status()).connections[0]["connection-state"] === "Connecting",
      "alpha to notice the disconnect",
    );
    // 1 MiB + 8 KiB straddling a block boundary: 256 + 3 blocks of 4 KiB.
    await qemuIo(c.alpha.socket, "write -P 0xc3 2M 1M", "write -P 0xd4 7170k 8k");
    assert.equal(peerDevice(await c.alpha.status())["out-of-sync"], (256 + 3) * 4);
    await c.beta.adm("connect", "r0");
    await until(() => synced(c), "the resync after reconnect");
    // Counters restart with the connection: beta received exactly the dirty blocks.
    assert.equal(peerDevice(await c.beta.status()).received, (256 + 3) * 4);
    assert.match(c.alpha.log(), /resync as SyncSource, bitmap sync/);
    await c.beta.adm("down", "r0");
    assert.equal(await sha256Prefix(c.beta.disk, bytes), await sha256Prefix(c.alpha.disk, bytes));
  } finally {
    await c.close();
  }
});

Deno.test("a wrong shared secret never connects and both logs say why", async () => {
  const c = await Cluster.create({
    net: {
      alpha: 'cram-hmac-alg sha256; shared-secret "alpha-secret";',
      beta: 'cram-hmac-alg sha256; shared-secret "beta-secret";',
    },
  });
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    const why = /peer authentication failed: wrong shared secret/;
    await until(
      () => why.test(c.alpha.log()) && why.test(c.beta.log()),
      "both logs to report the failed authentication",
    );
    for (const n of [c.alpha, c.beta]) {
      assert.equal((await n.status()).connections[0]["connection-state"], "Connecting");
      assert.doesNotMatch(n.log(), /conn\( \w+ -> Connected \)/);
    }
  } finally {
    await c.close();
  }
});
