/**
 * The step pacing shared by the resync and verify loops (peer_volume.ts): a wake-up ends the
 * loop's wait, and one that comes while the loop is busy sending is kept for its next wait, so
 * a pause that ends or answers that came back never leave a resync idling for a whole step.
 */
import assert from "node:assert/strict";
import { cameIn, newVolume, nextStep, wake } from "../../lib/engine/peer_volume.ts";

/** Which settles first: the wait, or a timer turn queued after the wake-up. */
function firstOf(wait: Promise<void>): Promise<"woken" | "still waiting"> {
  const { promise, resolve } = Promise.withResolvers<"still waiting">();
  const t = setTimeout(() => resolve("still waiting"), 0);
  return Promise.race([wait.then(() => "woken" as const), promise]).finally(() => clearTimeout(t));
}

Deno.test("a resume-sync during a resync step wait lets the resync go on at once", async () => {
  const v = newVolume();
  const wait = nextStep(v, 60_000);
  wake(v);
  assert.equal(await firstOf(wait), "woken");
  assert.equal(v.rsWake, undefined);
  assert.equal(v.wakePending, undefined);
});

Deno.test("a wake-up while the resync loop is still sending is not lost: the next wait returns at once", async () => {
  const v = newVolume();
  wake(v);
  assert.equal(v.wakePending, true);
  assert.equal(await firstOf(nextStep(v, 60_000)), "woken");
  // Used up: the wait after that one waits again (until woken).
  const again = nextStep(v, 60_000);
  assert.equal(await firstOf(again), "still waiting");
  wake(v);
  await again;
});

Deno.test("answers that come back while no rate controller runs do not cut the step wait short", async () => {
  const v = newVolume();
  const wait = nextStep(v, 60_000);
  cameIn(v, 64);
  assert.equal(await firstOf(wait), "still waiting");
  wake(v);
  await wait;
});

Deno.test("a new connection's volume starts in handshake with nothing in flight and no lock held", async () => {
  const v = newVolume();
  assert.equal(v.phase, "handshake");
  assert.equal(v.rsInflight, 0);
  assert.equal(v.gotBitmap, false);
  // The range lock is free: any range locks at once.
  const release = await v.lock.lock(0, 1 << 20);
  release();
});
