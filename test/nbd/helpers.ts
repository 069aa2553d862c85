/**
 * Test helpers: start an in-process NBD export of a temporary file, run real client binaries
 * against it, and tell whether a client binary is installed.
 *
 * @module
 */
import {
  FileBlockDevice,
  type FileBlockDeviceOptions,
  NbdServer,
  type NbdServerOptions,
} from "../../lib/nbd/mod.ts";
import type { BlockDevice } from "../../lib/nbd/mod.ts";

import { run } from "../util/process.ts";

export { have, run, type RunResult } from "../util/process.ts";

/** A running export of a temporary file. */
export interface TestExport {
  dir: string;
  file: string;
  socket: string;
  /** `nbd+unix:///?socket=…` */
  uri: string;
  server: NbdServer;
  device: BlockDevice;
  /** Messages the server logged. */
  log: string[];
  /** Stops the server and starts a new one (new device handle) on the same file and socket. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link startExport}. */
export interface StartOptions extends FileBlockDeviceOptions {
  /** Size of the backing file (default 64 MiB). */
  size?: number;
  /** Export name (default ""). */
  name?: string;
  /** Wrap the file device (e.g. to make it refuse writes). */
  wrap?: (dev: FileBlockDevice) => BlockDevice;
  /** Also listen on TCP (port 0 = any free port). */
  tcp?: boolean;
  /** Further server options (limits, timeouts). */
  server?: Partial<NbdServerOptions>;
}

/** Creates a temporary backing file and exports it on a Unix socket. */
export async function startExport(opts: StartOptions = {}): Promise<TestExport> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-nbd-test-" });
  const file = `${dir}/disk.img`;
  const f = await Deno.open(file, { write: true, create: true });
  await f.truncate(opts.size ?? 64 << 20);
  f.close();
  const socket = `${dir}/s.sock`;
  const log: string[] = [];
  const listen = () => {
    const fileDev = FileBlockDevice.open(file, opts);
    const device = opts.wrap ? opts.wrap(fileDev) : fileDev;
    const server = NbdServer.listen({
      device,
      name: opts.name,
      path: socket,
      tcp: opts.tcp ? { port: 0 } : undefined,
      log: (m) => log.push(m),
      ...opts.server,
    });
    return { fileDev, device, server };
  };
  let cur = listen();
  const ex: TestExport = {
    dir,
    file,
    socket,
    uri: `nbd+unix:///?socket=${socket}`,
    server: cur.server,
    device: cur.device,
    log,
    async restart() {
      await cur.server.close();
      cur.fileDev.close();
      cur = listen();
      ex.server = cur.server;
      ex.device = cur.device;
    },
    async close() {
      await cur.server.close();
      cur.fileDev.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
  return ex;
}

/**
 * Runs a Python script in nbdsh on a handle connected to `uri` with `base:allocation` requested
 * (strict mode is the script's business); resolves to its stdout, rejects on failure.
 */
export async function nbdsh(uri: string, script: string): Promise<string> {
  const connect = `h.add_meta_context("base:allocation")\nh.connect_uri(${JSON.stringify(uri)})\n`;
  const r = await run("nbdsh", ["-c", connect + script]);
  if (r.code !== 0) throw new Error(`nbdsh failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Python prelude for {@link nbdErrors}: `e(f)` runs f and returns "ok" or the errno name. */
const ERRNO_PRELUDE = `
import errno
def e(f):
    try:
        f()
        return "ok"
    except nbd.Error as x:
        return errno.errorcode.get(x.errno, str(x.errno))
h.set_strict_mode(0)
size = h.get_size()
`;

/**
 * Runs each case (a Python expression over the nbdsh handle `h` and the export's `size`) on one
 * connection to `uri`, without libnbd's client-side checks; its answer by name ("ok" or the
 * server's errno name), plus "alive": a read after them all.
 */
export async function nbdErrors(
  uri: string,
  cases: Record<string, string>,
): Promise<Record<string, string>> {
  const lines = Object.entries(cases).map(([k, v]) =>
    `print(${JSON.stringify(k)} + "=" + e(lambda: ${v}))`
  );
  const out = await nbdsh(
    uri,
    `${ERRNO_PRELUDE}${lines.join("\n")}\nprint("alive=" + e(lambda: h.pread(512, 0)))`,
  );
  return Object.fromEntries(
    out.trim().split("\n").map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
}

/** SHA-256 of a file, hex. */
export async function sha256File(path: string): Promise<string> {
  const r = await run("sha256sum", [path]);
  return r.stdout.split(" ")[0];
}
