/**
 * The node's rules as a user meets them through drbdsetup, exercised in-process against real
 * files with DRBD metadata and real NBD clients (qemu-io) on the volume's export socket.
 */
import assert from "node:assert/strict";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { ControlError } from "../../lib/control/protocol.ts";
import { Node } from "../../lib/engine/node.ts";
import { drbdmetaMain } from "../../lib/meta/cli.ts";
import { Logger } from "../../lib/util/log.ts";

interface Fixture {
  dir: string;
  node: Node;
  disk: string;
  socket: string;
  op(
    name: string,
    args: Record<string, string>,
    options?: Record<string, string>,
  ): Promise<unknown>;
  close(): Promise<void>;
}

const ctx = () => ({ emit() {}, signal: new AbortController().signal });

async function fixture(
  opts: { size?: number; createMd?: boolean; maxPeers?: number } = {},
): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-node-" });
  Deno.env.set("DRBD_LIB_DIR", dir);
  const disk = `${dir}/disk.img`;
  const f = await Deno.open(disk, { create: true, write: true });
  await f.truncate(opts.size ?? 64 << 20);
  f.close();
  if (opts.createMd !== false) {
    const io = new MemoryConsole();
    const rc = drbdmetaMain(
      ["--force", "0", "v09", disk, "internal", "create-md", String(opts.maxPeers ?? 1)],
      io,
      { progname: "drbdmeta" },
    );
    assert.equal(rc, 0, io.stderr);
  }
  const lines: string[] = [];
  const node = new Node({ runDir: `${dir}/run`, log: new Logger({ write: (l) => lines.push(l) }) });
  const op = (name: string, args: Record<string, string>, options: Record<string, string> = {}) =>
    node.handle(name, { objname: args.resource ?? args.minor, args, options }, ctx());
  return {
    dir,
    node,
    disk,
    socket: `${dir}/run/nbd/drbd0.sock`,
    op,
    async close() {
      await node.shutdown();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function up(f: Fixture, opts: { peer?: boolean } = {}): Promise<void> {
  await f.op("new-resource", { resource: "r0", node_id: "0" });
  await f.op("new-minor", { resource: "r0", minor: "0", volume: "0" });
  if (opts.peer) {
    await f.op("new-peer", { resource: "r0", peer_node_id: "1" }, { _name: "beta" });
    await f.op("new-path", {
      resource: "r0",
      peer_node_id: "1",
      local_addr: "ipv4:127.0.0.1:7789",
      remote_addr: "ipv4:127.0.0.1:7790",
    });
  }
  await f.op("attach", {
    minor: "0",
    lower_dev: f.disk,
    meta_data_dev: f.disk,
    meta_data_index: "internal",
  });
  if (opts.peer) await f.op("connect", { resource: "r0", peer_node_id: "1" });
}

async function refused(p: Promise<unknown>, exitCode: number, text: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ControlError, String(e));
    assert.equal(e.exitCode, exitCode);
    assert.match(e.message, text);
    return true;
  });
}

async function qemuIo(socket: string, ...commands: string[]) {
  const args = ["-f", "raw"];
  for (const c of commands) args.push("-c", c);
  args.push(`nbd+unix:///drbd0?socket=${socket}`);
  const out = await new Deno.Command("qemu-io", { args, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

function realDrbdmeta(args: string[]): { code: number; out: string } {
  const out = new Deno.Command("drbdmeta", { args, stdout: "piped", stderr: "piped" })
    .outputSync();
  return { code: out.code, out: new TextDecoder().decode(out.stdout) };
}

const haveQemu = (() => {
  try {
    new Deno.Command("qemu-io", { args: ["--version"], stdout: "null" }).outputSync();
    return true;
  } catch {
    return false;
  }
})();

Deno.test("a fresh disk attaches Inconsistent and plain primary is refused with DRBD's -2 / exit 17", async () => {
  const f = await fixture();
  try {
    await up(f, { peer: true });
    const st = f.node.status()[0];
    assert.equal(st.devices[0]["disk-state"], "Inconsistent");
    assert.equal(st.connections[0]["connection-state"], "Connecting");
    await refused(
      f.op("primary", { resource: "r0" }),
      17,
      /^r0: State change failed: \(-2\) Need access to UpToDate data$/,
    );
    await f.op("primary", { resource: "r0" }, { force: "yes" });
    const after = f.node.status()[0];
    assert.equal(after.role, "Primary");
    assert.equal(after.devices[0]["disk-state"], "UpToDate");
  } finally {
    await f.close();
  }
});

Deno.test("attach without metadata says to run create-md (119), a second attach says detach first (124)", async () => {
  const f = await fixture({ createMd: false });
  try {
    await f.op("new-resource", { resource: "r0", node_id: "0" });
    await f.op("new-minor", { resource: "r0", minor: "0", volume: "0" });
    const attach = () =>
      f.op("attach", {
        minor: "0",
        lower_dev: f.disk,
        meta_data_dev: f.disk,
        meta_data_index: "internal",
      });
    await refused(attach(), 10, /^0: Failure: \(119\) No valid meta-data signature found\./);
    const io = new MemoryConsole();
    drbdmetaMain(["--force", "0", "v09", f.disk, "internal", "create-md", "1"], io, {
      progname: "drbdmeta",
    });
    await attach();
    await refused(attach(), 10, /\(124\) Device is attached to a disk \(use detach first\)/);
    // DRBD gives no reason for a backing device it cannot open (only its log does).
    await f.op("detach", { minor: "0" });
    await refused(
      f.op("attach", {
        minor: "0",
        lower_dev: `${f.dir}/missing.img`,
        meta_data_dev: `${f.dir}/missing.img`,
        meta_data_index: "internal",
      }),
      10,
      /^0: Failure: \(104\) Can not open backing device\.$/,
    );
    await attach();
    await refused(
      f.op("attach", {
        minor: "7",
        lower_dev: f.disk,
        meta_data_dev: f.disk,
        meta_data_index: "0",
      }),
      10,
      /\(127\) Device minor not allocated/,
    );
  } finally {
    await f.close();
  }
});

Deno.test({
  name: "a Primary serves reads and writes; a Secondary refuses writes with EPERM",
  ignore: !haveQemu,
  async fn() {
    const f = await fixture();
    try {
      await up(f);
      await f.op("resource-options", { resource: "r0" }, { "auto-promote": "no" });
      await f.op("primary", { resource: "r0" }, { force: "yes" });
      let r = await qemuIo(f.socket, "write -P 0xab 0 1M", "read -P 0xab 0 1M");
      assert.equal(r.code, 0, r.text);
      assert.doesNotMatch(r.text, /Pattern verification failed/);
      await f.op("secondary", { resource: "r0" });
      r = await qemuIo(f.socket, "read -P 0xab 0 1M");
      assert.doesNotMatch(r.text, /failed/, r.text);
      r = await qemuIo(f.socket, "write -P 0xcd 0 4k");
      assert.match(r.text, /Operation not permitted/);
      r = await qemuIo(f.socket, "read -P 0xab 0 4k");
      assert.doesNotMatch(r.text, /failed/, "the refused write changed nothing");
    } finally {
      await f.close();
    }
  },
});

Deno.test({
  name: "auto-promote: a writing client promotes the Secondary, and leaving demotes it",
  ignore: !haveQemu,
  async fn() {
    const f = await fixture();
    try {
      await up(f);
      await f.op("primary", { resource: "r0" }, { force: "yes" });
      await f.op("secondary", { resource: "r0" });
      const r = await qemuIo(f.socket, "write -P 0x11 4096 4k", "read -P 0x11 4096 4k");
      assert.equal(r.code, 0, r.text);
      assert.doesNotMatch(r.text, /failed|not permitted/, r.text);
      for (let i = 0; i < 50 && f.node.status()[0].role !== "Secondary"; i++) {
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(f.node.status()[0].role, "Secondary");
    } finally {
      await f.close();
    }
  },
});

Deno.test("secondary and down are refused while a client holds the device open (-12)", async () => {
  const f = await fixture();
  try {
    await up(f);
    await f.op("primary", { resource: "r0" }, { force: "yes" });
    const conn = await Deno.connect({ transport: "unix", path: f.socket });
    // a real NBD client would negotiate; holding the device open is the device's client set
    const dev = f.node.minors.get(0)!.device;
    const info = { id: 1, exportName: "drbd0", remote: "test" } as unknown as Parameters<
      typeof dev.connect
    >[0];
    dev.connect(info);
    try {
      await refused(
        f.op("secondary", { resource: "r0" }),
        11,
        /^r0: State change failed: \(-12\) Device is held open by someone$/,
      );
      await refused(f.op("down", { resource: "r0" }), 11, /\(-12\)/);
    } finally {
      dev.disconnect(info);
      conn.close();
    }
    await f.op("down", { resource: "r0" });
    assert.equal(f.node.status().length, 0);
  } finally {
    await f.close();
  }
});

Deno.test("detaching the only UpToDate data of a Primary needs --force", async () => {
  const f = await fixture();
  try {
    await up(f);
    await f.op("primary", { resource: "r0" }, { force: "yes" });
    await refused(f.op("detach", { minor: "0" }), 17, /\(-2\) Need access to UpToDate data/);
    await f.op("detach", { minor: "0" }, { force: "yes" });
    assert.equal(f.node.status()[0].devices[0]["disk-state"], "Diskless");
  } finally {
    await f.close();
  }
});

Deno.test("down leaves metadata drbdmeta 9.22 reads as clean, UpToDate, with a new current UUID", async () => {
  const f = await fixture();
  try {
    await up(f);
    await f.op("primary", { resource: "r0" }, { force: "yes" });
    await f.op("secondary", { resource: "r0" });
    await f.op("down", { resource: "r0" });
    const r = realDrbdmeta(["--force", "0", "v09", f.disk, "internal", "dump-md"]);
    assert.equal(r.code, 0);
    const flags = Number(/^flags (0x[0-9A-F]+);/m.exec(r.out)![1]);
    assert.equal(flags & 0x80, 0x80, "AL_CLEAN");
    assert.equal(flags & 0x11, 0x11, "CONSISTENT | WAS_UP_TO_DATE");
    assert.equal(flags & 0x02, 0, "not PRIMARY_IND after secondary");
    assert.doesNotMatch(r.out, /current-uuid 0x0000000000000004;/);
  } finally {
    await f.close();
  }
});

Deno.test("an outdated or invalidated disk follows DRBD's rules", async () => {
  const f = await fixture();
  try {
    await up(f, { peer: true });
    await refused(f.op("outdate", { minor: "0" }), 5, /\(-16\) Disk state is lower than outdated/);
    await f.op("primary", { resource: "r0" }, { force: "yes" });
    await refused(f.op("invalidate", { minor: "0" }), 17, /\(-2\)/);
    await f.op("secondary", { resource: "r0" });
    await f.op("outdate", { minor: "0" });
    assert.equal(f.node.status()[0].devices[0]["disk-state"], "Outdated");
    await f.op("invalidate", { minor: "0" });
    const st = f.node.status()[0];
    assert.equal(st.devices[0]["disk-state"], "Inconsistent");
    assert.equal(st.connections[0].peer_devices[0]["out-of-sync"], st.devices[0].size);
  } finally {
    await f.close();
  }
});

Deno.test("writes while the peer is away are counted out of sync, in 4 KiB blocks", {
  ignore: !haveQemu,
}, async () => {
  const f = await fixture();
  try {
    await up(f, { peer: true });
    await f.op("primary", { resource: "r0" }, { force: "yes" });
    const r = await qemuIo(f.socket, "write 0 1M", "write 8M 6k");
    assert.equal(r.code, 0, r.text);
    assert.equal(f.node.status()[0].connections[0].peer_devices[0]["out-of-sync"], 1024 + 8);
    assert.equal(f.node.status()[0].devices[0]["al-writes"], 2);
  } finally {
    await f.close();
  }
});
