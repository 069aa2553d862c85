/**
 * The Secondary leaves while the Primary writes — taken down in order (`drbdadm down`), or its
 * daemon killed with SIGKILL — and comes back with `drbdadm up`. The Primary's writes go on
 * alone and are counted out of sync; on return only those blocks resync (a crashed Secondary's
 * unclean metadata does not stop `up`), and both data areas end equal.
 */
import assert from "node:assert/strict";
import { until } from "./helpers.ts";
import { netnsAvailable, NetnsCluster } from "./netns.ts";
import {
  connState,
  downAndCompare,
  outOfSync,
  received,
  settled,
  upSynced,
  withLogs,
} from "./steps.ts";
import { BLOCK, BlockWriter, readBlocks } from "./writer.ts";

const CAN = await netnsAvailable();

/** The stream goes over blocks 0..2047 (two 4 MiB extents) and never wraps in this test. */
const STREAM_BLOCKS = 2048;
/** Blocks written after the Secondary is surely gone: 16 MiB on, an extent of their own. */
const LATE_FIRST = 4096, LATE_BLOCKS = 100;
const KIB = BLOCK / 1024;

for (const how of ["down", "kill -9"] as const) {
  Deno.test({
    name: `the Secondary ${
      how === "down" ? "taken down" : "killed with -9"
    } during writes comes back with up and gets only the blocks it missed`,
    ignore: !CAN,
    async fn() {
      const c = await NetnsCluster.create({ size: 32 << 20 });
      try {
        const bytes = await upSynced(c);
        const w = BlockWriter.start(c.alpha.socket);
        let ackedBefore: number;
        try {
          await w.stream(0, STREAM_BLOCKS);
          await w.acked(200);
          // Writes acked before beta starts to leave are on beta (protocol C).
          ackedBefore = w.acks.length;
          if (how === "down") await c.beta.adm("down", "r0");
          else await c.beta.kill9();
          await until(async () => await connState(c.alpha) !== "Connected", "alpha to notice")
            .catch(withLogs(c));
          // As DRBD names it: a peer that says goodbye tears down; a killed one breaks the pipe.
          assert.match(
            c.alpha.log(),
            how === "down"
              ? /conn\( Connected -> TearDown \)/
              : /conn\( Connected -> BrokenPipe \)/,
          );
          await w.acked(w.acks.length + 100);
          await w.stopStream();
          await w.write(LATE_FIRST, LATE_BLOCKS);
        } finally {
          await w.close();
        }
        const streamed = w.acks.length - LATE_BLOCKS;
        assert.ok(streamed < STREAM_BLOCKS, "the stream wrapped");
        const dirty = await outOfSync(c.alpha);
        assert.ok(dirty >= LATE_BLOCKS * KIB, `${dirty} KiB out of sync`);
        // Besides the writes acked after beta left, writes of an epoch beta had not confirmed
        // with its BarrierAck when it died count too (DRBD's transfer log does the same): at
        // most every acknowledged write, never the whole device.
        assert.ok(dirty <= w.acks.length * KIB, `${dirty} KiB out of sync`);
        assert.ok(w.acks.length - ackedBefore > 0, "writes went on after beta left");

        if (how === "kill -9") {
          const md = await c.beta.udrbd([
            "drbdmeta",
            "0",
            "v09",
            c.beta.disk,
            "internal",
            "dump-md",
          ]);
          assert.notEqual(md.code, 0, "a killed daemon leaves its metadata unclean");
          assert.match(md.stderr, /unclean/);
        }
        await c.beta.adm("up", "r0");
        await settled(c);
        // A Secondary's activity log is not replayed (the Primary counted what the peer may
        // lack), so in both cases exactly the blocks alpha counted move.
        const moved = await received(c.beta);
        assert.equal(moved, dirty, "the resync moved exactly the blocks beta missed");
        assert.ok(moved < bytes / 1024, "not a full sync");
        const newest = new Map(w.acks.map((a) => [a.block, a.seq]));
        const onBeta = await readBlocks(c.beta.socket, [...newest.keys()]);
        for (const [b, s] of newest) assert.equal(onBeta.get(b), s, `block ${b} on beta`);
        await downAndCompare(c, bytes);
      } finally {
        await c.close();
      }
    },
  });
}
