/**
 * The resync line wait-sync draws on a terminal: its text from a snapshot, and how it redraws
 * in place within the terminal's width.
 */
import assert from "node:assert/strict";
import { syncProgressText } from "../../lib/status/sync_progress.ts";
import { ProgressLine } from "../../lib/util/progress.ts";
import { syncing, twoVolumesTwoPeers } from "./fixtures.ts";

Deno.test("wait-sync's line shows /proc/drbd's bar and the time to finish for a resyncing volume", () => {
  assert.equal(
    syncProgressText([syncing()], { resource: "r0" }),
    "r0/0 bob: [====>...............] sync'ed: 28.3% (3013944/4193112)K finish: 0:00:41",
  );
  assert.equal(syncProgressText([syncing()], { resource: "other" }), "");
});

Deno.test("wait-sync's line shows the state of each awaited peer device that is not resyncing", () => {
  const r = twoVolumesTwoPeers();
  assert.equal(
    syncProgressText([r], { resource: "r1" }),
    "r1/0 alice: Established | r1/1 alice: Established | r1/0 carol: Connecting | " +
      "r1/1 carol: Connecting",
  );
  assert.equal(
    syncProgressText([r], { resource: "r1", peerNodeId: 2, volume: 1 }),
    "r1/1 carol: Connecting",
  );
});

Deno.test("the progress line redraws in place, is cut to the terminal's width and erased at the end", () => {
  let out = "";
  const line = new ProgressLine({ write: (t) => out += t, columns: 12 });
  line.update("r0/0 bob: 10%");
  line.update("r0/0 bob: 10%"); // unchanged: nothing written
  line.update("r0/0\tbob: 20%");
  line.clear();
  line.clear();
  assert.equal(out, "\rr0/0 bob: 1\x1b[K\rr0/0 bob: 2\x1b[K\r\x1b[K");
});
