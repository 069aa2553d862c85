/**
 * drbdmeta benchmark: create-md, dump-md and restore-md on a 1 TiB sparse file, udrbd against
 * the real drbdmeta of drbd-utils 9.22. Both run as processes (start-up included): the real
 * binary, and ours as `deno run -A mod.ts drbdmeta`. Ours in-process is shown for reference.
 *
 *     deno run -A bench/meta.ts [--reps N] [--size BYTES]
 *
 * Prints the median of N repetitions (default 5) and the ratio ours/real (goal: ≤ 1.0).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { run } from "../mod.ts";
import { MemoryConsole } from "../lib/cli/io.ts";

const REAL = "/usr/sbin/drbdmeta";
const MOD = new URL("../mod.ts", import.meta.url).pathname;
const MINOR = "78";

interface Tool {
  name: string;
  run(args: string[]): Promise<{ code: number; stdout: Uint8Array; stderr: string }>;
}

async function spawn(cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

const real: Tool = { name: "real drbdmeta", run: (args) => spawn(REAL, args) };
const ours: Tool = {
  name: "udrbd (deno run)",
  run: (args) => spawn(Deno.execPath(), ["run", "-A", MOD, "drbdmeta", ...args]),
};
const oursInProcess: Tool = {
  name: "udrbd in-process",
  async run(args) {
    const io = new MemoryConsole();
    const code = await run("udrbd", ["drbdmeta", ...args], io);
    return { code, stdout: new TextEncoder().encode(io.stdout), stderr: io.stderr };
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function fresh(path: string, size: number): Promise<void> {
  await Deno.remove(path).catch(() => {});
  const f = await Deno.open(path, { create: true, write: true });
  try {
    await f.truncate(size);
  } finally {
    f.close();
  }
}

async function timed(tool: Tool, args: string[]) {
  const t0 = performance.now();
  const r = await tool.run(args);
  const ms = performance.now() - t0;
  if (r.code !== 0) {
    throw new Error(`${tool.name} ${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
  }
  return { ms, stdout: r.stdout };
}

/**
 * Makes the whole device "in use" (la-size-sect = max usable) and sets about `density` of the
 * bitmap's 32-bit words to random values, so that dump-md and restore-md handle a full bitmap.
 */
async function fillBitmap(dev: string, size: number, density: number): Promise<void> {
  const f = await Deno.open(dev, { read: true, write: true });
  try {
    const mdOffset = Math.floor((size - 4096) / 4096) * 4096;
    const sb = new Uint8Array(4096);
    await f.seek(mdOffset, Deno.SeekMode.Start);
    await f.read(sb);
    const view = new DataView(sb.buffer);
    const bmPos = mdOffset + view.getInt32(0x4C) * 512;
    view.setBigUint64(0, BigInt(bmPos / 512));
    await f.seek(mdOffset, Deno.SeekMode.Start);
    await f.write(sb);
    const words = new Uint32Array((mdOffset + view.getInt32(0x44) * 512 - bmPos) / 4);
    let x = 0x12345678;
    for (let i = 0; i < words.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      if (x % 1000 < density * 1000) words[i] = x;
    }
    await f.seek(bmPos, Deno.SeekMode.Start);
    const bytes = new Uint8Array(words.buffer);
    for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
  } finally {
    f.close();
  }
}

interface Scenario {
  label: string;
  peers: number;
  /** Fraction of bitmap words to set after create-md (undefined: leave fresh metadata). */
  density?: number;
}

/** Times create-md, dump-md and restore-md for one tool; returns median ms per operation. */
async function measure(tool: Tool, dir: string, size: number, sc: Scenario, reps: number) {
  const peers = sc.peers;
  const dev = `${dir}/dev.img`;
  const dump = `${dir}/dump.txt`;
  const md = (...rest: string[]) => ["--force", MINOR, "v09", dev, "internal", ...rest];
  const times: Record<string, number[]> = { "create-md": [], "dump-md": [], "restore-md": [] };
  for (let i = 0; i < reps; i++) {
    await fresh(dev, size);
    times["create-md"].push((await timed(tool, md("create-md", String(peers)))).ms);
    if (sc.density !== undefined) await fillBitmap(dev, size, sc.density);
    const d = await timed(tool, md("dump-md"));
    times["dump-md"].push(d.ms);
    await Deno.writeFile(dump, d.stdout);
    times["restore-md"].push((await timed(tool, md("restore-md", dump))).ms);
  }
  await Deno.remove(dev).catch(() => {});
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { reps: { type: "string", default: "5" }, size: { type: "string" } },
  });
  const reps = Number(values.reps);
  const size = values.size ? Number(values.size) : 2 ** 40;
  const dir = await Deno.makeTempDir({ prefix: "udrbd-bench-" });
  const lkbd = `/var/lib/drbd/drbd-minor-${MINOR}.lkbd`;
  try {
    // warm the module cache so that the first timed run does not pay for it
    await ours.run(["--version"]);
    const rows: string[][] = [];
    const tib = `${size / 2 ** 40} TiB`;
    const scenarios: Scenario[] = [
      { label: `${tib} v09/1`, peers: 1 },
      { label: `${tib} v09/2`, peers: 2 },
      { label: `${tib} v09/1, full, 1% bits`, peers: 1, density: 0.01 },
    ];
    for (const sc of scenarios) {
      const r = await measure(real, dir, size, sc, reps);
      const o = await measure(ours, dir, size, sc, reps);
      const p = await measure(oursInProcess, dir, size, sc, reps);
      for (const op of ["create-md", "dump-md", "restore-md"]) {
        if (sc.density !== undefined && op === "create-md") continue;
        rows.push([
          sc.label,
          op,
          r[op].toFixed(1),
          o[op].toFixed(1),
          p[op].toFixed(1),
          (o[op] / r[op]).toFixed(2),
        ]);
      }
    }
    const head = ["device", "command", "real ms", "ours ms", "in-process ms", "ours/real"];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
      "| " + r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") +
      " |";
    console.log(`drbdmeta benchmark: median of ${reps} runs each (processes include start-up)\n`);
    console.log(line(head));
    const rule = widths.map((w, i) => (i < 2 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":"));
    console.log("|" + rule.join("|") + "|");
    for (const r of rows) console.log(line(r));
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(lkbd).catch(() => {});
  }
}

if (import.meta.main) await main();
