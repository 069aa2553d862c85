import assert from "node:assert/strict";
import { have, nbdsh, run, sha256File, startExport } from "./helpers.ts";

Deno.test({
  name: "nbdinfo shows the export's size, flags, block sizes and name",
  ignore: !have("nbdinfo"),
  async fn() {
    const ex = await startExport({
      size: 16 << 20,
      name: "drbd0",
      server: { description: "udrbd test volume" },
    });
    try {
      const r = await run("nbdinfo", ["--json", ex.uri]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.protocol, "newstyle-fixed");
      assert.equal(j.structured, true);
      const e = j.exports[0];
      assert.equal(e["export-size"], 16 << 20);
      assert.equal(e["export-name"], "drbd0");
      assert.equal(e.description, "udrbd test volume");
      for (
        const can of ["flush", "fua", "trim", "zero", "fast_zero", "multi_conn", "df", "cache"]
      ) {
        assert.equal(e[`can_${can}`], true, `can_${can}`);
      }
      assert.equal(e.is_read_only, false);
      assert.equal(e.block_size_minimum, 1);
      assert.equal(e.block_size_preferred, 4096);
      assert.equal(e.block_size_maximum, 32 << 20);
      assert.deepEqual(e.contexts, ["base:allocation"]);

      const named = await run("nbdinfo", ["--size", `nbd+unix:///drbd0?socket=${ex.socket}`]);
      assert.equal(named.stdout.trim(), String(16 << 20));
      const unknown = await run("nbdinfo", ["--size", `nbd+unix:///nope?socket=${ex.socket}`]);
      assert.notEqual(unknown.code, 0);

      const list = await run("nbdinfo", ["--list", ex.uri]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /export="drbd0"/);

      const map = await run("nbdinfo", ["--map", ex.uri]);
      assert.equal(map.code, 0, map.stderr);
      assert.match(map.stdout, /^\s*0\s+16777216\s+3\s+hole,zero/m);
    } finally {
      await ex.close();
    }
  },
});

for (const asyncIo of [false, true]) {
  Deno.test({
    name: `qemu-io pattern writes, zeroes and discards read back as written${
      asyncIo ? " (async device I/O)" : ""
    }`,
    ignore: !have("qemu-io"),
    async fn() {
      const ex = await startExport({ size: 8 << 20, asyncIo });
      try {
        const r = await run("qemu-io", [
          "-f",
          "raw",
          ex.uri,
          ...["-c", "write -P 0xab 0 1M", "-c", "read -P 0xab 0 1M"],
          ...["-c", "write -P 0x11 1M 2M", "-c", "write -z 1M 1M", "-c", "read -P 0 1M 1M"],
          ...["-c", "write -z -u 2M 1M", "-c", "read -P 0 2M 1M"],
          ...["-c", "discard 3M 1M", "-c", "flush"],
          ...["-c", "write -P 0x33 513 1000", "-c", "read -P 0x33 513 1000"],
          ...["-c", "read -P 0xab 0 513", "-c", "read -P 0xab 1513 10000"],
          ...[
            "-c",
            "aio_write -P 0x44 4M 64k",
            "-c",
            "aio_write -P 0x55 5M 64k",
            "-c",
            "aio_flush",
          ],
          ...["-c", "read -P 0x44 4M 64k", "-c", "read -P 0x55 5M 64k"],
        ]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.doesNotMatch(r.stdout + r.stderr, /Pattern verification failed|error/i);
        const f = await Deno.readFile(ex.file);
        assert.equal(f[0], 0xab);
        assert.equal(f[513], 0x33);
        assert.equal(f[(1 << 20) + 5], 0);
        assert.equal(f[4 << 20], 0x44);
      } finally {
        await ex.close();
      }
    },
  });
}

Deno.test({
  name: "nbdcopy round trip keeps every byte, and qemu-img compare agrees",
  ignore: !have("nbdcopy") || !have("qemu-img"),
  async fn() {
    const size = Number(Deno.env.get("UDRBD_NBD_COPY_SIZE") ?? 256 << 20);
    const ex = await startExport({ size });
    const src = `${ex.dir}/src.bin`, back = `${ex.dir}/back.bin`;
    try {
      // Random data with a zero hole in the middle (exercises WRITE_ZEROES / holes).
      const f = await Deno.open(src, { write: true, create: true });
      const chunk = new Uint8Array(1 << 20);
      for (let off = 0; off < size; off += chunk.length) {
        if (off === 2 << 20) chunk.fill(0);
        else {for (let i = 0; i < chunk.length; i += 65536) {
            crypto.getRandomValues(chunk.subarray(i, i + 65536));
          }}
        await f.write(chunk);
      }
      f.close();
      let r = await run("nbdcopy", ["--flush", src, ex.uri]);
      assert.equal(r.code, 0, r.stderr);
      r = await run("nbdcopy", [ex.uri, back]);
      assert.equal(r.code, 0, r.stderr);
      const want = await sha256File(src);
      assert.equal(await sha256File(back), want);
      assert.equal(await sha256File(ex.file), want);
      r = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", src, ex.uri]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /Images are identical/);
      // One differing byte must be noticed.
      r = await run("qemu-io", ["-f", "raw", ex.uri, "-c", "write -P 0x5a 12345 1"]);
      assert.equal(r.code, 0, r.stderr);
      r = await run("qemu-img", ["compare", "-f", "raw", "-F", "raw", src, ex.uri]);
      assert.equal(r.code, 1, r.stdout);
    } finally {
      await ex.close();
    }
  },
});

Deno.test({
  name: "qemu-img convert writes an image onto the export and info reads its size",
  ignore: !have("qemu-img"),
  async fn() {
    const ex = await startExport({ size: 4 << 20 });
    try {
      const src = `${ex.dir}/src.bin`;
      const data = new Uint8Array(4 << 20);
      crypto.getRandomValues(data.subarray(0, 65536));
      data.fill(7, 1 << 20, 2 << 20);
      await Deno.writeFile(src, data);
      let r = await run("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", src, ex.uri]);
      assert.equal(r.code, 0, r.stderr);
      r = await run("qemu-img", ["info", "--output=json", ex.uri]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout)["virtual-size"], 4 << 20);
      assert.deepEqual(await Deno.readFile(ex.file), data);
      r = await run("qemu-img", ["map", "--output=json", "-f", "raw", ex.uri]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).at(-1).start + JSON.parse(r.stdout).at(-1).length, 4 << 20);
    } finally {
      await ex.close();
    }
  },
});

Deno.test({
  name: "two clients at once see each other's writes",
  ignore: !have("nbdsh"),
  async fn() {
    const ex = await startExport({ size: 8 << 20 });
    try {
      const writer = (byte: number, at: number) =>
        nbdsh(
          ex.uri,
          `for i in range(64):\n  h.pwrite(bytes([${byte}]) * 4096, ${at} + i * 4096)\nh.flush()`,
        );
      await Promise.all([writer(0x61, 0), writer(0x62, 1 << 20)]);
      const out = await nbdsh(
        ex.uri,
        "a = h.pread(262144, 0); b = h.pread(262144, 1 << 20)\n" +
          "print(a == b'a' * 262144, b == b'b' * 262144)",
      );
      assert.equal(out.trim(), "True True");
    } finally {
      await ex.close();
    }
  },
});
