/**
 * Progress of long drbdadm operations as a user sees it: adjust-with-progress's stage report
 * (compared with drbd-utils 9.22's drbdadm when installed), the resync bar that wait-sync draws
 * on a real pseudo-terminal (`script` from util-linux) and never into a pipe, and create-md's
 * percentages while it clears a big bitmap. Real daemons, real files, the real CLI.
 */
import assert from "node:assert/strict";
import { run, type RunResult, TEST_PATH } from "../util/process.ts";

const MOD_TS = decodeURIComponent(new URL("../../mod.ts", import.meta.url).pathname);
const HOST = Deno.hostname();

function have(name: string): string | undefined {
  for (const dir of TEST_PATH.split(":")) {
    try {
      if (dir && Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs `cmd` with only PATH, LC_ALL=C and `env` in its environment. */
function runPlain(cmd: string, args: string[], env: Record<string, string>): Promise<RunResult> {
  return run(cmd, args, { env: { PATH: TEST_PATH, LC_ALL: "C", ...env }, clearEnv: true });
}

/** One node's environment: its own run directory, drbdmeta lib directory and host name. */
class Node {
  readonly env: Record<string, string>;
  constructor(readonly dir: string, readonly name: string) {
    this.env = { UDRBD_RUN_DIR: `${dir}/run`, DRBD_LIB_DIR: `${dir}/lib`, UDRBD_HOSTNAME: name };
    Deno.mkdirSync(`${dir}/lib`, { recursive: true });
  }

  /** The command line that runs `udrbd <args>` from source. */
  argv(args: string[]): string[] {
    return [Deno.execPath(), "run", "-A", "--quiet", MOD_TS, ...args];
  }

  udrbd(args: string[]): Promise<RunResult> {
    const [cmd, ...rest] = this.argv(args);
    return runPlain(cmd, rest, this.env);
  }

  async ok(args: string[]): Promise<RunResult> {
    const r = await this.udrbd(args);
    assert.equal(r.code, 0, `${this.name}: ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r;
  }

  /** Takes every resource down and stops the daemon, if one runs. */
  async stop(conf: string): Promise<void> {
    try {
      Deno.statSync(`${this.dir}/run/control.sock`);
    } catch {
      return;
    }
    await this.udrbd(["drbdadm", "-c", conf, "down", "all"]);
    await this.udrbd(["daemon", "--stop"]);
  }
}

async function sparseFile(path: string, size: number): Promise<void> {
  const f = await Deno.open(path, { create: true, write: true });
  await f.truncate(size);
  f.close();
}

/** Waits until `cond()` holds; fails after `timeoutMs` (a hung test, not a timing assertion). */
async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("adjust-with-progress reports each stage and each resource's failure as drbdadm 9.22 does, hiding the steps' errors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-progress-" });
  const conf = `${dir}/drbd.conf`;
  const node = new Node(dir, HOST);
  try {
    await sparseFile(`${dir}/d0`, 16 << 20);
    // r1's backing file does not exist: its attach fails, its connect still runs
    Deno.writeTextFileSync(
      conf,
      `resource r0 {
  device minor 0; meta-disk internal; disk ${dir}/d0;
  on ${HOST} { address 127.0.0.1:7789; node-id 0; }
  on peer { address 127.0.0.1:7790; node-id 1; }
}
resource r1 {
  device minor 1; meta-disk internal; disk ${dir}/d1;
  on ${HOST} { address 127.0.0.1:7791; node-id 0; }
  on peer { address 127.0.0.1:7792; node-id 1; }
}
`,
    );
    await node.ok(["drbdadm", "-c", conf, "create-md", "--force", "r0"]);
    const got = await node.udrbd(["drbdadm", "-c", conf, "adjust-with-progress", "all"]);
    const want = "[\n" +
      "     create res: r0 r1\n" +
      "   prepare disk: r0 r1\n" +
      "    prepare net: r0 r1\n" +
      "    prepare net: r0 r1\n" +
      "    adjust disk: r0 r1:failed(attach:20)\n" +
      "attempt to connect: r0 r1\n" +
      "]\n";
    assert.deepEqual(got, { code: 1, stdout: want, stderr: "" });
    const status = await node.ok(["drbdsetup", "status", "r0"]);
    assert.match(status.stdout, /disk:Inconsistent/);

    const drbdadm = have("drbdadm");
    if (
      drbdadm && (await runPlain(drbdadm, ["--version"], {})).stdout.includes("DRBDADM_VERSION=9.")
    ) {
      // the real drbdadm over stand-ins that fail where ours failed: apply-al on a missing file.
      // The pattern names r1's whole disk path: the random temp dir name may itself hold "d1".
      const stub = `${dir}/stub.sh`;
      Deno.writeTextFileSync(
        stub,
        `#!/bin/sh\necho "stub: $*" >&2\ncase "$*" in *" ${dir}/d1 "*apply-al*) exit 20;; esac\nexit 0\n`,
      );
      Deno.chmodSync(stub, 0o755);
      const real = await runPlain(drbdadm, [
        "-c",
        conf,
        `--drbdsetup=${stub}`,
        `--drbdmeta=${stub}`,
        "adjust-with-progress",
        "all",
      ], {});
      assert.equal(real.stdout, want);
      assert.equal(real.code, 1);
    }
  } finally {
    await node.stop(conf);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("drbdadm create-md on a 4 TiB device counts the bitmap's clearing in percent, as drbdmeta does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-progress-" });
  const conf = `${dir}/drbd.conf`;
  const node = new Node(dir, HOST);
  try {
    await sparseFile(`${dir}/big.img`, 4 * 2 ** 40);
    Deno.writeTextFileSync(
      conf,
      `resource big {
  device minor 9; meta-disk internal; disk ${dir}/big.img;
  on ${HOST} { address 127.0.0.1:7793; node-id 0; }
  on peer { address 127.0.0.1:7794; node-id 1; }
}
`,
    );
    const got = await node.ok(["drbdadm", "-c", conf, "create-md", "--force", "big"]);
    assert.match(got.stderr, /initializing bitmap \(128 MB\) to all zero/);
    assert.match(got.stderr, /\r25%\r50%\r75%\r100%\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const script = have("script");

Deno.test({
  name: "wait-sync draws the resync bar on a terminal and nothing into a pipe",
  ignore: !script,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "udrbd-progress-" });
    const conf = `${dir}/drbd.conf`;
    const alpha = new Node(`${dir}/alpha`, "alpha");
    const beta = new Node(`${dir}/beta`, "beta");
    const port = 21000 + Math.floor(Math.random() * 20000) * 2;
    try {
      // a resync slowed to 256 KiB/s keeps going while we look; wfc-timeout ends each wait
      Deno.writeTextFileSync(
        conf,
        `resource r0 {
  device minor 0; meta-disk internal;
  startup { wfc-timeout 2; }
  net { protocol C; connect-int 1; }
  disk { resync-rate 256k; c-plan-ahead 0; }
  on alpha { address 127.0.0.1:${port}; node-id 0; disk ${alpha.dir}/disk.img; }
  on beta { address 127.0.0.1:${port + 1}; node-id 1; disk ${beta.dir}/disk.img; }
}
`,
      );
      for (const n of [alpha, beta]) {
        await sparseFile(`${n.dir}/disk.img`, 16 << 20);
        await n.ok(["drbdadm", "-c", conf, "create-md", "--force", "r0"]);
        await n.ok(["drbdadm", "-c", conf, "up", "r0"]);
      }
      await alpha.ok(["drbdadm", "-c", conf, "primary", "--force", "r0"]);
      await until(async () => {
        const r = await beta.udrbd(["drbdsetup", "status", "r0"]);
        return r.stdout.includes("replication:SyncTarget");
      }, "beta to become SyncTarget");

      const wait = beta.argv(["drbdadm", "-c", conf, "wait-sync", "r0"]);
      const onTerminal = await runPlain(
        script!,
        ["-qfec", wait.map((a) => `'${a}'`).join(" "), "/dev/null"],
        beta.env,
      );
      assert.equal(onTerminal.code, 5, onTerminal.stdout); // the wfc-timeout ended the wait
      assert.match(
        onTerminal.stdout,
        /\rr0\/0 alpha: \[[=>.]{20}\] sync'ed: +\d+\.\d% \(\d+\/\d+\)K/,
      );
      // the line is erased when the wait ends
      assert.ok(
        onTerminal.stdout.endsWith("\r\x1b[K"),
        JSON.stringify(onTerminal.stdout.slice(-40)),
      );

      const piped = await beta.udrbd(["drbdadm", "-c", conf, "wait-sync", "r0"]);
      assert.equal(piped.code, 5);
      assert.equal(piped.stdout, "");
      for (const mark of ["sync'ed", "\r", "\x1b"]) assert.ok(!piped.stderr.includes(mark), mark);
    } finally {
      for (const n of [beta, alpha]) await n.stop(conf);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
