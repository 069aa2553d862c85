/**
 * NBD export benchmark: fio's nbd engine against three servers of the same backing file, in one
 * run: our bare NBD server (FileBlockDevice), the node daemon's export of a DRBD resource on
 * that file (brought up with drbdadm, Primary, external metadata, no peer connected), and
 * `nbdkit file`. Jobs: 4 KiB random read and write at iodepth 32, 1 MiB sequential read and
 * write. Prints MB/s, IOPS and each one's ratio to nbdkit (goals for the bare server: ≥ 1.0 on
 * 1 MiB sequential, ≥ 0.7 on 4 KiB random).
 *
 * Needs fio and nbdkit (Debian: `apt-get install fio nbdkit`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FileBlockDevice, NbdServer } from "../lib/nbd/mod.ts";
import { type DaemonExport, startDaemonExport } from "./nbd_serve.ts";

const HELP = `USAGE: deno run -A bench/nbd.ts [OPTIONS]

fio (nbd engine, iodepth 32, one job) against the bare udrbd NBD server, the udrbd daemon's
DRBD export and nbdkit's file plugin, all on the same file; prints a Markdown table.

  --runtime SECONDS     per job and server (default 10)
  --size BYTES          backing file size (default 1 GiB)
  --dir DIR             keep the backing file here (default: a temporary directory)
  --only TEXT           only the jobs whose name contains TEXT ("randread", "1M", ...)
  --async-io-min BYTES  FileBlockDevice's asyncIoMin for the bare server (or Infinity)
  --no-daemon           leave the daemon export out
  -h, --help            this text
`;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runtime: { type: "string", default: "10" },
    size: { type: "string", default: String(1 << 30) },
    dir: { type: "string" },
    only: { type: "string" },
    "async-io-min": { type: "string" },
    "no-daemon": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(HELP);
  Deno.exit(0);
}
const runtime = Number(values.runtime);
const size = Number(values.size);

interface Job {
  name: string;
  rw: string;
  bs: string;
}
const JOBS: Job[] = [
  { name: "4k randread", rw: "randread", bs: "4k" },
  { name: "4k randwrite", rw: "randwrite", bs: "4k" },
  { name: "1M read", rw: "read", bs: "1M" },
  { name: "1M write", rw: "write", bs: "1M" },
];

interface Result {
  bw: number;
  iops: number;
}

async function fio(uri: string, job: Job): Promise<Result> {
  const out = await new Deno.Command("fio", {
    args: [
      "--name=bench",
      "--ioengine=nbd",
      `--uri=${uri}`,
      `--rw=${job.rw}`,
      `--bs=${job.bs}`,
      "--iodepth=32",
      `--size=${size}`,
      "--time_based",
      `--runtime=${runtime}`,
      "--ramp_time=1",
      "--output-format=json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`fio failed: ${new TextDecoder().decode(out.stderr)}`);
  const text = new TextDecoder().decode(out.stdout);
  const j = JSON.parse(text.slice(text.indexOf("{")));
  const side = job.rw.includes("write") ? j.jobs[0].write : j.jobs[0].read;
  return { bw: side.bw_bytes / 1e6, iops: side.iops };
}

/** nbdkit writes its pid file once it listens. */
async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${path} did not appear`);
}

const dir = values.dir ?? await Deno.makeTempDir({ prefix: "udrbd-nbd-bench-" });
const file = `${dir}/disk.img`;
const ours = `${dir}/ours.sock`;
const kit = `${dir}/nbdkit.sock`;
{
  // Real data (not a sparse file), so that both servers read the same page-cached bytes.
  const f = await Deno.open(file, { write: true, create: true, truncate: true });
  const chunk = new Uint8Array(1 << 20);
  for (let off = 0; off < size; off += chunk.length) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    await f.write(chunk);
  }
  f.close();
}

const asyncMin = values["async-io-min"];
const device = FileBlockDevice.open(file, {
  asyncIoMin: asyncMin === undefined ? undefined : Number(asyncMin),
});
const server = NbdServer.listen({ device, path: ours });
const nbdkit = new Deno.Command("nbdkit", {
  args: ["-f", "-U", kit, "-P", `${dir}/nbdkit.pid`, "file", file],
  stdout: "null",
  stderr: "inherit",
}).spawn();
let daemon: DaemonExport | undefined;
try {
  await waitForFile(`${dir}/nbdkit.pid`);
  if (!values["no-daemon"]) daemon = await startDaemonExport(file);
  const targets = [
    { name: "udrbd", uri: `nbd+unix:///?socket=${ours}` },
    ...(daemon ? [{ name: "daemon", uri: daemon.uri }] : []),
    { name: "nbdkit", uri: `nbd+unix:///?socket=${kit}` },
  ];
  const ratios = targets.filter((t) => t.name !== "nbdkit");
  console.log(
    `fio --ioengine=nbd --iodepth=32 --size=${size} --time_based --runtime=${runtime}` +
      ` --ramp_time=1 (one job), Unix sockets, ${Deno.build.os}, ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log(
    "| job | " + targets.map((t) => `${t.name} MB/s | ${t.name} IOPS`).join(" | ") + " | " +
      ratios.map((t) => `${t.name}/nbdkit`).join(" | ") + " |",
  );
  console.log(`| --- |${" ---: |".repeat(targets.length * 2 + ratios.length)}`);
  for (const job of JOBS.filter((j) => !values.only || j.name.includes(values.only!))) {
    // the servers take turns on each job, so that drift in the machine's load hits all alike
    const results = new Map<string, Result>();
    for (const t of targets) results.set(t.name, await fio(t.uri, job));
    const kitIops = results.get("nbdkit")!.iops;
    console.log(
      `| ${job.name} | ` +
        targets.map((t) => {
          const r = results.get(t.name)!;
          return `${r.bw.toFixed(0)} | ${r.iops.toFixed(0)}`;
        }).join(" | ") + " | " +
        ratios.map((t) => (results.get(t.name)!.iops / kitIops).toFixed(2)).join(" | ") + " |",
    );
  }
} finally {
  await daemon?.close();
  nbdkit.kill("SIGTERM");
  await nbdkit.status;
  await server.close();
  device.close();
  if (!values.dir) await Deno.remove(dir, { recursive: true });
}
