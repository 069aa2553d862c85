import assert from "node:assert/strict";
import { type BlockDevice, type FileBlockDevice, type NbdClientInfo } from "../../lib/nbd/mod.ts";
import { have, nbdErrors, nbdsh, run, startExport } from "./helpers.ts";

const NBDSH = !have("nbdsh") || !have("nbdinfo");

Deno.test({
  name:
    "out-of-range, oversized, zero-length and bad-flag requests get the spec's errors and the connection survives",
  ignore: NBDSH,
  async fn() {
    const ex = await startExport({ size: 8 << 20 });
    try {
      const got = await nbdErrors(ex.uri, {
        "read past end": "h.pread(1024, size - 512)",
        "read at huge offset": "h.pread(512, 1 << 62)",
        "write past end": "h.pwrite(b'x' * 1024, size - 512)",
        "zero past end": "h.zero(1024, size - 512)",
        "trim past end": "h.trim(1024, size - 512)",
        "cache past end": "h.cache(1024, size - 512)",
        "block status past end": "h.block_status(1024, size - 512, lambda *a: 0)",
        "read 0 bytes": "h.pread(0, 0)",
        "write 0 bytes": "h.pwrite(b'', 0)",
        "read unaligned 3 at 1": "h.pread(3, 1)",
        "write unaligned 3 at 1": "h.pwrite(b'abc', 1)",
        "read 40 MiB": "h.pread(40 << 20, 0)",
        "write 40 MiB": "h.pwrite(b'y' * (40 << 20), 0)",
        "read with NO_HOLE flag": "h.pread(512, 0, nbd.CMD_FLAG_NO_HOLE)",
        "write with NO_HOLE flag": "h.pwrite(b'z' * 512, 0, nbd.CMD_FLAG_NO_HOLE)",
        "read with FUA": "h.pread(512, 0, nbd.CMD_FLAG_FUA)",
        "flush with FUA": "h.flush(nbd.CMD_FLAG_FUA)",
        "fast zero": "h.zero(4096, 0, nbd.CMD_FLAG_FAST_ZERO)",
        "zero with NO_HOLE": "h.zero(4096, 0, nbd.CMD_FLAG_NO_HOLE)",
        "block status REQ_ONE": "h.block_status(65536, 0, lambda *a: 0, nbd.CMD_FLAG_REQ_ONE)",
      });
      assert.deepEqual(got, {
        "read past end": "EINVAL",
        "read at huge offset": "EINVAL",
        "write past end": "ENOSPC",
        "zero past end": "ENOSPC",
        "trim past end": "EINVAL",
        "cache past end": "EINVAL",
        "block status past end": "EINVAL",
        "read 0 bytes": "ok",
        "write 0 bytes": "ok",
        "read unaligned 3 at 1": "ok",
        "write unaligned 3 at 1": "ok",
        "read 40 MiB": "EINVAL",
        "write 40 MiB": "EINVAL",
        "read with NO_HOLE flag": "EINVAL",
        "write with NO_HOLE flag": "EINVAL",
        "read with FUA": "ok",
        "flush with FUA": "ok",
        "fast zero": "ok",
        "zero with NO_HOLE": "ok",
        "block status REQ_ONE": "ok",
        alive: "ok",
      });
    } finally {
      await ex.close();
    }
  },
});

Deno.test({
  name: "misaligned requests are refused with EINVAL when the device needs 512-byte blocks",
  ignore: NBDSH,
  async fn() {
    const ex = await startExport({ size: 1 << 20, blockSize: { minimum: 512 } });
    try {
      const got = await nbdErrors(ex.uri, {
        "read 3 at 1": "h.pread(3, 1)",
        "write 512 at 1": "h.pwrite(b'a' * 512, 1)",
        "zero 100 at 0": "h.zero(100, 0)",
        "read 1024 at 512": "h.pread(1024, 512)",
      });
      assert.deepEqual(got, {
        "read 3 at 1": "EINVAL",
        "write 512 at 1": "EINVAL",
        "zero 100 at 0": "EINVAL",
        "read 1024 at 512": "ok",
        alive: "ok",
      });
    } finally {
      await ex.close();
    }
  },
});

Deno.test({
  name: "WRITE_ZEROES reads back as zeros and TRIM leaves a readable block",
  ignore: NBDSH,
  async fn() {
    const ex = await startExport({ size: 4 << 20 });
    try {
      const out = await nbdsh(
        ex.uri,
        `
h.pwrite(b'\\xaa' * 262144, 0)
h.zero(65536, 4096)
h.zero(4096, 131072, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
d = h.pread(262144, 0)
print(d[:4096] == b'\\xaa' * 4096, d[4096:69632] == bytes(65536), d[69632:131072] == b'\\xaa' * 61440,
      d[131072:135168] == bytes(4096), d[135168:] == b'\\xaa' * 126976)
h.trim(65536, 0, nbd.CMD_FLAG_FUA)
print(len(h.pread(65536, 0)))
exts = []
h.block_status(1 << 20, 0, lambda ctx, off, e, err: exts.append((ctx, list(e))))
ctx, e = exts[0]
pairs = list(zip(e[0::2], e[1::2]))
pos = 0
ok = True
for (length, flags) in pairs:
    if flags & 2 and h.pread(length, pos) != bytes(length): ok = False
    pos += length
print(ctx, pos >= 1 << 20, ok)
`,
      );
      assert.deepEqual(out.trim().split("\n"), [
        "True True True True True",
        "65536",
        "base:allocation True True",
      ]);
    } finally {
      await ex.close();
    }
  },
});

Deno.test({
  name: "a read-only export refuses writes, trims and zeroes with EPERM but serves reads",
  ignore: NBDSH,
  async fn() {
    const ex = await startExport({ size: 1 << 20, readOnly: true });
    try {
      const info = await run("nbdinfo", ["--json", ex.uri]);
      assert.equal(JSON.parse(info.stdout).exports[0].is_read_only, true);
      const got = await nbdErrors(ex.uri, {
        write: "h.pwrite(b'a' * 512, 0)",
        trim: "h.trim(512, 0)",
        zero: "h.zero(512, 0)",
        flush: "h.flush()",
      });
      assert.deepEqual(got, {
        write: "EPERM",
        trim: "EPERM",
        zero: "EPERM",
        flush: "ok",
        alive: "ok",
      });
    } finally {
      await ex.close();
    }
  },
});

/** A device that refuses writes until told otherwise (as a DRBD Secondary does). */
function switchable(dev: FileBlockDevice, events: string[]) {
  let writable = false;
  const wrapped: BlockDevice = Object.create(dev, {
    writable: { value: () => writable },
    connect: {
      value: (c: NbdClientInfo) => void events.push(`connect ${c.transport} ${c.exportName}`),
    },
    disconnect: { value: (c: NbdClientInfo) => void events.push(`disconnect ${c.id}`) },
  });
  // Methods with private fields must run on the real device.
  for (const m of ["pread", "pwrite", "flush", "trim", "zero", "cache"] as const) {
    Object.defineProperty(wrapped, m, {
      value: (dev[m] as (...a: unknown[]) => unknown).bind(dev),
    });
  }
  return { wrapped, setWritable: (w: boolean) => writable = w };
}

Deno.test({
  name:
    "a device that is not writable right now answers EPERM without advertising read-only, and the hooks see clients come and go",
  ignore: NBDSH,
  async fn() {
    const events: string[] = [];
    let setWritable: (w: boolean) => void = () => {};
    const ex = await startExport({
      size: 1 << 20,
      name: "drbd7",
      wrap: (dev) => {
        const s = switchable(dev, events);
        setWritable = s.setWritable;
        return s.wrapped;
      },
    });
    try {
      const info = await run("nbdinfo", ["--json", ex.uri]);
      assert.equal(JSON.parse(info.stdout).exports[0].is_read_only, false);
      let got = await nbdErrors(ex.uri, {
        write: "h.pwrite(b'a' * 512, 0)",
        zero: "h.zero(512, 0)",
      });
      assert.deepEqual(got, { write: "EPERM", zero: "EPERM", alive: "ok" });
      setWritable(true);
      got = await nbdErrors(`nbd+unix:///drbd7?socket=${ex.socket}`, {
        write: "h.pwrite(b'a' * 512, 0)",
      });
      assert.deepEqual(got, { write: "ok", alive: "ok" });
      assert.ok(events.includes("connect unix "));
      assert.ok(events.includes("connect unix drbd7"));
      assert.equal(events.filter((e) => e.startsWith("connect")).length, 3);
      assert.equal(events.filter((e) => e.startsWith("disconnect")).length, 3);
    } finally {
      await ex.close();
    }
  },
});

Deno.test({
  name: "old-style clients work: EXPORT_NAME negotiation, simple replies, 64 requests in flight",
  ignore: NBDSH,
  async fn() {
    const ex = await startExport({ size: 64 << 20 });
    try {
      const script = (setup: string) =>
        run("nbdsh", [
          "-c",
          `${setup}
h.connect_uri("${ex.uri}")
bufs = [nbd.Buffer(4096) for i in range(64)]
for i in range(64):
    h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray([i]) * 4096), i << 20)
while h.aio_in_flight() > 0: h.poll(-1)
cs = [h.aio_pread(bufs[i], i << 20) for i in range(64)]
while h.aio_in_flight() > 0: h.poll(-1)
print(all(bufs[i].to_bytearray() == bytearray([i]) * 4096 for i in range(64)),
      h.get_structured_replies_negotiated(), h.get_protocol())
h.pwrite(b"k" * 4096, 0, nbd.CMD_FLAG_FUA); h.flush()`,
        ]);
      let r = await script(
        "h.set_request_structured_replies(False); h.set_request_block_size(False)",
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "True False newstyle-fixed");
      r = await script("h.set_handshake_flags(0)");
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), "True False newstyle");
      r = await run("nbdsh", [
        "--opt-mode",
        "-u",
        ex.uri,
        "-c",
        "h.opt_list(lambda n, d: print(repr(n))); h.opt_info(); print(h.get_size()); h.opt_go(); print(bytes(h.pread(1, 0)))",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `''\n${64 << 20}\nb'k'`);
    } finally {
      await ex.close();
    }
  },
});
