/**
 * NBD export benchmark: fio's nbd engine against our server and against `nbdkit file` on the
 * same backing file, in one run: 4 KiB random read and write at iodepth 32, 1 MiB sequential
 * read and write. Prints MB/s, IOPS and the ratio ours/nbdkit (goals: ≥ 1.0 on 1 MiB
 * sequential, ≥ 0.7 on 4 KiB random).
 *
 *     deno run -A bench/nbd.ts [--runtime SECONDS] [--size BYTES] [--dir DIR] [--only JOB]
 *
 * `--only` keeps the jobs whose name contains it ("randread", "1M", …); `--async-io-min` sets
 * FileBlockDevice's `asyncIoMin` (bytes, or Infinity).
 *
 * Needs fio and nbdkit (Debian: `apt-get install fio nbdkit`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FileBlockDevice, NbdServer } from "../lib/nbd/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runtime: { type: "string", default: "10" },
    size: { type: "string", default: String(1 << 30) },
    dir: { type: "string" },
    only: { type: "string" },
    "async-io-min": { type: "string" },
  },
});
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
try {
  await waitForFile(`${dir}/nbdkit.pid`);
  console.log(
    `fio --ioengine=nbd --iodepth=32 --size=${size} --time_based --runtime=${runtime}` +
      ` --ramp_time=1 (one job), Unix sockets, ${Deno.build.os}, ${navigator.hardwareConcurrency} CPUs`,
  );
  console.log("| job | udrbd MB/s | udrbd IOPS | nbdkit MB/s | nbdkit IOPS | ratio |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const job of JOBS.filter((j) => !values.only || j.name.includes(values.only!))) {
    const a = await fio(`nbd+unix:///?socket=${ours}`, job);
    const b = await fio(`nbd+unix:///?socket=${kit}`, job);
    console.log(
      `| ${job.name} | ${a.bw.toFixed(0)} | ${a.iops.toFixed(0)} | ${b.bw.toFixed(0)} | ` +
        `${b.iops.toFixed(0)} | ${(a.iops / b.iops).toFixed(2)} |`,
    );
  }
} finally {
  nbdkit.kill("SIGTERM");
  await nbdkit.status;
  await server.close();
  device.close();
  if (!values.dir) await Deno.remove(dir, { recursive: true });
}
