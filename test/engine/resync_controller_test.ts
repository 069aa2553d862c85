/**
 * The resync rate controller, driven step by step on a manual clock against a link model (a
 * bandwidth and a latency): what it requests per step, how much it keeps in flight, how it
 * honours c-max-rate, the fixed resync-rate, c-min-rate and option changes on a running resync.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../../lib/wire/clock.ts";
import {
  CONTROLLER_DEFAULTS,
  type ControllerSettings,
  controllerSettings,
  ResyncController,
  STEP_MS,
} from "../../lib/engine/resync_controller.ts";

interface Link {
  /** One-way answer latency added to the transfer time, ms. */
  latencyMs: number;
  /** Link bandwidth, KiB/s. */
  kibs: number;
}

interface Run {
  /** KiB requested per simulated second. */
  perSecond: number[];
  /** Sectors in flight as the controller saw them at each step (after answers were counted). */
  inFlight: number[];
}

/**
 * Runs a resync of unlimited size for `ms` simulated milliseconds: every step the controller is
 * asked for a number of 4 KiB blocks, each block's answer comes back when the link has carried
 * it plus the latency, and early steps happen when the controller asks for them.
 */
function simulate(
  settings: Partial<ControllerSettings>,
  link: Link,
  ms: number,
  change?: { atMs: number; settings: Partial<ControllerSettings> },
): Run {
  const clock = new ManualClock();
  const ctl = new ResyncController(clock, { ...CONTROLLER_DEFAULTS, ...settings });
  const answers: number[] = [];
  let linkFree = 0;
  let next = 0;
  const run: Run = { perSecond: [], inFlight: [] };
  for (let t = 0; t < ms; t++) {
    if (change && t === change.atMs) {
      ctl.configure({ ...CONTROLLER_DEFAULTS, ...settings, ...change.settings });
    }
    while (answers.length && answers[0] <= t) {
      answers.shift();
      const early = ctl.cameIn(8);
      if (early !== undefined) next = Math.min(next, t + early);
    }
    if (t >= next) {
      const n = ctl.step();
      run.inFlight.push(ctl.inFlight);
      ctl.issued(n);
      const sec = Math.floor(t / 1000);
      run.perSecond[sec] = (run.perSecond[sec] ?? 0) + n * 4;
      for (let i = 0; i < n; i++) {
        linkFree = Math.max(linkFree, t) + 4 * 1000 / link.kibs;
        answers.push(Math.ceil(linkFree + link.latencyMs));
      }
      next = t + STEP_MS;
    }
    clock.advance(1);
  }
  return run;
}

Deno.test("the dynamic resync rate ramps up to the c-fill-target and keeps that much in flight", () => {
  // Links slow enough that the fill target, not "everything came back", paces the resync.
  const cases = [
    { fillTarget: 100, link: { latencyMs: 5, kibs: 1_000 } },
    { fillTarget: 1000, link: { latencyMs: 20, kibs: 2_000 } },
    { fillTarget: 2000, link: { latencyMs: 20, kibs: 10_000 } },
  ];
  for (const { fillTarget, link } of cases) {
    const run = simulate({ fillTarget }, link, 20_000);
    // The plan rounds down to whole blocks and whole corrections per step: a few blocks short.
    const settle = run.inFlight.findIndex((s) => s >= fillTarget - 64);
    assert.ok(settle > 0, `fill ${fillTarget}: in flight ${run.inFlight.slice(0, 40)}`);
    // Reached within twice the 2 s plan-ahead (20 steps each), then held there.
    assert.ok(settle <= 40, `fill ${fillTarget}: reached only at step ${settle}`);
    for (const s of run.inFlight.slice(settle + 10)) {
      assert.ok(
        s >= fillTarget - 64 && s <= fillTarget + 64,
        `fill ${fillTarget}: ${s} sectors in flight`,
      );
    }
    // The link, not the controller, is the limit: resync uses all of it.
    for (const kib of run.perSecond.slice(5)) {
      assert.ok(kib >= link.kibs * 0.99 && kib <= link.kibs * 1.01, `${kib} KiB/s`);
    }
  }
});

Deno.test("the dynamic resync rate never exceeds c-max-rate, even on a link much faster", () => {
  for (const maxRate of [1024, 10_240, 102_400]) {
    const run = simulate({ maxRate }, { latencyMs: 1, kibs: 4_000_000 }, 10_000);
    // Any one second: at most c-max-rate plus the one step that may straddle the boundary.
    for (const kib of run.perSecond) {
      assert.ok(kib <= maxRate + maxRate / 10, `c-max-rate ${maxRate}: ${kib} KiB in a second`);
    }
    const total = run.perSecond.reduce((a, b) => a + b, 0);
    assert.ok(total <= maxRate * 10 + maxRate / 10, `c-max-rate ${maxRate}: ${total} KiB in 10 s`);
    // ... and gets close to it: the fast link does not hold it back.
    assert.ok(total >= maxRate * 10 * 0.9, `c-max-rate ${maxRate}: only ${total} KiB in 10 s`);
  }
});

Deno.test("with c-plan-ahead 0 the fixed resync-rate is used, whatever the link does", () => {
  for (const link of [{ latencyMs: 1, kibs: 4_000_000 }, { latencyMs: 30, kibs: 50_000 }]) {
    const run = simulate({ planAhead: 0, resyncRate: 4000 }, link, 10_000);
    // 4000 KiB/s: 100 blocks every 100 ms step, no early steps.
    assert.deepEqual(run.perSecond, new Array(10).fill(4000));
  }
  const clock = new ManualClock();
  const ctl = new ResyncController(clock, { ...CONTROLLER_DEFAULTS, planAhead: 0 });
  // The default 250 KiB/s rounds down to 6 blocks per step, as the kernel's integer math does.
  assert.equal(ctl.step(), 6);
  assert.equal(ctl.syncRate, 250);
  ctl.issued(6);
  assert.equal(ctl.cameIn(48), undefined, "the fixed rate never steps early");
});

Deno.test("resync yields to application I/O down to c-min-rate", () => {
  const ctl = new ResyncController(new ManualClock(), { ...CONTROLLER_DEFAULTS, minRate: 250 });
  // No application I/O: never throttled, however fast resync runs.
  assert.equal(ctl.throttled(0, 0, 50_000), false);
  // 1 MiB of application I/O since the last look, resync at 50 MiB/s: yield.
  assert.equal(ctl.throttled(2048, 0, 50_000), true);
  // The same I/O counter again (nothing new), nothing pending: no longer busy.
  assert.equal(ctl.throttled(2048, 0, 50_000), false);
  // Up to 64 sectors of foreign I/O is noise.
  assert.equal(ctl.throttled(2048 + 64, 0, 50_000), false);
  // Requests pending on the device count as busy even without new sectors.
  assert.equal(ctl.throttled(2048 + 64, 3, 50_000), true);
  // Resync already at or below c-min-rate keeps going despite the application.
  assert.equal(ctl.throttled(10_000, 1, 250), false);
  assert.equal(ctl.throttled(20_000, 1, 100), false);
  // c-min-rate 0 turns the rule off.
  const off = new ResyncController(new ManualClock(), { ...CONTROLLER_DEFAULTS, minRate: 0 });
  assert.equal(off.throttled(1e9, 10, 1e9), false);
});

Deno.test("new controller options take effect on a running resync", () => {
  // c-max-rate lowered from 100 MiB/s to 2 MiB/s after 5 s on a fast link.
  const run = simulate({}, { latencyMs: 1, kibs: 4_000_000 }, 10_000, {
    atMs: 5000,
    settings: { maxRate: 2048 },
  });
  assert.ok(run.perSecond[3] > 90_000, `before: ${run.perSecond[3]}`);
  for (const kib of run.perSecond.slice(6)) assert.ok(kib <= 2048 + 205, `after: ${kib}`);
  // Switching to the fixed rate mid-way.
  const fixed = simulate({}, { latencyMs: 1, kibs: 4_000_000 }, 10_000, {
    atMs: 5000,
    settings: { planAhead: 0, resyncRate: 1000 },
  });
  for (const kib of fixed.perSecond.slice(6)) assert.equal(kib, 1000);
});

Deno.test("controller options are read in DRBD's units with DRBD's defaults", () => {
  assert.deepEqual(controllerSettings(), CONTROLLER_DEFAULTS);
  assert.deepEqual(CONTROLLER_DEFAULTS, {
    resyncRate: 250,
    planAhead: 20,
    delayTarget: 10,
    fillTarget: 100,
    maxRate: 102400,
    minRate: 250,
    maxBuffers: 2048,
  });
  // Peer-device options win over disk options, which win over the defaults.
  const s = controllerSettings(
    { "c-plan-ahead": "0", "resync-rate": "102400" },
    { "resync-rate": "10", "c-max-rate": "2048" },
    { "max-buffers": "8000" },
  );
  assert.equal(s.planAhead, 0);
  assert.equal(s.resyncRate, 102400);
  assert.equal(s.maxRate, 2048);
  assert.equal(s.maxBuffers, 8000);
  assert.equal(s.fillTarget, 100);
});

Deno.test("resync never has more than max-buffers blocks in flight", () => {
  const run = simulate({ maxBuffers: 64, fillTarget: 100_000 }, {
    latencyMs: 200,
    kibs: 4_000_000,
  }, 5_000);
  for (const s of run.inFlight) assert.ok(s <= 64 * 8, `${s} sectors in flight`);
});
