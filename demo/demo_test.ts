/**
 * The demo interrupted as a person would interrupt it: `deno task demo` with small disks, a real
 * SIGINT (Ctrl-C) or SIGTERM once it is under way, and then nothing of it may be left: no
 * daemon, no temporary directory.
 */
import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** Processes whose environment names a run directory under `dir` (the demo's daemons). */
function processesUsing(dir: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const env = Deno.readTextFileSync(`/proc/${e.name}/environ`);
      if (env.includes(`UDRBD_RUN_DIR=${dir}/`)) out.push(Number(e.name));
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

async function interruptDemo(signal: "SIGINT" | "SIGTERM", after: RegExp): Promise<void> {
  const port = 22000 + Math.floor(Math.random() * 20000) * 2;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "demo", "--size", "16M", "--port", String(port)],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const decoder = new TextDecoder();
  let text = "";
  let sent = false;
  for await (const chunk of child.stdout) {
    text += decoder.decode(chunk, { stream: true });
    if (!sent && after.test(text)) {
      sent = true;
      child.kill(signal);
    }
  }
  const status = await child.status;
  const errors = await stderr;
  const dir = /udrbd demo in (\S+):/.exec(text)?.[1];
  assert.ok(dir, `no demo directory in:\n${text}${errors}`);
  try {
    assert.ok(sent, `the demo ended before it was interrupted:\n${text}${errors}`);
    assert.equal(status.code, signal === "SIGINT" ? 130 : 143, text + errors);
    assert.match(text, signal === "SIGINT" ? /\ninterrupted: cleaning up\n/ : /\nterminated: /);
    assert.deepEqual(processesUsing(dir), [], "a daemon of the demo still runs");
    assert.throws(() => Deno.statSync(dir), Deno.errors.NotFound, `${dir} is left`);
  } finally {
    // leave nothing behind even when the demo did
    for (const pid of processesUsing(dir)) Deno.kill(pid, "SIGKILL");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "Ctrl-C during the demo stops both daemons and removes its files",
  // nbdcopy is needed only later; the demo checks for it when it gets there
  async fn() {
    await interruptDemo("SIGINT", /\[alpha\] drbd-overview\n/);
  },
});

Deno.test("SIGTERM while a node comes up leaves no daemon and no files behind", async () => {
  await interruptDemo("SIGTERM", /\[beta\] drbdadm \S+ \S+ up r0\n/);
});
