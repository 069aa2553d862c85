/**
 * Exports a file (or block device) over NBD until interrupted; for tests, benchmarks and manual
 * poking with nbdinfo, qemu-io, nbdsh. Either with the bare NBD server (FileBlockDevice), or,
 * with `--drbd`, through the node daemon: a DRBD resource on the file, brought up with drbdadm
 * and made Primary, its metadata external (in a file beside the run directory) so that the
 * export is the whole file.
 *
 *     deno run -A bench/nbd_serve.ts FILE --socket PATH [--tcp PORT] [--name NAME] [--read-only]
 *       [--async-io] [--verbose]
 *     deno run -A bench/nbd_serve.ts FILE --drbd [--socket PATH]
 *
 * Prints "ready" on stdout once listening. With `--drbd` the export lives in a temporary run
 * directory (its URI is printed on stderr); `--socket` then makes PATH a symlink to it.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { FileBlockDevice, NbdServer } from "../lib/nbd/mod.ts";

const MOD_TS = decodeURIComponent(new URL("../mod.ts", import.meta.url).pathname);

/** The node name the daemon export's configuration is written for. */
const HOST = "bench";

/** A DRBD resource exporting a file through the node daemon. */
export interface DaemonExport {
  /** The minor's NBD socket. */
  socket: string;
  /** `nbd+unix:///drbd0?socket=…` */
  uri: string;
  /** Takes the resource down, stops the daemon and removes the temporary directory. */
  close(): Promise<void>;
}

/** Options of {@link startDaemonExport}. */
export interface DaemonExportOptions {
  /** Where the run directory, configuration and metadata go (default: a new temporary one). */
  dir?: string;
  /** Whether the daemon logs at debug level. */
  verbose?: boolean;
}

/**
 * Brings up a DRBD resource on `file` with the real CLI (`drbdadm create-md`, `up`,
 * `primary --force`; the daemon starts on demand in its own run directory) and resolves to its
 * export. The metadata is flex-external, so `file`'s bytes are the device's, untouched.
 */
export async function startDaemonExport(
  file: string,
  options: DaemonExportOptions = {},
): Promise<DaemonExport> {
  const dir = options.dir ?? await Deno.makeTempDir({ prefix: "udrbd-daemon-export-" });
  const size = (await Deno.stat(file)).size;
  const md = `${dir}/md.img`, conf = `${dir}/drbd.conf`, runDir = `${dir}/run`;
  await Deno.mkdir(`${dir}/lib`, { recursive: true });
  {
    // a bitmap bit per 4 KiB per peer, plus superblock and activity log
    const f = await Deno.open(md, { write: true, create: true, truncate: true });
    await f.truncate(Math.ceil(size / 32768 / 4096) * 4096 + (1 << 20));
    f.close();
  }
  // the peer is never started; random ports keep two runs apart
  const port = 20001 + Math.floor(Math.random() * 20000) * 2;
  await Deno.writeTextFile(
    conf,
    `resource bench {
  device minor 0;
  disk ${file};
  meta-disk ${md};
  on ${HOST} { address 127.0.0.1:${port}; node-id 0; }
  on peer { address 127.0.0.1:${port + 1}; node-id 1; }
}
`,
  );
  const env = { UDRBD_RUN_DIR: runDir, UDRBD_HOSTNAME: HOST, DRBD_LIB_DIR: `${dir}/lib` };
  const udrbd = async (args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MOD_TS, ...args],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `udrbd ${args.join(" ")} failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`,
      );
    }
  };
  const close = async () => {
    try {
      await udrbd(["daemon", "--stop"]);
    } finally {
      if (!options.dir) await Deno.remove(dir, { recursive: true });
    }
  };
  try {
    if (options.verbose) await udrbd(["daemon", "--log-level", "debug"]);
    await udrbd(["drbdadm", "-c", conf, "create-md", "bench"]);
    await udrbd(["drbdadm", "-c", conf, "up", "bench"]);
    await udrbd(["drbdadm", "-c", conf, "primary", "--force", "bench"]);
  } catch (e) {
    await close();
    throw e;
  }
  const socket = `${runDir}/nbd/drbd0.sock`;
  return { socket, uri: `nbd+unix:///drbd0?socket=${socket}`, close };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      socket: { type: "string" },
      tcp: { type: "string" },
      name: { type: "string", default: "" },
      "read-only": { type: "boolean", default: false },
      "async-io": { type: "boolean", default: false },
      drbd: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
  });
  if (positionals.length !== 1 || (!values.drbd && !values.socket && !values.tcp)) {
    console.error(
      "usage: nbd_serve.ts FILE --socket PATH [--tcp PORT] [--name N] [--read-only]\n" +
        "       nbd_serve.ts FILE --drbd [--socket PATH]",
    );
    Deno.exit(2);
  }
  let stop: () => Promise<void>;
  if (values.drbd) {
    const ex = await startDaemonExport(positionals[0], { verbose: values.verbose });
    const link = values.socket;
    if (link) await Deno.symlink(ex.socket, link);
    console.error(ex.uri);
    stop = async () => {
      if (link) await Deno.remove(link).catch(() => {});
      await ex.close();
    };
  } else {
    const device = FileBlockDevice.open(positionals[0], {
      readOnly: values["read-only"],
      asyncIo: values["async-io"],
    });
    const server = NbdServer.listen({
      device,
      name: values.name,
      path: values.socket,
      tcp: values.tcp ? { port: Number(values.tcp) } : undefined,
      log: values.verbose ? (m) => console.error(m) : undefined,
    });
    stop = async () => {
      await server.close();
      device.close();
    };
  }
  // signal listeners alone do not keep Deno running (the daemon export has nothing else here)
  const { promise: interrupted, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", resolve);
  Deno.addSignalListener("SIGINT", resolve);
  console.log("ready");
  await interrupted;
  await stop();
  Deno.exit(0);
}

if (import.meta.main) await main();
