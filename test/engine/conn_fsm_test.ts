/**
 * The connection state machine (lib/engine/conn_fsm.ts): events in, states out. The sequences
 * are the ones DRBD 9 logs (`conn( A -> B )`) after a connect, a loss, a disconnect, a split
 * brain; the refusals are drbd_state.c's is_valid_conn_transition.
 */
import assert from "node:assert/strict";
import {
  type ConnEvent,
  isLossState,
  lossCause,
  nextConnState,
} from "../../lib/engine/conn_fsm.ts";
import { CONNECTION_STATES, type ConnectionState } from "../../lib/engine/states.ts";
import { DisconnectCode } from "../../lib/wire/constants.ts";

/** The states a connection passes through from `start`, one per change; throws on a refusal. */
function walk(start: ConnectionState, events: ConnEvent[]): ConnectionState[] {
  const seen: ConnectionState[] = [start];
  let state = start;
  for (const e of events) {
    const t = nextConnState(state, e);
    if (!t.ok) throw new Error(`${state} refused ${e.type}: ${t.reason}`);
    if (t.changed) seen.push(t.to);
    state = t.to;
  }
  return seen;
}

const CONNECTED: ConnEvent[] = [
  { type: "connect" },
  { type: "connecting" },
  { type: "established" },
];

Deno.test("connect shows StandAlone → Unconnected → Connecting → Connected, as DRBD logs it", () => {
  assert.deepEqual(walk("StandAlone", CONNECTED), [
    "StandAlone",
    "Unconnected",
    "Connecting",
    "Connected",
  ]);
});

Deno.test("failed connect attempts keep the connection Connecting until one succeeds", () => {
  const states = walk("StandAlone", [
    { type: "connect" },
    { type: "connecting" },
    { type: "attempt-failed" },
    { type: "attempt-failed" },
    { type: "established" },
  ]);
  assert.deepEqual(states, ["StandAlone", "Unconnected", "Connecting", "Connected"]);
});

Deno.test("a lost connection shows its cause, then Unconnected, then Connecting again", () => {
  const expected = {
    "network-failure": "NetworkFailure",
    "broken-pipe": "BrokenPipe",
    "timeout": "Timeout",
    "protocol-error": "ProtocolError",
    "tear-down": "TearDown",
  } as const;
  for (const [cause, shown] of Object.entries(expected)) {
    const states = walk("Connected", [
      { type: "lost", cause: cause as keyof typeof expected },
      { type: "disconnected" },
      { type: "connecting" },
      { type: "established" },
    ]);
    assert.deepEqual(states, ["Connected", shown, "Unconnected", "Connecting", "Connected"]);
    assert.ok(isLossState(shown));
  }
});

Deno.test("a handshake that fails after the sockets met is a loss from Connecting", () => {
  assert.deepEqual(
    walk("Connecting", [{ type: "lost", cause: "protocol-error" }, { type: "disconnected" }]),
    ["Connecting", "ProtocolError", "Unconnected"],
  );
});

Deno.test("disconnect goes through Disconnecting to StandAlone from every configured state", () => {
  for (const state of CONNECTION_STATES) {
    if (state === "StandAlone") continue;
    const states = walk(state, [{ type: "disconnect" }, { type: "disconnected" }]);
    assert.deepEqual(
      states,
      state === "Disconnecting" ? ["Disconnecting", "StandAlone"] : [
        state,
        "Disconnecting",
        "StandAlone",
      ],
      state,
    );
  }
});

Deno.test("disconnect of a StandAlone connection is refused (DRBD: already StandAlone)", () => {
  const t = nextConnState("StandAlone", { type: "disconnect" });
  assert.equal(t.ok, false);
  assert.match(!t.ok ? t.reason : "", /already StandAlone/);
});

Deno.test("down ends any connection StandAlone and is harmless on a StandAlone one", () => {
  assert.deepEqual(walk("StandAlone", [{ type: "down" }]), ["StandAlone"]);
  assert.deepEqual(walk("Connected", [{ type: "down" }, { type: "disconnected" }]), [
    "Connected",
    "Disconnecting",
    "StandAlone",
  ]);
  assert.deepEqual(walk("Connecting", [{ type: "down" }, { type: "disconnected" }]), [
    "Connecting",
    "Disconnecting",
    "StandAlone",
  ]);
});

Deno.test("split brain and incompatible peers leave the connection StandAlone, not reconnecting", () => {
  for (const type of ["split-brain", "incompatible"] as const) {
    const states = walk("StandAlone", [...CONNECTED, { type }, { type: "disconnected" }]);
    assert.deepEqual(states.slice(-3), ["Connected", "Disconnecting", "StandAlone"]);
    // A StandAlone connection needs the admin's connect before it tries again.
    assert.equal(nextConnState("StandAlone", { type: "connecting" }).ok, false);
  }
});

Deno.test("a loss during Disconnecting does not show: only StandAlone follows Disconnecting", () => {
  assert.equal(
    nextConnState("Disconnecting", { type: "lost", cause: "network-failure" }).ok,
    false,
  );
  assert.equal(nextConnState("Disconnecting", { type: "connecting" }).ok, false);
  assert.equal(nextConnState("Disconnecting", { type: "established" }).ok, false);
  const again = nextConnState("Disconnecting", { type: "split-brain" });
  assert.ok(again.ok && !again.changed, "a second reason to give up changes nothing");
});

Deno.test("after a loss only Unconnected or Disconnecting may follow (DRBD's transient states)", () => {
  for (const state of CONNECTION_STATES.filter(isLossState)) {
    assert.equal(nextConnState(state, { type: "connecting" }).ok, false, state);
    assert.equal(nextConnState(state, { type: "established" }).ok, false, state);
    assert.equal(nextConnState(state, { type: "lost", cause: "timeout" }).ok, false, state);
    assert.equal(nextConnState(state, { type: "connect" }).ok, false, state);
  }
});

Deno.test("connection events that make no sense in a state are refused, not applied", () => {
  const refused: [ConnectionState, ConnEvent][] = [
    ["StandAlone", { type: "established" }],
    ["StandAlone", { type: "connecting" }],
    ["StandAlone", { type: "lost", cause: "network-failure" }],
    ["StandAlone", { type: "disconnected" }],
    ["Unconnected", { type: "established" }],
    ["Unconnected", { type: "connect" }],
    ["Unconnected", { type: "attempt-failed" }],
    ["Connecting", { type: "connecting" }],
    ["Connecting", { type: "disconnected" }],
    ["Connected", { type: "connect" }],
    ["Connected", { type: "established" }],
    ["Connected", { type: "disconnected" }],
    ["Connected", { type: "attempt-failed" }],
  ];
  for (const [state, event] of refused) {
    const t = nextConnState(state, event);
    assert.equal(t.ok, false, `${state} + ${event.type}`);
    assert.deepEqual(!t.ok && { from: t.from, event: t.event }, { from: state, event });
  }
});

Deno.test("the way a wire connection closed names the state DRBD shows for the loss", () => {
  const { NORMAL, PROTOCOL_ERROR, TIMEOUT } = DisconnectCode;
  assert.equal(lossCause({ by: "lost", code: NORMAL }), "network-failure");
  assert.equal(lossCause({ by: "lost", code: NORMAL, broken: true }), "broken-pipe");
  assert.equal(lossCause({ by: "lost", code: PROTOCOL_ERROR }), "protocol-error");
  assert.equal(lossCause({ by: "local", code: PROTOCOL_ERROR }), "protocol-error");
  assert.equal(lossCause({ by: "local", code: TIMEOUT }), "timeout");
  assert.equal(lossCause({ by: "local", code: NORMAL }), "network-failure");
  assert.equal(lossCause({ by: "peer", code: NORMAL }), "tear-down");
  assert.equal(lossCause({ by: "peer", code: TIMEOUT }), "broken-pipe");
  assert.equal(lossCause({ by: "peer", code: PROTOCOL_ERROR }), "broken-pipe");
});
