/**
 * drbd-overview and the /proc/drbd-format file as a user meets them: against a real daemon
 * process brought up with drbdsetup, a node on a real disk file, real mounts and real df.
 */
import assert from "node:assert/strict";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { connectDaemon } from "../../lib/control/client.ts";
import type { HelloResult } from "../../lib/control/protocol.ts";
import { Node } from "../../lib/engine/node.ts";
import { startProcFile } from "../../lib/engine/proc_file.ts";
import { drbdmetaMain } from "../../lib/meta/cli.ts";
import { drbdsetupMain } from "../../lib/setup/main.ts";
import { formatProcDrbd } from "../../lib/status/proc.ts";
import {
  dfSizes,
  mountsByMinor,
  overviewMain,
  parseProcMounts,
} from "../../lib/status/overview_main.ts";
import { Logger } from "../../lib/util/log.ts";
import { primaryConnected } from "./fixtures.ts";
import { alive } from "../util/process.ts";

const ctx = () => ({ emit() {}, signal: new AbortController().signal });

/** A temp dir with a 16 MiB disk file carrying v09 metadata for one peer. */
async function diskDir(): Promise<{ dir: string; disk: string }> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-overview-" });
  Deno.env.set("DRBD_LIB_DIR", dir);
  const disk = `${dir}/disk.img`;
  const f = await Deno.open(disk, { create: true, write: true });
  await f.truncate(16 << 20);
  f.close();
  const io = new MemoryConsole();
  const rc = drbdmetaMain(["--force", "0", "v09", disk, "internal", "create-md", "1"], io, {
    progname: "drbdmeta",
  });
  assert.equal(rc, 0, io.stderr);
  return { dir, disk };
}

async function setup(runDir: string, ...args: string[]): Promise<void> {
  const io = new MemoryConsole();
  const rc = await drbdsetupMain(args, io, { runDir, tty: false });
  assert.equal(rc, 0, `drbdsetup ${args.join(" ")}: ${io.stderr}`);
}

async function overview(
  args: string[],
  options: Parameters<typeof overviewMain>[2],
): Promise<{ rc: number; out: string; err: string }> {
  const io = new MemoryConsole();
  const rc = await overviewMain(args, io, options);
  return { rc, out: io.stdout, err: io.stderr };
}

/** Stops the daemon of `runDir` (if one runs) and waits until its process is gone. */
async function stopDaemon(runDir: string): Promise<void> {
  const client = await connectDaemon({ runDir, start: false });
  if (!client) return;
  let pid: number;
  try {
    pid = (await client.call<HelloResult>("hello")).pid;
    await client.call("daemon.stop");
  } finally {
    await client.close();
  }
  while (alive(pid)) await new Promise((r) => setTimeout(r, 20));
}

/** Reads `path` until `pred` holds for its text (the daemon rewrites it within a second). */
async function waitForText(path: string, pred: (t: string) => boolean): Promise<string> {
  let text = "";
  for (let i = 0; i < 250; i++) {
    try {
      text = Deno.readTextFileSync(path);
      if (pred(text)) return text;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return text;
}

const canMount = (() => {
  if (Deno.uid() !== 0) return false;
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-mountcheck-" });
  try {
    const ok = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=1m", "udrbd-check", dir],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
    if (ok) new Deno.Command("umount", { args: [dir] }).outputSync();
    return ok;
  } catch {
    return false;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
})();

Deno.test(
  "drbd-overview shows a resource brought up with drbdsetup, with the file system mounted from its device",
  {
    ignore: !canMount,
  },
  async () => {
    const { dir, disk } = await diskDir();
    const runDir = `${dir}/run`;
    const devRoot = `${dir}/dev`;
    const mnt = `${dir}/mnt`;
    let mounted = false;
    try {
      await setup(runDir, "new-resource", "r0", "0");
      await setup(runDir, "new-minor", "r0", "7", "0");
      await setup(runDir, "attach", "7", disk, disk, "internal");
      await setup(runDir, "primary", "r0", "--force");
      // what the daemon does with the kernel's nbd driver: /dev/drbd7 -> nbdN; mount(8) records
      // the nbd device. A tmpfs whose source is that path stands in for the file system on it.
      Deno.mkdirSync(devRoot);
      Deno.mkdirSync(mnt);
      Deno.writeFileSync(`${devRoot}/nbd3`, new Uint8Array());
      Deno.symlinkSync("nbd3", `${devRoot}/drbd7`);
      const m = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=16m", `${devRoot}/nbd3`, mnt],
        stderr: "piped",
      }).output();
      assert.ok(m.success, new TextDecoder().decode(m.stderr));
      mounted = true;

      const got = await overview([], { runDir, configFile: null, devRoot });
      assert.equal(got.rc, 0, got.err);
      assert.equal(
        got.out,
        `  7:r0/0  StandAlone Primary/Unknown UpToDate/DUnknown r----- ${mnt} tmpfs 16M 0 16M 0% \n`,
      );
    } finally {
      if (mounted) new Deno.Command("umount", { args: [mnt] }).outputSync();
      await stopDaemon(runDir);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("the daemon's run directory holds a /proc/drbd that follows drbdsetup's changes and goes with the daemon", async () => {
  const { dir, disk } = await diskDir();
  const runDir = `${dir}/run`;
  const proc = `${runDir}/proc`;
  try {
    await setup(runDir, "new-resource", "r0", "0");
    await setup(runDir, "new-minor", "r0", "3", "0");
    await setup(runDir, "attach", "3", disk, disk, "internal");
    let text = await waitForText(proc, (t) => t.includes("ds:Inconsistent"));
    assert.match(text, /^version: 8\.4\.11 \(api:1\/proto:86-101\)\n/);
    assert.match(text, /\n 3: cs:StandAlone ro:Secondary\/Unknown ds:Inconsistent\/DUnknown /);
    assert.equal(Deno.statSync(proc).mode! & 0o777, 0o644);

    await setup(runDir, "primary", "r0", "--force");
    text = await waitForText(proc, (t) => t.includes("ro:Primary"));
    assert.match(text, /\n 3: cs:StandAlone ro:Primary\/Unknown ds:UpToDate\/DUnknown /);
    assert.ok(text.includes("\n    ns:0 nr:0 dw:0 dr:0 "), text);

    // drbd-overview reads the same state from the daemon
    const got = await overview([], { runDir, configFile: null, devRoot: `${dir}/dev` });
    assert.equal(got.out, "  3:r0/0  StandAlone Primary/Unknown UpToDate/DUnknown r----- \n");

    await stopDaemon(runDir);
    assert.throws(() => Deno.statSync(proc), Deno.errors.NotFound);
    assert.deepEqual(
      [...Deno.readDirSync(runDir)].map((e) => e.name).filter((n) =>
        n !== "nbd" && n !== "daemon.log"
      ),
      [],
    );
  } finally {
    await stopDaemon(runDir);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a node keeps its proc file equal to its status, rewritten right after a state change", async () => {
  const { dir, disk } = await diskDir();
  const runDir = `${dir}/run`;
  const node = new Node({ runDir, log: new Logger() });
  const op = (name: string, args: Record<string, string>, options: Record<string, string> = {}) =>
    node.handle(name, { objname: args.resource ?? args.minor, args, options }, ctx());
  try {
    const proc = `${runDir}/proc`;
    assert.equal(Deno.readTextFileSync(proc), formatProcDrbd([]));
    await op("new-resource", { resource: "r0", node_id: "0" });
    await op("new-minor", { resource: "r0", minor: "0", volume: "0" });
    await op("attach", {
      minor: "0",
      lower_dev: disk,
      meta_data_dev: disk,
      meta_data_index: "internal",
    });
    await op("primary", { resource: "r0" }, { force: "yes" });
    // the rewrite is queued behind the request, not left to the next one-second tick
    await new Promise((r) => setTimeout(r, 0));
    const text = Deno.readTextFileSync(proc);
    assert.equal(text, formatProcDrbd(node.status()));
    assert.match(text, / 0: cs:StandAlone ro:Primary\/Unknown ds:UpToDate\/DUnknown/);
  } finally {
    await node.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the proc file is replaced whole, never seen half-written, and comes back when deleted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-proc-" });
  const warnings: string[] = [];
  let state = [primaryConnected()];
  const pf = startProcFile(dir, () => state, { warn: (m) => warnings.push(m) });
  try {
    const first = Deno.readTextFileSync(pf.path);
    assert.equal(first, formatProcDrbd(state));
    const inode = Deno.statSync(pf.path).ino;
    state = [];
    pf.refresh();
    assert.equal(Deno.readTextFileSync(pf.path), formatProcDrbd([]));
    // a rename puts a new file in place: a reader holding the old one keeps a whole text
    assert.notEqual(Deno.statSync(pf.path).ino, inode);
    Deno.removeSync(pf.path);
    pf.refresh();
    assert.equal(Deno.readTextFileSync(pf.path), formatProcDrbd([]));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["proc"]);
    assert.deepEqual(warnings, []);
  } finally {
    pf.stop();
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a proc file that cannot be written is logged once and does not stop the daemon", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-proc-" });
  const warnings: string[] = [];
  const pf = startProcFile(`${dir}/missing`, () => [], { warn: (m) => warnings.push(m) });
  try {
    pf.refresh();
    pf.refresh();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^cannot write .*\/missing\/proc: /);
    Deno.mkdirSync(`${dir}/missing`);
    pf.refresh();
    assert.equal(Deno.readTextFileSync(pf.path), formatProcDrbd([]));
  } finally {
    pf.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drbd-overview says 'drbd not loaded' and succeeds when no daemon runs, starting none", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-overview-" });
  try {
    const conf = `${dir}/drbd.conf`;
    Deno.writeTextFileSync(
      conf,
      `resource web {
  device /dev/drbd12; disk /dev/vg/web0; meta-disk internal;
  on ${Deno.hostname()} { address 10.0.0.1:7789; node-id 0; }
  on bob { address 10.0.0.2:7789; node-id 1; }
}
`,
    );
    for (const args of [[], ["-d"]]) {
      assert.deepEqual(await overview(args, { runDir: `${dir}/run`, configFile: conf }), {
        rc: 0,
        out: "drbd not loaded\n",
        err: "",
      });
    }
    assert.throws(() => Deno.statSync(`${dir}/run/control.sock`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drbd-overview lists drbd.conf's minors of this host that are not up as Unconfigured", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-overview-" });
  const runDir = `${dir}/run`;
  const host = Deno.env.get("UDRBD_HOSTNAME");
  try {
    Deno.env.set("UDRBD_HOSTNAME", "alice");
    const conf = `${dir}/drbd.conf`;
    Deno.writeTextFileSync(
      conf,
      `resource web {
  volume 0 { device /dev/drbd12; disk /dev/vg/web0; meta-disk internal; }
  volume 1 { device /dev/drbd13; disk /dev/vg/web1; meta-disk internal; }
  on alice { address 10.0.0.1:7789; node-id 0; }
  on bob { address 10.0.0.2:7789; node-id 1; }
}
resource other {
  device /dev/drbd20; disk /dev/vg/o; meta-disk internal;
  on carol { address 10.0.0.3:7790; node-id 0; }
  on dave { address 10.0.0.4:7790; node-id 1; }
}
`,
    );
    // a running daemon (the loaded module) with no minor of its own
    await setup(runDir, "new-resource", "spare", "0");
    const got = await overview([], { runDir, configFile: conf });
    assert.equal(got.rc, 0, got.err);
    assert.equal(got.out, " 12:web/0  Unconfigured . . . . \n 13:web/1  Unconfigured . . . . \n");

    // no configuration at all: nothing to show, like 8.4 with no resources
    assert.deepEqual(await overview([], { runDir, configFile: `${dir}/none.conf` }), {
      rc: 0,
      out: "",
      err: "",
    });
    const noisy = await overview(["-d"], { runDir, configFile: `${dir}/none.conf` });
    assert.match(noisy.err, /^drbd-overview: cannot read .*none\.conf: /);
  } finally {
    if (host === undefined) Deno.env.delete("UDRBD_HOSTNAME");
    else Deno.env.set("UDRBD_HOSTNAME", host);
    await stopDaemon(runDir);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drbd-overview answers --help and refuses arguments it does not know", async () => {
  const help = await overview(["--help"], { configFile: null });
  assert.equal(help.rc, 0);
  assert.match(help.out, /^USAGE: drbd-overview \[-d\]\n/);
  const bad = await overview(["--watch"], { configFile: null });
  assert.equal(bad.rc, 20);
  assert.equal(bad.out, "");
  assert.match(bad.err, /^drbd-overview: unknown argument '--watch'\nUSAGE/);
});

Deno.test("mount points are attributed to minors by /dev/drbdN, by-res links and the nbd device behind them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-mounts-" });
  try {
    const dev = `${dir}/dev`;
    Deno.mkdirSync(`${dev}/drbd/by-res/r1`, { recursive: true });
    Deno.writeFileSync(`${dev}/nbd5`, new Uint8Array());
    Deno.symlinkSync("nbd5", `${dev}/drbd11`);
    const table = parseProcMounts(
      `sysfs /sys sysfs rw 0 0\n` +
        `${dev}/drbd10 /srv/with\\040space ext4 rw 0 0\n` +
        `${dev}/nbd5 /srv/eleven xfs rw 0 0\n` +
        `${dev}/nbd5 /srv/eleven-again xfs rw 0 0\n` +
        `${dev}/drbd/by-res/r1/2 /srv/twelve btrfs rw 0 0\n` +
        `/dev/loop0 /srv/fuse ext4 rw 0 0\n`,
    );
    assert.deepEqual(table[1], {
      device: `${dev}/drbd10`,
      mountPoint: "/srv/with space",
      fsType: "ext4",
    });
    const r1 = { ...primaryConnected(), name: "r1" };
    r1.devices = [
      { ...r1.devices[0], minor: 10, volume: 0 },
      { ...r1.devices[0], minor: 11, volume: 1 },
      { ...r1.devices[0], minor: 12, volume: 2 },
    ];
    const got = mountsByMinor([r1], table, { devRoot: dev });
    assert.deepEqual(Object.fromEntries(got), {
      10: { mountPoint: "/srv/with space", fsType: "ext4" },
      11: { mountPoint: "/srv/eleven", fsType: "xfs" },
      12: { mountPoint: "/srv/twelve", fsType: "btrfs" },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drbd-overview sizes a mounted file system with df, and skips one df cannot size", async () => {
  const s = await dfSizes("/");
  assert.ok(s);
  assert.ok(s.totalBytes > 0 && s.availBytes <= s.totalBytes && s.freeBytes <= s.totalBytes);
  assert.equal(await dfSizes("/no/such/mount/point"), undefined);
});
