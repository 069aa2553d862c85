/**
 * Two udrbd hosts on one machine, each in its own network and UTS namespace, joined by a veth
 * pair: alpha is 10.77.0.1 and believes its hostname is `alpha`, beta is 10.77.0.2 and `beta`.
 * Nothing tells drbdadm which `on` section is its own but `uname -n`, and the peers reach each
 * other only over the veth link, so cutting that link is a real partition: packets vanish, no
 * socket sees a reset, and only ping-timeout notices.
 *
 * Every CLI call of a node runs under `nsenter` into both of its namespaces; the daemon the CLI
 * starts inherits them. The control and NBD sockets are files, reachable from the test's own
 * namespace, so status polls and NBD clients need no nsenter.
 *
 * Needs root (ip netns, unshare, nsenter); {@link netnsAvailable} says whether this machine can.
 *
 * @module
 */
import { runFiles } from "../../lib/control/paths.ts";
import { ClusterNode, type NodeName, run, type RunResult, until } from "./helpers.ts";
import { alive, TEST_PATH } from "../util/process.ts";

/** mod.ts of this checkout: the program every CLI call runs. */
const MOD_TS = decodeURIComponent(new URL("../../mod.ts", import.meta.url).pathname);

/** The address of each host on the veth link. */
export const ADDRESS: Record<NodeName, string> = { alpha: "10.77.0.1", beta: "10.77.0.2" };

/** Whether namespaces can be made here (root with ip, unshare and nsenter). */
export async function netnsAvailable(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  try {
    const r = await run("ip", ["netns", "list"]);
    return r.code === 0 && (await run("nsenter", ["--version"])).code === 0 &&
      (await run("unshare", ["--version"])).code === 0;
  } catch {
    return false;
  }
}

async function must(cmd: string, args: string[]): Promise<RunResult> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}${r.stdout}`);
  return r;
}

/** Options of {@link NetnsCluster.create}. */
export interface NetnsClusterOptions {
  /** Backing file size (default 16 MiB). */
  size?: number;
  /** Text inside the `net` section, for both nodes (default: protocol C, connect-int 1). */
  net?: string;
  /** Text inside the `disk` section (default: resync-rate 100M). */
  disk?: string;
  /** Text inside the `handlers` section (default: none). */
  handlers?: string;
}

/** One host of a {@link NetnsCluster}: a {@link ClusterNode} whose commands run in its namespaces. */
export class NetnsNode extends ClusterNode {
  /** Name of the network namespace (`ip netns`). */
  readonly netns: string;
  /** This host's end of the veth pair. */
  readonly veth: string;
  /** The file the UTS namespace is bound to. */
  readonly uts: string;

  constructor(name: NodeName, dir: string, netns: string, veth: string) {
    super(name, dir);
    this.netns = netns;
    this.veth = veth;
    this.uts = `${dir}/uts`;
  }

  /** The nsenter prefix that puts a command into this host. */
  get enter(): string[] {
    return ["nsenter", `--net=/run/netns/${this.netns}`, `--uts=${this.uts}`, "--"];
  }

  /** Runs any program inside this host. */
  async exec(cmd: string, args: string[]): Promise<RunResult> {
    const [prog, ...rest] = this.enter;
    return await run(prog, [...rest, cmd, ...args]);
  }

  /** Runs `udrbd <args>` from source inside this host (no UDRBD_HOSTNAME: `uname -n` decides). */
  override async udrbd(args: string[]): Promise<RunResult> {
    const [prog, ...rest] = this.enter;
    return await run(prog, [...rest, Deno.execPath(), "run", "-A", "--quiet", MOD_TS, ...args], {
      env: {
        PATH: TEST_PATH,
        LC_ALL: "C",
        UDRBD_RUN_DIR: this.runDir,
        DRBD_LIB_DIR: `${this.dir}/lib`,
      },
      clearEnv: true,
    });
  }

  /** The pid of the running daemon, if one runs. */
  daemonPid(): number | undefined {
    try {
      const pid = Number(Deno.readTextFileSync(runFiles(this.runDir).pid).trim());
      return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Kills the daemon with SIGKILL, as a crash or power loss would end it: no flush, no clean
   * metadata, no goodbye to the peer. Resolves once the process is gone.
   */
  async kill9(): Promise<void> {
    const pid = this.daemonPid();
    if (pid === undefined) throw new Error(`${this.name}: no daemon runs`);
    Deno.kill(pid, "SIGKILL");
    await until(() => !alive(pid), `${this.name}'s daemon (pid ${pid}) to die`);
    await this.forget();
  }

  /**
   * Runs `fn` while the daemon is stopped (SIGSTOP): its kernel still takes the peer's data into
   * the socket, but nothing reads, writes or acks it. The daemon continues afterwards.
   */
  async frozen<T>(fn: () => Promise<T>): Promise<T> {
    const pid = this.daemonPid();
    if (pid === undefined) throw new Error(`${this.name}: no daemon runs`);
    Deno.kill(pid, "SIGSTOP");
    try {
      return await fn();
    } finally {
      Deno.kill(pid, "SIGCONT");
    }
  }

  /** Takes this host's end of the link down: the peer's packets stop arriving, silently. */
  async cut(): Promise<void> {
    await must("ip", ["-n", this.netns, "link", "set", "dev", this.veth, "down"]);
  }

  /** Brings this host's end of the link back up. */
  async restore(): Promise<void> {
    await must("ip", ["-n", this.netns, "link", "set", "dev", this.veth, "up"]);
  }
}

/** Alpha and beta, each in its own namespaces, replicating r0 over a veth pair. */
export class NetnsCluster {
  readonly alpha: NetnsNode;
  readonly beta: NetnsNode;
  readonly root: string;

  private constructor(root: string, id: string) {
    this.root = root;
    this.alpha = new NetnsNode("alpha", `${root}/alpha`, `udrbd-${id}-a`, `u${id}a`);
    this.beta = new NetnsNode("beta", `${root}/beta`, `udrbd-${id}-b`, `u${id}b`);
  }

  /** Both nodes. */
  get nodes(): [NetnsNode, NetnsNode] {
    return [this.alpha, this.beta];
  }

  /**
   * Makes the namespaces, the link, both nodes' directories, backing files (create-md done) and
   * their drbd.conf. On failure everything made so far is removed again.
   */
  static async create(opts: NetnsClusterOptions = {}): Promise<NetnsCluster> {
    const root = await Deno.makeTempDir({ prefix: "udrbd-netns-" });
    const id = crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, "0")
      .slice(0, 7);
    const c = new NetnsCluster(root, id);
    try {
      await c.#build(opts);
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  async #build(opts: NetnsClusterOptions): Promise<void> {
    for (const n of this.nodes) await must("ip", ["netns", "add", n.netns]);
    await must("ip", [
      "link",
      "add",
      this.alpha.veth,
      "netns",
      this.alpha.netns,
      "type",
      "veth",
      "peer",
      "name",
      this.beta.veth,
      "netns",
      this.beta.netns,
    ]);
    const conf = config(this, opts);
    for (const n of this.nodes) {
      await must("ip", ["-n", n.netns, "addr", "add", `${ADDRESS[n.name]}/24`, "dev", n.veth]);
      await must("ip", ["-n", n.netns, "link", "set", "dev", n.veth, "up"]);
      await must("ip", ["-n", n.netns, "link", "set", "dev", "lo", "up"]);
      await Deno.mkdir(`${n.dir}/lib`, { recursive: true });
      await Deno.writeTextFile(n.uts, "");
      await must("unshare", [`--uts=${n.uts}`, "hostname", n.name]);
      const f = await Deno.open(n.disk, { write: true, create: true });
      await f.truncate(opts.size ?? 16 << 20);
      f.close();
      await Deno.writeTextFile(n.conf, conf);
    }
    await Promise.all(this.nodes.map((n) => n.adm("create-md", "--force", "r0")));
  }

  /**
   * Stops both daemons (SIGKILL for one that won't stop), deletes the namespaces (and with them
   * the link), releases the UTS namespaces and removes the directories.
   */
  async close(): Promise<void> {
    for (const n of this.nodes) {
      try {
        if (n.daemonPid() !== undefined) await n.stop();
      } catch { /* killed below */ }
      await n.forget();
      const pid = n.daemonPid();
      if (pid !== undefined) {
        Deno.kill(pid, "SIGKILL");
        await until(() => !alive(pid), `${n.name}'s daemon to die`).catch(() => {});
      }
      await run("ip", ["netns", "del", n.netns]);
      await run("umount", [n.uts]);
    }
    await Deno.remove(this.root, { recursive: true });
  }
}

/** One drbd.conf for both hosts, as an administrator would copy it to each. */
function config(c: NetnsCluster, opts: NetnsClusterOptions): string {
  const host = (n: NetnsNode, id: number) =>
    `  on ${n.name} {
    node-id ${id}; device /dev/drbd0 minor 0; disk ${n.disk}; meta-disk internal;
    address ${ADDRESS[n.name]}:7789;
  }
`;
  return `resource r0 {
  net { ${opts.net ?? "protocol C; connect-int 1;"} }
  disk { ${opts.disk ?? "resync-rate 100M;"} }
${opts.handlers ? `  handlers { ${opts.handlers} }\n` : ""}${host(c.alpha, 0)}${host(c.beta, 1)}}
`;
}
