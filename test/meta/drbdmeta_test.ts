import assert from "node:assert/strict";
import { setEnv } from "../util/env.ts";
import { drbdmetaMain } from "../../lib/meta/cli.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { stripDumpHeader } from "./samples.ts";

/** Runs our drbdmeta in-process; lkbd files go to a private folder. */
function meta(args: string[], options: { input?: string[]; terminal?: boolean } = {}) {
  const io = new MemoryConsole(options);
  const code = drbdmetaMain(args, io, { progname: "drbdmeta" });
  return { code, out: io.stdout, err: io.stderr };
}

async function withImage(size: number, fn: (path: string, dir: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-meta-" });
  const restore = setEnv({ DRBD_LIB_DIR: `${dir}/lib` });
  try {
    const path = `${dir}/disk.img`;
    const f = await Deno.open(path, { create: true, write: true });
    await f.truncate(size);
    f.close();
    await fn(path, dir);
  } finally {
    restore();
    await Deno.remove(dir, { recursive: true });
  }
}

async function digest(path: string): Promise<string> {
  const bytes = await Deno.readFile(path);
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))).map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
}

const MiB = 1 << 20;

Deno.test("restore-md of a dump with garbage after the bitmap writes nothing at all", async () => {
  await withImage(64 * MiB, async (img, dir) => {
    assert.equal(meta(["--force", "1", "v09", img, "internal", "create-md", "1"]).code, 0);
    const dump = meta(["--force", "1", "v09", img, "internal", "dump-md"]).out;
    const edited = dump
      .replace(/^la-size-sect 0;/m, "la-size-sect 100000;")
      .replace(/^current-uuid .*/m, "current-uuid 0x1111111111111111;")
      .replace(/^bitmap\[0\] \{\n\}/m, "bitmap[0] {\n 16 times 0xFFFFFFFFFFFFFFFF;\n}");
    await Deno.writeTextFile(`${dir}/bad.dump`, edited + "\nthis is not a dump\n");
    const before = await digest(img);
    const r = meta(["--force", "1", "v09", img, "internal", "restore-md", `${dir}/bad.dump`]);
    assert.equal(r.code, 10);
    assert.match(r.err, /line \d+: unknown token: this/);
    assert.equal(await digest(img), before, "metadata bytes changed by a refused restore");
    // the same dump without the garbage restores, bits included
    await Deno.writeTextFile(`${dir}/good.dump`, edited);
    assert.equal(
      meta(["--force", "1", "v09", img, "internal", "restore-md", `${dir}/good.dump`]).code,
      0,
    );
    const after = meta(["--force", "1", "v09", img, "internal", "dump-md"]).out;
    assert.match(after, /^current-uuid 0x1111111111111111;/m);
    assert.match(after, /# bits-set 1024;/);
  });
});

Deno.test("a regular file works without --force and the user is told once that it is not a block device", async () => {
  await withImage(64 * MiB, (img) => {
    const r = meta(["0", "v09", img, "internal", "create-md", "2"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err.match(/is a regular file, not a block device/g)?.length, 1);
    assert.match(r.out, /New drbd meta data block successfully created\./);
  });
});

Deno.test("create-md over existing metadata asks on a terminal, and 'no' leaves the bytes alone", async () => {
  await withImage(64 * MiB, async (img) => {
    assert.equal(meta(["--force", "1", "v09", img, "internal", "create-md", "1"]).code, 0);
    meta(["--force", "1", "v09", img, "internal", "set-gi", "--node-id", "0", "ABCDEF0123456789"]);
    const before = await digest(img);
    const no = meta(["1", "v09", img, "internal", "create-md", "1"], {
      terminal: true,
      input: ["no"],
    });
    assert.equal(no.code, 1);
    assert.match(
      no.err,
      /Do you really want to overwrite the existing meta-data\?\n\[need to type 'yes' to confirm\] /,
    );
    assert.match(no.out, /Operation cancelled\./);
    assert.equal(await digest(img), before);
    const piped = meta(["1", "v09", img, "internal", "create-md", "1"]);
    assert.match(piped.err, /stdin not a TTY, not waiting for confirmation/);
    assert.equal(await digest(img), before);
    const yes = meta(["1", "v09", img, "internal", "create-md", "1"], {
      terminal: true,
      input: ["yes"],
    });
    assert.equal(yes.code, 0, yes.err);
    assert.match(
      meta(["--force", "1", "v09", img, "internal", "get-gi", "--node-id", "0"]).out,
      /^0000000000000004:/,
    );
  });
});

Deno.test("metadata of a device that shrank is reported missing, not misread", async () => {
  await withImage(64 * MiB, async (img) => {
    assert.equal(meta(["--force", "1", "v08", img, "internal", "create-md"]).code, 0);
    const f = await Deno.open(img, { write: true });
    await f.truncate(60 * MiB);
    f.close();
    const before = await digest(img);
    const r = meta(["--force", "1", "v08", img, "internal", "dump-md"]);
    assert.equal(r.code, 1);
    assert.match(r.err, /No valid meta data found/);
    assert.equal(await digest(img), before);
  });
});

Deno.test("a bitmap larger than 32 MiB survives dump-md -> restore-md -> dump-md (9.22 drops its tail)", async () => {
  await withImage(2 * 1024 * 1024 * MiB, async (img, dir) => {
    assert.equal(meta(["--force", "1", "v09", img, "internal", "create-md", "1"]).code, 0);
    const dump = meta(["--force", "1", "v09", img, "internal", "dump-md"]).out
      .replace(/^la-size-sect 0;/m, "la-size-sect 99999999999;");
    await Deno.writeTextFile(`${dir}/max.dump`, dump);
    assert.equal(
      meta(["--force", "1", "v09", img, "internal", "restore-md", `${dir}/max.dump`]).code,
      0,
    );
    // set bits on both sides of the 32 MiB window boundary of the bitmap
    const bmOffset = Number(/^# bm_offset (\d+)/m.exec(dump)![1]);
    const f = await Deno.open(img, { read: true, write: true });
    for (const at of [4096, 32 * MiB - 8, 32 * MiB + 4096, 60 * MiB]) {
      await f.seek(bmOffset + at, Deno.SeekMode.Start);
      await f.write(new Uint8Array(64).fill(0xa5));
    }
    f.close();
    const first = meta(["--force", "1", "v09", img, "internal", "dump-md"]).out;
    await Deno.writeTextFile(`${dir}/bits.dump`, first);
    assert.equal(meta(["--force", "1", "v09", img, "internal", "create-md", "1"]).code, 0);
    assert.equal(
      meta(["--force", "1", "v09", img, "internal", "restore-md", `${dir}/bits.dump`]).code,
      0,
    );
    const second = meta(["--force", "1", "v09", img, "internal", "dump-md"]).out;
    assert.equal(stripDumpHeader(second), stripDumpHeader(first));
    assert.match(first, /# bits-set 1024;/);
  });
});

function haveTool(name: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "create-md --force refuses to truncate a btrfs filesystem (9.22 would overwrite it)",
  ignore: !haveTool("mkfs.btrfs"),
  async fn() {
    await withImage(256 * MiB, async (img) => {
      const mkfs = await new Deno.Command("mkfs.btrfs", {
        args: ["-q", "-f", img],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(mkfs.success);
      const before = await digest(img);
      const r = meta(["--force", "1", "v09", img, "internal", "create-md", "1"]);
      assert.equal(r.code, 40);
      assert.match(r.out, /Found btrfs filesystem\n\s+262144 kB data area apparently used/);
      assert.match(r.out, /Operation refused\./);
      assert.equal(await digest(img), before, "the filesystem was touched");
    });
  },
});
