import assert from "node:assert/strict";
import {
  attach,
  drbdLinks,
  findFreeNbd,
  type KernelLogger,
  makeLinks,
  nbdClientArgv,
  nbdDisconnectArgv,
  nbdDriverPresent,
  relativeTarget,
  removeLinks,
} from "../../lib/nbd/mod.ts";
import { have, run, startExport } from "./helpers.ts";

/** A logger that keeps what it was told. */
function recorder(): KernelLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info: ${m}`), warn: (m) => lines.push(`warn: ${m}`) };
}

/** A temporary folder tree; `fn` gets its path, and it is removed afterwards. */
async function inTemp(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-kernel-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A fake sysfs `block/nbdN` entry: size in 512-byte sectors, and `pid` when connected. */
function fakeNbd(sys: string, n: number, size: number, connected = false): void {
  Deno.mkdirSync(`${sys}/block/nbd${n}`, { recursive: true });
  Deno.writeTextFileSync(`${sys}/block/nbd${n}/size`, `${size}\n`);
  if (connected) Deno.writeTextFileSync(`${sys}/block/nbd${n}/pid`, "1234\n");
}

Deno.test("nbd-client is asked for the volume's export, 512-byte blocks, no timeout", () => {
  assert.deepEqual(
    nbdClientArgv({
      socketPath: "/run/udrbd/nbd/drbd3.sock",
      device: "/dev/nbd7",
      exportName: "drbd3",
    }),
    ["-unix", "/run/udrbd/nbd/drbd3.sock", "/dev/nbd7", "-N", "drbd3", "-b", "512"],
  );
  assert.deepEqual(
    nbdClientArgv({
      socketPath: "/s",
      device: "/dev/nbd0",
      exportName: "x",
      readOnly: true,
      blockSize: 4096,
      timeoutSeconds: 60,
    }),
    ["-unix", "/s", "/dev/nbd0", "-N", "x", "-b", "4096", "-t", "60", "-readonly"],
  );
  assert.deepEqual(nbdDisconnectArgv("/dev/nbd7"), ["-d", "/dev/nbd7"]);
});

Deno.test("a block size or timeout the kernel would refuse is an error before nbd-client runs", () => {
  const base = { socketPath: "/s", device: "/dev/nbd0", exportName: "x" };
  assert.throws(() => nbdClientArgv({ ...base, blockSize: 8192 }), RangeError);
  assert.throws(() => nbdClientArgv({ ...base, blockSize: 1000 }), RangeError);
  assert.throws(() => nbdClientArgv({ ...base, timeoutSeconds: 0 }), RangeError);
  assert.throws(() => nbdClientArgv({ ...base, timeoutSeconds: 1.5 }), RangeError);
});

Deno.test("the /dev/drbd links are the ones drbd-utils' udev rules make", () => {
  assert.deepEqual(drbdLinks({ minor: 0, resource: "r0", volume: 0 }), [
    "/dev/drbd0",
    "/dev/drbd/by-res/r0/0",
  ]);
  assert.deepEqual(
    drbdLinks({ minor: 12, resource: "web", volume: 1, disk: "/dev/vg0/web1", devRoot: "/t/" }),
    ["/t/drbd12", "/t/drbd/by-res/web/1", "/t/drbd/by-disk/vg0/web1"],
  );
  // drbdadm sh-udev: an implicit volume's by-res link has no volume number.
  assert.deepEqual(drbdLinks({ minor: 1, resource: "r1", volume: 0, implicitVolume: true }), [
    "/dev/drbd1",
    "/dev/drbd/by-res/r1",
  ]);
  // A named device gets its own name as well; a diskless volume no by-disk link.
  assert.deepEqual(
    drbdLinks({ minor: 2, resource: "r2", volume: 0, device: "/dev/drbd_r2", disk: "none" }),
    ["/dev/drbd2", "/dev/drbd_r2", "/dev/drbd/by-res/r2/0"],
  );
  // A backing file outside /dev is still named by its path.
  assert.deepEqual(drbdLinks({ minor: 3, resource: "r3", volume: 0, disk: "/srv/r3.img" }), [
    "/dev/drbd3",
    "/dev/drbd/by-res/r3/0",
    "/dev/drbd/by-disk/srv/r3.img",
  ]);
});

Deno.test("no link is made outside /dev for names with .. in them", () => {
  assert.deepEqual(
    drbdLinks({ minor: 4, resource: "..", volume: 0, disk: "/dev/../etc/passwd" }),
    ["/dev/drbd4"],
  );
});

Deno.test("links are relative, as udev writes them", () => {
  assert.equal(relativeTarget("/dev/drbd0", "/dev/nbd3"), "nbd3");
  assert.equal(relativeTarget("/dev/drbd/by-res/r0/0", "/dev/nbd3"), "../../../nbd3");
  assert.equal(relativeTarget("/tmp/x/drbd0", "/dev/nbd3"), "../../dev/nbd3");
});

Deno.test("/dev/drbd0 and by-res links lead to the nbd device's data", async () => {
  await inTemp(async (dir) => {
    const dev = `${dir}/dev`;
    const nbd = `${dev}/nbd3`; // a file standing in for the block device
    Deno.mkdirSync(dev);
    const data = crypto.getRandomValues(new Uint8Array(4096));
    Deno.writeFileSync(nbd, data);
    const log = recorder();
    const links = drbdLinks({ minor: 0, resource: "r0", volume: 0, devRoot: dev });
    const made = makeLinks(nbd, links, { devRoot: dev, sysRoot: `${dir}/sys`, log });
    assert.deepEqual(made, links);
    assert.equal(Deno.readLinkSync(`${dev}/drbd0`), "nbd3");
    assert.equal(Deno.readLinkSync(`${dev}/drbd/by-res/r0/0`), "../../../nbd3");
    assert.deepEqual(await Deno.readFile(`${dev}/drbd/by-res/r0/0`), data);
    assert.deepEqual(await Deno.readFile(`${dev}/drbd0`), data);
    assert.deepEqual(log.lines, []);
  });
});

Deno.test("detaching removes only our links and only folders it leaves empty", async () => {
  await inTemp((dir) => {
    const dev = `${dir}/dev`, sys = `${dir}/sys`;
    Deno.mkdirSync(`${dev}/drbd/by-res/r0`, { recursive: true });
    Deno.writeTextFileSync(`${dev}/nbd3`, "");
    Deno.writeTextFileSync(`${dev}/nbd4`, "");
    fakeNbd(sys, 4, 2048, true);
    // Volume 1 of the same resource belongs to another attachment.
    Deno.symlinkSync("../../../nbd4", `${dev}/drbd/by-res/r0/1`);
    const log = recorder();
    const opts = { devRoot: dev, sysRoot: sys, log };
    const links = drbdLinks({
      minor: 0,
      resource: "r0",
      volume: 0,
      disk: "/dev/vg/a",
      devRoot: dev,
    });
    const made = makeLinks(`${dev}/nbd3`, links, opts);
    assert.equal(made.length, 3);
    // Someone re-pointed /dev/drbd0 in the meantime: not ours any more.
    Deno.removeSync(`${dev}/drbd0`);
    Deno.symlinkSync("nbd4", `${dev}/drbd0`);
    removeLinks(`${dev}/nbd3`, made, opts);
    assert.equal(Deno.readLinkSync(`${dev}/drbd0`), "nbd4");
    assert.equal(Deno.readLinkSync(`${dev}/drbd/by-res/r0/1`), "../../../nbd4");
    assert.throws(() => Deno.lstatSync(`${dev}/drbd/by-res/r0/0`), Deno.errors.NotFound);
    assert.throws(() => Deno.lstatSync(`${dev}/drbd/by-disk`), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(`${dev}/drbd`)].map((e) => e.name), ["by-res"]);
    // The other volume gone too: the whole /dev/drbd tree goes, /dev stays.
    removeLinks(`${dev}/nbd4`, [`${dev}/drbd/by-res/r0/1`], opts);
    assert.throws(() => Deno.lstatSync(`${dev}/drbd`), Deno.errors.NotFound);
    assert.ok(Deno.statSync(dev).isDirectory);
  });
});

Deno.test("a stale link is replaced, a live or foreign one is left with a warning", async () => {
  await inTemp((dir) => {
    const dev = `${dir}/dev`, sys = `${dir}/sys`;
    Deno.mkdirSync(dev);
    for (const n of [3, 5, 6]) Deno.writeTextFileSync(`${dev}/nbd${n}`, "");
    fakeNbd(sys, 5, 0); // not connected: a link to it is left over from a crash
    fakeNbd(sys, 6, 2048, true); // connected: another node's device
    Deno.symlinkSync("nbd5", `${dev}/drbd0`);
    Deno.symlinkSync("nbd6", `${dev}/drbd1`);
    Deno.symlinkSync("gone", `${dev}/drbd2`);
    Deno.writeTextFileSync(`${dev}/drbd7`, "a real device node would be here");
    const log = recorder();
    const wanted = ["drbd0", "drbd1", "drbd2", "drbd7"].map((l) => `${dev}/${l}`);
    const made = makeLinks(`${dev}/nbd3`, wanted, { devRoot: dev, sysRoot: sys, log });
    assert.deepEqual(made, [`${dev}/drbd0`, `${dev}/drbd2`]);
    assert.equal(Deno.readLinkSync(`${dev}/drbd0`), "nbd3");
    assert.equal(Deno.readLinkSync(`${dev}/drbd1`), "nbd6");
    assert.equal(Deno.readLinkSync(`${dev}/drbd2`), "nbd3");
    assert.equal(Deno.readTextFileSync(`${dev}/drbd7`), "a real device node would be here");
    assert.equal(log.lines.filter((l) => l.startsWith("warn:")).length, 2);
  });
});

Deno.test("the first free nbd device is chosen, skipping connected and sized ones", async () => {
  await inTemp((sys) => {
    assert.equal(nbdDriverPresent({ sysRoot: sys }), false);
    assert.equal(findFreeNbd({ sysRoot: sys }), undefined);
    fakeNbd(sys, 0, 2048, true);
    fakeNbd(sys, 1, 2048); // still has a size: being torn down or set up by someone
    fakeNbd(sys, 10, 0);
    fakeNbd(sys, 2, 0);
    Deno.mkdirSync(`${sys}/block/sda`);
    assert.equal(nbdDriverPresent({ sysRoot: sys }), true);
    assert.equal(findFreeNbd({ sysRoot: sys }), "/dev/nbd2");
    assert.equal(findFreeNbd({ sysRoot: sys, skip: ["/dev/nbd2"] }), "/dev/nbd10");
    assert.equal(findFreeNbd({ sysRoot: sys, skip: ["/dev/nbd2", "/dev/nbd10"] }), undefined);
  });
});

Deno.test("without the nbd driver the socket is the device, said once in the log", async () => {
  await inTemp(async (dir) => {
    const log = recorder();
    const base = {
      exportName: "drbd0",
      resource: "r0",
      log,
      sysRoot: `${dir}/sys`,
      devRoot: `${dir}/dev`,
    };
    const a = await attach({ ...base, socketPath: `${dir}/drbd0.sock`, minor: 0, volume: 0 });
    const b = await attach({ ...base, socketPath: `${dir}/drbd1.sock`, minor: 1, volume: 1 });
    assert.equal(a.socketOnly, true);
    assert.equal(a.device, undefined);
    assert.equal(a.socketPath, `${dir}/drbd0.sock`);
    assert.match(a.reason ?? "", /nbd kernel driver/);
    assert.equal(b.socketOnly, true);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0], /^info: no nbd kernel driver/);
    assert.deepEqual(a.links, []);
    await a.detach();
    assert.throws(() => Deno.lstatSync(`${dir}/dev`), Deno.errors.NotFound);
  });
});

Deno.test("with the driver but no nbd-client the log says to install nbd-client", async () => {
  await inTemp(async (dir) => {
    const sys = `${dir}/sys`;
    Deno.mkdirSync(`${sys}/module/nbd`, { recursive: true });
    fakeNbd(sys, 0, 0);
    const log = recorder();
    const a = await attach({
      socketPath: `${dir}/drbd0.sock`,
      exportName: "drbd0",
      minor: 0,
      resource: "r0",
      volume: 0,
      log,
      sysRoot: sys,
      devRoot: `${dir}/dev`,
      nbdClient: `${dir}/no-such/nbd-client`,
    });
    assert.equal(a.socketOnly, true);
    assert.match(a.reason ?? "", /nbd-client is not installed/);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0], /^warn: .*apt-get install nbd-client/);
  });
});

Deno.test({
  name: "when nbd-client cannot connect a device, the volume stays on its socket and says why",
  ignore: !have("nbd-client") || nbdDriverPresent(),
  async fn() {
    // sysfs claims two free devices the kernel does not have: nbd-client negotiates with the
    // export, then fails to configure; both are tried, then the socket is the device.
    const ex = await startExport({ size: 8 << 20, name: "drbd5" });
    try {
      const sys = `${ex.dir}/sys`;
      Deno.mkdirSync(`${sys}/module/nbd`, { recursive: true });
      fakeNbd(sys, 14, 0);
      fakeNbd(sys, 15, 0);
      const log = recorder();
      const a = await attach({
        socketPath: ex.socket,
        exportName: "drbd5",
        minor: 5,
        resource: "r5",
        volume: 0,
        log,
        sysRoot: sys,
        devRoot: `${ex.dir}/dev`,
      });
      assert.equal(a.socketOnly, true);
      assert.match(a.reason ?? "", /nbd-client -unix .* \/dev\/nbd15 -N drbd5 .*failed/);
      assert.equal(log.lines.length, 1, log.lines.join("\n"));
      assert.match(log.lines[0], /^warn: drbd5: no kernel device, serving .* only/);
      assert.throws(() => Deno.lstatSync(`${ex.dir}/dev`), Deno.errors.NotFound);
    } finally {
      await ex.close();
    }
  },
});

let haveNbd0 = false;
try {
  haveNbd0 = Deno.statSync("/dev/nbd0").isBlockDevice === true;
} catch {
  // no nbd driver on this machine
}

Deno.test({
  name: "with the nbd driver, /dev/drbd<minor> is a block device holding what is written to it",
  ignore: !haveNbd0 || Deno.uid?.() !== 0 || !have("nbd-client") || !have("mkfs.ext4"),
  async fn() {
    const ex = await startExport({ size: 64 << 20, name: "drbd9" });
    const links = `${ex.dir}/dev`;
    const log = recorder();
    const a = await attach({
      socketPath: ex.socket,
      exportName: "drbd9",
      minor: 9,
      resource: "rk",
      volume: 0,
      log,
      devRoot: links,
    });
    try {
      assert.equal(a.socketOnly, false, log.lines.join("\n"));
      assert.match(a.device ?? "", /^\/dev\/nbd\d+$/);
      const data = crypto.getRandomValues(new Uint8Array(1 << 20));
      const f = await Deno.open(`${links}/drbd/by-res/rk/0`, { write: true });
      await f.write(data);
      await f.syncData();
      f.close();
      const back = (await Deno.readFile(ex.file)).subarray(0, data.length);
      assert.deepEqual(back, data);
      const m = await run("mkfs.ext4", ["-q", "-F", `${links}/drbd9`]);
      assert.equal(m.code, 0, m.stderr);
    } finally {
      await a.detach();
    }
    try {
      assert.deepEqual(a.links, []);
      assert.throws(() => Deno.lstatSync(`${links}/drbd9`), Deno.errors.NotFound);
      const fsck = await run("fsck.ext4", ["-n", "-f", ex.file]);
      assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
    } finally {
      await ex.close();
    }
  },
});
