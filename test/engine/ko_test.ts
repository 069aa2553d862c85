/**
 * The ko-count watchdog (lib/engine/ko.ts) on a manual clock: a Primary whose peer answers
 * pings but not writes drops it after exactly ko-count × timeout without progress.
 */
import assert from "node:assert/strict";
import { type KoExpiry, koMessage, KoWatchdog } from "../../lib/engine/ko.ts";
import { ManualClock } from "../../lib/wire/clock.ts";

function watchdog(koCount: number, timeoutMs = 6000) {
  const clock = new ManualClock();
  const expiries: KoExpiry[] = [];
  const ko = new KoWatchdog({ timeoutMs, koCount, clock, onExpire: (e) => expiries.push(e) });
  return { clock, ko, expiries };
}

Deno.test("a peer that never answers a write is dropped exactly after ko-count × timeout", () => {
  const { clock, ko, expiries } = watchdog(7);
  ko.expect();
  clock.advance(6000 * 7 - 1);
  assert.equal(expiries.length, 0, "one millisecond early");
  assert.equal(ko.ko, 1, "six timeouts spent, one left");
  clock.advance(1);
  assert.equal(expiries.length, 1);
  assert.deepEqual(expiries[0], { waitedMs: 42000, koCount: 7, timeoutDs: 60 });
  assert.equal(
    koMessage(expiries[0]),
    "Remote failed to finish a request within 42000ms > ko-count (7) * timeout (60 * 0.1s)",
  );
  clock.advance(100_000);
  assert.equal(expiries.length, 1, "it gives up once");
});

Deno.test("any answer restarts the count: a slow but progressing peer stays connected", () => {
  const { clock, ko, expiries } = watchdog(3, 1000);
  for (let i = 0; i < 5; i++) ko.expect();
  for (let i = 0; i < 4; i++) {
    clock.advance(2999);
    ko.answered();
  }
  assert.equal(expiries.length, 0);
  assert.equal(ko.ko, 3);
  clock.advance(2999);
  assert.equal(expiries.length, 0);
  clock.advance(1);
  assert.equal(expiries.length, 1, "3 s after the last answer");
  assert.equal(expiries[0].waitedMs, 3000);
});

Deno.test("nothing outstanding, nothing to time out: an idle connection is never dropped", () => {
  const { clock, ko, expiries } = watchdog(2, 1000);
  ko.expect();
  ko.answered();
  clock.advance(60_000);
  assert.equal(expiries.length, 0);
  assert.equal(clock.pending, 0, "no timer runs while idle");
  ko.expect();
  clock.advance(2000);
  assert.equal(expiries.length, 1, "the clock starts with the next request");
});

Deno.test("ko-count 0 disables the watchdog: writes may wait on the peer forever", () => {
  const { clock, ko, expiries } = watchdog(0);
  assert.equal(ko.enabled, false);
  ko.expect();
  clock.advance(10 * 24 * 3600 * 1000);
  assert.equal(expiries.length, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("a stopped watchdog (connection gone) fires nothing", () => {
  const { clock, ko, expiries } = watchdog(1, 1000);
  ko.expect();
  ko.stop();
  clock.advance(5000);
  assert.equal(expiries.length, 0);
  assert.equal(ko.outstanding, 0);
});
