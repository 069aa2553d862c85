/**
 * A resource brought up by the real CLI (`drbdadm create-md`, `up`, `primary --force`) on a
 * file-backed disk, used through its NBD export by the real clients: nbdinfo, qemu-io,
 * qemu-img, nbdcopy and nbdsh.
 */
import assert from "node:assert/strict";
import { CLIENTS, nbdErrors, nbdsh, run, sha256File, TestNode } from "./helpers.ts";

/** The agreed size in sectors, as the real drbdmeta reads it from the metadata. */
async function agreedSectors(node: TestNode): Promise<number> {
  const r = await node.realDrbdmeta("dump-md");
  assert.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(/^la-size-sect (\d+);/m);
  assert.ok(m, r.stdout);
  return Number(m[1]);
}

Deno.test({
  name: "nbdinfo shows a Primary's export with its agreed size, block sizes and write flags",
  ignore: !CLIENTS.nbdinfo || !CLIENTS.drbdmeta,
  async fn() {
    const node = await TestNode.create({ size: 64 << 20 });
    try {
      await node.upPrimary();
      const r = await run("nbdinfo", ["--json", node.uri]);
      assert.equal(r.code, 0, r.stderr);
      const e = JSON.parse(r.stdout).exports[0];
      const sectors = await agreedSectors(node);
      // internal metadata takes the end of the 64 MiB file
      assert.ok(sectors > 0 && sectors * 512 < 64 << 20, String(sectors));
      assert.equal(e["export-size"], sectors * 512);
      assert.equal(e["export-name"], `drbd${node.minor}`);
      assert.equal(e.block_size_minimum, 512);
      assert.equal(e.block_size_preferred, 4096);
      assert.equal(e.block_size_maximum, 1 << 20);
      for (const can of ["flush", "fua", "trim", "zero", "multi_conn"]) {
        assert.equal(e[`can_${can}`], true, `can_${can}`);
      }
      assert.equal(e.is_read_only, false);
      // the empty export name reaches the same volume
      const plain = await run("nbdinfo", ["--size", `nbd+unix:///?socket=${node.socket}`]);
      assert.equal(plain.stdout.trim(), String(sectors * 512), plain.stderr);
    } finally {
      await node.close();
    }
  },
});

Deno.test({
  name: "qemu-io pattern writes read back, and qemu-img compare tells a copy from a changed export",
  ignore: !CLIENTS.qemu,
  async fn() {
    const node = await TestNode.create({ size: 32 << 20 });
    try {
      await node.upPrimary();
      let r = await run("qemu-io", [
        "-f",
        "raw",
        ...["-c", "write -P 0xab 0 1M", "-c", "read -P 0xab 0 1M"],
        ...["-c", "write -P 0x11 1M 2M", "-c", "write -z 2M 512k", "-c", "read -P 0 2M 512k"],
        ...["-c", "read -P 0x11 1M 1M", "-c", "read -P 0x11 2560k 512k"],
        ...["-c", "aio_write -P 0x44 8M 64k", "-c", "aio_write -P 0x55 9M 64k", "-c", "aio_flush"],
        ...["-c", "read -P 0x44 8M 64k", "-c", "read -P 0x55 9M 64k", "-c", "flush"],
        node.uri,
      ]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.doesNotMatch(r.stdout + r.stderr, /Pattern verification failed|error/i);
      // a wrong pattern is noticed (the read above could not pass by accident)
      r = await run("qemu-io", ["-f", "raw", "-c", "read -P 0x12 1M 4k", node.uri]);
      assert.match(r.stdout + r.stderr, /Pattern verification failed/);

      const copy = `${node.dir}/copy.img`;
      r = await run("qemu-img", ["convert", "-f", "raw", "-O", "raw", node.uri, copy]);
      assert.equal(r.code, 0, r.stderr);
      r = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", copy, node.uri]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /Images are identical/);
      r = await run("qemu-io", ["-f", "raw", "-c", "write -P 0x5a 4608 512", node.uri]);
      assert.equal(r.code, 0, r.stderr);
      r = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", copy, node.uri]);
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stdout, /Content mismatch at offset 4608/);
    } finally {
      await node.close();
    }
  },
});

/** Writes `size` bytes of random data to `path`. */
async function randomFile(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const chunk = new Uint8Array(4 << 20);
    for (let off = 0; off < size; off += chunk.length) {
      const n = Math.min(chunk.length, size - off);
      for (let i = 0; i < n; i += 65536) {
        crypto.getRandomValues(chunk.subarray(i, Math.min(i + 65536, n)));
      }
      await f.write(chunk.subarray(0, n));
    }
  } finally {
    f.close();
  }
}

Deno.test({
  name: "nbdcopy carries 1 GiB of random data onto the export and back unchanged",
  ignore: !CLIENTS.nbdcopy || !CLIENTS.nbdinfo,
  async fn() {
    // a sparse disk a little over 1 GiB: the export (the disk less its metadata) holds 1 GiB
    const node = await TestNode.create({ size: (1 << 30) + (4 << 20) });
    try {
      await node.upPrimary();
      const size = Number((await run("nbdinfo", ["--size", node.uri])).stdout.trim());
      assert.ok(size >= 1 << 30, String(size));
      const src = `${node.dir}/src.bin`, back = `${node.dir}/back.bin`;
      await randomFile(src, size);
      // checksums run beside the copies: two cores are all there is
      const [copied, want] = await Promise.all([
        run("nbdcopy", ["--flush", src, node.uri]),
        sha256File(src),
      ]);
      assert.equal(copied.code, 0, copied.stderr);
      const r = await run("nbdcopy", [node.uri, back]);
      assert.equal(r.code, 0, r.stderr);
      const [gotBack, onDisk] = await Promise.all([
        sha256File(back),
        // the bytes landed in the backing file's data area, in place
        run("sh", ["-c", `head -c ${size} "$0" | sha256sum`, node.disk]),
      ]);
      assert.equal(gotBack, want);
      assert.equal(onDisk.stdout.split(" ")[0], want);
    } finally {
      await node.close();
    }
  },
});

Deno.test({
  name:
    "out-of-range, unaligned and oversized requests get the NBD spec's errors and the daemon keeps serving",
  ignore: !CLIENTS.nbdsh || !CLIENTS.nbdinfo,
  async fn() {
    const node = await TestNode.create({ size: 16 << 20 });
    try {
      await node.upPrimary();
      const got = await nbdErrors(node.uri, {
        "read past end": "h.pread(1024, size - 512)",
        "read at 2^62": "h.pread(512, 1 << 62)",
        "write past end": "h.pwrite(b'x' * 1024, size - 512)",
        "zero past end": "h.zero(1024, size - 512)",
        "trim past end": "h.trim(1024, size - 512)",
        "read last sector": "h.pread(512, size - 512)",
        "read 3 at 1": "h.pread(3, 1)",
        "read 1000 at 0": "h.pread(1000, 0)",
        "write 512 at 1": "h.pwrite(b'a' * 512, 1)",
        "zero 100 at 0": "h.zero(100, 0)",
        "trim 512 at 256": "h.trim(512, 256)",
        "read 2 MiB": "h.pread(2 << 20, 0)",
        "write 2 MiB": "h.pwrite(b'y' * (2 << 20), 0)",
        "block status of 0 bytes": "h.block_status(0, 0, lambda *a: 0)",
        "write with NO_HOLE": "h.pwrite(b'z' * 512, 0, nbd.CMD_FLAG_NO_HOLE)",
      });
      assert.deepEqual(got, {
        "read past end": "EINVAL",
        "read at 2^62": "EINVAL",
        "write past end": "ENOSPC",
        "zero past end": "ENOSPC",
        "trim past end": "EINVAL",
        "read last sector": "ok",
        "read 3 at 1": "EINVAL",
        "read 1000 at 0": "EINVAL",
        "write 512 at 1": "EINVAL",
        "zero 100 at 0": "EINVAL",
        "trim 512 at 256": "EINVAL",
        "read 2 MiB": "EINVAL",
        "write 2 MiB": "EINVAL",
        "block status of 0 bytes": "EINVAL",
        "write with NO_HOLE": "EINVAL",
        alive: "ok",
      });

      // zero-length requests are "unspecified" in the spec: either answer is fine, a dropped
      // connection is not
      const zero = await nbdErrors(node.uri, {
        "read 0": "h.pread(0, 0)",
        "write 0": "h.pwrite(b'', 0)",
        "trim 0": "h.trim(0, 0)",
        "zero 0": "h.zero(0, 4096)",
      });
      assert.equal(zero.alive, "ok");
      for (const k of ["read 0", "write 0", "trim 0", "zero 0"]) {
        assert.ok(zero[k] === "ok" || zero[k] === "EINVAL", `${k}: ${zero[k]}`);
      }

      // other connections are still served after all that
      const info = await run("nbdinfo", ["--size", node.uri]);
      assert.equal(info.code, 0, info.stderr);
      const status = await node.adm("status", node.resource);
      assert.match(status.stdout, /role:Primary\n\s+disk:UpToDate/);
    } finally {
      await node.close();
    }
  },
});

Deno.test({
  name:
    "a TRIMmed range reads back (zeros or old data, never an error) and its neighbours keep their data",
  ignore: !CLIENTS.nbdsh,
  async fn() {
    const node = await TestNode.create({ size: 16 << 20 });
    try {
      await node.upPrimary();
      const out = await nbdsh(
        node.uri,
        `
h.pwrite(b'\\xaa' * (1 << 20), 0)
h.trim(256 * 1024, 128 * 1024)
h.flush()
d = h.pread(1 << 20, 0)
blocks = [d[i:i + 4096] for i in range(128 * 1024, 384 * 1024, 4096)]
print(len(d), d[:128 * 1024] == b'\\xaa' * (128 * 1024), d[384 * 1024:] == b'\\xaa' * (640 * 1024),
      all(b == bytes(4096) or b == b'\\xaa' * 4096 for b in blocks))
h.trim(4096, 0, nbd.CMD_FLAG_FUA)
print(len(h.pread(4096, 0)))
`,
      );
      assert.deepEqual(out.trim().split("\n"), ["1048576 True True True", "4096"]);
    } finally {
      await node.close();
    }
  },
});

Deno.test({
  name: "two clients writing different regions at once both find their data",
  ignore: !CLIENTS.qemu,
  async fn() {
    const node = await TestNode.create({ size: 32 << 20 });
    try {
      await node.upPrimary();
      const writer = (pattern: string, at: number) => {
        const cmds: string[] = [];
        // many small writes, so that the two clients' requests interleave
        for (let i = 0; i < 32; i++) {
          cmds.push("-c", `aio_write -P ${pattern} ${at + i * 65536} 64k`);
        }
        return run("qemu-io", ["-f", "raw", ...cmds, "-c", "aio_flush", node.uri]);
      };
      const [a, b] = await Promise.all([writer("0x61", 1 << 20), writer("0x62", 8 << 20)]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const r = await run("qemu-io", [
        "-f",
        "raw",
        ...["-c", "read -P 0x61 1M 2M", "-c", "read -P 0x62 8M 2M", "-c", "read -P 0 3M 5M"],
        node.uri,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /Pattern verification failed|error/i);
      // and on the backing disk, where the regions start
      const f = await Deno.open(node.disk);
      try {
        const buf = new Uint8Array(1);
        await f.seek((1 << 20) + (2 << 20) - 1, Deno.SeekMode.Start);
        await f.read(buf);
        assert.equal(buf[0], 0x61);
        await f.seek(8 << 20, Deno.SeekMode.Start);
        await f.read(buf);
        assert.equal(buf[0], 0x62);
      } finally {
        f.close();
      }
    } finally {
      await node.close();
    }
  },
});
