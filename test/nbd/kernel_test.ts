import assert from "node:assert/strict";
import { have, run, startExport, type TestExport } from "./helpers.ts";

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

async function waitFor(path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if (Deno.statSync(path).size > 0) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} did not appear`);
}

/** nbdfuse → loop device → mount; runs `body` on the mounted file system, then tears down. */
async function withMountedExport(
  ex: TestExport,
  mkfs: boolean,
  body: (fs: string) => Promise<void>,
): Promise<void> {
  const mnt = `${ex.dir}/mnt`, fs = `${ex.dir}/fs`;
  await Deno.mkdir(mnt, { recursive: true });
  await Deno.mkdir(fs, { recursive: true });
  const fuseProc = new Deno.Command("nbdfuse", {
    args: [`${mnt}/disk`, ex.uri],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let loop = "";
  let mounted = false;
  try {
    await waitFor(`${mnt}/disk`);
    const l = await run("losetup", ["-f", "--show", `${mnt}/disk`]);
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
    if (mounted) await run("umount", [fs]);
    if (loop) await run("losetup", ["-d", loop]);
    const u = await run("umount", [mnt]);
    if (u.code !== 0) fuseProc.kill("SIGTERM");
    await fuseProc.stderr.cancel();
    await fuseProc.status;
  }
}

Deno.test({
  name: "ext4 on the export (nbdfuse + losetup) keeps its files across a server restart",
  ignore: !isRoot || !fuse || !have("nbdfuse") || !have("losetup") || !have("mkfs.ext4"),
  async fn() {
    const ex = await startExport({ size: 64 << 20 });
    try {
      const data = crypto.getRandomValues(new Uint8Array(65536));
      await withMountedExport(ex, true, async (fs) => {
        await Deno.writeFile(`${fs}/a.bin`, data);
        await Deno.writeTextFile(`${fs}/hello.txt`, "hello from udrbd\n");
        await run("sync", []);
      });
      // "down/up": a fresh server on the same backing file.
      await ex.restart();
      await withMountedExport(ex, false, async (fs) => {
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
