import assert from "node:assert/strict";
import { have, run, startExport } from "./helpers.ts";
import { withMounted } from "../util/mount.ts";

const isRoot = Deno.uid?.() === 0;
let fuse = false;
try {
  fuse = Deno.statSync("/dev/fuse").isCharDevice === true;
} catch {
  // no fuse
}

Deno.test({
  name: "nbd-client (the kernel's negotiator) gets through the handshake",
  ignore: !have("nbd-client"),
  async fn() {
    const ex = await startExport({ size: 64 << 20 });
    try {
      // Without the nbd module it stops after negotiating ("Couldn't resolve the nbd netlink
      // family"); the size line proves the GO exchange worked.
      const r = await run("nbd-client", ["-unix", ex.socket, "/dev/nbd15", "-N", "", "-n"]);
      assert.match(r.stdout + r.stderr, /size = 64MB/);
      const list = await run("nbd-client", ["-unix", ex.socket, "-l"]);
      assert.equal(list.code, 0, list.stderr);
    } finally {
      await ex.close();
    }
  },
});

Deno.test({
  name: "ext4 on the export (nbdfuse + losetup) keeps its files across a server restart",
  ignore: !isRoot || !fuse || !have("nbdfuse") || !have("losetup") || !have("mkfs.ext4"),
  async fn() {
    const ex = await startExport({ size: 64 << 20 });
    try {
      const data = crypto.getRandomValues(new Uint8Array(65536));
      await withMounted(ex.dir, ex.uri, true, async (fs) => {
        await Deno.writeFile(`${fs}/a.bin`, data);
        await Deno.writeTextFile(`${fs}/hello.txt`, "hello from udrbd\n");
        await run("sync", []);
      });
      // "down/up": a fresh server on the same backing file.
      await ex.restart();
      await withMounted(ex.dir, ex.uri, false, async (fs) => {
        assert.deepEqual(await Deno.readFile(`${fs}/a.bin`), data);
        assert.equal(await Deno.readTextFile(`${fs}/hello.txt`), "hello from udrbd\n");
      });
      const fsck = await run("fsck.ext4", ["-n", "-f", ex.file]);
      assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
    } finally {
      await ex.close();
    }
  },
});
