/**
 * DRBD's role rules as a user of the NBD export meets them: a Secondary refuses writes unless
 * auto-promote can promote it, a writing client promotes and its leaving demotes, and a device
 * held open by a client cannot be demoted or taken down.
 */
import assert from "node:assert/strict";
import { CLIENTS, holdClient, run, TestNode, until } from "./helpers.ts";

Deno.test({
  name: "a Secondary without auto-promote refuses qemu-io writes with EPERM but serves reads",
  ignore: !CLIENTS.qemu,
  async fn() {
    const node = await TestNode.create({ extra: "options { auto-promote no; }" });
    try {
      await node.upPrimary();
      let r = await run("qemu-io", ["-f", "raw", "-c", "write -P 0x3c 0 1M", node.uri]);
      assert.equal(r.code, 0, r.stderr);
      await node.ok("secondary", node.resource);
      assert.equal(await node.role(), "Secondary");

      r = await run("qemu-io", ["-f", "raw", "-c", "write -P 0x77 0 64k", node.uri]);
      assert.match(r.stdout + r.stderr, /write failed: Operation not permitted/);
      r = await run("qemu-io", [
        "-f",
        "raw",
        "-c",
        "write -z 64k 64k",
        "-c",
        "discard 0 4k",
        node.uri,
      ]);
      assert.match(r.stdout + r.stderr, /write failed: Operation not permitted/);
      assert.match(r.stdout + r.stderr, /discard failed: Operation not permitted/);
      // nothing changed, and reads still work on the Secondary
      r = await run("qemu-io", ["-f", "raw", "-c", "read -P 0x3c 0 1M", node.uri]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /failed/i);
      assert.equal(await node.role(), "Secondary");
    } finally {
      await node.close();
    }
  },
});

Deno.test({
  name: "with auto-promote a writing client makes the resource Primary until it disconnects",
  ignore: !CLIENTS.nbdsh,
  async fn() {
    const node = await TestNode.create();
    try {
      await node.upPrimary();
      await node.ok("secondary", node.resource);

      // a client that only reads does not promote
      const reader = await holdClient(node.uri, "h.pread(4096, 0)");
      try {
        assert.equal(await node.role(), "Secondary");
      } finally {
        assert.equal((await reader.release()).code, 0);
      }

      const writer = await holdClient(node.uri, "h.pwrite(b'\\x42' * 4096, 8192)");
      let released = false;
      try {
        assert.equal(await node.role(), "Primary");
        const status = await node.adm("status", node.resource);
        assert.match(status.stdout, /^r5 role:Primary$/m);
        const r = await writer.release();
        released = true;
        assert.equal(r.code, 0, r.stderr);
      } finally {
        if (!released) await writer.release();
      }
      // the last client leaving demotes what it promoted
      await until(async () => await node.role() === "Secondary", "auto-demotion");

      // the write stuck, and a plain read sees it
      const r = await run("qemu-io", ["-f", "raw", "-c", "read -P 0x42 8k 4k", node.uri]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /failed/i);
    } finally {
      await node.close();
    }
  },
});

Deno.test({
  name:
    "drbdadm secondary and down fail with 'Device is held open by someone' while a client is connected",
  ignore: !CLIENTS.nbdsh,
  async fn() {
    const node = await TestNode.create();
    try {
      await node.upPrimary();
      const client = await holdClient(node.uri, "h.pwrite(b'\\x01' * 4096, 0)");
      let released = false;
      try {
        for (const cmd of ["secondary", "down"]) {
          const r = await node.adm(cmd, node.resource);
          assert.equal(r.code, 11, `${cmd}: ${r.stderr}`);
          assert.equal(
            r.stderr,
            "r5: State change failed: (-12) Device is held open by someone\n" +
              `Command 'drbdsetup ${cmd} r5' terminated with exit code 11\n`,
          );
        }
        // drbdsetup itself says the same and exits 11
        const s = await node.setup("secondary", node.resource);
        assert.equal(s.code, 11);
        assert.equal(s.stderr, "r5: State change failed: (-12) Device is held open by someone\n");
        assert.equal(await node.role(), "Primary");
        const r = await client.release();
        released = true;
        assert.equal(r.code, 0, r.stderr);
      } finally {
        if (!released) await client.release();
      }
      await until(async () => (await node.adm("secondary", node.resource)).code === 0, "secondary");
      assert.equal(await node.role(), "Secondary");
      await node.ok("down", node.resource);
      const gone = await node.setup("status", node.resource);
      assert.equal(gone.code, 10);
    } finally {
      await node.close();
    }
  },
});
