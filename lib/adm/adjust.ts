/**
 * drbdadm adjust: compares a resource of drbd.conf with what the node runs (`drbdsetup show`,
 * read by lib/config's `parseRunningConfig`) and schedules only the steps that make them agree:
 * new or deleted minors, attach/detach, disk/net/resource/peer-device option changes (each as
 * `--set-defaults` plus the configured options), new, deleted or changed peers and paths,
 * connect, resize. Nothing running means everything is created, attached and connected.
 *
 * @module
 */

import type { Address, Connection, OptionList, Path, PeerDevice, Volume } from "../config/types.ts";
import type { RunningResource } from "../config/running.ts";
import { lookupOption, valuesEqual } from "../options/lookup.ts";
import { findCommand, internalCommand } from "./commands.ts";
import type { AdmCommand } from "./commands.ts";
import type { Ctx, Stage } from "./engine.ts";
import { hasDisk } from "./model.ts";

/** What {@link planAdjust} needs from the engine. */
export interface AdjustTarget {
  /** Queues a step for a configuration stage (`once`: unless the same step is queued). */
  schedule(cmd: AdmCommand, ctx: Ctx, stage: Stage, once?: boolean): void;
  /** Schedules the DRBD proxy's part for a configured connection (after its own steps). */
  adjustProxy?(ctx: Ctx): void;
}

/** Which halves of the comparison to do (`--skip-disk`, `--skip-net`). */
export interface AdjustScope {
  disk: boolean;
  net: boolean;
  /** Where drbdadm's `-vvv` notes on what it found go (new resource, new minor...). */
  note?: (message: string) => void;
}

const cmd = (name: string) => findCommand(name)!;
// the --set-defaults forms: every option the configuration does not set returns to its default
const RES_OPTIONS_DEFAULTS = internalCommand("resource-options", "resource", "resourceOptions", {
  resNameRequired: true,
  backendResName: true,
});
const NET_OPTIONS_DEFAULTS = internalCommand("net-options", "new-peer", "netOptions", {
  resNameRequired: true,
  backendResName: true,
  needPeer: true,
});
const DISK_OPTIONS_DEFAULTS = internalCommand("disk-options", "attach", "attach", {
  resNameRequired: true,
  iterateVolumes: true,
  diskRequired: true,
});
/** `peer-device-options --set-defaults` (the engine's own, shared with `up`'s adjust path). */
export const PEER_DEVICE_DEFAULTS = internalCommand(
  "peer-device-options",
  "peer-device",
  "peerDeviceOptions",
  {
    showInUsage: 1,
    resNameRequired: true,
    backendResName: true,
    verifyIps: true,
    needPeer: true,
  },
);

/** Per-volume findings of the comparison (drbdadm's adj_* flags). */
interface VolumePlan {
  vol: Volume;
  /** The running volume with the same number, if any. */
  running?: Volume;
  newMinor: boolean;
  delMinor: boolean;
  attach: boolean;
  detach: boolean;
  diskOptions: boolean;
  resize: boolean;
}

function isDefault(name: string, value: string | undefined): boolean {
  const def = lookupOption(name);
  if (def?.default === undefined) return false;
  return value === def.default || valuesEqual(def, value, def.default);
}

function sameValue(name: string, a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  const def = lookupOption(name);
  return def !== undefined && valuesEqual(def, a, b);
}

/**
 * Whether two option lists configure the same: every running option equals the configured one
 * or, when not configured, is its default; every configured option not running is its default.
 * `skip` names options compared elsewhere (size).
 */
export function optionsEqual(conf: OptionList, running: OptionList, skip?: string): boolean {
  const seen = new Set<string>();
  for (const r of running) {
    if (r.name === skip) continue;
    const c = conf.find((o) => o.name === r.name);
    if (c) {
      if (!sameValue(r.name, r.value, c.value)) return false;
      seen.add(c.name);
    } else if (!isDefault(r.name, r.value)) return false;
  }
  return conf.every((c) => c.name === skip || seen.has(c.name) || isDefault(c.name, c.value));
}

function optionEqual(name: string, conf: OptionList, running: OptionList): boolean {
  const c = conf.find((o) => o.name === name);
  const r = running.find((o) => o.name === name);
  if (c && r) return sameValue(name, c.value, r.value);
  if (c) return isDefault(name, c.value);
  if (r) return isDefault(name, r.value);
  return true;
}

function diskOf(vol: Volume): string | undefined {
  return vol.disk === "none" ? undefined : vol.disk;
}

function diskEqual(conf: Volume, running: Volume): boolean {
  const c = diskOf(conf);
  const r = diskOf(running);
  if (c === undefined || r === undefined) return c === r;
  if (c !== r) return false;
  const ci = conf.metaDisk === "internal";
  if (ci !== (running.metaDisk === "internal")) return false;
  return ci || conf.metaDisk === running.metaDisk;
}

function compareVolume(p: VolumePlan): void {
  const { vol, running } = p;
  if (!running) {
    p.newMinor = true;
    p.attach = hasDisk(vol);
    return;
  }
  p.newMinor = p.delMinor = vol.minor !== running.minor;
  if (!diskEqual(vol, running) || p.newMinor) {
    p.attach = hasDisk(vol);
    p.detach = diskOf(running) !== undefined;
  }
  if (!p.attach && !p.detach && hasDisk(vol)) {
    const c = vol.diskOptions.find((o) => o.name === "size");
    let k = running.diskOptions.find((o) => o.name === "size");
    if (k && isDefault("size", k.value)) k = undefined;
    p.resize = !c !== !k || (!!c && !!k && !sameValue("size", c.value, k.value));
    p.diskOptions = !optionsEqual(vol.diskOptions, running.diskOptions, "size");
  }
}

function addressesEqual(a?: Address, b?: Address): boolean {
  if (!a || !b) return a === b;
  return a.af === b.af && a.addr.toLowerCase() === b.addr.toLowerCase() && a.port === b.port;
}

function peerId(conn: Connection): string | undefined {
  return conn.peer?.nodeId;
}

/**
 * Schedules, on `target`, the steps that bring the running resource (`running`; undefined when
 * nothing of it runs) to the configuration of `ctx.res`, in drbdadm 9.22's stages and order.
 * `ctx.vol` limits the volume steps to that volume.
 */
export function planAdjust(
  target: AdjustTarget,
  ctx: Ctx,
  running: RunningResource | undefined,
  scope: AdjustScope,
): void {
  const res = ctx.res!;
  const base: Ctx = { cmd: ctx.cmd, res };
  const confVols = res.me?.volumes ?? [];

  // volumes by number: configured ones, plus running ones to delete (kept in vnr order)
  const plans: VolumePlan[] = [];
  const runVols = running?.volumes ?? [];
  const blank = (vol: Volume, running?: Volume): VolumePlan => ({
    vol,
    running,
    newMinor: false,
    delMinor: false,
    attach: false,
    detach: false,
    diskOptions: false,
    resize: false,
  });
  for (const vol of confVols) {
    const p = blank(vol, runVols.find((r) => r.vnr === vol.vnr));
    compareVolume(p);
    plans.push(p);
  }
  for (const r of runVols) {
    if (confVols.some((v) => v.vnr === r.vnr)) continue;
    const p = blank(r, r);
    p.delMinor = true;
    p.detach = diskOf(r) !== undefined;
    const at = plans.findIndex((x) => x.vol.vnr > r.vnr);
    plans.splice(at < 0 ? plans.length : at, 0, p);
  }

  if (!running) scope.note?.(`New resource ${res.name}\n`);
  for (const p of plans) {
    const { vol } = p;
    if (!p.running) scope.note?.(`New minor ${vol.minor} (vol:${vol.vnr})\n`);
    else if (!confVols.includes(vol)) {
      scope.note?.(`Deleting minor ${vol.minor} (vol:${vol.vnr}) from kernel, not in config\n`);
    }
  }
  if (!running) target.schedule(cmd("new-resource"), base, "prereq");
  else if (!optionsEqual(res.resOptions, running.resOptions)) {
    target.schedule(RES_OPTIONS_DEFAULTS, base, "resource");
  }
  if (scope.net) adjustNet(target, base, running);
  if (scope.disk) {
    for (const p of plans) {
      if (ctx.vol && p.vol !== ctx.vol) continue;
      const v: Ctx = { ...base, vol: p.vol };
      const k: Ctx = { ...base, vol: p.running ?? p.vol };
      if (p.detach) target.schedule(cmd("detach"), k, "disk-prep-down");
      if (p.delMinor) target.schedule(cmd("del-minor"), k, "disk-prep-down");
      if (p.attach) target.schedule(cmd("attach"), v, "disk");
      if (p.diskOptions) target.schedule(DISK_OPTIONS_DEFAULTS, v, "disk");
      if (p.resize) target.schedule(cmd("resize"), v, "disk");
    }
  }
  for (const p of plans) {
    if (ctx.vol && p.vol !== ctx.vol) continue;
    if (!p.newMinor) continue;
    const v: Ctx = { ...base, vol: p.vol };
    target.schedule(cmd("new-minor"), v, "disk-prep-up");
    if (scope.net && scope.disk) schedulePeerDeviceOptions(target, v);
  }
}

function adjustNet(target: AdjustTarget, base: Ctx, running: RunningResource | undefined): void {
  const res = base.res!;
  for (const rc of running?.connections ?? []) {
    const configured = res.connections.some((c) => !c.ignore && peerId(c) === peerId(rc));
    if (!configured) target.schedule(cmd("del-peer"), { ...base, conn: rc }, "net-prep-down");
  }
  for (const conn of res.connections) {
    if (conn.ignore) continue;
    const c: Ctx = { ...base, conn };
    const rc = running?.connections.find((r) => peerId(r) === peerId(conn));
    if (!rc) {
      target.schedule(cmd("new-peer"), c, "net-prep-up");
      target.schedule(cmd("new-path"), c, "net-path");
      target.schedule(cmd("connect"), c, "net-connect");
      schedulePeerDeviceOptions(target, c);
      target.adjustProxy?.(c);
      continue;
    }
    let connect = rc.isStandalone;
    let newPath = false;
    if (!optionsEqual(conn.netOptions, rc.netOptions)) {
      if (!optionEqual("transport", conn.netOptions, rc.netOptions)) {
        // a new transport needs a new peer (del-peer disconnects it)
        target.schedule(cmd("del-peer"), c, "net-prep-down");
        target.schedule(cmd("new-peer"), c, "net-prep-up");
        newPath = connect = true;
        schedulePeerDeviceOptions(target, c);
      } else {
        conn.netOptions = conn.netOptions.filter((o) => o.name !== "transport");
        target.schedule(NET_OPTIONS_DEFAULTS, c, "net");
      }
    }
    if (newPath) target.schedule(cmd("new-path"), c, "net-path");
    else if (adjustPaths(target, c, rc)) connect = true;
    if (connect) target.schedule(cmd("connect"), c, "net-connect");
    adjustPeerDevices(target, c, rc);
    target.adjustProxy?.(c);
  }
}

/** New paths for configured ones not running, del-path for running ones not configured. */
function adjustPaths(target: AdjustTarget, ctx: Ctx, running: Connection): boolean {
  const seen = new Set<Path>();
  for (const path of ctx.conn!.paths) {
    if (path.ignore) continue;
    const rp = running.paths.find((r) =>
      addressesEqual(r.myAddress, path.myAddress) &&
      addressesEqual(r.connectTo, path.connectTo ?? path.peerAddress)
    );
    if (rp) seen.add(rp);
    else target.schedule(cmd("new-path"), { ...ctx, path }, "net-path");
  }
  let deleted = false;
  for (const rp of running.paths) {
    if (seen.has(rp)) continue;
    target.schedule(cmd("del-path"), { ...ctx, path: rp }, "net-prep-down");
    deleted = true;
  }
  if (running.paths.length === 1 && deleted) {
    // the last path of a connecting peer cannot go: disconnect first, connect again later
    if (!running.isStandalone) target.schedule(cmd("disconnect"), ctx, "net-disconnect");
    return true;
  }
  return false;
}

function adjustPeerDevices(target: AdjustTarget, ctx: Ctx, running: Connection): void {
  const conn = ctx.conn!;
  for (const pd of conn.peerDevices) {
    const vol = conn.peer?.volumes.find((v) => v.vnr === pd.vnr);
    const rpd = running.peerDevices.find((r: PeerDevice) => r.vnr === pd.vnr);
    if (!rpd) target.schedule(PEER_DEVICE_DEFAULTS, { ...ctx, vol }, "peer-device", true);
    else if (!optionsEqual(pd.options, rpd.options)) {
      target.schedule(PEER_DEVICE_DEFAULTS, { ...ctx, vol }, "peer-device");
    }
  }
}

/**
 * Schedules `peer-device-options --set-defaults` for peer devices that configure options: of
 * every local volume of `ctx.conn`, or of `ctx.vol` on every connection.
 */
export function schedulePeerDeviceOptions(target: AdjustTarget, ctx: Ctx): void {
  const res = ctx.res!;
  if (!ctx.vol) {
    for (const vol of res.me?.volumes ?? []) {
      const pd = ctx.conn!.peerDevices.find((p) => p.vnr === vol.vnr);
      if (!pd || pd.options.length === 0) continue;
      target.schedule(PEER_DEVICE_DEFAULTS, { ...ctx, vol }, "peer-device", true);
    }
  } else {
    for (const conn of res.connections) {
      const pd = conn.peerDevices.find((p) => p.vnr === ctx.vol!.vnr);
      if (!pd || pd.options.length === 0 || !conn.peer) continue;
      target.schedule(PEER_DEVICE_DEFAULTS, { ...ctx, conn }, "peer-device", true);
    }
  }
}
