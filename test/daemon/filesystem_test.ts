/**
 * A file system on the DRBD device, the way a user without the nbd kernel driver gets one:
 * nbdfuse turns the export into a file, losetup into a block device, ext4 goes on it; the files
 * outlive `drbdadm down` and `up`. Needs root, /dev/fuse, nbdfuse, losetup and mkfs.ext4.
 */
import assert from "node:assert/strict";
import { run, sha256File, TestNode, until } from "./helpers.ts";
import { CAN_MOUNT, startNbdfuse, withMounted } from "../util/mount.ts";

Deno.test({
  name: "ext4 on the device (nbdfuse + losetup) keeps its files across drbdadm down and up",
  ignore: !CAN_MOUNT,
  async fn() {
    const node = await TestNode.create({ size: 64 << 20 });
    try {
      await node.upPrimary();
      const data = new Uint8Array(1 << 20);
      for (let i = 0; i < data.length; i += 65536) {
        crypto.getRandomValues(data.subarray(i, i + 65536));
      }
      let want = "";
      await withMounted(node.dir, node.uri, true, async (fs) => {
        await Deno.writeFile(`${fs}/random.bin`, data);
        await Deno.mkdir(`${fs}/dir`);
        await Deno.writeTextFile(`${fs}/dir/hello.txt`, "hello from udrbd\n");
        want = await sha256File(`${fs}/random.bin`);
        // while mounted the device is held open: DRBD will not take it down
        const busy = await node.adm("down", node.resource);
        assert.equal(busy.code, 11);
        assert.match(busy.stderr, /\(-12\) Device is held open by someone/);
      });

      await until(async () => (await node.adm("down", node.resource)).code === 0, "down");
      const gone = await node.setup("status", node.resource);
      assert.equal(gone.code, 10);
      await node.ok("up", node.resource);
      assert.equal(await node.role(), "Secondary");
      await node.ok("primary", node.resource);

      await withMounted(node.dir, node.uri, false, async (fs) => {
        assert.equal(await sha256File(`${fs}/random.bin`), want);
        assert.equal(await Deno.readTextFile(`${fs}/dir/hello.txt`), "hello from udrbd\n");
      });
      // the file system is consistent, read through the export once more
      const fuse = await startNbdfuse(node.dir, node.uri, true);
      try {
        const fsck = await run("fsck.ext4", ["-n", "-f", fuse.file]);
        assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
      } finally {
        await fuse.stop();
      }
    } finally {
      await node.close();
    }
  },
});
