/**
 * drbdmeta refuses to change the metadata of a minor the running daemon has attached, and
 * marks read-only output as possibly stale, as drbdmeta 9.22 does through `drbdsetup dstate`.
 */
import assert from "node:assert/strict";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { Node } from "../../lib/engine/node.ts";
import { drbdmetaMain } from "../../lib/meta/cli.ts";
import { Logger } from "../../lib/util/log.ts";

Deno.test("drbdmeta refuses create-md on an attached minor and says dump-md may be stale", async () => {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-attached-" });
  const saved = Deno.env.get("UDRBD_RUN_DIR");
  Deno.env.set("UDRBD_RUN_DIR", `${dir}/run`);
  Deno.env.set("DRBD_LIB_DIR", dir);
  const disk = `${dir}/disk.img`;
  const f = await Deno.open(disk, { create: true, write: true });
  await f.truncate(32 << 20);
  f.close();
  const meta = (args: string[]) => {
    const io = new MemoryConsole();
    const code = drbdmetaMain(["--force", "3", "v09", disk, "internal", ...args], io, {
      progname: "drbdmeta",
    });
    return { code, io };
  };
  assert.equal(meta(["create-md", "1"]).code, 0);
  const node = new Node({ runDir: `${dir}/run`, log: new Logger({}) });
  const ctx = { emit() {}, signal: new AbortController().signal };
  try {
    await node.handle("new-resource", { args: { resource: "r0", node_id: "0" } }, ctx);
    await node.handle("new-minor", { args: { resource: "r0", minor: "3", volume: "0" } }, ctx);
    await node.handle("attach", {
      args: { minor: "3", lower_dev: disk, meta_data_dev: disk, meta_data_index: "internal" },
    }, ctx);
    await Deno.writeTextFile(`${dir}/run/daemon.pid`, `${Deno.pid}\n`);
    for (let i = 0; i < 50 && !/ds:UpToDate|ds:Inconsistent/.test(await procText(dir)); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const create = meta(["create-md", "1"]);
    assert.equal(create.code, 20);
    assert.equal(create.io.stderr, "Device '3' is configured!\n");
    const dump = meta(["dump-md"]);
    assert.equal(dump.code, 0);
    assert.match(dump.io.stderr, /# Output might be stale, since minor 3 is attached\n$/);
  } finally {
    await node.shutdown();
    if (saved === undefined) Deno.env.delete("UDRBD_RUN_DIR");
    else Deno.env.set("UDRBD_RUN_DIR", saved);
    await Deno.remove(dir, { recursive: true });
  }
});

async function procText(dir: string): Promise<string> {
  try {
    return await Deno.readTextFile(`${dir}/run/proc`);
  } catch {
    return "";
  }
}
