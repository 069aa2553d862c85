/**
 * The daemon as the node's "kernel": an orderly stop (`udrbd daemon --stop`, SIGTERM) leaves
 * the metadata clean as the real drbdmeta reads it; kill -9 during writes is a crash, after
 * which `drbdadm up` (apply-al) and `primary` bring back every acknowledged write.
 */
import assert from "node:assert/strict";
import { runFiles } from "../../lib/control/paths.ts";
import { exists } from "../../lib/util/fs.ts";
import { alive, CLIENTS, nbdsh, run, TestNode, until } from "./helpers.ts";

const AL_CLEAN = 0x80;

interface MdState {
  flags: number;
  unclean: boolean;
}

/** The real drbdmeta's view of the metadata: its flags, and whether it calls it unclean. */
async function mdState(node: TestNode): Promise<MdState> {
  const r = await node.realDrbdmeta("dump-md");
  assert.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(/^flags 0x([0-9A-F]{8});/m);
  assert.ok(m, r.stdout);
  const unclean = /Found meta data is "unclean"/.test(r.stderr) ||
    /This_is_an_unclean_meta_data_dump/.test(r.stdout);
  return { flags: parseInt(m[1], 16), unclean };
}

for (const how of ["udrbd daemon --stop", "SIGTERM"]) {
  Deno.test({
    name: `${how} stops the daemon with the metadata clean and the data kept`,
    ignore: !CLIENTS.drbdmeta || !CLIENTS.qemu,
    async fn() {
      const node = await TestNode.create();
      try {
        await node.upPrimary();
        let r = await run("qemu-io", ["-f", "raw", "-c", "write -P 0x9e 4M 1M", node.uri]);
        assert.equal(r.code, 0, r.stderr);
        const running = await mdState(node);
        assert.equal(running.flags & AL_CLEAN, 0, "in use while attached");
        assert.ok(running.unclean);

        const pid = node.daemonPid();
        assert.ok(pid, node.log());
        if (how === "SIGTERM") {
          Deno.kill(pid, "SIGTERM");
          await until(() => !alive(pid), "the daemon to exit");
        } else {
          r = await node.udrbd(["daemon", "--stop"]);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, `udrbd daemon stopped (pid ${pid})\n`);
          assert.ok(!alive(pid));
        }
        const files = runFiles(node.runDir);
        assert.ok(!exists(files.socket), "control socket removed");
        assert.ok(!exists(node.socket), "export socket removed");

        const stopped = await mdState(node);
        assert.equal(stopped.flags & AL_CLEAN, AL_CLEAN, stopped.flags.toString(16));
        assert.ok(!stopped.unclean);

        // a "reboot": up, and the data is there (no primary needed to read UpToDate data)
        await node.ok("up", node.resource);
        r = await run("qemu-io", ["-f", "raw", "-c", "read -P 0x9e 4M 1M", node.uri]);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout + r.stderr, /failed/i);
      } finally {
        await node.close();
      }
    },
  });
}

/** Blocks of the crash test: 64 KiB each, 256 KiB apart, so writes touch many AL extents. */
const BLOCK = 65536, STRIDE = 262144, BLOCKS = 200;

/**
 * nbdsh writing block `i % BLOCKS` with the number i (repeated) for i = 0, 1, …, printing i
 * once each write is acknowledged; runs until the daemon dies.
 */
function startWriter(uri: string) {
  const script = `
import sys
h.connect_uri(${JSON.stringify(uri)})
for i in range(10 ** 7):
    h.pwrite(i.to_bytes(4, "little") * ${BLOCK / 4}, (i % ${BLOCKS}) * ${STRIDE})
    print(i, flush=True)
`;
  const child = new Deno.Command("nbdsh", {
    args: ["-c", script],
    env: { PATH: "/usr/bin:/bin:" + (Deno.env.get("PATH") ?? "") },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const stderr = new Response(child.stderr).text();
  return {
    /** Resolves once at least `n` writes are acknowledged. */
    async acked(n: number): Promise<void> {
      while (text.split("\n").length - 1 < n) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`writer ended early: ${await stderr}`);
        text += value;
      }
    },
    /** Waits for the writer to end; resolves to the last acknowledged i. */
    async finish(): Promise<number> {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await child.status;
      await stderr;
      const lines = text.trim().split("\n");
      return Number(lines[lines.length - 1]);
    },
  };
}

Deno.test({
  name:
    "after kill -9 of the daemon during writes, drbdadm up and primary bring back every acknowledged write",
  ignore: !CLIENTS.drbdmeta || !CLIENTS.nbdsh,
  async fn() {
    const node = await TestNode.create();
    try {
      await node.upPrimary();
      const writer = startWriter(node.uri);
      let last: number;
      try {
        // more than one round, so that blocks are overwritten
        await writer.acked(BLOCKS + 50);
      } finally {
        const pid = node.daemonPid();
        assert.ok(pid, node.log());
        Deno.kill(pid, "SIGKILL");
        await until(() => !alive(pid), "the killed daemon to go");
        last = await writer.finish();
      }
      assert.ok(last + 1 >= BLOCKS + 50, String(last));

      const crashed = await mdState(node);
      assert.ok(crashed.unclean, "the real drbdmeta sees the crash");
      assert.equal(crashed.flags & AL_CLEAN, 0);

      // the stale sockets of the dead daemon do not stop a new one
      const up = await node.adm("up", node.resource);
      assert.equal(up.code, 0, up.stderr + node.log());
      // up ran apply-al: the extents hot at the crash are marked for resync
      assert.match(up.stderr, /Marked additional \d+ [KMG]B as out-of-sync based on AL/);
      assert.equal(await node.role(), "Secondary");
      await node.ok("primary", node.resource);
      assert.equal(await node.role(), "Primary");

      const out = await nbdsh(
        node.uri,
        `
for p in range(${BLOCKS}):
    b = h.pread(${BLOCK}, p * ${STRIDE})
    print(int.from_bytes(b[:4], "little") if b == b[:4] * ${BLOCK / 4} else -1)
`,
      );
      const found = out.trim().split("\n").map(Number);
      assert.equal(found.length, BLOCKS);
      for (let p = 0; p < BLOCKS; p++) {
        // the newest acknowledged write to block p, or the one in flight when the daemon died
        const newest = last - ((last - p) % BLOCKS + BLOCKS) % BLOCKS;
        assert.ok(
          found[p] === newest || found[p] === newest + BLOCKS,
          `block ${p}: found write ${found[p]}, acknowledged ${newest} (last ${last})`,
        );
      }

      // stopped in order now, the metadata is clean again
      const stop = await node.udrbd(["daemon", "--stop"]);
      assert.equal(stop.code, 0, stop.stderr);
      const clean = await mdState(node);
      assert.ok(!clean.unclean);
      assert.equal(clean.flags & AL_CLEAN, AL_CLEAN);
    } finally {
      await node.close();
    }
  },
});
