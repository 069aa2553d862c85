/**
 * The seed walkthrough on one machine: two udrbd nodes ("alpha" and "beta", each its own daemon
 * and run directory) with file-backed disks replicate resource r0 over loopback. The demo
 * creates the metadata, brings both nodes up, makes alpha Primary with --force (the initial
 * full sync), writes data through alpha's NBD export, switches the Primary role to beta and
 * reads the same data back there. It shows `drbd-overview`/status at each step and removes
 * everything it made, also when interrupted (Ctrl-C).
 *
 * Run: `deno task demo` (needs nbdcopy from libnbd-bin; `--keep` leaves the files for a look).
 *
 * @module
 */

const root = new URL("..", import.meta.url).pathname;
const keep = Deno.args.includes("--keep");
const dir = await Deno.makeTempDir({ prefix: "udrbd-demo-" });
const nodes = ["alpha", "beta"] as const;
type NodeName = typeof nodes[number];
const SIZE = 256 << 20;
const DATA = 32 << 20;

const conf = `resource r0 {
  device minor 0;
  meta-disk internal;
  net { protocol C; }
  disk { resync-rate 200M; c-plan-ahead 0; }
  on alpha { address 127.0.0.1:7789; node-id 0; disk ${dir}/alpha/disk.img; }
  on beta  { address 127.0.0.1:7790; node-id 1; disk ${dir}/beta/disk.img; }
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
  opts: { show?: boolean; check?: boolean } = {},
): Promise<{ code: number; out: string }> {
  if (opts.show !== false) console.log(`${bold(`[${node}]`)} ${args.join(" ")}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}mod.ts`, ...args],
    env: env(node),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
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
    await new Promise((r) => setTimeout(r, 500));
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
  const out = await new Deno.Command("nbdcopy", { args: [from, to], stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`nbdcopy: ${new TextDecoder().decode(out.stderr)}`);
}

const exportOf = (n: NodeName) => `nbd+unix:///drbd0?socket=${dir}/${n}/run/nbd/drbd0.sock`;

async function cleanup(): Promise<void> {
  for (const n of nodes) {
    await udrbd(n, ["drbdadm", "-c", `${dir}/drbd.conf`, "down", "r0"], {
      show: false,
      check: false,
    }).catch(() => {});
    await udrbd(n, ["daemon", "--stop"], { show: false, check: false }).catch(() => {});
  }
  if (!keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
  else console.log(`files kept in ${dir}`);
}

const interrupted = () => {
  console.log("\ninterrupted: cleaning up");
  cleanup().finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", interrupted);

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
  await new Promise((r) => setTimeout(r, 1000));
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
  console.error(`demo failed: ${e instanceof Error ? e.message : e}`);
} finally {
  Deno.removeSignalListener("SIGINT", interrupted);
  console.log(bold("\n5. clean up: down both nodes, stop the daemons"));
  await cleanup();
}
console.log(ok ? bold("demo finished: beta holds alpha's data") : bold("demo did not finish"));
Deno.exit(ok ? 0 : 1);
