/**
 * The congestion policy (lib/engine/congestion.ts) without a network: net options in, the
 * decision for each write out; the resync after Ahead on a manual clock; DRBD's refusal of a
 * policy other than block without protocol A; the transfer log's in-flight measures; and the
 * replication states Ahead/Behind take through repl_fsm.
 */
import assert from "node:assert/strict";
import {
  AHEAD_RESYNC_DELAY_MS,
  AheadResyncTimer,
  CONGESTION_DEFAULTS,
  congestionNeedsProtocolA,
  congestionSettings,
  decideCongestion,
} from "../../lib/engine/congestion.ts";
import { TransferLog } from "../../lib/engine/epochs.ts";
import { nextReplState, type ReplEvent } from "../../lib/engine/repl_fsm.ts";
import type { ReplicationState } from "../../lib/engine/states.ts";
import { DrbdError, ERR } from "../../lib/engine/errors.ts";
import { ManualClock } from "../../lib/wire/clock.ts";

const pullAhead = congestionSettings({
  protocol: "A",
  "on-congestion": "pull-ahead",
  "congestion-fill": "1M",
  "congestion-extents": "100",
});

Deno.test("congestion options are read in DRBD's units: congestion-fill in sectors, defaults as drbd.conf documents", () => {
  assert.deepEqual(congestionSettings({}), CONGESTION_DEFAULTS);
  assert.deepEqual(CONGESTION_DEFAULTS, { policy: "block", fillSectors: 0, extents: 1237 });
  assert.deepEqual(pullAhead, { policy: "pull-ahead", fillSectors: 2048, extents: 100 });
  assert.equal(congestionSettings({ "congestion-fill": "400" }).fillSectors, 400);
  assert.equal(congestionSettings({ "congestion-fill": "128k" }).fillSectors, 256);
  assert.equal(congestionSettings({ "on-congestion": "disconnect" }).policy, "disconnect");
});

Deno.test("a write below congestion-fill is sent; at the threshold the Primary pulls ahead with DRBD's log line", () => {
  assert.deepEqual(
    decideCongestion(pullAhead, "Established", { inFlightSectors: 2047, activeExtents: 1 }),
    { action: "send" },
  );
  assert.deepEqual(
    decideCongestion(pullAhead, "Established", { inFlightSectors: 2048, activeExtents: 1 }),
    { action: "pull-ahead", log: "Congestion-fill threshold reached (2048 >= 2048)" },
  );
});

Deno.test("too many activity-log extents in flight also count as congestion", () => {
  assert.deepEqual(
    decideCongestion(pullAhead, "Established", { inFlightSectors: 8, activeExtents: 100 }),
    { action: "pull-ahead", log: "Congestion-extents threshold reached (100 >= 100)" },
  );
  // congestion-fill 0 turns only the fill check off
  const extentsOnly = { ...pullAhead, fillSectors: 0 };
  assert.deepEqual(
    decideCongestion(extentsOnly, "Established", { inFlightSectors: 1e6, activeExtents: 99 }),
    { action: "send" },
  );
});

Deno.test("nothing in flight means the congestion cleared: the write is sent, as handle_congestion checks", () => {
  assert.deepEqual(
    decideCongestion(pullAhead, "Established", { inFlightSectors: 0, activeExtents: 500 }),
    { action: "send" },
  );
});

Deno.test("on-congestion block (the default) never leaves Established, however full the link", () => {
  const block = congestionSettings({ "congestion-fill": "1M" });
  assert.deepEqual(
    decideCongestion(block, "Established", { inFlightSectors: 1e9, activeExtents: 1e5 }),
    { action: "send" },
  );
});

Deno.test("on-congestion disconnect drops the connection instead of pulling ahead", () => {
  const s = { ...pullAhead, policy: "disconnect" as const };
  assert.deepEqual(
    decideCongestion(s, "Established", { inFlightSectors: 4096, activeExtents: 1 }),
    { action: "disconnect", log: "Congestion-fill threshold reached (4096 >= 2048)" },
  );
});

Deno.test("once Ahead every write is only announced out of sync, even after the congestion cleared", () => {
  for (const inFlightSectors of [0, 8, 1e6]) {
    assert.deepEqual(
      decideCongestion(pullAhead, "Ahead", { inFlightSectors, activeExtents: 0 }),
      { action: "out-of-sync" },
    );
  }
});

Deno.test("a running resync or verify is not interrupted by congestion: its writes are sent", () => {
  for (const state of ["SyncSource", "PausedSyncS", "VerifyS", "VerifyT"] as const) {
    assert.deepEqual(
      decideCongestion(pullAhead, state, { inFlightSectors: 1e6, activeExtents: 1e4 }),
      { action: "send" },
      state,
    );
  }
});

Deno.test("pull-ahead or disconnect without protocol A is refused as drbdsetup reports it (155)", () => {
  assert.equal(congestionNeedsProtocolA({ "on-congestion": "pull-ahead" }), true, "C default");
  assert.equal(congestionNeedsProtocolA({ "on-congestion": "pull-ahead", protocol: "B" }), true);
  assert.equal(congestionNeedsProtocolA({ "on-congestion": "disconnect", protocol: "C" }), true);
  assert.equal(congestionNeedsProtocolA({ "on-congestion": "pull-ahead", protocol: "A" }), false);
  assert.equal(congestionNeedsProtocolA({ "on-congestion": "pull-ahead", protocol: "a" }), false);
  assert.equal(congestionNeedsProtocolA({ "on-congestion": "block", protocol: "C" }), false);
  assert.equal(congestionNeedsProtocolA({ protocol: "C" }), false);
  const e = new DrbdError("r0", ERR.CONG_NOT_PROTO_A);
  assert.equal(
    e.text,
    "r0: Failure: (155) on-congestion policy pull-ahead only with prot A allowed\n",
  );
  assert.equal(e.exitCode, 10);
});

Deno.test("the Ahead resync starts one second after the in-flight data drained, not before", () => {
  const clock = new ManualClock();
  let due = 0;
  const t = new AheadResyncTimer({ clock, onDue: () => due++ });
  t.inFlight(4096);
  assert.equal(t.armed, false, "still in flight");
  t.inFlight(0);
  assert.equal(t.armed, true);
  clock.advance(AHEAD_RESYNC_DELAY_MS - 1);
  assert.equal(due, 0);
  t.inFlight(0);
  clock.advance(1);
  assert.equal(due, 1, "a repeated drain report does not push the start back");
  clock.advance(10_000);
  assert.equal(due, 1, "once per drain");
  assert.equal(t.armed, false);
});

Deno.test("data in flight again before the delay disarms the Ahead resync; the next drain arms it anew", () => {
  const clock = new ManualClock();
  let due = 0;
  const t = new AheadResyncTimer({ clock, onDue: () => due++, delayMs: 500 });
  t.inFlight(0);
  clock.advance(400);
  t.inFlight(8);
  clock.advance(1000);
  assert.equal(due, 0);
  t.inFlight(0);
  clock.advance(499);
  assert.equal(due, 0);
  clock.advance(1);
  assert.equal(due, 1);
  t.inFlight(0);
  t.stop();
  clock.advance(1000);
  assert.equal(due, 1, "a stopped timer (connection lost) never fires");
  assert.equal(clock.pending, 0);
});

Deno.test("the transfer log measures sectors and activity-log extents in flight until their barrier is acked", () => {
  const tl = new TransferLog({ maxEpochSize: 100, maxWrites: 100 });
  tl.add({ volume: 0, sector: 0, length: 4096 });
  tl.add({ volume: 0, sector: 8, length: 4096 });
  tl.add({ volume: 0, sector: 8192, length: 1 << 20 }); // the second 4 MiB extent
  tl.add({ volume: 1, sector: 8184, length: 8192 }); // straddles extents 0 and 1
  assert.equal(tl.sectors, 8 + 8 + 2048 + 16);
  assert.equal(tl.extentsOf(0), 2);
  assert.equal(tl.extentsOf(1), 2);
  assert.equal(tl.extentsOf(2), 0);
  const first = tl.close()!;
  tl.add({ volume: 0, sector: 16, length: 4096 });
  assert.equal(tl.ack(first.barrier, first.size), undefined);
  assert.equal(tl.sectors, 8);
  assert.equal(tl.extentsOf(0), 1);
  assert.equal(tl.extentsOf(1), 0);
  tl.clear();
  assert.equal(tl.sectors, 0);
  assert.equal(tl.extentsOf(0), 0);
});

function run(from: ReplicationState, ...events: ReplEvent[]): ReplicationState[] {
  const seen: ReplicationState[] = [];
  let state = from;
  for (const e of events) {
    const t = nextReplState(state, e);
    assert.ok(t.ok, `${state} refuses ${e.type}: ${t.ok ? "" : t.reason}`);
    state = t.to;
    seen.push(state);
  }
  return seen;
}

Deno.test("the Primary goes Established → Ahead → SyncSource → Established, as DRBD shows it", () => {
  assert.deepEqual(
    run(
      "Established",
      { type: "pull-ahead" },
      { type: "resync-after-ahead", as: "source" },
      { type: "resync-done" },
    ),
    ["Ahead", "SyncSource", "Established"],
  );
});

Deno.test("the peer goes Established → Behind → SyncTarget → Established, as DRBD shows it", () => {
  assert.deepEqual(
    run(
      "Established",
      { type: "peer-ahead" },
      { type: "peer-ahead" },
      { type: "resync-after-ahead", as: "target" },
      { type: "resync-done" },
    ),
    ["Behind", "Behind", "SyncTarget", "Established"],
  );
});

Deno.test("Ahead and Behind pause into PausedSyncS/T only once their resync runs, and a lost link ends them", () => {
  assert.deepEqual(run("Ahead", { type: "pause" }), ["Ahead"]);
  assert.deepEqual(run("Behind", { type: "pause" }), ["Behind"]);
  assert.deepEqual(
    run("Behind", { type: "resync-after-ahead", as: "target" }, { type: "pause" }),
    ["SyncTarget", "PausedSyncT"],
  );
  assert.deepEqual(run("Ahead", { type: "lost" }), ["Off"]);
  assert.deepEqual(run("Behind", { type: "lost" }), ["Off"]);
});

Deno.test("Ahead/Behind transitions that make no sense are refused, not applied", () => {
  const refused = (state: ReplicationState, e: ReplEvent) => {
    const t = nextReplState(state, e);
    assert.equal(t.ok, false, `${state} must refuse ${JSON.stringify(e)}`);
  };
  refused("SyncSource", { type: "pull-ahead" });
  refused("Off", { type: "pull-ahead" });
  refused("Ahead", { type: "pull-ahead" });
  refused("SyncTarget", { type: "peer-ahead" });
  refused("Established", { type: "resync-after-ahead", as: "source" });
  refused("Ahead", { type: "resync-after-ahead", as: "target" });
  refused("Behind", { type: "resync-after-ahead", as: "source" });
  refused("Ahead", { type: "established" });
  refused("Behind", { type: "verify-start", as: "target" });
});
