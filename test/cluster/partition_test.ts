/**
 * A network partition between two hosts (network + UTS namespaces over veth) while the Primary
 * writes: the link goes down silently, the Primary notices by its ping and reply timeouts, the
 * writes caught by the cut complete once the loss is declared, later writes go on locally and
 * are counted out of sync, and after the link comes back exactly those blocks move.
 */
import assert from "node:assert/strict";
import { peerDevice, until } from "./helpers.ts";
import { netnsAvailable, NetnsCluster, type NetnsNode } from "./netns.ts";
import { connState, downAndCompare, outOfSync, received, settled, upSynced } from "./steps.ts";
import { BLOCK, BlockWriter, readBlocks } from "./writer.ts";

const CAN = await netnsAvailable();

/** Bytes waiting in the receive queues of `n`'s replication sockets (port 7789). */
async function receiveQueued(n: NetnsNode): Promise<number> {
  const r = await n.exec("ss", [
    "-tnH",
    "state",
    "established",
    "( sport = :7789 or dport = :7789 )",
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").reduce(
    (sum, l) => sum + (Number(l.trim().split(/\s+/)[0]) || 0),
    0,
  );
}

for (const protocol of ["C", "B", "A"] as const) {
  Deno.test({
    name:
      `a link cut during protocol ${protocol} writes: writes go on, exactly the blocks the peer did not confirm are out of sync, and only they resync`,
    ignore: !CAN,
    async fn() {
      const c = await NetnsCluster.create({
        net: `protocol ${protocol}; connect-int 1; ping-int 1; ping-timeout 5; timeout 10;`,
      });
      try {
        const bytes = await upSynced(c);
        const before = 64, inFlight = 4, after = 60;
        const w = BlockWriter.start(c.alpha.socket);
        try {
          await w.write(0, before);
          // A flush is a barrier the peer acks once these are on its disk (protocol A's only
          // confirmation; B and C had theirs per write).
          await w.flush();
          assert.equal(await outOfSync(c.alpha), 0);

          // Writes in flight at the cut: beta's daemon is paused, so its kernel takes the data in
          // but nothing acks it; then the link goes down under them.
          await c.beta.frozen(async () => {
            await w.aio(before, inFlight);
            await until(
              async () => await receiveQueued(c.beta) >= inFlight * BLOCK,
              "the in-flight writes to reach beta's socket",
            );
            await c.alpha.cut();
          });
          // B, C: the first of these blocks until alpha declares the loss, the rest go to alpha
          // alone. A: they are done once handed to the socket, which sends into the void.
          await w.write(before + inFlight, after);
          await w.wait();
          await until(async () => await connState(c.alpha) !== "Connected", "alpha to notice");
          assert.equal(w.acks.length, before + inFlight + after, "every write was acknowledged");
          assert.notEqual(await connState(c.alpha), "Connected");
          assert.match(c.alpha.log(), /connection lost: (PingAck did not arrive|no \w+Ack)/);
          // The writer's log: everything after the first `before` acks was not acked by beta.
          assert.deepEqual(
            w.acks.slice(before).map((a) => a.block).sort((a, b) => a - b),
            Array.from({ length: inFlight + after }, (_, i) => before + i),
          );
          assert.equal(await outOfSync(c.alpha), (inFlight + after) * BLOCK / 1024);
        } finally {
          await w.close();
        }

        await c.alpha.restore();
        await settled(c);
        // The connection's counters started with it: beta received exactly the dirty blocks.
        assert.equal(await received(c.beta), (inFlight + after) * BLOCK / 1024);
        assert.equal(peerDevice(await c.alpha.status())["out-of-sync"], 0);
        const all = Array.from({ length: before + inFlight + after }, (_, i) => i);
        const onBeta = await readBlocks(c.beta.socket, all);
        for (const a of w.acks) {
          assert.equal(onBeta.get(a.block), a.seq, `block ${a.block} on beta`);
        }
        await downAndCompare(c, bytes);
      } finally {
        await c.close();
      }
    },
  });
}
