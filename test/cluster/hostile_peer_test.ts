/**
 * A peer that sends well-framed but wrong requests (data past the end of the device, into the
 * internal metadata; a size that is not whole sectors; a volume the node does not have) ends
 * its connection with a protocol error. The daemon lives on, its metadata stays intact, and a
 * well-behaved peer connects afterwards. The hostile peer is our own wire client in this
 * process, speaking for beta to alpha's real daemon.
 */
import assert from "node:assert/strict";
import type { Packet } from "../../lib/wire/mod.ts";
import { Cluster, connectAsBeta, until } from "./helpers.ts";

/** Connects as beta, sends `packet` on the data socket, and waits for alpha to hang up. */
async function sendAsBeta(c: Cluster, packet: Packet): Promise<void> {
  const { conn, drained: draining } = await connectAsBeta(c);
  await conn.send(packet).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hungUp = await Promise.race([
    conn.closed.then(() => true),
    new Promise<false>((r) => timer = setTimeout(() => r(false), 10_000)),
  ]);
  clearTimeout(timer);
  if (!hungUp) await conn.close("alpha took the packet");
  await draining;
  assert.ok(
    hungUp,
    `alpha accepted ${packet.type} for volume ${"volume" in packet ? packet.volume : "-"}`,
  );
}

Deno.test("a peer writing past the device, in odd sizes or to a missing volume is cut off; the daemon and its metadata live on", async () => {
  const c = await Cluster.create({ size: 16 << 20 });
  try {
    await c.alpha.adm("up", "r0");
    const fileBytes = (await Deno.stat(c.alpha.disk)).size;
    const before = await c.alpha.udrbd(["drbdsetup", "show-gi", "0"]);
    const superblock = fileBytes / 512 - 8; // the last 4 KiB of the file: the v09 superblock
    const garbage = new Uint8Array(4096).fill(0xee);
    const data = (volume: number, sector: number, payload: Uint8Array): Packet => ({
      type: "Data",
      volume,
      sector,
      blockId: 1,
      seq: 1,
      flags: 0,
      payload,
    });
    const cases: [Packet, RegExp][] = [
      [data(0, superblock, garbage), /beyond end of local disk/],
      [data(0, 0, garbage.subarray(0, 100)), /not a multiple of 512/],
      [data(5, 0, garbage), /volume 5, which is not here/],
    ];
    for (const [packet, why] of cases) {
      await sendAsBeta(c, packet);
      await until(() => why.test(c.alpha.log()), `alpha to log ${why}`);
      // alive, and back to waiting for beta
      await until(
        async () => (await c.alpha.status()).connections[0]["connection-state"] === "Connecting",
        "alpha to connect again",
      );
    }
    assert.match(c.alpha.log(), /conn\( Connected -> ProtocolError \)/);
    assert.equal((await c.alpha.udrbd(["drbdsetup", "show-gi", "0"])).stdout, before.stdout);

    // the real beta connects as if nothing happened
    await c.beta.adm("up", "r0");
    await until(
      async () => (await c.alpha.status()).connections[0]["connection-state"] === "Connected",
      "the real beta to connect",
    );
    await Promise.all([c.alpha.adm("down", "r0"), c.beta.adm("down", "r0")]);
    const md = await c.alpha.udrbd(["drbdmeta", "0", "v09", c.alpha.disk, "internal", "dump-md"]);
    assert.equal(md.code, 0, md.stderr);
    assert.doesNotMatch(md.stdout, /ee ?ee/i);
  } finally {
    await c.close();
  }
});
