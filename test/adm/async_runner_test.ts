/**
 * drbdadm with drbdsetup steps that answer asynchronously, as they will once they go to the
 * udrbd daemon over its control socket: a small server on a real Unix socket stands where the
 * daemon will be, records each command line and answers with an exit code and a line of output.
 * drbdmeta steps still run in-process on a real disk image.
 *
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../cmd/drbdadm.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { setEnv } from "../util/env.ts";
import type { StepRunner } from "../../lib/adm/mod.ts";

const HOST = "alice";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A stand-in control socket: one connection per step, argv as a JSON line, reply as a JSON line. */
class StepServer {
  readonly path: string;
  /** Command lines received, in order. */
  readonly received: string[] = [];
  /** Most requests that were open at the same moment. */
  maxInFlight = 0;
  #inFlight = 0;
  #listener: Deno.UnixListener;
  #loop: Promise<void>;
  #codes: Map<string, number>;
  #conns = new Set<Promise<void>>();

  /** `codes` maps a drbdsetup subcommand to the exit code it answers with (default 0). */
  constructor(path: string, codes: Record<string, number> = {}) {
    this.path = path;
    this.#codes = new Map(Object.entries(codes));
    this.#listener = Deno.listen({ transport: "unix", path });
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      const p = this.#serve(conn).finally(() => this.#conns.delete(p));
      this.#conns.add(p);
    }
  }

  async #serve(conn: Deno.UnixConn): Promise<void> {
    this.#inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    try {
      const argv: string[] = JSON.parse(await readLine(conn));
      this.received.push(argv.join(" "));
      // answer later, so that a caller that did not wait would run ahead
      await new Promise((r) => setTimeout(r, 5));
      const code = this.#codes.get(argv[1]) ?? 0;
      const reply = JSON.stringify({ code, out: `daemon: ${argv[1]} done\n` }) + "\n";
      await conn.write(encoder.encode(reply));
    } finally {
      this.#inFlight--;
      conn.close();
    }
  }

  /** A step runner that sends each drbdsetup step here and waits for its answer. */
  runner(): StepRunner {
    return async (argv, io) => {
      const conn = await Deno.connect({ transport: "unix", path: this.path });
      try {
        await conn.write(encoder.encode(JSON.stringify(argv) + "\n"));
        const { code, out } = JSON.parse(await readLine(conn));
        io.out(out);
        return code;
      } finally {
        conn.close();
      }
    };
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#loop;
    await Promise.all(this.#conns);
  }
}

async function readLine(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  while (!text.includes("\n")) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text.slice(0, text.indexOf("\n"));
}

const CONF = `
resource r0 {
  disk { on-io-error detach; }
  device /dev/drbd0; disk @DIR@/r0.img; meta-disk internal;
  on alice { address 127.0.0.1:7788; }
  on bob { address 10.0.0.2:7788; }
}
resource r1 {
  device /dev/drbd1; disk @DIR@/r1.img; meta-disk internal;
  on alice { address 127.0.0.1:7789; }
  on bob { address 10.0.0.2:7789; }
}
`;

async function withServer(
  codes: Record<string, number>,
  fn: (conf: string, dir: string, server: StepServer) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-adm-async-" });
  // drbdmeta steps remember devices in DRBD_LIB_DIR, and up registers its configuration file in
  // the run directory: keep both in the test's folder, not in /var/lib/drbd and /run/udrbd
  const restore = setEnv({ DRBD_LIB_DIR: `${dir}/lib`, UDRBD_RUN_DIR: `${dir}/run` });
  const server = new StepServer(`${dir}/control.sock`, codes);
  try {
    const conf = `${dir}/drbd.conf`;
    Deno.writeTextFileSync(conf, CONF.replaceAll("@DIR@", dir));
    for (const r of ["r0", "r1"]) {
      using f = Deno.openSync(`${dir}/${r}.img`, { create: true, write: true });
      f.truncateSync(16 << 20);
    }
    await fn(conf, dir, server);
  } finally {
    await server.close();
    restore();
    Deno.removeSync(dir, { recursive: true });
  }
}

async function adm(args: string[], server: StepServer) {
  const io = new MemoryConsole();
  const code = await main(args, io, { hostname: HOST, tty: false, setupRunner: server.runner() });
  return { code, out: io.stdout, err: io.stderr };
}

Deno.test("drbdadm -v up shows each step's answer right after its command line, one step at a time", async () => {
  await withServer({}, async (conf, dir, server) => {
    const md = await adm(["-c", conf, "create-md", "--force", "r0"], server);
    assert.equal(md.code, 0, md.err);
    const r = await adm(["-c", conf, "-v", "up", "r0"], server);
    assert.equal(r.code, 0, r.err);
    const img = `${dir}/r0.img`;
    assert.equal(
      r.out,
      [
        "drbdsetup new-resource r0 1",
        "daemon: new-resource done",
        "drbdsetup new-minor r0 0 0",
        "daemon: new-minor done",
        "drbdsetup new-peer r0 0 --_name=bob",
        "daemon: new-peer done",
        "drbdsetup new-path r0 0 ipv4:127.0.0.1:7788 ipv4:10.0.0.2:7788",
        "daemon: new-path done",
        `drbdmeta 0 v09 ${img} internal apply-al`,
        `drbdsetup attach 0 ${img} ${img} internal --on-io-error=detach`,
        "daemon: attach done",
        "drbdsetup connect r0 0",
        "daemon: connect done",
        "",
      ].join("\n"),
    );
    assert.equal(server.maxInFlight, 1);
    assert.deepEqual(server.received, [
      "drbdsetup new-resource r0 1",
      "drbdsetup new-minor r0 0 0",
      "drbdsetup new-peer r0 0 --_name=bob",
      "drbdsetup new-path r0 0 ipv4:127.0.0.1:7788 ipv4:10.0.0.2:7788",
      `drbdsetup attach 0 ${img} ${img} internal --on-io-error=detach`,
      "drbdsetup connect r0 0",
    ]);
  });
});

Deno.test("when the daemon refuses new-resource, drbdadm up stops there and exits 1", async () => {
  await withServer({ "new-resource": 10 }, async (conf, _dir, server) => {
    const r = await adm(["-c", conf, "up", "r0"], server);
    assert.equal(r.code, 1);
    assert.equal(r.err, "Command 'drbdsetup new-resource r0 1' terminated with exit code 10\n");
    assert.deepEqual(server.received, ["drbdsetup new-resource r0 1"]);
  });
});

Deno.test("a step failing with exit code 20 ends drbdadm before the next resource", async () => {
  await withServer({ primary: 20 }, async (conf, _dir, server) => {
    const r = await adm(["-c", conf, "primary", "r0", "r1"], server);
    assert.equal(r.code, 20);
    assert.equal(r.err, "Command 'drbdsetup primary r0' terminated with exit code 20\n");
    assert.deepEqual(server.received, ["drbdsetup primary r0"]);
  });
});

Deno.test("drbdadm secondary all runs the resources one after the other", async () => {
  await withServer({}, async (conf, _dir, server) => {
    const r = await adm(["-c", conf, "secondary", "all"], server);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "daemon: secondary done\ndaemon: secondary done\n");
    assert.deepEqual(server.received, ["drbdsetup secondary r0", "drbdsetup secondary r1"]);
    assert.equal(server.maxInFlight, 1);
  });
});
