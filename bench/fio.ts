/**
 * fio's nbd engine as a measuring instrument for the benches: one job against one NBD URI,
 * its bandwidth, IOPS and write latency read from fio's JSON report.
 *
 * @module
 */

/** One fio job: what to run against an export. */
export interface FioJob {
  /** fio's `rw`: write, randwrite, read, randread. */
  rw: string;
  /** Block size in bytes. */
  bs: number;
  /** Requests in flight. */
  iodepth: number;
  /** Bytes of the export the job covers (from offset 0). */
  size: number;
  /** Seconds to run, looping over `size` (time-based), or undefined to stop after `ioSize`. */
  runtime?: number;
  /** Seconds of warm-up not counted (time-based jobs only). */
  ramp?: number;
  /** Bytes to transfer in a job that is not time-based (default: `size`). */
  ioSize?: number;
  /** Random seed, so that two runs dirty different blocks. */
  seed?: number;
}

/** What a fio job measured (the write side for writing jobs). */
export interface FioResult {
  /** Megabytes (10^6) per second. */
  mbps: number;
  iops: number;
  /** Mean completion latency in microseconds. */
  latMeanUs: number;
  /** 99th percentile completion latency in microseconds. */
  latP99Us: number;
  /** Bytes the measured part of the job moved (ramp excluded). */
  bytes: number;
  /** fio's own CPU time (user + system) over the measured part, in milliseconds. */
  cpuMs: number;
}

/** Whether fio runs here. */
export async function haveFio(): Promise<boolean> {
  try {
    return (await new Deno.Command("fio", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

/** Runs `job` against the NBD `uri` (`nbd+unix:///name?socket=…`) and reads fio's report. */
export async function fio(
  uri: string,
  job: FioJob,
  opts: { onRampEnd?: () => void } = {},
): Promise<FioResult> {
  const args = [
    "--name=bench",
    "--ioengine=nbd",
    `--uri=${uri}`,
    `--rw=${job.rw}`,
    `--bs=${job.bs}`,
    `--iodepth=${job.iodepth}`,
    `--size=${job.size}`,
    "--output-format=json",
  ];
  if (job.runtime !== undefined) {
    args.push("--time_based", `--runtime=${job.runtime}`, `--ramp_time=${job.ramp ?? 0}`);
  } else {
    args.push(`--io_size=${job.ioSize ?? job.size}`);
  }
  if (job.seed !== undefined) args.push(`--randseed=${job.seed}`);
  const running = new Deno.Command("fio", { args, stdout: "piped", stderr: "piped" }).output();
  // The ramp's end is when fio starts counting: callers sample other processes' CPU there.
  const rampEnd = opts.onRampEnd &&
    setTimeout(opts.onRampEnd, job.runtime !== undefined ? (job.ramp ?? 0) * 1000 : 0);
  const out = await running.finally(() => clearTimeout(rampEnd));
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`fio ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  const text = dec.decode(out.stdout);
  // fio may print notices before its JSON
  const report = JSON.parse(text.slice(text.indexOf("{")));
  const side = job.rw.includes("write") ? report.jobs[0].write : report.jobs[0].read;
  const pct = side.clat_ns?.percentile ?? {};
  return {
    mbps: side.bw_bytes / 1e6,
    iops: side.iops,
    latMeanUs: side.clat_ns.mean / 1000,
    latP99Us: (pct["99.000000"] ?? 0) / 1000,
    bytes: side.io_bytes,
    cpuMs: (report.jobs[0].usr_cpu + report.jobs[0].sys_cpu) / 100 * report.jobs[0].job_runtime,
  };
}
