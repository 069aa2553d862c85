/**
 * Replication benchmark on two hosts in their own network and UTS namespaces over a veth pair
 * (test/cluster/netns.ts), all figures from one run on the same namespaces and file system:
 *
 * 1. 1 MiB sequential write throughput (fio, nbd engine, QD32) and 4 KiB QD1 write latency
 *    through alpha's NBD export, on a protocol C pair (Connected, both UpToDate) against the
 *    same node StandAlone (`drbdadm disconnect`: bits are set instead); nbdkit's file plugin on
 *    alpha's backing file is the NBD anchor, and the link's own ceilings (a memory-to-memory
 *    stream of 1 MiB writes, a 4 KiB request/16-byte reply round trip, both Deno over the same
 *    veth) bound what replication can reach. Goal: replicated ≥ 0.9× standalone throughput.
 * 2. Full sync of a fresh pair (`primary --force` until both UpToDate) against a raw copy of the
 *    same bytes between the same namespaces (bench/raw_copy.ts: one TCP stream, the same
 *    runtime and synchronous file I/O as the daemon, one fdatasync at the end as the sync
 *    target's final metadata fsync), each after a syncfs. Goal ≥ 0.9× the raw copy's speed.
 * 3. Resync after 1% and 10% of the 4 KiB blocks were dirtied while disconnected (scattered,
 *    each once), from `drbdadm connect` until Established with nothing out of sync, in seconds
 *    per dirty GiB beside the full sync's. Goal: proportional to the dirty data.
 *
 * Needs root (namespaces), fio and nbdkit. `--quick` is the smoke test's small run.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { peerDevice, run } from "../test/cluster/helpers.ts";
import { ADDRESS, netnsAvailable, NetnsCluster, type NetnsNode } from "../test/cluster/netns.ts";
import { CpuMeter } from "./cpu.ts";
import { fio, type FioJob, type FioResult, haveFio } from "./fio.ts";

const HELP = `USAGE: deno task bench:replication [OPTIONS]     (as root)

Replicated write throughput and latency, full sync and resync between two network namespaces
(udrbd daemons over veth), each against its anchor measured in the same run; prints a table.

  --size BYTES       backing file size per node (default 1 GiB; K/M/G suffixes)
  --runtime SECONDS  per fio throughput/latency job (default 10)
  --reps N           repeat every measurement N times and print medians (default 1)
  --quick            small sizes and short jobs (32 MiB, 1 s): proves the bench runs
  --json             print the results as JSON instead of a table
  --cpu-prof DIR     run both daemons under deno --cpu-prof, profiles into DIR
  --seq-only         only the 1 MiB write throughput and its CPU cost (after the full sync)
  --mtu BYTES        MTU of the veth link (default: as created, 1500); jumbo frames cost less
                     CPU per byte on both ends
  -h, --help         this text
`;

const RAW_COPY_TS = decodeURIComponent(new URL("./raw_copy.ts", import.meta.url).pathname);
const MOD_TS = decodeURIComponent(new URL("../mod.ts", import.meta.url).pathname);
const RAW_PORT = 7790;
const GiB = 1 << 30;

/** CPU milliseconds per MiB written, per process, over the measured part of a fio job. */
interface CpuPerMiB {
  alpha: number;
  beta: number;
  fio: number;
}

/** One repetition's measurements. */
interface Rep {
  replicated: { seq: FioResult; lat: FioResult; cpu: CpuPerMiB };
  standalone: { seq: FioResult; lat: FioResult; cpu: CpuPerMiB };
  nbdkit: { seq: FioResult; lat: FioResult };
  fullSync: { bytes: number; seconds: number };
  rawCopy: { bytes: number; seconds: number };
  /**
   * The link alone: a memory-to-memory 1 MiB stream (its speed, and the CPU ms per MiB of its
   * sender and receiver) and a 4 KiB request/reply round trip.
   */
  link: { streamMBps: number; sendCpuPerMiB: number; recvCpuPerMiB: number; roundTripUs: number };
  /** Resyncs after dirtying blocks while disconnected. */
  resync: (Resync & { label: string })[];
}

/** One resync: the bytes out of sync before `connect`, and how long it took. */
interface Resync {
  bytes: number;
  /** From `drbdadm connect` until both are in sync. */
  seconds: number;
  /** Of that, until the connection was up (the part that does not grow with the dirty data). */
  connect: number;
}

interface Settings {
  size: number;
  runtime: number;
  ramp: number;
  reps: number;
  quick: boolean;
  seqOnly: boolean;
  mtu?: string;
  cpuProf?: string;
}

function bytesArg(text: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) throw new Error(`${text} is not a size`);
  return Number(m[1]) * ({ "": 1, k: 1024, m: 1 << 20, g: GiB }[m[2].toLowerCase()] ?? 1);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Polls `cond` every 10 ms (a 50 ms poll would blur sub-second resyncs). */
async function waitFor(
  cond: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function uri(n: NetnsNode): string {
  return `nbd+unix:///drbd0?socket=${n.socket}`;
}

/** Whether both nodes are Connected, Established, UpToDate and nothing is out of sync. */
async function inSync(c: NetnsCluster): Promise<boolean> {
  const [a, b] = [await c.alpha.status(), await c.beta.status()];
  if (a.connections[0]?.["connection-state"] !== "Connected") return false;
  if (b.connections[0]?.["connection-state"] !== "Connected") return false;
  const pa = peerDevice(a), pb = peerDevice(b);
  return pa["replication-state"] === "Established" && pb["replication-state"] === "Established" &&
    a.devices[0]["disk-state"] === "UpToDate" && b.devices[0]["disk-state"] === "UpToDate" &&
    pa["peer-disk-state"] === "UpToDate" && pb["peer-disk-state"] === "UpToDate" &&
    pa["out-of-sync"] === 0 && pb["out-of-sync"] === 0;
}

/** Both nodes up and Connected (a fresh pair: Inconsistent, Established, nothing to sync). */
async function upConnected(c: NetnsCluster, timeoutMs: number): Promise<void> {
  await Promise.all(c.nodes.map((n) => n.adm("up", "r0")));
  await waitFor(
    async () => {
      const a = await c.alpha.status();
      return a.connections[0]?.["connection-state"] === "Connected" &&
        peerDevice(a)["replication-state"] === "Established";
    },
    "alpha and beta to connect",
    timeoutMs,
  );
}

/** Fills the first `bytes` of `file` with data (not holes), so both copies read real pages. */
async function fill(file: string, bytes: number): Promise<void> {
  const f = await Deno.open(file, { write: true });
  try {
    const chunk = new Uint8Array(1 << 20);
    for (let off = 0; off < bytes; off += chunk.length) {
      crypto.getRandomValues(chunk.subarray(0, 65536));
      await f.write(chunk.subarray(0, Math.min(chunk.length, bytes - off)));
    }
  } finally {
    f.close();
  }
}

/** Makes `file` a hole of `size` bytes again: each full sync writes into fresh blocks. */
async function punch(file: string, size: number): Promise<void> {
  const f = await Deno.open(file, { write: true });
  try {
    await f.truncate(0);
    await f.truncate(size);
  } finally {
    f.close();
  }
}

/** Writes back the dirty pages of the file system the nodes' files live on (syncfs). */
async function settle(c: NetnsCluster): Promise<void> {
  const r = await run("sync", ["-f", c.root]);
  if (r.code !== 0) throw new Error(`sync -f ${c.root}: ${r.stderr}`);
}

/** Spawns `deno run -A <script> <args>` inside `n`'s namespaces. */
function spawnIn(n: NetnsNode, script: string, args: string[]): Deno.ChildProcess {
  const [prog, ...rest] = n.enter;
  return new Deno.Command(prog, {
    args: [...rest, Deno.execPath(), "run", "-A", "--quiet", script, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads `child`'s stdout until a line starting with `word` arrives; returns that line. */
async function expectLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  word: string,
): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  for (;;) {
    const line = text.split("\n").slice(0, -1).find((l) => l.split(" ")[0] === word);
    if (line !== undefined) return line;
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process ended without printing "${word}" (got: ${text})`);
    text += dec.decode(value, { stream: true });
  }
}

/**
 * The raw-copy anchor: alpha's first `bytes` to a fresh file on beta over the veth link, in
 * seconds from starting the sender (as the full sync's from starting drbdadm). With `memory`,
 * no file at either end: the link's ceiling for a stream of 1 MiB writes.
 */
async function rawCopy(
  c: NetnsCluster,
  bytes: number,
  memory = false,
): Promise<{ seconds: number; sendCpuMs: number; recvCpuMs: number }> {
  const target = `${c.beta.dir}/raw-copy.img`;
  const file = (path: string) => memory ? [] : ["--file", path];
  const common = ["--port", String(RAW_PORT), "--bytes", String(bytes)];
  const recv = spawnIn(c.beta, RAW_COPY_TS, ["recv", ...common, ...file(target)]);
  const reader = recv.stdout.getReader();
  try {
    await expectLine(reader, "listening");
    const t0 = performance.now();
    const sent = spawnIn(c.alpha, RAW_COPY_TS, [
      "send",
      "--host",
      ADDRESS.beta,
      ...common,
      ...file(c.alpha.disk),
    ]).output();
    const done = await expectLine(reader, "done");
    // the memory stream is timed by the receiver alone: a process start would dwarf it
    const seconds = memory ? Number(done.split(" ")[1]) / 1000 : (performance.now() - t0) / 1000;
    const s = await sent;
    const dec = new TextDecoder();
    if (!s.success) throw new Error(`raw copy sender: ${dec.decode(s.stderr)}`);
    const sendCpuMs = Number(/^sent (\S+)/m.exec(dec.decode(s.stdout))?.[1] ?? NaN);
    return { seconds, sendCpuMs, recvCpuMs: Number(done.split(" ")[2] ?? NaN) };
  } finally {
    reader.releaseLock();
    await recv.stdout.cancel().catch(() => {});
    await recv.stderr.cancel().catch(() => {});
    await recv.status;
    await Deno.remove(target).catch(() => {});
  }
}

/** Mean round trip in µs of a 4 KiB request and a 16-byte reply from alpha to beta. */
async function linkRoundTrip(c: NetnsCluster, count: number): Promise<number> {
  const server = spawnIn(c.beta, RAW_COPY_TS, ["pong", "--port", String(RAW_PORT)]);
  const reader = server.stdout.getReader();
  try {
    await expectLine(reader, "listening");
    const out = await spawnIn(c.alpha, RAW_COPY_TS, [
      "ping",
      "--host",
      ADDRESS.beta,
      "--port",
      String(RAW_PORT),
      "--count",
      String(count),
    ]).output();
    const dec = new TextDecoder();
    if (!out.success) throw new Error(`ping: ${dec.decode(out.stderr)}`);
    return Number(dec.decode(out.stdout).trim());
  } finally {
    reader.releaseLock();
    await server.stdout.cancel().catch(() => {});
    await server.stderr.cancel().catch(() => {});
    await server.status;
  }
}

/** Full sync of a fresh pair, from `primary --force` until both are UpToDate, in seconds. */
async function fullSync(c: NetnsCluster, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  await c.alpha.adm("primary", "--force", "r0");
  await waitFor(() => inSync(c), "the full sync", timeoutMs);
  return (performance.now() - t0) / 1000;
}

/** Disconnects alpha, writes `blocks` distinct scattered 4 KiB blocks, times the resync. */
async function dirtyAndResync(
  c: NetnsCluster,
  device: number,
  blocks: number,
  seed: number,
  timeoutMs: number,
): Promise<Resync> {
  await c.alpha.adm("disconnect", "r0");
  if (blocks > 0) {
    // fio's random map hits every block at most once, so `blocks` blocks become dirty
    await fio(uri(c.alpha), {
      rw: "randwrite",
      bs: 4096,
      iodepth: 16,
      size: device,
      ioSize: blocks * 4096,
      seed,
    });
  }
  return await reconnect(c, timeoutMs);
}

/** `drbdadm connect` on a disconnected alpha; the out-of-sync bytes and the seconds to in sync. */
async function reconnect(
  c: NetnsCluster,
  timeoutMs: number,
): Promise<Resync> {
  const bytes = peerDevice(await c.alpha.status())["out-of-sync"] * 1024;
  const t0 = performance.now();
  await c.alpha.adm("connect", "r0");
  let connected: number | undefined;
  await waitFor(
    async () => {
      if (await inSync(c)) return true;
      const a = await c.alpha.status();
      if (connected === undefined && a.connections[0]?.["connection-state"] === "Connected") {
        connected = performance.now();
      }
      return false;
    },
    "the resync",
    timeoutMs,
  );
  const end = performance.now();
  return { bytes, seconds: (end - t0) / 1000, connect: ((connected ?? end) - t0) / 1000 };
}

/** nbdkit's file plugin on `file` (a Unix socket in `dir`); resolves once it listens. */
async function startNbdkit(file: string, dir: string) {
  const socket = `${dir}/nbdkit.sock`, pid = `${dir}/nbdkit.pid`;
  // a previous repetition's files would make the wait below pass at once
  for (const f of [socket, pid]) await Deno.remove(f).catch(() => {});
  const child = new Deno.Command("nbdkit", {
    args: ["-f", "-U", socket, "-P", pid, "file", file],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  await waitFor(
    async () => {
      if (exited) throw new Error(`nbdkit exited with ${(await status).code}`);
      return await Deno.stat(pid).then(() => true, () => false);
    },
    "nbdkit to listen",
    10_000,
  );
  return {
    uri: `nbd+unix:///?socket=${socket}`,
    async close() {
      if (!exited) child.kill("SIGTERM");
      await status;
    },
  };
}

/** Starts a node's daemon ourselves, in the foreground under deno --cpu-prof. */
async function profiledDaemon(n: NetnsNode, dir: string): Promise<Deno.ChildProcess> {
  const [prog, ...rest] = n.enter;
  const child = new Deno.Command(prog, {
    args: [
      ...rest,
      Deno.execPath(),
      "run",
      "-A",
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      `--cpu-prof-name=${n.name}.cpuprofile`,
      MOD_TS,
      "daemon",
      "--foreground",
    ],
    env: { UDRBD_RUN_DIR: n.runDir },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitFor(
    () => Deno.stat(`${n.runDir}/control.sock`).then(() => true, () => false),
    `${n.name}'s daemon to listen`,
    30_000,
  );
  return child;
}

/**
 * Runs the throughput job `job` on alpha's export and measures, over fio's measured part, the
 * CPU time per MiB of both daemons and of fio itself.
 */
async function seqMeasured(c: NetnsCluster, job: FioJob): Promise<[FioResult, CpuPerMiB]> {
  const meter = new CpuMeter({ alpha: c.alpha.daemonPid(), beta: c.beta.daemonPid() });
  let started = false;
  const r = await fio(uri(c.alpha), job, {
    onRampEnd: () => {
      started = true;
      meter.start();
    },
  });
  if (!started) meter.start();
  const cpu = meter.stop();
  const mib = r.bytes / (1 << 20);
  return [r, { alpha: cpu.alpha / mib, beta: cpu.beta / mib, fio: r.cpuMs / mib }];
}

/** One repetition on `c`, whose alpha holds data and whose pair is down. */
async function repetition(c: NetnsCluster, s: Settings, rep: number): Promise<Rep> {
  const timeoutMs = Math.max(120_000, s.size / (1 << 20) * 1000);
  // a fresh pair: beta's disk a hole again, new metadata on both (alpha keeps its data)
  await punch(c.beta.disk, s.size);
  await Promise.all(
    (rep > 0 ? c.nodes : [c.beta]).map((n) => n.adm("create-md", "--force", "r0")),
  );
  await upConnected(c, timeoutMs);
  const device = (await c.alpha.status()).devices[0].size * 1024;

  // 2. full sync against the raw copy (the raw copy first: the pair is idle, both Inconsistent)
  const stream = await rawCopy(c, device, true);
  const mib = device / (1 << 20);
  const link = {
    streamMBps: device / stream.seconds / 1e6,
    sendCpuPerMiB: stream.sendCpuMs / mib,
    recvCpuPerMiB: stream.recvCpuMs / mib,
    roundTripUs: s.seqOnly ? NaN : await linkRoundTrip(c, s.quick ? 500 : 5000),
  };
  // Both end in an fdatasync of everything they wrote; each starts with the file system's
  // earlier dirty pages written back, so neither pays for the other's (or the fill's).
  await settle(c);
  const raw = s.seqOnly ? NaN : (await rawCopy(c, device)).seconds;
  await settle(c);
  const sync = await fullSync(c, timeoutMs);

  // 1. writes through alpha's export, replicated, then StandAlone
  const seqJob = { rw: "write", bs: 1 << 20, iodepth: 32, size: device, runtime: s.runtime };
  const latJob = { rw: "randwrite", bs: 4096, iodepth: 1, size: device, runtime: s.runtime };
  const ramp = { ramp: s.ramp };
  // one untimed pass first: both activity logs hot, as in steady use, for both runs alike
  await fio(uri(c.alpha), { ...seqJob, runtime: undefined });
  const noLat = { mbps: NaN, iops: NaN, latMeanUs: NaN, latP99Us: NaN, bytes: 0, cpuMs: 0 };
  const [replSeq, replCpu] = await seqMeasured(c, { ...seqJob, ...ramp });
  const replicated = {
    seq: replSeq,
    lat: s.seqOnly ? noLat : await fio(uri(c.alpha), { ...latJob, ...ramp }),
    cpu: replCpu,
  };
  await c.alpha.adm("disconnect", "r0");
  const [aloneSeq, aloneCpu] = await seqMeasured(c, { ...seqJob, ...ramp });
  const standalone = {
    seq: aloneSeq,
    lat: s.seqOnly ? noLat : await fio(uri(c.alpha), { ...latJob, ...ramp }),
    cpu: aloneCpu,
  };
  if (s.seqOnly) {
    await c.alpha.adm("secondary", "r0");
    await Promise.all(c.nodes.map((n) => n.adm("down", "r0")));
    return {
      replicated,
      standalone,
      nbdkit: { seq: noLat, lat: noLat },
      fullSync: { bytes: device, seconds: sync },
      rawCopy: { bytes: device, seconds: raw },
      link,
      resync: [],
    };
  }
  const resync = [{ label: "after the StandAlone fio jobs", ...await reconnect(c, timeoutMs) }];

  // 3. resync after 1% and 10% dirty blocks
  const blocks = Math.floor(device / 4096);
  for (const pct of [1, 10]) {
    const r = await dirtyAndResync(
      c,
      device,
      Math.round(blocks * pct / 100),
      rep * 100 + pct,
      timeoutMs,
    );
    resync.push({ label: `${pct}% of the blocks dirty`, ...r });
  }

  // the NBD anchor on the same file, once the daemon has let go of it
  await c.alpha.adm("secondary", "r0");
  await Promise.all(c.nodes.map((n) => n.adm("down", "r0")));
  const kit = await startNbdkit(c.alpha.disk, c.alpha.dir);
  let nbdkit;
  try {
    nbdkit = {
      seq: await fio(kit.uri, { ...seqJob, ...ramp }),
      lat: await fio(kit.uri, { ...latJob, ...ramp }),
    };
  } finally {
    await kit.close();
  }
  return {
    replicated,
    standalone,
    nbdkit,
    fullSync: { bytes: device, seconds: sync },
    rawCopy: { bytes: device, seconds: raw },
    link,
    resync,
  };
}

/** A row of the printed table. */
interface Row {
  what: string;
  ours: string;
  anchor: string;
  ratio: string;
  goal: string;
}

/** Medians over the repetitions, as table rows and as a JSON summary. */
function summarize(reps: Rep[]): { rows: Row[]; summary: Record<string, unknown> } {
  const m = (f: (r: Rep) => number) => median(reps.map(f));
  const f0 = (x: number) => x.toFixed(0);
  const f2 = (x: number) => x.toFixed(2);
  const repl = m((r) => r.replicated.seq.mbps), alone = m((r) => r.standalone.seq.mbps);
  const kit = m((r) => r.nbdkit.seq.mbps);
  const linkMBps = m((r) => r.link.streamMBps), rtt = m((r) => r.link.roundTripUs);
  const lr = m((r) => r.replicated.lat.latMeanUs), la = m((r) => r.standalone.lat.latMeanUs);
  const lk = m((r) => r.nbdkit.lat.latMeanUs);
  const pr = m((r) => r.replicated.lat.latP99Us), pa = m((r) => r.standalone.lat.latP99Us);
  const syncMBps = m((r) => r.fullSync.bytes / r.fullSync.seconds / 1e6);
  const rawMBps = m((r) => r.rawCopy.bytes / r.rawCopy.seconds / 1e6);
  const fullPerGiB = m((r) => r.fullSync.seconds / (r.fullSync.bytes / GiB));
  const rows: Row[] = [
    {
      what: "1 MiB seq write QD32, MB/s: replicated (C) vs StandAlone",
      ours: f0(repl),
      anchor: f0(alone),
      ratio: f2(repl / alone),
      goal: "≥ 0.90",
    },
    ...cpuRows(reps),
    {
      what: "1 MiB memory-to-memory TCP stream over the link, CPU ms per MiB: sender vs receiver",
      ours: f2(m((r) => r.link.sendCpuPerMiB)),
      anchor: f2(m((r) => r.link.recvCpuPerMiB)),
      ratio: "",
      goal: "(what replication adds at least, beside the peer's disk write)",
    },
    {
      what: "1 MiB seq write QD32, MB/s: StandAlone vs nbdkit file",
      ours: f0(alone),
      anchor: f0(kit),
      ratio: f2(alone / kit),
      goal: "",
    },
    {
      what: "1 MiB seq write QD32, MB/s: replicated (C) vs the link's stream ceiling",
      ours: f0(repl),
      anchor: f0(linkMBps),
      ratio: f2(repl / linkMBps),
      goal: "",
    },
    {
      what: "4 KiB write QD1, mean µs: replicated (C) vs StandAlone",
      ours: f0(lr),
      anchor: f0(la),
      ratio: f2(lr / la),
      goal: "(lower is better)",
    },
    {
      what: "4 KiB write QD1, p99 µs: replicated (C) vs StandAlone",
      ours: f0(pr),
      anchor: f0(pa),
      ratio: f2(pr / pa),
      goal: "(lower is better)",
    },
    {
      what: "4 KiB write QD1, mean µs: replicated − StandAlone vs the link's round trip",
      ours: f0(lr - la),
      anchor: f0(rtt),
      ratio: f2((lr - la) / rtt),
      goal: "(lower is better)",
    },
    {
      what: "4 KiB write QD1, mean µs: StandAlone vs nbdkit file",
      ours: f0(la),
      anchor: f0(lk),
      ratio: f2(la / lk),
      goal: "(lower is better)",
    },
    {
      what: "full sync, MB/s: primary --force to UpToDate vs raw copy",
      ours: f0(syncMBps),
      anchor: f0(rawMBps),
      ratio: f2(syncMBps / rawMBps),
      goal: "≥ 0.90",
    },
  ];
  const resyncs = reps[0].resync.map((x, i) => {
    const perGiB = m((r) => r.resync[i].seconds / (r.resync[i].bytes / GiB));
    const bytes = m((r) => r.resync[i].bytes);
    const seconds = m((r) => r.resync[i].seconds);
    const connect = m((r) => r.resync[i].connect);
    rows.push({
      what: `resync ${x.label} (${(bytes / (1 << 20)).toFixed(1)} MiB in ${seconds.toFixed(2)} s, ${
        connect.toFixed(2)
      } s of it connecting), s per dirty GiB vs full sync`,
      ours: f2(perGiB),
      anchor: f2(fullPerGiB),
      ratio: f2(perGiB / fullPerGiB),
      goal: "≈ 1 (proportional)",
    });
    return { label: x.label, bytes, seconds, connect, secondsPerGiB: perGiB };
  });
  const one = resyncs.find((x) => x.label.startsWith("1%"));
  const ten = resyncs.find((x) => x.label.startsWith("10%"));
  if (one && ten) {
    rows.push({
      what: "resync 1% vs 10% of the blocks dirty, s per dirty GiB",
      ours: f2(one.secondsPerGiB),
      anchor: f2(ten.secondsPerGiB),
      ratio: f2(one.secondsPerGiB / ten.secondsPerGiB),
      goal: "≈ 1 (proportional)",
    });
  }
  const cpu = (k: "replicated" | "standalone") => ({
    alpha: m((r) => r[k].cpu.alpha),
    beta: m((r) => r[k].cpu.beta),
    fio: m((r) => r[k].cpu.fio),
  });
  const summary = {
    cpuMsPerMiB: {
      replicated: cpu("replicated"),
      standalone: cpu("standalone"),
      linkStream: { send: m((r) => r.link.sendCpuPerMiB), recv: m((r) => r.link.recvCpuPerMiB) },
    },
    seqWriteMBps: {
      replicated: repl,
      standalone: alone,
      nbdkit: kit,
      linkStream: linkMBps,
      ratio: repl / alone,
    },
    writeLatencyUs: {
      replicated: { mean: lr, p99: pr },
      standalone: { mean: la, p99: pa },
      nbdkit: { mean: lk },
      linkRoundTrip: rtt,
    },
    fullSync: { MBps: syncMBps, secondsPerGiB: fullPerGiB, rawCopyMBps: rawMBps },
    fullSyncRatio: syncMBps / rawMBps,
    resync: resyncs,
  };
  return { rows, summary };
}

/**
 * CPU ms per MiB of the 1 MiB QD32 jobs, per process and in total, replicated vs StandAlone:
 * on few shared cores the total bounds the throughput ratio (the replicated run cannot beat
 * StandAlone's total CPU per MiB over its own).
 */
function cpuRows(reps: Rep[]): Row[] {
  const m = (f: (r: Rep) => number) => median(reps.map(f));
  const f2 = (x: number) => x.toFixed(2);
  const total = (c: CpuPerMiB) => c.alpha + (Number.isNaN(c.beta) ? 0 : c.beta) + c.fio;
  const rows: Row[] = [];
  for (
    const [who, f] of [
      ["alpha daemon", (c: CpuPerMiB) => c.alpha],
      ["beta daemon", (c: CpuPerMiB) => c.beta],
      ["fio", (c: CpuPerMiB) => c.fio],
      ["all three", total],
    ] as const
  ) {
    const repl = m((r) => f(r.replicated.cpu)), alone = m((r) => f(r.standalone.cpu));
    rows.push({
      what: `1 MiB seq write QD32, CPU ms per MiB, ${who}: replicated (C) vs StandAlone`,
      ours: f2(repl),
      anchor: f2(alone),
      ratio: who === "beta daemon" ? "" : f2(repl / alone),
      goal: who === "all three" ? "(StandAlone/replicated bounds the MB/s ratio)" : "",
    });
  }
  return rows;
}

function printTable(rows: Row[], s: Settings, device: number): void {
  console.log(
    `udrbd replication, alpha → beta over veth (network namespaces), protocol C, ` +
      `${(device / (1 << 20)).toFixed(0)} MiB device, fio nbd engine ${s.runtime} s per job, ` +
      `median of ${s.reps}, ${navigator.hardwareConcurrency} CPUs, load ${loadavg()}` +
      (s.mtu ? `, link MTU ${s.mtu}` : ""),
  );
  console.log("");
  console.log("| measurement | udrbd | anchor | ratio | goal |");
  console.log("| --- | ---: | ---: | ---: | --- |");
  // --seq-only leaves the other measurements out (NaN)
  for (const r of rows.filter((r) => r.ours !== "NaN" && r.anchor !== "NaN")) {
    console.log(`| ${r.what} | ${r.ours} | ${r.anchor} | ${r.ratio} | ${r.goal} |`);
  }
}

function loadavg(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      size: { type: "string" },
      runtime: { type: "string" },
      reps: { type: "string", default: "1" },
      quick: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      "cpu-prof": { type: "string" },
      "seq-only": { type: "boolean", default: false },
      mtu: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const s: Settings = {
    size: bytesArg(values.size ?? (values.quick ? "32M" : "1G")),
    runtime: Number(values.runtime ?? (values.quick ? 1 : 10)),
    ramp: values.quick ? 0 : 1,
    reps: Number(values.reps),
    quick: values.quick,
    seqOnly: values["seq-only"],
    mtu: values.mtu,
    cpuProf: values["cpu-prof"],
  };
  const missing = [
    !(await netnsAvailable()) && "root with ip, unshare and nsenter (network namespaces)",
    !(await haveFio()) && "fio",
    (await run("nbdkit", ["--version"]).catch(() => ({ code: 1 }))).code !== 0 && "nbdkit",
  ].filter(Boolean);
  if (missing.length > 0) {
    console.log(`bench/replication skipped: needs ${missing.join(", ")}`);
    return;
  }
  const c = await NetnsCluster.create({
    size: s.size,
    // Nothing may limit the full sync but the machine: a fixed resync-rate far above the link
    // (c-plan-ahead 0), and max-buffers high enough that the blocks one 100 ms controller step
    // may have in flight (max-buffers × 4 KiB; 8 MiB at the default 2048, i.e. ~80 MiB/s) do
    // not cap it either.
    net: "protocol C; connect-int 1; max-buffers 20000;",
    disk: "resync-rate 4G; c-plan-ahead 0; c-max-rate 4G;",
  });
  const daemons: Deno.ChildProcess[] = [];
  const reps: Rep[] = [];
  try {
    if (values.mtu !== undefined) {
      for (const n of c.nodes) {
        const r = await run("ip", ["-n", n.netns, "link", "set", "dev", n.veth, "mtu", values.mtu]);
        if (r.code !== 0) throw new Error(`setting the MTU to ${values.mtu}: ${r.stderr}`);
      }
    }
    if (s.cpuProf) {
      await Deno.mkdir(s.cpuProf, { recursive: true });
      for (const n of c.nodes) daemons.push(await profiledDaemon(n, s.cpuProf));
    }
    // alpha's data area gets real data, so the sync and the raw copy read the same pages
    await c.alpha.adm("up", "r0");
    const device = (await c.alpha.status()).devices[0].size * 1024;
    await c.alpha.adm("down", "r0");
    await fill(c.alpha.disk, device);
    for (let rep = 0; rep < s.reps; rep++) reps.push(await repetition(c, s, rep));
    const { rows, summary } = summarize(reps);
    if (values.json) {
      console.log(JSON.stringify({ settings: { ...s, device }, summary, reps }, null, 2));
    } else printTable(rows, s, device);
  } finally {
    await c.close();
    for (const d of daemons) await d.status;
  }
}

if (import.meta.main) await main();
