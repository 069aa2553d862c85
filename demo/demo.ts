/**
 * The seed walkthrough on one machine: two udrbd nodes ("alpha" and "beta", each its own daemon
 * and run directory) with file-backed disks replicate resource r0 over loopback. The demo
 * creates the metadata, brings both nodes up, makes alpha Primary with --force (the initial
 * full sync), writes data through alpha's NBD export, switches the Primary role to beta and
 * reads the same data back there. It shows `drbd-overview` at each step and removes everything
 * it made (downs the resources, stops both daemons, deletes its directory), also when
 * interrupted by Ctrl-C (SIGINT) or SIGTERM.
 *
 * Run: `deno task demo` (needs nbdcopy from libnbd-bin). Options: `--size N[K|M|G]` for each
 * node's disk (default 256M), `--port N` for alpha's replication port (beta's is N+1; default
 * 7789), `--keep` to leave the files for a look.
 *
 * @module
 */

import { processAlive } from "../lib/util/process.ts";

const root = new URL("..", import.meta.url).pathname;
const keep = Deno.args.includes("--keep");

function parseSize(text: string | undefined): number {
  const m = /^(\d+)([KMG]?)$/i.exec(text ?? "");
  const unit = { "": 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[(m?.[2] ?? "").toUpperCase()];
  const size = m && unit ? Number(m[1]) * unit : NaN;
  if (!(size >= 4 << 20)) {
    console.error(`demo: --size wants a size of at least 4M, like 64M or 1G (got '${text}')`);
    Deno.exit(2);
  }
  return size;
}

const sizeAt = Deno.args.indexOf("--size");
const SIZE = sizeAt >= 0 ? parseSize(Deno.args[sizeAt + 1]) : 256 << 20;
const portAt = Deno.args.indexOf("--port");
const PORT = portAt >= 0 ? Number(Deno.args[portAt + 1]) : 7789;
if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65534) {
  console.error(`demo: --port wants a TCP port below 65535 (got '${Deno.args[portAt + 1]}')`);
  Deno.exit(2);
}
// the data written must fit beside the internal metadata, at the end of the disk
const DATA = Math.min(32 << 20, SIZE >> 2);
const dir = await Deno.makeTempDir({ prefix: "udrbd-demo-" });
const nodes = ["alpha", "beta"] as const;
type NodeName = typeof nodes[number];

/** Aborted by Ctrl-C or SIGTERM: running commands are killed, the walkthrough stops. */
const interrupt = new AbortController();
let exitCode = 1;

class Interrupted extends Error {}

function checkInterrupt(): void {
  if (interrupt.signal.aborted) throw new Interrupted("interrupted");
}

const onSignal = (name: "SIGINT" | "SIGTERM") => () => {
  if (interrupt.signal.aborted) return; // already cleaning up
  console.log(`\n${name === "SIGINT" ? "interrupted" : "terminated"}: cleaning up`);
  exitCode = name === "SIGINT" ? 130 : 143;
  interrupt.abort();
};
const signals = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
for (const [s, f] of signals) Deno.addSignalListener(s, f);

const sleep = (ms: number) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    interrupt.signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      interrupt.signal.removeEventListener("abort", done);
      resolve();
    }
  });

const conf = `resource r0 {
  device minor 0;
  meta-disk internal;
  net { protocol C; }
  disk { resync-rate 200M; c-plan-ahead 0; }
  on alpha { address 127.0.0.1:${PORT}; node-id 0; disk ${dir}/alpha/disk.img; }
  on beta  { address 127.0.0.1:${PORT + 1}; node-id 1; disk ${dir}/beta/disk.img; }
}
`;

const bold = (s: string) => Deno.stdout.isTerminal() ? `\x1b[1m${s}\x1b[0m` : s;

function env(node: NodeName): Record<string, string> {
  return {
    UDRBD_RUN_DIR: `${dir}/${node}/run`,
    UDRBD_HOSTNAME: node,
    DRBD_LIB_DIR: `${dir}/${node}/lib`,
  };
}

async function udrbd(
  node: NodeName,
  args: string[],
  opts: { show?: boolean; check?: boolean; cleanup?: boolean } = {},
): Promise<{ code: number; out: string }> {
  // the clean-up's own commands must run after the interruption
  if (!opts.cleanup) checkInterrupt();
  if (opts.show !== false) console.log(`${bold(`[${node}]`)} ${args.join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}mod.ts`, ...args],
    env: env(node),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: opts.cleanup ? undefined : interrupt.signal,
  }).output();
  if (!opts.cleanup) checkInterrupt();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (opts.show !== false && text.trim()) console.log(indent(text));
  if (opts.check !== false && out.code !== 0) {
    throw new Error(`${args.join(" ")} on ${node} failed with exit code ${out.code}`);
  }
  return { code: out.code, out: text };
}

const adm = (node: NodeName, ...args: string[]) =>
  udrbd(node, ["drbdadm", "-c", `${dir}/drbd.conf`, ...args]);

function indent(text: string): string {
  return text.trimEnd().split("\n").map((l) => `    ${l}`).join("\n");
}

async function overview(): Promise<void> {
  for (const n of nodes) {
    const r = await udrbd(n, ["drbd-overview"], { show: false, check: false });
    const text = r.code === 0 ? r.out : (await udrbd(n, ["drbdsetup", "status"], {
      show: false,
      check: false,
    })).out;
    console.log(`${bold(`[${n}] drbd-overview`)}\n${indent(text)}`);
  }
}

async function status(node: NodeName) {
  const r = await udrbd(node, ["drbdsetup", "status", "--json", "r0"], {
    show: false,
    check: false,
  });
  try {
    return JSON.parse(r.out)[0];
  } catch {
    return undefined;
  }
}

async function waitSync(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const s = await status("beta");
    const pd = s?.connections?.[0]?.peer_devices?.[0];
    const disk = s?.devices?.[0]?.["disk-state"];
    const line = `beta: disk ${disk}, replication ${pd?.["replication-state"]}` +
      (pd?.["percent-in-sync"] !== undefined ? `, ${pd["percent-in-sync"]}% in sync` : "");
    if (line !== last) console.log(`    ${line}`);
    last = line;
    if (disk === "UpToDate" && pd?.["replication-state"] === "Established") return true;
    await sleep(500);
  }
  return false;
}

async function sha256(path: string, length: number): Promise<string> {
  const f = await Deno.open(path);
  const buf = new Uint8Array(length);
  let off = 0;
  while (off < length) {
    const n = await f.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  f.close();
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", buf.subarray(0, off)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function nbdcopy(from: string, to: string): Promise<void> {
  checkInterrupt();
  const out = await new Deno.Command("nbdcopy", {
    args: [from, to],
    stderr: "piped",
    signal: interrupt.signal,
  }).output();
  checkInterrupt();
  if (out.code !== 0) throw new Error(`nbdcopy: ${new TextDecoder().decode(out.stderr)}`);
}

const exportOf = (n: NodeName) => `nbd+unix:///drbd0?socket=${dir}/${n}/run/nbd/drbd0.sock`;

/**
 * Stops a daemon that `daemon --stop` could not reach: one that an interrupted command started
 * and that was still starting. It holds its pid in daemon.pid; SIGTERM stops it in order.
 */
async function stopByPid(node: NodeName): Promise<void> {
  let pid = NaN;
  try {
    pid = Number(Deno.readTextFileSync(`${dir}/${node}/run/daemon.pid`).trim());
  } catch {
    return;
  }
  if (!(pid > 0) || !processAlive(pid)) return;
  Deno.kill(pid, "SIGTERM");
  for (let i = 0; i < 100 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (processAlive(pid)) Deno.kill(pid, "SIGKILL");
}

async function cleanup(): Promise<void> {
  const quiet = { show: false, check: false, cleanup: true };
  for (const n of nodes) {
    await udrbd(n, ["drbdadm", "-c", `${dir}/drbd.conf`, "down", "r0"], quiet).catch(() => {});
    await udrbd(n, ["daemon", "--stop"], quiet).catch(() => {});
    await stopByPid(n).catch(() => {});
  }
  if (!keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  else console.log(`files kept in ${dir}`);
}

let ok = false;
try {
  console.log(bold(`udrbd demo in ${dir}: resource r0 on alpha and beta, protocol C\n`));
  await Deno.writeTextFile(`${dir}/drbd.conf`, conf);
  for (const n of nodes) {
    await Deno.mkdir(`${dir}/${n}/lib`, { recursive: true });
    const f = await Deno.open(`${dir}/${n}/disk.img`, { create: true, write: true });
    await f.truncate(SIZE);
    f.close();
  }
  console.log(bold("1. create the metadata and bring both nodes up"));
  for (const n of nodes) await adm(n, "create-md", "r0");
  for (const n of nodes) await adm(n, "up", "r0");
  await sleep(1000);
  await overview();

  console.log(bold("\n2. make alpha Primary: its data becomes UpToDate and syncs to beta"));
  await adm("alpha", "primary", "--force", "r0");
  const synced = await waitSync(60_000);
  await overview();
  if (!synced) console.log("    beta did not reach UpToDate in time; continuing with alpha");

  console.log(bold(`\n3. write ${DATA >> 20} MiB of random data through alpha's NBD export`));
  const src = `${dir}/data.bin`;
  const rnd = new Uint8Array(DATA);
  for (let o = 0; o < DATA; o += 65536) crypto.getRandomValues(rnd.subarray(o, o + 65536));
  await Deno.writeFile(src, rnd);
  await nbdcopy(src, exportOf("alpha"));
  const want = await sha256(src, DATA);
  console.log(`    sha256 ${want}`);
  await overview();

  if (synced) {
    console.log(bold("\n4. switch roles: alpha Secondary, beta Primary, read the data on beta"));
    await adm("alpha", "secondary", "r0");
    await adm("beta", "primary", "r0");
    const back = `${dir}/back.bin`;
    await nbdcopy(exportOf("beta"), back);
    const got = await sha256(back, DATA);
    console.log(`    sha256 ${got} ${got === want ? "(same data)" : "(DIFFERENT!)"}`);
    await overview();
    ok = got === want;
  } else {
    ok = false;
  }
} catch (e) {
  if (!(e instanceof Interrupted) && !interrupt.signal.aborted) {
    console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
  }
} finally {
  console.log(bold("\n5. clean up: down both nodes, stop the daemons"));
  await cleanup();
  for (const [s, f] of signals) Deno.removeSignalListener(s, f);
}
if (interrupt.signal.aborted) {
  console.log(bold(keep ? "demo interrupted" : "demo interrupted; everything it made is gone"));
  Deno.exit(exitCode);
}
console.log(ok ? bold("demo finished: beta holds alpha's data") : bold("demo did not finish"));
Deno.exit(ok ? 0 : 1);
