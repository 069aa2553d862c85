/**
 * CPU time of processes from /proc/<pid>/stat, for the benches' CPU-per-MiB figures: on a
 * machine with few shared cores, CPU time per byte moved says more about the code than MB/s,
 * which rises and falls with whatever else runs.
 *
 * @module
 */

/** Clock ticks per second of /proc's utime and stime (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/**
 * User plus system CPU time of process `pid` so far (all its threads), in milliseconds, or
 * undefined when the process is gone or /proc cannot be read.
 */
export function cpuMs(pid: number): number | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: split after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 1000 / TICKS_PER_SECOND : undefined;
}

/** CPU milliseconds each watched process spent between {@link CpuMeter.start} and `stop`. */
export class CpuMeter {
  #pids: Record<string, number | undefined>;
  #start: Record<string, number | undefined> = {};

  /** Watches the processes named in `pids` (an undefined pid is reported as NaN). */
  constructor(pids: Record<string, number | undefined>) {
    this.#pids = pids;
  }

  /** Takes the starting sample. */
  start(): void {
    for (const [name, pid] of Object.entries(this.#pids)) {
      this.#start[name] = pid === undefined ? undefined : cpuMs(pid);
    }
  }

  /** CPU milliseconds per process since {@link CpuMeter.start} (NaN where unknown). */
  stop(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.#pids)) {
      const a = this.#start[name], b = pid === undefined ? undefined : cpuMs(pid);
      out[name] = a === undefined || b === undefined ? NaN : b - a;
    }
    return out;
  }
}
