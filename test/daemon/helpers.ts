/**
 * Test helpers for end-to-end tests of one node: a temporary "host" (run directory, drbdmeta's
 * lib directory, a drbd.conf and a sparse backing file) on which the real CLI
 * (`deno run -A mod.ts drbdadm|drbdsetup|drbdmeta|daemon`) brings a resource up, and real NBD
 * clients reach its export.
 *
 * @module
 */
import assert from "node:assert/strict";
import { runFiles } from "../../lib/control/paths.ts";
import { have, run, type RunResult } from "../nbd/helpers.ts";

export { have, nbdErrors, nbdsh, run, type RunResult, sha256File } from "../nbd/helpers.ts";
export { alive, until } from "../util/process.ts";
import { alive, until } from "../util/process.ts";

/** mod.ts of this checkout: the program every CLI call runs. */
export const MOD_TS = decodeURIComponent(new URL("../../mod.ts", import.meta.url).pathname);

/** Debian's programs first (nbdsh needs /usr/bin/python3 with the nbd module). */
const PATH = "/usr/bin:/usr/sbin:/bin:/sbin:" + (Deno.env.get("PATH") ?? "");

/** The node name the configuration's first `on` section names; the peer is never started. */
export const HOST = "alpha";

/** Options of {@link TestNode.create}. */
export interface TestNodeOptions {
  /** Size of the sparse backing file (default 64 MiB). */
  size?: number;
  /** Resource name (default r5). */
  resource?: string;
  /** Minor (default 5). */
  minor?: number;
  /** Extra text inside the resource section, e.g. `options { auto-promote no; }`. */
  extra?: string;
}

/** A free-looking TCP port: the peer is never started, but two tests must not share one. */
function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 20000) * 2;
}

/**
 * One DRBD node in a temporary directory: `UDRBD_RUN_DIR`, `DRBD_LIB_DIR` and
 * `UDRBD_HOSTNAME` point into it for every command it runs, so its daemon is its own.
 */
export class TestNode {
  /** The temporary directory holding everything below. */
  readonly dir: string;
  /** The daemon's run directory. */
  readonly runDir: string;
  /** drbd.conf of this node. */
  readonly conf: string;
  /** The backing file (internal metadata). */
  readonly disk: string;
  readonly resource: string;
  readonly minor: number;
  #env: Record<string, string>;

  private constructor(dir: string, opts: TestNodeOptions) {
    this.dir = dir;
    this.runDir = `${dir}/run`;
    this.conf = `${dir}/drbd.conf`;
    this.disk = `${dir}/disk.img`;
    this.resource = opts.resource ?? "r5";
    this.minor = opts.minor ?? 5;
    this.#env = {
      PATH,
      LC_ALL: "C",
      UDRBD_RUN_DIR: this.runDir,
      UDRBD_HOSTNAME: HOST,
      DRBD_LIB_DIR: `${dir}/lib`,
    };
  }

  /** Creates the directory, the sparse backing file and the configuration. */
  static async create(opts: TestNodeOptions = {}): Promise<TestNode> {
    const dir = await Deno.makeTempDir({ prefix: "udrbd-e2e-" });
    const node = new TestNode(dir, opts);
    await Deno.mkdir(`${dir}/lib`);
    const f = await Deno.open(node.disk, { write: true, create: true });
    await f.truncate(opts.size ?? 64 << 20);
    f.close();
    const port = randomPort();
    await Deno.writeTextFile(
      node.conf,
      `resource ${node.resource} {
  device /dev/drbd${node.minor};
  disk ${node.disk};
  meta-disk internal;
  ${opts.extra ?? ""}
  on ${HOST} { address 127.0.0.1:${port}; node-id 0; }
  on beta { address 127.0.0.1:${port + 1}; node-id 1; }
}
`,
    );
    return node;
  }

  /** The minor's NBD export socket. */
  get socket(): string {
    return `${runFiles(this.runDir).nbd}/drbd${this.minor}.sock`;
  }

  /** `nbd+unix:///drbd<minor>?socket=…` */
  get uri(): string {
    return `nbd+unix:///drbd${this.minor}?socket=${this.socket}`;
  }

  /** Runs `udrbd <args>` from source with this node's environment. */
  async udrbd(args: string[]): Promise<RunResult> {
    return await run(Deno.execPath(), ["run", "-A", "--quiet", MOD_TS, ...args], {
      env: this.#env,
    });
  }

  /** `drbdadm -c <conf> <args>` */
  adm(...args: string[]): Promise<RunResult> {
    return this.udrbd(["drbdadm", "-c", this.conf, ...args]);
  }

  /** `drbdsetup <args>` */
  setup(...args: string[]): Promise<RunResult> {
    return this.udrbd(["drbdsetup", ...args]);
  }

  /** The real drbd-utils drbdmeta on this node's disk: `drbdmeta --force <minor> v09 <disk> internal <args>`. */
  realDrbdmeta(...args: string[]): Promise<RunResult> {
    return run("drbdmeta", ["--force", String(this.minor), "v09", this.disk, "internal", ...args]);
  }

  /** Asserts that `drbdadm <args>` succeeds; returns its output. */
  async ok(...args: string[]): Promise<RunResult> {
    const r = await this.adm(...args);
    assert.equal(r.code, 0, `drbdadm ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r;
  }

  /** create-md, up and primary --force: a fresh resource in Primary with UpToDate data. */
  async upPrimary(): Promise<void> {
    await this.ok("create-md", this.resource);
    await this.ok("up", this.resource);
    await this.ok("primary", "--force", this.resource);
  }

  /** The role `drbdadm role` prints. */
  async role(): Promise<string> {
    return (await this.ok("role", this.resource)).stdout.trim();
  }

  /** The running daemon's pid from its pid file, if one runs. */
  daemonPid(): number | undefined {
    try {
      const pid = Number(Deno.readTextFileSync(runFiles(this.runDir).pid).trim());
      return pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** The daemon's log so far (for failure messages). */
  log(): string {
    try {
      return Deno.readTextFileSync(runFiles(this.runDir).log);
    } catch {
      return "";
    }
  }

  /**
   * Stops the daemon (`udrbd daemon --stop`; kill -9 of its pid if that fails) and removes the
   * directory. Safe to call when no daemon was ever started.
   */
  async close(): Promise<void> {
    try {
      const pid = this.daemonPid();
      if (pid !== undefined) {
        const r = await this.udrbd(["daemon", "--stop"]);
        if (r.code !== 0 && alive(pid)) Deno.kill(pid, "SIGKILL");
        await until(() => !alive(pid), `daemon ${pid} to exit`);
      }
    } finally {
      await Deno.remove(this.dir, { recursive: true });
    }
  }
}

/** An nbdsh process that stays connected until released. */
export interface HeldClient {
  /** Closes its stdin: the script ends and nbdsh disconnects; resolves to its output. */
  release(): Promise<RunResult>;
}

/**
 * Starts nbdsh connected to `uri`, runs `script` (may be empty), and keeps the connection open
 * until {@link HeldClient.release}; resolves once the script has run.
 */
export async function holdClient(uri: string, script = ""): Promise<HeldClient> {
  const child = new Deno.Command("nbdsh", {
    args: [
      "-c",
      `import sys\nh.connect_uri(${JSON.stringify(uri)})\n${script}\n` +
      `print("ready", flush=True)\nsys.stdin.read()\n`,
    ],
    env: { PATH, LC_ALL: "C" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream());
  const reader = stdout.getReader();
  let seen = "";
  const errText = new Response(child.stderr).text();
  const finish = async (): Promise<RunResult> => {
    await child.stdin.close().catch(() => {});
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    const status = await child.status;
    return { code: status.code, stdout: seen, stderr: await errText };
  };
  while (!seen.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) {
      const r = await finish();
      throw new Error(`nbdsh did not connect (${r.code}): ${r.stderr}${r.stdout}`);
    }
    seen += value;
  }
  return { release: finish };
}

/** Whether the NBD clients these tests drive are installed. */
export const CLIENTS = {
  nbdinfo: have("nbdinfo"),
  nbdsh: have("nbdsh"),
  nbdcopy: have("nbdcopy"),
  qemu: have("qemu-io") && have("qemu-img"),
  drbdmeta: have("drbdmeta"),
};
