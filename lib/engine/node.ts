/**
 * The node: every resource and minor of this host, the way the DRBD kernel module holds them.
 * It answers drbdsetup's requests arriving over the control channel (one op per drbdsetup
 * command that changes state, plus `status`, `show` and `watch` from which drbdsetup derives
 * status, show, events2, role, cstate, dstate and the wait-* commands), and serves each minor
 * as an NBD export.
 *
 * @module
 */

import { ControlError, type ControlHandler, type HandlerContext } from "../control/protocol.ts";
import { runFiles } from "../control/paths.ts";
import type { Logger } from "../util/log.ts";
import { NbdServer } from "../nbd/server.ts";
import { attach as kernelAttach, type KernelAttachment } from "../nbd/kernel.ts";
import type { ResourceStatus } from "../status/types.ts";
import { Device } from "./device.ts";
import { DrbdError, ERR, OtherError, SS } from "./errors.ts";
import { parseMetaIndex } from "./metadata.ts";
import { PeerLink } from "./peer.ts";
import { congestionNeedsProtocolA } from "./congestion.ts";
import { setUserPause } from "./resync_pause.ts";
import {
  dependencyChangeText,
  type DependencyMinor,
  maySyncNow,
  resyncAfterRefusal,
  updateDependencies,
} from "./resync_after.ts";
import { resyncStartRefusal } from "./invalidate.ts";
import { Connection, Resource, type ResourceHost } from "./resource.ts";
import { algChangeRefusal } from "./sync_param.ts";
import { resourceStatus, type ShowResource, showResource } from "./snapshot.ts";
import { type ProcFile, startProcFile } from "./proc_file.ts"; // proc file

/** A request's arguments as drbdsetup sends them. */
export interface SetupArgs {
  /** The first positional argument as typed: the object drbdsetup names in its messages. */
  objname: string;
  /** Positional arguments by their usage names ({resource}, {minor}, {peer_node_id} ...). */
  args: Record<string, string>;
  /** `--name=value` options, canonical values. */
  options: Record<string, string>;
}

interface MinorEntry {
  device: Device;
  resource: Resource;
  server: NbdServer;
  kernel?: KernelAttachment;
}

/** Options of {@link createNode}. */
export interface NodeOptions {
  runDir: string;
  log: Logger;
  /** `HOST:BASEPORT`: also export minor N over TCP on BASEPORT+N (default `$UDRBD_NBD_TCP`). */
  nbdTcp?: string;
}

/** Creates the node a daemon serves. */
export function createNode(options: NodeOptions): Promise<ControlHandler> {
  return Promise.resolve(new Node(options));
}

/** The node daemon's state and request handler. */
export class Node implements ControlHandler, ResourceHost {
  readonly resources = new Map<string, Resource>();
  readonly minors = new Map<number, MinorEntry>();
  #runDir: string;
  #log: Logger;
  #watchers = new Set<() => void>();
  #claimed = new Map<string, number>();
  #nbdTcp: string | undefined;
  /** `$UDRBD_RUN_DIR/proc`, DRBD 8.4's /proc/drbd (proc file). */
  #proc: ProcFile;
  /** resync-after is being brought in line (its changes notify again). */
  #settlingDependencies = false;

  constructor(options: NodeOptions) {
    this.#runDir = options.runDir;
    this.#log = options.log;
    this.#nbdTcp = options.nbdTcp ?? Deno.env.get("UDRBD_NBD_TCP");
    Deno.mkdirSync(runFiles(this.#runDir).nbd, { recursive: true, mode: 0o700 });
    this.#proc = startProcFile(this.#runDir, () => this.status(), this.#log); // proc file
  }

  // ---- ResourceHost ------------------------------------------------------------------------

  notify(): void {
    this.#settleDependencies();
    for (const w of this.#watchers) w();
    this.#proc.touch(); // proc file
  }

  info(message: string): void {
    this.#log.info(message);
  }

  // ---- ControlHandler ----------------------------------------------------------------------

  async handle(op: string, raw: Record<string, unknown>, ctx: HandlerContext): Promise<unknown> {
    const req = toSetupArgs(raw);
    try {
      const result = await this.#dispatch(op, req, ctx);
      if (op !== "status" && op !== "show" && op !== "watch") this.notify();
      return result ?? null;
    } catch (e) {
      if (e instanceof DrbdError) {
        const cause = e.cause === undefined ? "" : ` (${e.cause})`;
        this.#log.info(`${op} ${req.objname}: ${e.message.split("\n")[0]}${cause}`);
        // drbdsetup's text without the newline its last line always ends with (the client
        // adds it); an empty line the kernel's info ends with stays.
        throw new ControlError(e.exitCode, e.text.slice(0, -1), e.retcode);
      }
      if (e instanceof OtherError) throw new ControlError(e.exitCode, e.message);
      throw e;
    }
  }

  async shutdown(): Promise<void> {
    this.#log.info("shutting down: closing exports, marking metadata clean");
    for (const r of [...this.resources.values()]) {
      await this.#teardown(r, true);
    }
    this.#proc.stop(); // proc file
  }

  // ---- dispatch ----------------------------------------------------------------------------

  #dispatch(op: string, q: SetupArgs, ctx: HandlerContext): Promise<unknown> | unknown {
    switch (op) {
      case "status":
        return this.status(q.args.resource);
      case "show":
        return this.show(q.args.resource);
      case "watch":
        return this.#watch(q.args.resource, ctx);
      case "new-resource":
        return this.#newResource(q);
      case "resource-options":
        return Object.assign(this.#resource(q).options, q.options);
      case "del-resource":
        return this.#delResource(q);
      case "new-minor":
        return this.#newMinor(q);
      case "del-minor":
        return this.#delMinor(q);
      case "attach":
        return this.#attach(q);
      case "disk-options": {
        const { device } = this.#minor(q);
        if (!device.disk) throw new DrbdError(q.objname, ERR.NO_DISK);
        this.#checkResyncAfter(q, device.minor);
        Object.assign(device.disk.options, q.options);
        return;
      }
      case "detach":
        return this.#detach(q);
      case "primary": {
        const r = this.#resource(q);
        r.promote(q.options.force === "yes" || q.options["overwrite-data-of-peer"] === "yes");
        return;
      }
      case "secondary":
        return this.#settled(this.#resource(q)).then((r) => r.demote());
      case "new-current-uuid":
        return this.#newCurrentUuid(q);
      case "resize":
        return this.#resize(q);
      case "outdate":
        return this.#outdate(q);
      case "invalidate":
        return this.#invalidate(q);
      case "suspend-io":
        return this.#minor(q).resource.suspendIo();
      case "resume-io":
        return this.#minor(q).resource.resumeIo();
      case "down":
        return this.#down(q);
      case "new-peer":
        return this.#newPeer(q);
      case "net-options": {
        const c = this.#connection(q);
        checkNetOptions(q.objname, { ...c.net, ...q.options });
        const states = [...c.peerDevices.values()].map((pd) => pd.replication);
        const refusal = algChangeRefusal(c.net, { ...c.net, ...q.options }, states);
        if (refusal !== undefined) throw new DrbdError(q.objname, refusal);
        Object.assign(c.net, q.options);
        c.link?.netOptionsChanged();
        return;
      }
      case "new-path":
        return this.#newPath(q);
      case "del-path":
        return this.#delPath(q);
      case "connect":
        return this.#connect(q);
      case "disconnect":
        return this.#disconnect(q);
      case "del-peer":
        return this.#delPeer(q);
      case "peer-device-options": {
        const c = this.#connection(q);
        const { "set-defaults": reset, ...options } = q.options;
        const pd = c.peerDevice(Number(q.args.volume));
        // --set-defaults (drbdadm adjust): options not given return to their defaults
        if (reset === "yes") { for (const k of Object.keys(pd.options)) delete pd.options[k]; }
        Object.assign(pd.options, options);
        return;
      }
      case "invalidate-remote":
        return this.#invalidateRemote(q);
      case "pause-sync":
      case "resume-sync":
        return this.#pauseSync(q, op === "pause-sync");
      case "verify":
        return this.#verify(q);
      case "forget-peer":
        return this.#forgetPeer(q);
      case "gi":
        return this.#gi(q);
      default:
        throw new ControlError(20, `${q.objname}: '${op}' is not something the daemon does`);
    }
  }

  // ---- queries -----------------------------------------------------------------------------

  /** The status snapshot of one resource, or all (`all`/undefined), in creation order. */
  status(name?: string): ResourceStatus[] {
    return this.#selected(name).map((r) => resourceStatus(r));
  }

  /** The running configuration, for `drbdsetup show` and drbdadm adjust. */
  show(name?: string): ShowResource[] {
    return this.#selected(name).map((r) => showResource(r));
  }

  #selected(name?: string): Resource[] {
    const all = [...this.resources.values()];
    if (!name || name === "all") return all;
    return all.filter((r) => r.name === name);
  }

  /** Streams a status snapshot now and after every change, until the caller cancels. */
  #watch(name: string | undefined, ctx: HandlerContext): Promise<void> {
    return new Promise((resolve) => {
      let scheduled = false;
      const send = () => {
        scheduled = false;
        if (!ctx.signal.aborted) ctx.emit(this.status(name));
      };
      const onChange = () => {
        if (scheduled) return;
        scheduled = true;
        queueMicrotask(send);
      };
      this.#watchers.add(onChange);
      send();
      const timer = setInterval(onChange, 1000);
      ctx.signal.addEventListener("abort", () => {
        clearInterval(timer);
        this.#watchers.delete(onChange);
        resolve();
      }, { once: true });
    });
  }

  // ---- objects -----------------------------------------------------------------------------

  #resource(q: SetupArgs): Resource {
    const name = q.args.resource ?? q.objname;
    const r = this.resources.get(name);
    if (!r) throw new DrbdError(q.objname, ERR.RES_NOT_KNOWN);
    return r;
  }

  #minor(q: SetupArgs): MinorEntry {
    const minor = Number(q.args.minor ?? q.objname);
    const m = this.minors.get(minor);
    if (!m) throw new DrbdError(q.objname, ERR.MINOR_INVALID);
    return m;
  }

  #connection(q: SetupArgs): Connection {
    const r = this.#resource(q);
    const c = r.connections.get(Number(q.args.peer_node_id));
    if (!c) throw new DrbdError(q.objname, ERR.INVALID_PEER_NODE_ID);
    return c;
  }

  #newResource(q: SetupArgs): void {
    const name = q.args.resource;
    const nodeId = Number(q.args.node_id);
    const existing = this.resources.get(name);
    if (existing) {
      Object.assign(existing.options, q.options);
      return;
    }
    if (!/^[^/\s]+$/.test(name)) {
      // drbd_check_name_str's reason (the rule drbd's strict_names=0 applies)
      throw new DrbdError(
        q.objname,
        ERR.INVALID_REQUEST,
        undefined,
        "invalid name (disallowed: ascii control, space, slash)",
      );
    }
    if (!(nodeId >= 0 && nodeId < 32)) throw new DrbdError(q.objname, ERR.INVALID_REQUEST);
    this.resources.set(name, new Resource(this, name, nodeId, { ...q.options }));
    this.#log.info(`${name}: resource created, node-id ${nodeId}`);
  }

  #delResource(q: SetupArgs): void {
    const r = this.#resource(q);
    if (r.devices.size > 0) throw new DrbdError(q.objname, ERR.RES_IN_USE);
    if ([...r.connections.values()].some((c) => c.state !== "StandAlone")) {
      throw new DrbdError(q.objname, ERR.NET_CONFIGURED);
    }
    this.resources.delete(r.name);
  }

  async #newMinor(q: SetupArgs): Promise<void> {
    const r = this.#resource(q);
    const minor = Number(q.args.minor);
    const volume = Number(q.args.volume);
    if (!(minor >= 0 && minor < 1 << 20) || !(volume >= 0 && volume < 65535)) {
      throw new DrbdError(q.objname, ERR.INVALID_REQUEST);
    }
    if (this.minors.has(minor) || r.devices.has(volume)) {
      throw new DrbdError(q.objname, ERR.MINOR_OR_VOLUME_EXISTS);
    }
    const device = new Device(r, minor, volume, { ...q.options });
    const path = `${runFiles(this.#runDir).nbd}/drbd${minor}.sock`;
    const tcp = this.#tcpFor(minor);
    let server: NbdServer;
    try {
      server = NbdServer.listen({
        device,
        name: `drbd${minor}`,
        description: `udrbd ${r.name}/${volume} (minor ${minor})`,
        path,
        tcp,
        log: (m) => this.#log.warn(`drbd${minor}: ${m}`),
      });
    } catch (e) {
      throw new DrbdError(
        q.objname,
        ERR.INVALID_REQUEST,
        undefined,
        `cannot export minor ${minor}: ${e instanceof Error ? e.message : e}`,
      );
    }
    r.devices.set(volume, device);
    const entry: MinorEntry = { device, resource: r, server };
    this.minors.set(minor, entry);
    this.#log.info(
      `${r.name}/${volume}: minor ${minor} exported at ${path}` +
        (tcp ? ` and tcp ${tcp.hostname}:${tcp.port}` : ""),
    );
    entry.kernel = await kernelAttach({
      socketPath: path,
      exportName: `drbd${minor}`,
      minor,
      resource: r.name,
      volume,
      log: this.#log,
    });
  }

  async #delMinor(q: SetupArgs): Promise<void> {
    const m = this.#minor(q);
    if (m.device.disk) throw new DrbdError(q.objname, ERR.MINOR_CONFIGURED);
    if (m.resource.isPrimary() && m.device.clients.size > 0) {
      throw new DrbdError(q.objname, SS.DEVICE_IN_USE);
    }
    await this.#removeMinor(m);
  }

  /**
   * The TCP address of a minor's export when the user asked for one: `UDRBD_NBD_TCP` =
   * `HOST:BASEPORT` exports minor N on BASEPORT+N as well as on its Unix socket.
   */
  #tcpFor(minor: number): { hostname: string; port: number } | undefined {
    const spec = this.#nbdTcp;
    if (!spec) return undefined;
    const colon = spec.lastIndexOf(":");
    const host = spec.slice(0, colon).replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
    const base = Number(spec.slice(colon + 1));
    if (colon < 0 || !Number.isInteger(base) || base <= 0 || base + minor > 65535) {
      this.#log.once("nbd-tcp", "warn", `UDRBD_NBD_TCP=${spec} is not HOST:PORT; TCP export off`);
      return undefined;
    }
    return { hostname: host, port: base + minor };
  }

  async #removeMinor(m: MinorEntry): Promise<void> {
    this.minors.delete(m.device.minor);
    m.resource.devices.delete(m.device.volume);
    await m.kernel?.detach();
    await m.server.close();
  }

  #attach(q: SetupArgs): void {
    const m = this.#minor(q);
    const { device, resource } = m;
    if (device.disk) throw new DrbdError(q.objname, ERR.DISK_CONFIGURED);
    const backing = q.args.lower_dev;
    const metaPath = q.args.meta_data_dev;
    const index = parseMetaIndex(q.args.meta_data_index);
    if (index === undefined) throw new DrbdError(q.objname, ERR.MD_IDX_INVALID);
    this.#checkResyncAfter(q, device.minor);
    for (const [path, minor] of this.#claimed) {
      if (
        minor !== device.minor && (path === backing || path === metaPath) && index !== "flexible"
      ) {
        throw new DrbdError(q.objname, path === backing ? ERR.BDCLAIM_DISK : ERR.BDCLAIM_MD_DISK);
      }
    }
    const disk = Device.attachDisk(q.objname, {
      backing,
      metaPath,
      metaIndex: index,
      nodeId: resource.nodeId,
      options: { ...q.options },
      onEvict: () => {
        device.disk?.meta.flushBitmap();
        device.stats.bmWrites++;
      },
    });
    try {
      const usable = disk.meta.usableSectors;
      const wanted = Number(q.options.size ?? 0);
      if (wanted > usable) throw new DrbdError(q.objname, ERR.DISK_TOO_SMALL);
      const md = disk.meta.md;
      const size = wanted > 0 ? wanted : usable;
      if (md.effectiveSize !== size) {
        md.effectiveSize = size;
        disk.meta.writeSuperblock();
      }
      for (const c of resource.connections.values()) disk.meta.slotOf(c.peerNodeId, true);
    } catch (e) {
      disk.data.close();
      disk.meta.close(true);
      throw e;
    }
    device.disk = disk;
    this.#claimed.set(backing, device.minor);
    this.#claimed.set(metaPath, device.minor);
    resource.setDiskState(device, Resource.diskStateFromMd(disk));
    // A disk attached while connected: the peer hears its sizes and UUIDs (receive_sizes).
    resource.peersChanged();
    this.#log.info(
      `${resource.name}/${device.volume}: attached ${backing} (meta ${metaPath} ${q.args.meta_data_index}), ${device.diskState}, ${
        disk.meta.md.effectiveSize * 512
      } bytes`,
    );
  }

  #detach(q: SetupArgs): void {
    const { device, resource } = this.#minor(q);
    if (!device.disk) return;
    const force = q.options.force === "yes";
    if (resource.isPrimary() && device.upToDate && !force) {
      throw new DrbdError(q.objname, SS.NO_UP_TO_DATE_DISK);
    }
    this.#releaseDisk(resource, device);
  }

  #releaseDisk(resource: Resource, device: Device): void {
    const disk = device.disk;
    if (!disk) return;
    device.disk = undefined;
    resource.setDiskState(device, "Diskless");
    this.#claimed.delete(disk.backing);
    this.#claimed.delete(disk.metaPath);
    try {
      disk.data.close();
    } finally {
      disk.meta.close(true);
    }
    this.#log.info(`${resource.name}/${device.volume}: detached ${disk.backing}`);
  }

  #newCurrentUuid(q: SetupArgs): void {
    const { device, resource } = this.#minor(q);
    if (!device.disk) throw new DrbdError(q.objname, ERR.NO_DISK);
    const clear = q.options["clear-bitmap"] === "yes";
    const justCreated = device.disk.meta.md.currentUuid === 4n;
    resource.newCurrentUuid(device, clear);
    if (clear && justCreated && device.diskState === "Inconsistent") {
      resource.setDiskState(device, "UpToDate");
    }
    resource.peersChanged();
  }

  #resize(q: SetupArgs): void {
    const { device } = this.#minor(q);
    const disk = device.disk;
    if (!disk) throw new DrbdError(q.objname, ERR.NO_DISK);
    const usable = disk.meta.usableSectors;
    const wanted = Number(q.options.size ?? 0);
    if (wanted > usable) throw new DrbdError(q.objname, ERR.DISK_TOO_SMALL);
    const size = wanted > 0 ? wanted : usable;
    if (size !== disk.meta.md.effectiveSize) {
      this.#log.info(`drbd${device.minor}: size ${disk.meta.md.effectiveSize} → ${size} sectors`);
      disk.meta.md.effectiveSize = size;
      disk.meta.writeSuperblock();
      this.#minor(q).resource.peersChanged();
    }
  }

  #outdate(q: SetupArgs): void {
    const { device, resource } = this.#minor(q);
    if (!device.disk) throw new DrbdError(q.objname, SS.IS_DISKLESS);
    if (device.diskState === "Outdated") return;
    if (device.diskState === "Inconsistent") {
      throw new DrbdError(q.objname, SS.LOWER_THAN_OUTDATED);
    }
    if (resource.isPrimary()) throw new DrbdError(q.objname, SS.NO_UP_TO_DATE_DISK);
    for (const c of resource.connections.values()) {
      if (c.state === "Connected") throw new DrbdError(q.objname, SS.CONNECTED_OUTDATES);
    }
    resource.setDiskState(device, "Outdated");
  }

  /**
   * invalidate: with a connected peer, a resync from it as SyncTarget (the first peer that
   * accepts, or the one --sync-from-peer-node-id names); with none, the local data is just
   * declared Inconsistent (drbd_adm_invalidate).
   */
  #invalidate(q: SetupArgs): void {
    const { device, resource } = this.#minor(q);
    const disk = device.disk;
    if (!disk) throw new DrbdError(q.objname, ERR.NO_DISK);
    const from = q.options["sync-from-peer-node-id"];
    let refusal: number | undefined = SS.NEED_CONNECTION;
    for (const c of resource.connections.values()) {
      if (from !== undefined && c.peerNodeId !== Number(from)) continue;
      refusal = this.#resyncRefusal(c, device, "target");
      if (refusal === undefined) {
        c.link!.startResync(device.volume, "target", q.options["reset-bitmap"] !== "no");
        return;
      }
      if (refusal !== SS.NEED_CONNECTION) break;
    }
    if (from !== undefined || refusal !== SS.NEED_CONNECTION) {
      throw new DrbdError(q.objname, refusal);
    }
    if (resource.isPrimary()) throw new DrbdError(q.objname, SS.NO_UP_TO_DATE_DISK);
    for (const c of resource.connections.values()) {
      const slot = disk.meta.slotOf(c.peerNodeId, true);
      if (slot !== undefined) disk.meta.setAll(slot);
    }
    disk.meta.flushBitmap();
    resource.setDiskState(device, "Inconsistent");
  }

  /**
   * invalidate-remote: a full (or, with --reset-bitmap=no, bitmap based) resync to a connected
   * peer as SyncSource. A Primary whose peer is away marks every block out of sync for it
   * instead, so the next connection resyncs all (drbd_adm_invalidate_peer).
   */
  #invalidateRemote(q: SetupArgs): void {
    const c = this.#connection(q);
    const r = this.#resource(q);
    const device = r.devices.get(Number(q.args.volume));
    if (!device) throw new DrbdError(q.objname, ERR.MINOR_INVALID);
    const disk = device.disk;
    if (!disk) throw new DrbdError(q.objname, ERR.NO_DISK);
    const full = q.options["reset-bitmap"] !== "no";
    const refusal = this.#resyncRefusal(c, device, "source");
    if (refusal === undefined) {
      c.link!.startResync(device.volume, "source", full);
      return;
    }
    if (refusal === SS.NEED_CONNECTION && r.isPrimary() && full) {
      const slot = disk.meta.slotOf(c.peerNodeId, true);
      if (slot !== undefined) disk.meta.setAll(slot);
      disk.meta.flushBitmap();
      return;
    }
    throw new DrbdError(q.objname, refusal);
  }

  #resyncRefusal(c: Connection, device: Device, as: "source" | "target"): number | undefined {
    if (!c.link || c.link.ended) return SS.NEED_CONNECTION;
    const pd = c.peerDevice(device.volume);
    return resyncStartRefusal({
      as,
      role: device.owner.isPrimary() ? "Primary" : "Secondary",
      disk: device.diskState,
      connection: c.state,
      replication: pd.replication,
      peerRole: c.peerRole,
      peerDisk: pd.peerDisk,
    });
  }

  /** pause-sync / resume-sync RES PEER VOL: the user's pause flag of one peer device. */
  #pauseSync(q: SetupArgs, pause: boolean): void {
    const c = this.#connection(q);
    const volume = Number(q.args.volume);
    if (!this.#resource(q).devices.has(volume)) {
      throw new DrbdError(q.objname, ERR.INVALID_REQUEST, undefined, "unknown volume");
    }
    setUserPause(c.peerDevice(volume), pause, q.objname);
    this.#log.info(`${q.objname}: ${pause ? "pause-sync" : "resume-sync"} volume ${volume}`);
    c.link?.pauseChanged(volume);
  }

  /** verify RES PEER VOL [--start S] [--stop S]: online verify towards one peer. */
  #verify(q: SetupArgs): void {
    const c = this.#connection(q);
    const volume = Number(q.args.volume);
    if (!this.#resource(q).devices.has(volume)) {
      throw new DrbdError(q.objname, ERR.INVALID_REQUEST, undefined, "unknown volume");
    }
    const sector = (name: string) =>
      q.options[name] === undefined ? undefined : Number(q.options[name]);
    if (!c.link) {
      if (!c.net["verify-alg"]) throw new DrbdError(q.objname, SS.NO_VERIFY_ALG);
      throw new DrbdError(q.objname, SS.NEED_CONNECTION);
    }
    c.link.startVerify(volume, q.objname, sector("start"), sector("stop"));
  }

  #forgetPeer(q: SetupArgs): void {
    const r = this.#resource(q);
    const peer = Number(q.args.peer_node_id);
    const c = r.connections.get(peer);
    if (c && c.state !== "StandAlone") throw new DrbdError(q.objname, ERR.NET_CONFIGURED);
    for (const d of r.devices.values()) {
      const meta = d.disk?.meta;
      if (!meta) continue;
      const slot = meta.slotOf(peer);
      if (slot !== undefined) meta.clearSlot(slot);
      const p = meta.md.peers[peer];
      if (p) {
        p.bitmapIndex = -1;
        p.bitmapUuid = 0n;
        p.flags = 0;
      }
      meta.flushBitmap();
      meta.writeSuperblock();
    }
  }

  #gi(q: SetupArgs): unknown {
    const { device } = this.#minor(q);
    const md = device.disk?.meta.md;
    if (!md) throw new DrbdError(q.objname, ERR.NO_DISK);
    const peer = Number(q.args.peer_node_id);
    return {
      current: md.currentUuid.toString(16),
      bitmap: (md.peers[peer]?.bitmapUuid ?? 0n).toString(16),
      history: md.historyUuids.slice(0, 2).map((u) => u.toString(16)),
      flags: md.flags,
      peerFlags: md.peers[peer]?.flags ?? 0,
    };
  }

  // ---- connections -------------------------------------------------------------------------

  #newPeer(q: SetupArgs): void {
    const r = this.#resource(q);
    const peer = Number(q.args.peer_node_id);
    if (!(peer >= 0 && peer < 32) || peer === r.nodeId) {
      throw new DrbdError(q.objname, ERR.INVALID_PEER_NODE_ID);
    }
    const existing = r.connections.get(peer);
    checkNetOptions(q.objname, { ...existing?.net, ...q.options });
    if (existing) {
      Object.assign(existing.net, q.options);
      return;
    }
    const name = q.options._name ?? String(peer);
    const net = { ...q.options };
    delete net._name;
    r.connections.set(peer, new Connection(peer, name, net));
    for (const d of r.devices.values()) d.disk?.meta.slotOf(peer, true);
  }

  #newPath(q: SetupArgs): void {
    const c = this.#connection(q);
    const local = q.args["local-addr"] ?? q.args.local_addr;
    const remote = q.args["remote-addr"] ?? q.args.remote_addr;
    for (const r of this.resources.values()) {
      for (const other of r.connections.values()) {
        for (const p of other.paths) {
          if (p.local === local && p.remote === remote) {
            if (other === c) throw new DrbdError(q.objname, ERR.ALREADY_EXISTS);
            throw new DrbdError(q.objname, ERR.LOCAL_AND_PEER_ADDR);
          }
        }
      }
    }
    c.paths.push({ local, remote });
  }

  #delPath(q: SetupArgs): void {
    const c = this.#connection(q);
    const local = q.args["local-addr"] ?? q.args.local_addr;
    const remote = q.args["remote-addr"] ?? q.args.remote_addr;
    const i = c.paths.findIndex((p) => p.local === local && p.remote === remote);
    if (i < 0) {
      throw new DrbdError(q.objname, ERR.INVALID_REQUEST, undefined, "no such path");
    }
    c.paths.splice(i, 1);
  }

  #connect(q: SetupArgs): void {
    const r = this.#resource(q);
    const c = this.#connection(q);
    // DRBD refuses a connection that is not StandAlone (ERR_NET_CONFIGURED); a link that gave
    // up on its own (split brain, incompatible settings) is StandAlone again.
    if (c.state !== "StandAlone" || (c.link && !c.link.ended)) {
      throw new DrbdError(q.objname, ERR.NET_CONFIGURED);
    }
    // drbd_adm_connect: ERR_INVALID_REQUEST with the kernel's reason as additional info.
    if (c.paths.length === 0) {
      throw new DrbdError(
        q.objname,
        ERR.INVALID_REQUEST,
        undefined,
        "connection endpoint(s) missing",
      );
    }
    if (q.options["discard-my-data"] === "yes") {
      if (r.isPrimary()) throw new DrbdError(q.objname, ERR.DISCARD_IMPOSSIBLE);
      c.discardMyData = true;
    }
    this.#log.info(`${q.objname}: connection to ${c.name} (node-id ${c.peerNodeId}) Connecting`);
    c.link = new PeerLink({
      resource: r,
      connection: c,
      log: this.#log,
      notify: () => this.notify(),
      maySyncNow: (volume) => {
        const minor = r.devices.get(volume)?.minor;
        return minor === undefined || maySyncNow(minor, this.#dependencyMinors());
      },
    });
  }

  /** Refuses a `--resync-after` of attach or disk-options that names no minor or makes a cycle. */
  #checkResyncAfter(q: SetupArgs, minor: number): void {
    const after = q.options["resync-after"];
    if (after === undefined) return;
    const refusal = resyncAfterRefusal(minor, Number(after), this.#dependencyMinors());
    if (refusal !== undefined) throw new DrbdError(q.objname, refusal);
  }

  /** Every minor as the resync-after rules see it. */
  #dependencyMinors(): Map<number, DependencyMinor> {
    const minors = new Map<number, DependencyMinor>();
    for (const [minor, { device, resource }] of this.minors) {
      const peers = [];
      for (const c of resource.connections.values()) {
        const pd = c.peerDevices.get(device.volume);
        if (pd) peers.push(pd);
      }
      const after = device.disk?.options["resync-after"];
      minors.set(minor, {
        resyncAfter: after === undefined ? -1 : Number(after),
        hasDisk: device.disk !== undefined,
        peers,
      });
    }
    return minors;
  }

  /**
   * Pauses or continues resyncs as their resync-after chains say, after any state change (a
   * resync that starts, ends or pauses may hold or free others); each changed peer device tells
   * its peer.
   */
  #settleDependencies(): void {
    if (this.#settlingDependencies) return;
    this.#settlingDependencies = true;
    try {
      const changed = updateDependencies(this.#dependencyMinors());
      if (changed.size === 0) return;
      for (const r of this.resources.values()) {
        for (const c of r.connections.values()) {
          for (const pd of c.peerDevices.values()) {
            if (!changed.has(pd)) continue;
            const text = dependencyChangeText(pd);
            if (text) this.#log.info(`${r.name} ${c.name}/${pd.volume}: ${text}`);
            c.link?.pauseChanged(pd.volume);
          }
        }
      }
    } finally {
      this.#settlingDependencies = false;
    }
  }

  async #disconnect(q: SetupArgs): Promise<void> {
    const c = this.#connection(q);
    if (c.state === "StandAlone" && (!c.link || c.link.ended)) {
      throw new DrbdError(q.objname, SS.ALREADY_STANDALONE);
    }
    await this.#stopLink(c);
  }

  /** Ends a connection's task (closing the link); the connection is StandAlone after. */
  async #stopLink(c: Connection): Promise<void> {
    const link = c.link;
    c.link = undefined;
    await link?.stop();
    c.state = "StandAlone";
    c.peerRole = "Unknown";
    for (const pd of c.peerDevices.values()) {
      pd.replication = "Off";
      pd.peerDisk = "DUnknown";
      pd.resync = undefined;
    }
  }

  async #delPeer(q: SetupArgs): Promise<void> {
    const r = this.#resource(q);
    const c = this.#connection(q);
    await this.#stopLink(c);
    r.connections.delete(c.peerNodeId);
  }

  // ---- down --------------------------------------------------------------------------------

  async #down(q: SetupArgs): Promise<void> {
    const name = q.args.resource ?? q.objname;
    const targets = name === "all" ? [...this.resources.values()] : [this.#resource(q)];
    for (const r of targets) {
      (await this.#settled(r)).demote();
      await this.#teardown(r, false);
    }
  }

  /**
   * Waits a moment for clients that are disconnecting: an NBD client's process may have exited
   * (as after umount) while its connection is still being torn down here. DRBD sees a close()
   * at once; this gives the export the same chance before "held open" is decided.
   */
  async #settled(r: Resource): Promise<Resource> {
    for (let i = 0; i < 50 && [...r.devices.values()].some((d) => d.clients.size > 0); i++) {
      await new Promise((res) => setTimeout(res, 20));
    }
    return r;
  }

  /** Disconnects, detaches, removes the minors and the resource; `force` skips demotion rules. */
  async #teardown(r: Resource, force: boolean): Promise<void> {
    if (force && r.isPrimary()) {
      for (const d of r.devices.values()) d.clients.clear();
      try {
        r.demote();
      } catch {
        r.role = "Secondary";
      }
    }
    r.resumeIo();
    for (const c of r.connections.values()) await this.#stopLink(c);
    r.connections.clear();
    for (const d of [...r.devices.values()]) {
      const m = this.minors.get(d.minor);
      try {
        this.#releaseDisk(r, d);
      } catch (e) {
        this.#log.error(`${r.name}/${d.volume}: detach failed: ${e}`);
      }
      if (m) await this.#removeMinor(m);
    }
    this.resources.delete(r.name);
    this.#log.info(`${r.name}: down`);
  }
}

function toSetupArgs(raw: Record<string, unknown>): SetupArgs {
  const args = (raw.args ?? {}) as Record<string, string>;
  const options = (raw.options ?? {}) as Record<string, string>;
  const objname = typeof raw.objname === "string"
    ? raw.objname
    : args.resource ?? args.minor ?? "all";
  return { objname, args, options };
}

/**
 * Refuses net options as the kernel's _check_net_options does, for the rules this engine
 * enforces: a congestion policy other than block needs protocol A (ERR_CONG_NOT_PROTO_A).
 */
function checkNetOptions(objname: string, net: Record<string, string>): void {
  if (congestionNeedsProtocolA(net)) throw new DrbdError(objname, ERR.CONG_NOT_PROTO_A);
}
