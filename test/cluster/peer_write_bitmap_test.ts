/**
 * A write that arrives from a peer is in that peer's data already: the receiving node must never
 * count it out of sync towards the sender, whatever state the connection is in when the write is
 * applied. A node that did so showed the surviving Secondary of a primary crash with one block
 * more out of sync than it had written itself (the crashed Primary's last write, read from the
 * socket while the connection was already ending), and resynced it for nothing.
 *
 * The sender here is our own wire client in this process, speaking for beta to alpha's real
 * daemon; it sends the write before any state exchange, so alpha applies it while its
 * replication towards beta is not yet established, which is the same case made deterministic.
 */
import assert from "node:assert/strict";
import { DpFlag, type Packet } from "../../lib/wire/mod.ts";
import { Cluster, connectAsBeta, peerDevice, until } from "./helpers.ts";

Deno.test("a write received from a peer is not counted out of sync towards that peer, even before the state exchange", async () => {
  const c = await Cluster.create({ size: 16 << 20 });
  try {
    await c.alpha.adm("up", "r0");
    const { conn, drained: draining } = await connectAsBeta(c);
    const acks: Packet[] = [];
    const meta = (async () => {
      for await (const m of conn.packets("meta")) acks.push(m);
    })();
    try {
      const payload = new Uint8Array(4096).fill(0x5a);
      await conn.send({
        type: "Data",
        volume: 0,
        sector: 2048,
        blockId: 7,
        seq: 1,
        flags: DpFlag.SEND_WRITE_ACK,
        payload,
      });
      // The WriteAck says alpha has applied the write (and set whatever bits it sets).
      await until(
        () => acks.some((a) => a.type === "WriteAck" && a.blockId === 7),
        "alpha to acknowledge the write",
      );
      assert.equal(peerDevice(await c.alpha.status())["out-of-sync"], 0);
    } finally {
      await conn.close("test done");
      await Promise.all([draining, meta]);
    }
    // Nor after the connection is gone (the bitmap is what the next handshake sends).
    await until(
      async () => (await c.alpha.status()).connections[0]["connection-state"] !== "Connected",
      "alpha to see beta gone",
    );
    assert.equal(peerDevice(await c.alpha.status())["out-of-sync"], 0);
    const f = await Deno.open(c.alpha.disk, { read: true });
    try {
      const got = new Uint8Array(4096);
      await f.seek(2048 * 512, Deno.SeekMode.Start);
      let n = 0;
      while (n < got.length) n += (await f.read(got.subarray(n))) ?? got.length;
      assert.ok(got.every((b) => b === 0x5a), "alpha did not write the peer's data");
    } finally {
      f.close();
    }
    await c.alpha.adm("down", "r0");
  } finally {
    await c.close();
  }
});
