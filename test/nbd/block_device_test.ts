import assert from "node:assert/strict";
import {
  type BlockDevice,
  BlockDeviceError,
  Errno,
  FileBlockDevice,
  nbdErrno,
  NbdServer,
} from "../../lib/nbd/mod.ts";

async function tempFile(size: number): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "udrbd-nbd-dev-" });
  await Deno.truncate(path, size);
  return path;
}

Deno.test("a file device reads back what was written, zeroes ranges and refuses slow fast-zero", async () => {
  const path = await tempFile(1 << 20);
  const dev = FileBlockDevice.open(path, { sparse: false });
  try {
    assert.equal(dev.size, 1 << 20);
    assert.deepEqual(dev.blockSize, { minimum: 1, preferred: 4096, maximum: 32 << 20 });
    await dev.pwrite(new Uint8Array(8192).fill(9), 1000, { fua: true });
    const b = new Uint8Array(8200);
    await dev.pread(b, 996);
    assert.deepEqual([...b.subarray(0, 5)], [0, 0, 0, 0, 9]);
    assert.equal(b[8195], 9);
    assert.equal(b[8196], 0);
    await dev.zero(2000, 3000, { fua: false, mayTrim: true, fast: false });
    await dev.pread(b, 996);
    assert.equal(b[1003], 9);
    assert.equal(b[1004], 0);
    assert.equal(b[4003], 0);
    assert.equal(b[4004], 9);
    assert.throws(
      () => dev.zero(0, 4096, { fua: false, mayTrim: true, fast: true }),
      (e) => nbdErrno(e) === Errno.ENOTSUP,
    );
    await dev.flush();
    assert.equal(dev.writable(), true);
  } finally {
    dev.close();
    await Deno.remove(path);
  }
});

Deno.test("a file device with asynchronous I/O keeps concurrent reads and writes apart", async () => {
  const path = await tempFile(1 << 20);
  const dev = FileBlockDevice.open(path, { asyncIo: true });
  try {
    await Promise.all(
      Array.from(
        { length: 64 },
        (_, i) => dev.pwrite(new Uint8Array(4096).fill(i), i * 8192, { fua: false }),
      ),
    );
    const bufs = Array.from({ length: 64 }, () => new Uint8Array(4096));
    await Promise.all(bufs.map((b, i) => dev.pread(b, i * 8192)));
    bufs.forEach((b, i) => assert.ok(b.every((x) => x === i), `block ${i}`));
  } finally {
    dev.close();
    await Deno.remove(path);
  }
});

Deno.test("a sparse file device reports holes and punches them for TRIM and WRITE_ZEROES", async () => {
  const path = await tempFile(1 << 20);
  const dev = FileBlockDevice.open(path);
  try {
    await dev.pwrite(new Uint8Array(65536).fill(5), 65536, { fua: false });
    const ext = await dev.blockStatus(0, 1 << 20);
    assert.equal(ext.reduce((a, e) => a + e.length, 0), 1 << 20);
    assert.deepEqual(ext[0], { length: 65536, flags: 3 });
    assert.deepEqual(ext[1], { length: 65536, flags: 0 });
    await dev.zero(65536, 65536, { fua: false, mayTrim: true, fast: true });
    const b = new Uint8Array(65536);
    await dev.pread(b, 65536);
    assert.ok(b.every((x) => x === 0));
    assert.deepEqual(await dev.blockStatus(0, 1 << 20), [{ length: 1 << 20, flags: 3 }]);
    await dev.pwrite(new Uint8Array(4096).fill(6), 0, { fua: false });
    await dev.trim(0, 4096, { fua: false });
    await dev.zero(8192, 4096, { fua: false, mayTrim: false, fast: false });
    await dev.pread(b, 8192);
    assert.ok(b.subarray(0, 4096).every((x) => x === 0));
  } finally {
    dev.close();
    await Deno.remove(path);
  }
});

Deno.test("a read-only file device says so and is not writable", async () => {
  const path = await tempFile(4096);
  const dev = FileBlockDevice.open(path, { readOnly: true });
  try {
    assert.equal(dev.readOnly, true);
    assert.equal(dev.writable(), false);
  } finally {
    dev.close();
    await Deno.remove(path);
  }
});

Deno.test("host errors map to the NBD errors clients understand", () => {
  assert.equal(nbdErrno(new BlockDeviceError(Errno.EPERM, "secondary")), Errno.EPERM);
  assert.equal(nbdErrno(new Deno.errors.PermissionDenied("x")), Errno.EPERM);
  assert.equal(nbdErrno(Object.assign(new Error("x"), { code: "EDQUOT" })), Errno.ENOSPC);
  assert.equal(nbdErrno(Object.assign(new Error("x"), { code: "EFBIG" })), Errno.ENOSPC);
  assert.equal(nbdErrno(new Error("anything else")), Errno.EIO);
  assert.equal(nbdErrno(undefined), Errno.EIO);
});

Deno.test("a server refuses block size adverts that clients would reject", () => {
  const base: BlockDevice = {
    size: 1 << 20,
    blockSize: { minimum: 512, preferred: 4096, maximum: 1 << 25 },
    readOnly: false,
    canTrim: false,
    canZero: false,
    canFastZero: false,
    canCache: false,
    canMultiConn: false,
    writable: () => true,
    pread: () => {},
    pwrite: () => {},
    flush: () => {},
    trim: () => {},
    zero: () => {},
  };
  const bad = (blockSize: BlockDevice["blockSize"], size = 1 << 20) =>
    assert.throws(
      () => NbdServer.listen({ device: { ...base, blockSize, size }, path: "/nonexistent/x" }),
      RangeError,
    );
  bad({ minimum: 3, preferred: 4096, maximum: 1 << 25 });
  bad({ minimum: 512, preferred: 256, maximum: 1 << 25 });
  bad({ minimum: 512, preferred: 4096, maximum: 2048 });
  bad({ minimum: 512, preferred: 4096, maximum: 1 << 25 }, (1 << 20) + 1);
  assert.throws(() => NbdServer.listen({ device: base }), TypeError);
});
