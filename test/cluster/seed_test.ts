/**
 * The seed walkthrough on two hosts (network + UTS namespaces joined by veth): create-md on both,
 * up on both, primary --force on alpha, initial sync, ext4 made and filled through alpha's device
 * (nbdfuse + loop), alpha steps down, beta becomes Primary and mounts the same files. Checked by
 * checksums of the files and of both disks' data areas, not only by status.
 */
import assert from "node:assert/strict";
import { nbdUri, peerDevice, sha256Prefix, until } from "./helpers.ts";
import { netnsAvailable, NetnsCluster } from "./netns.ts";
import { CAN_MOUNT, withMounted } from "../util/mount.ts";

const CAN = CAN_MOUNT && await netnsAvailable();

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(h, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "the seed walkthrough across two hosts: files made on alpha are there on beta",
  ignore: !CAN,
  async fn() {
    const c = await NetnsCluster.create({ size: 64 << 20 });
    try {
      await Promise.all(c.nodes.map((n) => n.adm("up", "r0")));
      await c.alpha.adm("primary", "--force", "r0");
      await until(async () => {
        const [a, b] = [await c.alpha.status(), await c.beta.status()];
        return peerDevice(a)["replication-state"] === "Established" &&
          b.devices[0]["disk-state"] === "UpToDate" &&
          peerDevice(b)["peer-disk-state"] === "UpToDate";
      }, "the initial sync over the veth link");
      // each host found its own `on` section by its hostname alone
      assert.match(c.beta.log(), /alpha/);
      assert.equal((await c.alpha.status()).connections[0].name, "beta");

      const data = new Uint8Array(3 << 20);
      for (let i = 0; i < data.length; i += 65536) {
        crypto.getRandomValues(data.subarray(i, i + 65536));
      }
      await withMounted(c.alpha.dir, nbdUri(c.alpha.socket), true, async (fs) => {
        await Deno.writeFile(`${fs}/random.bin`, data);
        await Deno.mkdir(`${fs}/etc`);
        await Deno.writeTextFile(`${fs}/etc/motd`, "replicated by udrbd\n");
      });
      await c.alpha.adm("secondary", "r0");
      await c.beta.adm("primary", "r0");
      await withMounted(c.beta.dir, nbdUri(c.beta.socket), false, async (fs) => {
        assert.equal(await sha256(await Deno.readFile(`${fs}/random.bin`)), await sha256(data));
        assert.equal(await Deno.readTextFile(`${fs}/etc/motd`), "replicated by udrbd\n");
      });
      const bytes = (await c.beta.status()).devices[0].size * 1024;
      await c.beta.adm("secondary", "r0");
      await Promise.all(c.nodes.map((n) => n.adm("down", "r0")));
      assert.equal(await sha256Prefix(c.alpha.disk, bytes), await sha256Prefix(c.beta.disk, bytes));
    } finally {
      await c.close();
    }
  },
});
