/**
 * The replication state machine of one peer device, as DRBD 9 runs it with a peer of protocol
 * 110 or later: Off until the connection's handshake, Established when nothing needs to sync;
 * a sync decision (or invalidate / invalidate-remote through StartingSyncT/S) exchanges bitmaps
 * in WFBitMapS/T and resyncs as SyncSource/SyncTarget, PausedSyncS/T while a pause flag is set;
 * online verify runs as VerifyS/VerifyT; a lost connection is Off again. Congestion under
 * `on-congestion pull-ahead` (congestion.ts) takes an Established Primary Ahead and its peer
 * Behind; once drained, Ahead resyncs as SyncSource and Behind as SyncTarget, without a bitmap
 * exchange (the OutOfSync packets carried the bits). WFSyncUUID belongs to peers older than
 * protocol 110, so no event leads there. A pure function of (state, event): the caller keeps
 * the state (PeerDevice.replication) and applies what this returns.
 *
 * @module
 */

import type { ReplicationState } from "./states.ts";

/** Which side of a resync or verify this node takes. */
export type SyncRole = "source" | "target";

/** Something that moves a peer device's replication state. */
export type ReplEvent =
  /** The handshake found nothing to resync (or no usable source): replication runs. */
  | { type: "established" }
  /** invalidate ("target") or invalidate-remote ("source"): tell the peer first. */
  | { type: "start-sync"; as: SyncRole }
  /** A sync decision, the peer's StartingSync, or our own: send bitmaps, wait for the peer's. */
  | { type: "exchange-bitmap"; as: SyncRole }
  /**
   * The peer's whole bitmap arrived: the resync runs, or starts paused (PausedSyncS/T at once,
   * as DRBD's sanitize_state makes it) when a pause flag is already set.
   */
  | { type: "bitmap-received"; paused?: boolean }
  /** A pause flag (ours or the peer's) is set: a running resync pauses. */
  | { type: "pause" }
  /** No pause flag is left: a paused resync continues. */
  | { type: "resume" }
  /** Every out-of-sync block was resynced. */
  | { type: "resync-done" }
  /** drbdsetup verify here ("source") or on the peer ("target"). */
  | { type: "verify-start"; as: SyncRole }
  /** The verify run ended (done, stop sector reached, stopped by either side). */
  | { type: "verify-done" }
  /** Congestion with on-congestion pull-ahead: stop sending data, announce out-of-sync blocks. */
  | { type: "pull-ahead" }
  /** The peer went Ahead: its writes now arrive as OutOfSync only. */
  | { type: "peer-ahead" }
  /** The Ahead data drained (here, "source") or the Ahead peer started resyncing ("target"). */
  | { type: "resync-after-ahead"; as: SyncRole }
  /** The connection is gone. */
  | { type: "lost" };

/** What an event does to a state: the next state, or a refusal saying why not. */
export type ReplTransition =
  | { ok: true; from: ReplicationState; to: ReplicationState; changed: boolean }
  | { ok: false; from: ReplicationState; event: ReplEvent; reason: string };

const RESYNC = {
  source: { running: "SyncSource", paused: "PausedSyncS" },
  target: { running: "SyncTarget", paused: "PausedSyncT" },
} as const;

/**
 * The state `event` takes a peer device in `state` to, or a refusal for events that make no
 * sense there (a resync ending that never started, a verify while resyncing...). Pause and
 * resume are flags that any state may take; only a resync state shows them.
 */
export function nextReplState(state: ReplicationState, event: ReplEvent): ReplTransition {
  const to = (next: ReplicationState): ReplTransition => ({
    ok: true,
    from: state,
    to: next,
    changed: next !== state,
  });
  const refuse = (reason: string): ReplTransition => ({ ok: false, from: state, event, reason });
  const sideOf = (s: ReplicationState): SyncRole | undefined =>
    s === "SyncSource" || s === "PausedSyncS"
      ? "source"
      : s === "SyncTarget" || s === "PausedSyncT"
      ? "target"
      : undefined;
  switch (event.type) {
    case "established":
      return state === "Off" || state === "Established"
        ? to("Established")
        : refuse("a resync or verify is under way");
    case "start-sync":
      return state === "Established"
        ? to(event.as === "source" ? "StartingSyncS" : "StartingSyncT")
        : refuse("not Established");
    case "exchange-bitmap": {
      const wf = event.as === "source" ? "WFBitMapS" : "WFBitMapT";
      const starting = event.as === "source" ? "StartingSyncS" : "StartingSyncT";
      return state === "Off" || state === "Established" || state === starting
        ? to(wf)
        : refuse(`not Off, Established or ${starting}`);
    }
    case "bitmap-received": {
      const side = state === "WFBitMapS" ? "source" : state === "WFBitMapT" ? "target" : undefined;
      if (!side) return refuse("no bitmap exchange");
      return to(RESYNC[side][event.paused ? "paused" : "running"]);
    }
    case "pause":
    case "resume": {
      const side = sideOf(state);
      if (!side) return to(state);
      return to(RESYNC[side][event.type === "pause" ? "paused" : "running"]);
    }
    case "resync-done":
      return sideOf(state) ? to("Established") : refuse("no resync running");
    case "verify-start":
      if (state === "Established") return to(event.as === "source" ? "VerifyS" : "VerifyT");
      // The peer's first verify request may come after its State packet said VerifyS.
      return state === (event.as === "source" ? "VerifyS" : "VerifyT")
        ? to(state)
        : refuse("not Established");
    case "verify-done":
      return state === "VerifyS" || state === "VerifyT"
        ? to("Established")
        : refuse("no verify running");
    case "pull-ahead":
      return state === "Established" ? to("Ahead") : refuse("not Established");
    case "peer-ahead":
      return state === "Established" || state === "Behind"
        ? to("Behind")
        : refuse("not Established");
    case "resync-after-ahead": {
      const from = event.as === "source" ? "Ahead" : "Behind";
      return state === from ? to(RESYNC[event.as].running) : refuse(`not ${from}`);
    }
    case "lost":
      return to("Off");
  }
}
