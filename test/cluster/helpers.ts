/**
 * Two udrbd nodes on one machine: a temporary directory per node (run directory, drbdmeta's
 * lib directory, backing file), one drbd.conf per node naming both (`on alpha`, `on beta`,
 * loopback addresses), the real CLI for every command, and the daemon's control socket for
 * status polls (a poll through the CLI would cost a process start each time).
 *
 * @module
 */
import assert from "node:assert/strict";
import { ControlClient } from "../../lib/control/client.ts";
import { runFiles } from "../../lib/control/paths.ts";
import type { ResourceStatus } from "../../lib/status/types.ts";
import { run, type RunResult, TEST_PATH, until as untilFor } from "../util/process.ts";
import { connectPeer, type PeerConnection } from "../../lib/wire/mod.ts";

/** mod.ts of this checkout: the program every CLI call runs. */
const MOD_TS = decodeURIComponent(new URL("../../mod.ts", import.meta.url).pathname);
const PATH = TEST_PATH;

export { have, run, type RunResult } from "../util/process.ts";

/** Waits until `cond()` holds; fails after `timeoutMs` (a hung test, not a timing assertion). */
export function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  return untilFor(cond, what, timeoutMs, 50);
}

/** Options of {@link Cluster.create}. */
export interface ClusterOptions {
  /** Backing file size (default 16 MiB). */
  size?: number;
  /** Backing file size of one node, instead of `size`. */
  sizes?: Partial<Record<NodeName, number>>;
  /** Text inside the `net` section, per node (default: protocol C, connect-int 1). */
  net?: { alpha: string; beta: string };
  /**
   * More text inside the resource (handlers, a `connection` section...), per node; `port` is
   * the cluster's first port (alpha's address), `port + 1` beta's; `port + 2` to `port + 9` are
   * free for more paths.
   */
  extra?: (node: ClusterNode, port: number) => string;
  /** The hosts get no `address` (the `extra` text has a `connection` with paths instead). */
  explicitPaths?: boolean;
  /** Text inside the `disk` section of both nodes (default: resync-rate 100M). */
  disk?: string;
  /** More resources after r0, per node (`port` as for `extra`). */
  resources?: (node: ClusterNode, port: number) => string;
}

/** Names of the two nodes. */
export type NodeName = "alpha" | "beta";

/** One node of a {@link Cluster}. */
export class ClusterNode {
  readonly name: NodeName;
  readonly dir: string;
  readonly runDir: string;
  readonly conf: string;
  readonly disk: string;
  #client: ControlClient | undefined;

  constructor(name: NodeName, dir: string) {
    this.name = name;
    this.dir = dir;
    this.runDir = `${dir}/run`;
    this.conf = `${dir}/drbd.conf`;
    this.disk = `${dir}/disk.img`;
  }

  /** The volume's NBD export socket (minor 0). */
  get socket(): string {
    return `${runFiles(this.runDir).nbd}/drbd0.sock`;
  }

  /** Runs `udrbd <args>` from source with this node's environment. */
  async udrbd(args: string[]): Promise<RunResult> {
    const out = await this.#command(args).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  }

  #command(args: string[]): Deno.Command {
    return new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MOD_TS, ...args],
      env: {
        PATH,
        LC_ALL: "C",
        UDRBD_RUN_DIR: this.runDir,
        UDRBD_HOSTNAME: this.name,
        DRBD_LIB_DIR: `${this.dir}/lib`,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
  }

  /**
   * Starts `drbdsetup events2 <resource>` on this node (the daemon must run): the lines it has
   * printed so far, and a `stop` that ends it (call it in `finally`).
   */
  events2(resource = "r0"): { lines: () => string[]; stop: () => Promise<void> } {
    const child = this.#command(["drbdsetup", "events2", resource]).spawn();
    let text = "";
    const dec = new TextDecoder();
    const reading = (async () => {
      for await (const chunk of child.stdout) text += dec.decode(chunk, { stream: true });
    })();
    const stderr = child.stderr.cancel();
    return {
      lines: () => text.split("\n").filter((l) => l !== ""),
      stop: async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // already ended
        }
        await Promise.allSettled([child.status, reading, stderr]);
      },
    };
  }

  /** Asserts that `drbdadm -c <conf> <args>` succeeds. */
  async adm(...args: string[]): Promise<RunResult> {
    const r = await this.udrbd(["drbdadm", "-c", this.conf, ...args]);
    assert.equal(r.code, 0, `${this.name}: drbdadm ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r;
  }

  /** The daemon's status snapshot of r0 (or `resource`), over the control socket. */
  async status(resource = "r0"): Promise<ResourceStatus> {
    this.#client ??= await ControlClient.connect(runFiles(this.runDir).socket);
    const all = await this.#client.call<ResourceStatus[]>("status", { args: { resource } });
    return all[0];
  }

  /** The daemon's log so far. */
  log(): string {
    try {
      return Deno.readTextFileSync(runFiles(this.runDir).log);
    } catch {
      return "";
    }
  }

  /** Closes the status connection (the next status call opens a new one, e.g. to a new daemon). */
  async forget(): Promise<void> {
    await this.#client?.close().catch(() => {});
    this.#client = undefined;
  }

  /** Closes the status connection and stops the daemon (if one runs). */
  async stop(): Promise<void> {
    await this.forget();
    try {
      Deno.statSync(runFiles(this.runDir).socket);
    } catch {
      return;
    }
    await this.udrbd(["daemon", "--stop"]);
  }
}

/** Two nodes, alpha (node-id 0) and beta (node-id 1), replicating r0 over loopback. */
export class Cluster {
  readonly alpha: ClusterNode;
  readonly beta: ClusterNode;
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
    this.alpha = new ClusterNode("alpha", `${root}/alpha`);
    this.beta = new ClusterNode("beta", `${root}/beta`);
  }

  /** Creates both nodes' directories, backing files (create-md done) and configurations. */
  static async create(opts: ClusterOptions = {}): Promise<Cluster> {
    const root = await Deno.makeTempDir({ prefix: "udrbd-cluster-" });
    const c = new Cluster(root);
    const port = 21000 + Math.floor(Math.random() * 4000) * 10;
    const net = opts.net ?? { alpha: "", beta: "" };
    const address = (p: number) => opts.explicitPaths ? "" : `address 127.0.0.1:${p};`;
    for (const n of [c.alpha, c.beta]) {
      await Deno.mkdir(`${n.dir}/lib`, { recursive: true });
      const f = await Deno.open(n.disk, { write: true, create: true });
      await f.truncate(opts.sizes?.[n.name] ?? opts.size ?? 16 << 20);
      f.close();
      const protocol = /\bprotocol\b/.test(net[n.name]) ? "" : "protocol C; ";
      await Deno.writeTextFile(
        n.conf,
        `resource r0 {
  net { ${protocol}connect-int 1; ${net[n.name]} }
  disk { ${opts.disk ?? "resync-rate 100M;"} }
  on alpha {
    node-id 0; device /dev/drbd0 minor 0; disk ${c.alpha.disk}; meta-disk internal;
    ${address(port)}
  }
  on beta {
    node-id 1; device /dev/drbd0 minor 0; disk ${c.beta.disk}; meta-disk internal;
    ${address(port + 1)}
  }
  ${opts.extra?.(n, port) ?? ""}
}
${opts.resources?.(n, port) ?? ""}`,
      );
    }
    await Promise.all([
      c.alpha.adm("create-md", "--force", "r0"),
      c.beta.adm("create-md", "--force", "r0"),
    ]);
    return c;
  }

  /** Stops both daemons and removes the directories. */
  async close(): Promise<void> {
    try {
      await Promise.allSettled([this.alpha.stop(), this.beta.stop()]);
    } finally {
      await removeTree(this.root);
    }
  }
}

/**
 * Removes `path` and everything under it. A daemon that was still going down when a test failed
 * may write its last lines while the tree goes: retry, so the clean-up error does not hide the
 * test's own failure.
 */
async function removeTree(path: string): Promise<void> {
  for (let tries = 1;; tries++) {
    try {
      return await Deno.remove(path, { recursive: true });
    } catch (e) {
      if (tries >= 20 || !(e instanceof Error) || !/not empty/i.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The NBD URI of a volume export socket. */
export function nbdUri(socket: string): string {
  return `nbd+unix:///drbd0?socket=${socket}`;
}

/** Runs qemu-io commands against a node's export; fails the test if any fails. */
export async function qemuIo(socket: string, ...commands: string[]): Promise<void> {
  const args = ["-f", "raw"];
  for (const c of commands) args.push("-c", c);
  args.push(nbdUri(socket));
  const r = await run("qemu-io", args);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /failed|error/i, r.stdout + r.stderr);
}

/** Waits for `cond`, adding both nodes' logs to the failure message. */
export async function untilLogged(
  c: Cluster,
  cond: () => boolean | Promise<boolean>,
  what: string,
): Promise<void> {
  await until(cond, what).catch((e) => {
    throw new Error(`${e.message}\nalpha:\n${c.alpha.log()}\nbeta:\n${c.beta.log()}`);
  });
}

/**
 * Whether r0 is in sync: Established on both nodes, beta's disk UpToDate and alpha's view of it
 * too, both peers' disks UpToDate, and nothing out of sync on alpha.
 */
export async function synced(c: Cluster): Promise<boolean> {
  const [a, b] = [await c.alpha.status(), await c.beta.status()];
  return peerDevice(a)["replication-state"] === "Established" &&
    peerDevice(a)["out-of-sync"] === 0 &&
    peerDevice(a)["peer-disk-state"] === "UpToDate" &&
    b.devices[0]["disk-state"] === "UpToDate" &&
    peerDevice(b)["replication-state"] === "Established" &&
    peerDevice(b)["peer-disk-state"] === "UpToDate";
}

/** Both nodes up, alpha forced Primary, initial sync finished; returns the data area bytes. */
export async function upAndSynced(c: Cluster): Promise<number> {
  await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
  await c.alpha.adm("primary", "--force", "r0");
  await untilLogged(c, () => synced(c), "the initial sync to finish");
  return (await c.alpha.status()).devices[0].size * 1024;
}

/** Out-of-sync KiB, replication state and peer disk of r0's volume 0 towards the peer. */
export function peerDevice(s: ResourceStatus) {
  return s.connections[0].peer_devices[0];
}

/** SHA-256 of the first `bytes` of `path` (a disk's data area, before internal metadata). */
export async function sha256Prefix(path: string, bytes: number): Promise<string> {
  const f = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(bytes);
    let done = 0;
    while (done < bytes) {
      const n = await f.read(buf.subarray(done));
      if (n === null) break;
      done += n;
    }
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
    return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  } finally {
    f.close();
  }
}

/**
 * Connects to alpha's real daemon as beta would (beta's node id and port, from the configuration
 * the cluster wrote), for tests that play the peer themselves with our own wire client. Beta's
 * daemon must not be up. Alpha's data-socket packets (its handshake) are read and dropped until
 * the connection ends; `drained` settles then.
 */
export async function connectAsBeta(
  c: Cluster,
): Promise<{ conn: PeerConnection; drained: Promise<void> }> {
  const conf = Deno.readTextFileSync(c.alpha.conf);
  const port = (host: string) =>
    Number(new RegExp(`on ${host} \\{[^}]*address 127\\.0\\.0\\.1:(\\d+)`).exec(conf)![1]);
  const conn = await connectPeer({
    resource: "r0",
    nodeId: 1,
    peerNodeId: 0,
    local: { hostname: "127.0.0.1", port: port("beta") },
    remote: { hostname: "127.0.0.1", port: port("alpha") },
    connectIntMs: 200,
  });
  const drained = (async () => {
    for await (const _ of conn.packets("data")) { /* alpha's handshake packets */ }
  })();
  return { conn, drained };
}
