/**
 * Who may read what in the daemon's run directory: like /proc/drbd and the kernel log, the
 * proc file and the daemon's log are for everyone; the control and export sockets are for the
 * daemon's owner. Checked on a real daemon started on demand under a strict umask.
 */
import assert from "node:assert/strict";
import { connectDaemon } from "../../lib/control/client.ts";
import { ensureRunDir, runFiles } from "../../lib/control/paths.ts";

const MOD_TS = decodeURIComponent(new URL("../../mod.ts", import.meta.url).pathname);

/** Runs `udrbd <args>` under `umask 077` with `runDir` as its run directory. */
async function udrbdStrict(runDir: string, args: string[]): Promise<void> {
  const quoted = [Deno.execPath(), "run", "-A", "--quiet", MOD_TS, ...args]
    .map((a) => `'${a}'`).join(" ");
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `umask 077; exec ${quoted}`],
    env: { UDRBD_RUN_DIR: runDir },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

/** Whether user `nobody` can read `path` (only checkable as root with setpriv). */
function nobodyReads(path: string): boolean {
  const out = new Deno.Command("setpriv", {
    args: ["--reuid=65534", "--regid=65534", "--clear-groups", "cat", path],
    stdout: "null",
    stderr: "null",
  }).outputSync();
  return out.success;
}

const asRoot = Deno.uid() === 0;

Deno.test("other users can read the proc file and the daemon's log, not reach its sockets, even under umask 077", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-rundir-" });
  // the temp dir itself is private; other users must get as far as the run directory
  Deno.chmodSync(dir, 0o755);
  const runDir = `${dir}/run`;
  const files = runFiles(runDir);
  try {
    await udrbdStrict(runDir, ["drbdsetup", "new-resource", "r0", "0"]);
    await udrbdStrict(runDir, ["drbdsetup", "new-minor", "r0", "0", "0"]);
    assert.equal(mode(files.dir), 0o755, "run directory");
    assert.equal(mode(files.proc), 0o644, "proc");
    assert.equal(mode(files.log), 0o644, "daemon.log");
    assert.equal(mode(files.pid), 0o644, "daemon.pid");
    assert.equal(mode(files.socket), 0o600, "control.sock");
    assert.equal(mode(files.nbd), 0o700, "nbd/");
    assert.equal(mode(`${files.nbd}/drbd0.sock`), 0o600, "nbd/drbd0.sock");
    if (asRoot) {
      assert.ok(nobodyReads(files.proc), "nobody cannot read proc");
      assert.ok(nobodyReads(files.log), "nobody cannot read daemon.log");
      assert.ok(!nobodyReads(`${files.nbd}/drbd0.sock`), "nobody reaches into nbd/");
    }
  } finally {
    const client = await connectDaemon({ runDir, start: false });
    if (client) {
      await client.close();
      await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", MOD_TS, "daemon", "--stop"],
        env: { UDRBD_RUN_DIR: runDir },
        stdout: "null",
        stderr: "null",
      }).output();
    }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a run directory that already exists keeps the mode its administrator gave it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-rundir-" });
  const runDir = `${dir}/run`;
  try {
    Deno.mkdirSync(runDir);
    Deno.chmodSync(runDir, 0o750);
    const files = ensureRunDir(runDir);
    assert.equal(mode(runDir), 0o750);
    assert.equal(mode(files.nbd), 0o700);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
