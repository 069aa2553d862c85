/**
 * Checksum-based resync (`csums-alg`): after a disconnect, blocks the Primary rewrote with the
 * data they already had are recognized by their digests and not sent again; only the blocks
 * that really differ move. DRBD's closing line reports the eliminated share.
 */
import assert from "node:assert/strict";
import { Cluster, have, peerDevice, qemuIo, sha256Prefix, synced, until } from "./helpers.ts";

Deno.test({
  name: "with csums-alg a resync sends only the blocks whose data differs, not every dirty one",
  ignore: !have("qemu-io"),
  async fn() {
    const net = "csums-alg sha256;";
    const c = await Cluster.create({ net: { alpha: net, beta: net } });
    try {
      await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
      await c.alpha.adm("primary", "--force", "r0");
      await until(() => synced(c), "the initial sync");
      await qemuIo(c.alpha.socket, "write -P 0xa1 0 1M");

      await c.beta.adm("disconnect", "r0");
      await until(
        async () => (await c.alpha.status()).connections[0]["connection-state"] !== "Connected",
        "alpha to notice the disconnect",
      );
      // 1 MiB rewritten with the same bytes (dirty but equal), 64 KiB really changed
      await qemuIo(c.alpha.socket, "write -P 0xa1 0 1M", "write -P 0xb2 2M 64k");
      assert.equal(peerDevice(await c.alpha.status())["out-of-sync"], 1024 + 64);

      await c.beta.adm("connect", "r0");
      await until(() => synced(c), "the checksum-based resync");
      assert.equal(peerDevice(await c.beta.status()).received, 64, "only the changed blocks");
      assert.match(
        c.alpha.log(),
        /94 % had equal checksums, eliminated: 1024K; transferred 64K total 1088K/,
      );
      const bytes = (await c.alpha.status()).devices[0].size * 1024;
      await Promise.all([c.alpha.adm("down", "r0"), c.beta.adm("down", "r0")]);
      assert.equal(await sha256Prefix(c.beta.disk, bytes), await sha256Prefix(c.alpha.disk, bytes));
    } finally {
      await c.close();
    }
  },
});
