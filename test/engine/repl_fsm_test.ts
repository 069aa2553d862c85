/**
 * The replication state machine (lib/engine/repl_fsm.ts): events in, states out, for the
 * sequences a peer device shows in DRBD 9: a handshake, a resync each way with pause/resume,
 * invalidate and invalidate-remote, online verify, a loss in the middle of any of them.
 */
import assert from "node:assert/strict";
import { nextReplState, type ReplEvent } from "../../lib/engine/repl_fsm.ts";
import { REPLICATION_STATES, type ReplicationState } from "../../lib/engine/states.ts";

/** The states a peer device passes through from `start`, one per change; throws on a refusal. */
function walk(start: ReplicationState, events: ReplEvent[]): ReplicationState[] {
  const seen: ReplicationState[] = [start];
  let state = start;
  for (const e of events) {
    const t = nextReplState(state, e);
    if (!t.ok) throw new Error(`${state} refused ${e.type}: ${t.reason}`);
    if (t.changed) seen.push(t.to);
    state = t.to;
  }
  return seen;
}

Deno.test("a handshake with nothing to sync shows Off → Established", () => {
  assert.deepEqual(walk("Off", [{ type: "established" }, { type: "established" }]), [
    "Off",
    "Established",
  ]);
});

Deno.test("a resync as SyncSource shows WFBitMapS, SyncSource, PausedSyncS while paused, Established", () => {
  const states = walk("Off", [
    { type: "exchange-bitmap", as: "source" },
    { type: "bitmap-received" },
    { type: "pause" },
    { type: "pause" },
    { type: "resume" },
    { type: "resync-done" },
  ]);
  assert.deepEqual(states, [
    "Off",
    "WFBitMapS",
    "SyncSource",
    "PausedSyncS",
    "SyncSource",
    "Established",
  ]);
});

Deno.test("a resync as SyncTarget shows WFBitMapT, SyncTarget, PausedSyncT while paused, Established", () => {
  const states = walk("Established", [
    { type: "exchange-bitmap", as: "target" },
    { type: "bitmap-received" },
    { type: "pause" },
    { type: "resume" },
    { type: "resume" },
    { type: "resync-done" },
  ]);
  assert.deepEqual(states, [
    "Established",
    "WFBitMapT",
    "SyncTarget",
    "PausedSyncT",
    "SyncTarget",
    "Established",
  ]);
});

Deno.test("a resync paused before its bitmaps arrived starts as PausedSyncS/PausedSyncT, never running first", () => {
  for (const [as, letter] of [["source", "S"], ["target", "T"]] as const) {
    const states = walk("Off", [
      { type: "exchange-bitmap", as },
      { type: "bitmap-received", paused: true },
      { type: "pause" },
      { type: "resume" },
      { type: "resync-done" },
    ]);
    const running = as === "source" ? "SyncSource" : "SyncTarget";
    assert.deepEqual(states, [
      "Off",
      `WFBitMap${letter}`,
      `PausedSync${letter}`,
      running,
      "Established",
    ]);
  }
});

Deno.test("a resync may end while paused (the peer finished it)", () => {
  assert.deepEqual(walk("PausedSyncT", [{ type: "resync-done" }]), ["PausedSyncT", "Established"]);
});

Deno.test("invalidate shows StartingSyncT → WFBitMapT → SyncTarget, invalidate-remote the S side", () => {
  for (const [as, letter] of [["target", "T"], ["source", "S"]] as const) {
    const states = walk("Established", [
      { type: "start-sync", as },
      { type: "exchange-bitmap", as },
      { type: "bitmap-received" },
      { type: "resync-done" },
    ]);
    assert.deepEqual(states, [
      "Established",
      `StartingSync${letter}`,
      `WFBitMap${letter}`,
      as === "source" ? "SyncSource" : "SyncTarget",
      "Established",
    ]);
  }
});

Deno.test("invalidate is refused unless the peer device is Established", () => {
  for (const state of REPLICATION_STATES.filter((s) => s !== "Established")) {
    assert.equal(nextReplState(state, { type: "start-sync", as: "target" }).ok, false, state);
  }
});

Deno.test("online verify shows VerifyS on the initiator and VerifyT on the peer, then Established", () => {
  assert.deepEqual(
    walk("Established", [{ type: "verify-start", as: "source" }, { type: "verify-done" }]),
    ["Established", "VerifyS", "Established"],
  );
  // The target learns of the run from the State packet or the first request, whichever is first.
  assert.deepEqual(
    walk("Established", [
      { type: "verify-start", as: "target" },
      { type: "verify-start", as: "target" },
      { type: "verify-done" },
    ]),
    ["Established", "VerifyT", "Established"],
  );
});

Deno.test("verify is refused during a resync, and a verify is not paused", () => {
  for (const state of ["SyncSource", "PausedSyncT", "WFBitMapS", "StartingSyncT", "Off"] as const) {
    assert.equal(nextReplState(state, { type: "verify-start", as: "source" }).ok, false, state);
  }
  assert.equal(nextReplState("VerifyS", { type: "verify-start", as: "target" }).ok, false);
  assert.deepEqual(walk("VerifyS", [{ type: "pause" }, { type: "resume" }]), ["VerifyS"]);
});

Deno.test("a lost connection takes every replication state to Off", () => {
  for (const state of REPLICATION_STATES) {
    const t = nextReplState(state, { type: "lost" });
    assert.ok(t.ok && t.to === "Off", state);
  }
  assert.deepEqual(
    walk("Off", [
      { type: "exchange-bitmap", as: "target" },
      { type: "bitmap-received" },
      { type: "lost" },
      { type: "exchange-bitmap", as: "target" },
    ]),
    ["Off", "WFBitMapT", "SyncTarget", "Off", "WFBitMapT"],
  );
});

Deno.test("replication events that make no sense in a state are refused, not applied", () => {
  const refused: [ReplicationState, ReplEvent][] = [
    ["Off", { type: "bitmap-received" }],
    ["Established", { type: "bitmap-received" }],
    ["Established", { type: "resync-done" }],
    ["Established", { type: "verify-done" }],
    ["SyncSource", { type: "established" }],
    ["SyncSource", { type: "exchange-bitmap", as: "source" }],
    ["WFBitMapT", { type: "established" }],
    ["WFBitMapT", { type: "resync-done" }],
    ["StartingSyncS", { type: "exchange-bitmap", as: "target" }],
    ["StartingSyncT", { type: "bitmap-received" }],
    ["VerifyT", { type: "resync-done" }],
    ["VerifyS", { type: "established" }],
  ];
  for (const [state, event] of refused) {
    const t = nextReplState(state, event);
    assert.equal(t.ok, false, `${state} + ${event.type}`);
    assert.deepEqual(!t.ok && { from: t.from, event: t.event }, { from: state, event });
  }
});
