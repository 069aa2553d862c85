/**
 * Write epochs under protocol A between two hosts (network + UTS namespaces over veth): a write
 * completes once it is handed to the socket, so writes can be acknowledged to the application
 * while the peer has not written them. The Primary keeps them in its transfer log until the
 * peer acks their epoch; when the link is lost first, exactly those writes (and the ones made
 * alone afterwards) are out of sync, and the resync makes both disks equal.
 */
import assert from "node:assert/strict";
import { until } from "./helpers.ts";
import { netnsAvailable, NetnsCluster } from "./netns.ts";
import { connState, downAndCompare, outOfSync, settled, upSynced, withLogs } from "./steps.ts";
import { BLOCK, BlockWriter, readBlocks } from "./writer.ts";

const CAN = await netnsAvailable();

Deno.test({
  name:
    "protocol A: writes acked while the peer stalls are out of sync after a link cut, and the resync makes both disks equal",
  ignore: !CAN,
  async fn() {
    const c = await NetnsCluster.create({
      net: "protocol A; connect-int 1; ping-int 1; ping-timeout 5; timeout 10; max-epoch-size 3;",
    });
    try {
      const bytes = await upSynced(c);
      const before = 40, stalled = 12, after = 20;
      const w = BlockWriter.start(c.alpha.socket);
      try {
        await w.write(0, before);
        // The flush returns once beta acked every epoch so far: nothing is left to lose.
        await w.flush();
        assert.equal(await outOfSync(c.alpha), 0);

        // beta's daemon stops: its kernel still takes the data in, so protocol A completes the
        // writes to the application although beta has written none of them.
        await c.beta.frozen(async () => {
          await w.write(before, stalled);
          assert.equal(w.acks.length, before + stalled, "protocol A acked the stalled writes");
          assert.equal(await connState(c.alpha), "Connected");
          await c.alpha.cut();
        });
        await w.write(before + stalled, after);
        await until(
          async () => await connState(c.alpha) !== "Connected",
          "alpha to declare the link lost",
        ).catch(withLogs(c));
        assert.equal(
          await outOfSync(c.alpha),
          (stalled + after) * BLOCK / 1024,
          "every write of an unacked epoch, and every write made alone, is out of sync",
        );
      } finally {
        await w.close();
      }

      await c.alpha.restore();
      await settled(c);
      const all = Array.from({ length: before + stalled + after }, (_, i) => i);
      const onBeta = await readBlocks(c.beta.socket, all);
      for (const a of w.acks) assert.equal(onBeta.get(a.block), a.seq, `block ${a.block} on beta`);
      await downAndCompare(c, bytes);
    } finally {
      await c.close();
    }
  },
});
