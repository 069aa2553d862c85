/**
 * A file system on the DRBD device, the way a user without the nbd kernel driver gets one:
 * nbdfuse turns the export into a file, losetup into a block device, ext4 goes on it; the files
 * outlive `drbdadm down` and `up`. Needs root, /dev/fuse, nbdfuse, losetup and mkfs.ext4.
 */
import assert from "node:assert/strict";
import { have, run, sha256File, TestNode, until } from "./helpers.ts";

let fuse = false;
try {
  fuse = Deno.statSync("/dev/fuse").isCharDevice === true;
} catch {
  // no fuse
}
const CAN_MOUNT = Deno.uid?.() === 0 && fuse && have("nbdfuse") && have("losetup") &&
  have("mkfs.ext4") && have("fsck.ext4");

/** A running nbdfuse: the export as the file `file`. */
interface FuseFile {
  file: string;
  /** Unmounts it (lazily if busy) and waits for nbdfuse to exit. */
  stop(): Promise<void>;
}

/** Starts nbdfuse on the export at `<dir>/fuse/disk`; resolves once the file is there. */
async function startNbdfuse(node: TestNode, readOnly = false): Promise<FuseFile> {
  const fuseDir = `${node.dir}/fuse`, pidFile = `${node.dir}/nbdfuse.pid`;
  await Deno.mkdir(fuseDir, { recursive: true });
  await Deno.remove(pidFile).catch(() => {});
  const child = new Deno.Command("nbdfuse", {
    args: [...(readOnly ? ["-r"] : []), "-P", pidFile, `${fuseDir}/disk`, node.uri],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let ended = false;
  const status = child.status.then((s) => {
    ended = true;
    return s;
  });
  const stop = async () => {
    if (!ended && (await run("umount", [fuseDir])).code !== 0) {
      await run("umount", ["-l", fuseDir]);
      if (!ended) child.kill("SIGTERM");
    }
    await status;
    await stderr;
  };
  try {
    // nbdfuse writes its pid file once the file is there
    await until(async () => {
      if (ended) throw new Error(`nbdfuse exited: ${await stderr}`);
      try {
        return Deno.statSync(pidFile).size > 0;
      } catch {
        return false;
      }
    }, "nbdfuse to mount");
  } catch (e) {
    await stop();
    throw e;
  }
  return { file: `${fuseDir}/disk`, stop };
}

/**
 * Mounts the export at `<dir>/fs` through nbdfuse and a loop device, optionally making an ext4
 * file system first; runs `body`; then unmounts everything it set up, whatever failed.
 */
async function withMounted(
  node: TestNode,
  mkfs: boolean,
  body: (fs: string) => Promise<void>,
): Promise<void> {
  const fs = `${node.dir}/fs`;
  await Deno.mkdir(fs, { recursive: true });
  const fuse = await startNbdfuse(node);
  let loop = "";
  let mounted = false;
  try {
    const l = await run("losetup", ["-f", "--show", fuse.file]);
    assert.equal(l.code, 0, l.stderr);
    loop = l.stdout.trim();
    if (mkfs) {
      const m = await run("mkfs.ext4", ["-q", "-F", loop]);
      assert.equal(m.code, 0, m.stderr);
    }
    const m = await run("mount", [loop, fs]);
    assert.equal(m.code, 0, m.stderr);
    mounted = true;
    await body(fs);
  } finally {
    if (mounted && (await run("umount", [fs])).code !== 0) await run("umount", ["-l", fs]);
    if (loop) await run("losetup", ["-d", loop]);
    await fuse.stop();
  }
}

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
      await withMounted(node, true, async (fs) => {
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

      await withMounted(node, false, async (fs) => {
        assert.equal(await sha256File(`${fs}/random.bin`), want);
        assert.equal(await Deno.readTextFile(`${fs}/dir/hello.txt`), "hello from udrbd\n");
      });
      // the file system is consistent, read through the export once more
      const fuse = await startNbdfuse(node, true);
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
