/**
 * A file system on a udrbd device, the way a user without the nbd kernel driver gets one:
 * nbdfuse turns the NBD export into a file, losetup into a block device, and ext4 goes on that.
 * Needs root, /dev/fuse, nbdfuse, losetup, mkfs.ext4 and fsck.ext4 ({@link CAN_MOUNT}).
 *
 * @module
 */
import assert from "node:assert/strict";
import { have, run, until } from "../daemon/helpers.ts";

let fuse = false;
try {
  fuse = Deno.statSync("/dev/fuse").isCharDevice === true;
} catch {
  // no fuse
}
export const CAN_MOUNT = Deno.uid?.() === 0 && fuse && have("nbdfuse") && have("losetup") &&
  have("mkfs.ext4") && have("fsck.ext4");

/** A running nbdfuse: the export as the file `file`. */
export interface FuseFile {
  file: string;
  /** Unmounts it (lazily if busy) and waits for nbdfuse to exit. */
  stop(): Promise<void>;
}

/**
 * Starts nbdfuse on the NBD export `uri` as the file `<dir>/fuse/disk`; resolves once the file is
 * there.
 */
export async function startNbdfuse(
  dir: string,
  uri: string,
  readOnly = false,
): Promise<FuseFile> {
  const fuseDir = `${dir}/fuse`, pidFile = `${dir}/nbdfuse.pid`;
  await Deno.mkdir(fuseDir, { recursive: true });
  await Deno.remove(pidFile).catch(() => {});
  const child = new Deno.Command("nbdfuse", {
    args: [...(readOnly ? ["-r"] : []), "-P", pidFile, `${fuseDir}/disk`, uri],
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
 * Mounts the NBD export `uri` at `<dir>/fs` through nbdfuse and a loop device, optionally making
 * an ext4 file system first; runs `body`; then unmounts everything it set up, whatever failed.
 */
export async function withMounted(
  dir: string,
  uri: string,
  mkfs: boolean,
  body: (fs: string) => Promise<void>,
): Promise<void> {
  const fs = `${dir}/fs`;
  await Deno.mkdir(fs, { recursive: true });
  const fuse = await startNbdfuse(dir, uri);
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
