/**
 * drbdsetup 9.22's status colors: which state is shown bold, cyan, green or red, and whether
 * the local (bold) or peer (plain) palette applies.
 *
 * @module
 */
import type { ConnectionState, DiskState, ReplicationState, Role } from "../engine/states.ts";

type ColorClass = "transitional" | "normal" | "primary" | "good" | "bad";

const LOCAL: Record<ColorClass, string | null> = {
  transitional: "\x1b[1m",
  normal: null,
  primary: "\x1b[1;36m",
  good: "\x1b[1;32m",
  bad: "\x1b[1;31m",
};

const PEER: Record<ColorClass, string | null> = {
  transitional: null,
  normal: null,
  primary: "\x1b[36m",
  good: "\x1b[32m",
  bad: "\x1b[31m",
};

/** The escape sequence that ends a colored word. */
export const STOP = "\x1b[0m";

function paint(
  text: string,
  start: ColorClass,
  stop: ColorClass,
  local: boolean,
  on: boolean,
): string {
  if (!on) return text;
  const palette = local ? LOCAL : PEER;
  // 9.22 picks the start and the stop code separately; they differ only for intentional clients
  return (palette[start] ?? "") + text + (palette[stop] ? STOP : "");
}

function roleClass(role: Role): ColorClass {
  return role === "Primary" ? "primary" : role === "Secondary" ? "normal" : "transitional";
}

function cstateClass(c: ConnectionState): ColorClass {
  if (c === "StandAlone" || c === "Connecting") return "bad";
  return c === "Connected" ? "normal" : "transitional";
}

const REPL_CLASS: Partial<Record<ReplicationState, ColorClass>> = {
  Established: "normal",
  SyncSource: "bad",
  SyncTarget: "bad",
  VerifyS: "normal",
  VerifyT: "normal",
  PausedSyncS: "normal",
  PausedSyncT: "bad",
  Ahead: "normal",
};

const DISK_CLASS: Partial<Record<DiskState, ColorClass>> = {
  Diskless: "bad",
  Inconsistent: "bad",
  Outdated: "bad",
  UpToDate: "good",
};

/** A role word, colored for this node (`local`) or a peer. */
export function roleColor(role: Role, local: boolean, on: boolean): string {
  const c = roleClass(role);
  return paint(role, c, c, local, on);
}

/** A connection state word (always the local palette, as in 9.22). */
export function cstateColor(c: ConnectionState, on: boolean): string {
  const k = cstateClass(c);
  return paint(c, k, k, true, on);
}

/** A replication state word; the states that concern this node's data use the local palette. */
export function replColor(r: ReplicationState, on: boolean): string {
  const k = REPL_CLASS[r] ?? "transitional";
  const local = r === "SyncTarget" || r === "PausedSyncT" || r === "Behind";
  return paint(r, k, k, local, on);
}

/** A disk state word; an intentional client's Diskless starts green like UpToDate. */
export function diskColor(d: DiskState, intentional: boolean, local: boolean, on: boolean): string {
  const start = d === "Diskless" && intentional ? "good" : DISK_CLASS[d] ?? "transitional";
  const stop = DISK_CLASS[d] ?? "transitional";
  return paint(d, start, stop, local, on);
}

/** A yes/no word colored green when `good`, red otherwise (quorum, force-io-failures). */
export function boolColor(text: string, good: boolean, on: boolean): string {
  const k = good ? "good" : "bad";
  return paint(text, k, k, true, on);
}
