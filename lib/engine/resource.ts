/**
 * A DRBD resource on this node: its role, its volumes (devices), its connections to peers, and
 * the state changes drbdsetup asks for, refused with DRBD's return codes when the rules say no.
 *
 * @module
 */

import { MDF } from "../meta/constants.ts";
import { type AttachedDisk, Device, type DeviceOwner } from "./device.ts";
import { DrbdError, ERR, SS } from "./errors.ts";
import type { PeerLink, ReplicatedWrite } from "./peer.ts";
import type { SyncProgress } from "./resync_progress.ts";
import type { VerifyRun } from "./verify.ts";
import type { ConnectionState, DiskState, ReplicationState, Role } from "./states.ts";

/** One path (pair of addresses) of a connection, as given to new-path. */
export interface PathConf {
  local: string;
  remote: string;
}

/** A peer's view of one volume. */
export interface PeerDevice {
  volume: number;
  options: Record<string, string>;
  replication: ReplicationState;
  peerDisk: DiskState;
  /** KiB sent to / received from the peer on this connection (writes and resync). */
  sent: number;
  received: number;
  /** The running resync's progress (total sectors, start, marks); undefined when none runs. */
  resync?: SyncProgress;
  /** The running online verify, on either side. */
  verify?: VerifyRun;
  /** pause-sync given here (DRBD's resync_susp_user); outlives connections. */
  resyncSuspUser: boolean;
  /** The peer paused the resync (its user flag, DRBD's resync_susp_peer). */
  resyncSuspPeer: boolean;
  /** A resync-after dependency holds the resync back (DRBD's resync_susp_dependency). */
  resyncSuspDependency: boolean;
  /** The resync controller's current rate in KiB/s, while this side runs it. */
  cSyncRate: number;
  /** Where the next verify starts without --start (DRBD keeps the position of a stopped one). */
  ovStartSector: number;
}

/** A connection to one peer node. */
export class Connection {
  readonly peerNodeId: number;
  name: string;
  readonly paths: PathConf[] = [];
  readonly net: Record<string, string>;
  state: ConnectionState = "StandAlone";
  peerRole: Role = "Unknown";
  readonly peerDevices = new Map<number, PeerDevice>();
  /** The connection's task while `connect` is in effect (see peer.ts). */
  link: PeerLink | undefined;
  /** `connect --discard-my-data`: give up local data in a split brain (one-shot, as in DRBD). */
  discardMyData = false;
  /** Index in `paths` of the path the established connection uses. */
  establishedPath: number | undefined;

  constructor(peerNodeId: number, name: string, net: Record<string, string>) {
    this.peerNodeId = peerNodeId;
    this.name = name;
    this.net = net;
  }

  /** The peer device of `volume`, created on first use. */
  peerDevice(volume: number): PeerDevice {
    let pd = this.peerDevices.get(volume);
    if (!pd) {
      pd = {
        volume,
        options: {},
        replication: "Off",
        peerDisk: "DUnknown",
        sent: 0,
        received: 0,
        resyncSuspUser: false,
        resyncSuspPeer: false,
        resyncSuspDependency: false,
        cSyncRate: 0,
        ovStartSector: 0,
      };
      this.peerDevices.set(volume, pd);
    }
    return pd;
  }
}

/** What a resource needs from the node. */
export interface ResourceHost {
  /** A state change of `what` happened (events2, status). */
  notify(kind: "change" | "create" | "destroy", what: string, resource: Resource): void;
  info(message: string): void;
}

/** Generates a new random data generation UUID; bit 0 tells "created while Primary". */
export function newUuid(primary: boolean): bigint {
  const b = crypto.getRandomValues(new Uint8Array(8));
  let v = new DataView(b.buffer).getBigUint64(0);
  v &= ~1n;
  if (primary) v |= 1n;
  return v;
}

/** A resource and its state. */
export class Resource implements DeviceOwner {
  readonly name: string;
  readonly nodeId: number;
  readonly options: Record<string, string>;
  role: Role = "Secondary";
  readonly devices = new Map<number, Device>();
  readonly connections = new Map<number, Connection>();
  suspendedUser = false;
  #autoPromoted = false;
  #resume: { promise: Promise<void>; resolve: () => void } | undefined;
  #host: ResourceHost;

  constructor(host: ResourceHost, name: string, nodeId: number, options: Record<string, string>) {
    this.#host = host;
    this.name = name;
    this.nodeId = nodeId;
    this.options = options;
  }

  // ---- DeviceOwner -------------------------------------------------------------------------

  isPrimary(): boolean {
    return this.role === "Primary";
  }

  canAutoPromote(): boolean {
    return this.#autoPromoteEnabled() && this.#promotionRefusal(false) === undefined;
  }

  autoPromote(): Promise<void> {
    if (this.isPrimary()) return Promise.resolve();
    if (!this.#autoPromoteEnabled()) {
      return Promise.reject(new DrbdError(this.name, SS.DEVICE_IN_USE));
    }
    this.promote(false);
    this.#autoPromoted = true;
    this.#host.info(`${this.name}: auto-promoted by a writing client`);
    return Promise.resolve();
  }

  lastClientGone(): void {
    if (!this.#autoPromoted || !this.isPrimary()) return;
    for (const d of this.devices.values()) if (d.clients.size > 0) return;
    try {
      this.demote();
      this.#host.info(`${this.name}: auto-demoted, last client gone`);
    } catch {
      // stays Primary; a later secondary says why
    }
  }

  unreplicatedSlots(device: Device): number[] {
    const meta = device.disk?.meta;
    if (!meta) return [];
    const slots: number[] = [];
    for (const c of this.connections.values()) {
      if (c.link?.replicating(device.volume)) continue;
      const slot = meta.slotOf(c.peerNodeId, true);
      if (slot !== undefined) slots.push(slot);
    }
    return slots;
  }

  replicate(
    device: Device,
    w: ReplicatedWrite,
    local: () => Promise<void> | void,
  ): Promise<void> | void {
    const links = this.#replicatingLinks(device);
    // Without peers the write path stays as short as it was: no extra promise in between.
    if (links.length === 0) return local();
    return this.#replicate(device, w, local, links);
  }

  async #replicate(
    device: Device,
    w: ReplicatedWrite,
    local: () => Promise<void> | void,
    links: PeerLink[],
  ): Promise<void> {
    const first = Math.floor(w.sector / 8);
    const last = Math.floor((w.sector + Math.ceil(w.length / 512) - 1) / 8);
    const releases: (() => void)[] = [];
    let acks: Promise<void>[];
    try {
      for (const l of links) releases.push(await l.lockRange(device.volume, first, last));
      const written = local();
      acks = links.map((l) => l.sendWrite(device, w));
      await written;
    } finally {
      for (const release of releases) release();
    }
    await Promise.all(acks);
  }

  flushPeers(device: Device): Promise<void> | void {
    const links = this.#replicatingLinks(device);
    if (links.length === 0) return;
    return Promise.all(links.map((l) => l.flush(device.volume))).then(() => {});
  }

  #replicatingLinks(device: Device): PeerLink[] {
    const links: PeerLink[] = [];
    for (const c of this.connections.values()) {
      if (c.link?.replicating(device.volume)) links.push(c.link);
    }
    return links;
  }

  /** Tells every connected peer that role, disk state or UUIDs changed here. */
  peersChanged(): void {
    for (const c of this.connections.values()) c.link?.localChanged();
  }

  ioAllowed(): Promise<void> | undefined {
    return this.#resume?.promise;
  }

  beforeFirstWrite(device: Device): void {
    const disk = device.disk;
    if (!disk) return;
    const missing = [...this.connections.values()].some((c) => c.state !== "Connected");
    if (missing || this.connections.size === 0) this.newCurrentUuid(device, false);
    disk.meta.flushBitmap();
  }

  changed(_device: Device): void {
    this.#host.notify("change", "device", this);
  }

  // ---- role --------------------------------------------------------------------------------

  /** Becomes Primary; with `force`, Inconsistent/Outdated data is declared UpToDate. */
  promote(force: boolean): void {
    if (this.isPrimary()) return;
    const refusal = this.#promotionRefusal(force);
    if (refusal !== undefined) throw new DrbdError(this.name, refusal);
    if (force) {
      for (const d of this.devices.values()) {
        if (d.disk && d.diskState !== "UpToDate") {
          this.newCurrentUuid(d, false);
          this.setDiskState(d, "UpToDate");
        }
      }
    }
    this.role = "Primary";
    this.#autoPromoted = false;
    // A Primary keeps its data: a pending discard-my-data is forgotten, as DRBD does.
    for (const c of this.connections.values()) c.discardMyData = false;
    for (const d of this.devices.values()) {
      if (!d.disk) continue;
      d.disk.meta.setFlags(MDF.PRIMARY_IND);
      d.firstWritePending = true;
    }
    this.#host.notify("change", "resource", this);
    this.peersChanged();
  }

  /** Becomes Secondary; refused while a client holds a device open. */
  demote(): void {
    if (!this.isPrimary()) return;
    for (const d of this.devices.values()) {
      if (d.clients.size > 0 && !this.#autoPromoted) {
        throw new DrbdError(this.name, SS.DEVICE_IN_USE);
      }
    }
    for (const d of this.devices.values()) {
      if (d.disk) {
        d.disk.meta.flushBitmap();
        d.disk.meta.setFlags(0, MDF.PRIMARY_IND);
      }
      d.firstWritePending = false;
    }
    this.role = "Secondary";
    this.#autoPromoted = false;
    this.#host.notify("change", "resource", this);
    this.peersChanged();
  }

  /** Why promotion is refused (an SS_ code), or undefined when allowed. */
  #promotionRefusal(force: boolean): number | undefined {
    if (this.suspendedUser) return undefined;
    for (const d of this.devices.values()) {
      if (d.upToDate) continue;
      if (force && d.disk && d.diskState !== "Failed") continue;
      return SS.NO_UP_TO_DATE_DISK;
    }
    for (const c of this.connections.values()) {
      if (c.state === "Connected" && c.peerRole === "Primary") {
        if (c.net["allow-two-primaries"] !== "yes") return SS.TWO_PRIMARIES;
      }
    }
    return undefined;
  }

  #autoPromoteEnabled(): boolean {
    return (this.options["auto-promote"] ?? "yes") === "yes";
  }

  // ---- disks -------------------------------------------------------------------------------

  /** Sets a device's disk state, keeping the metadata flags in step. */
  setDiskState(d: Device, state: DiskState): void {
    const meta = d.disk?.meta;
    if (meta) {
      if (state === "UpToDate") meta.setFlags(MDF.CONSISTENT | MDF.WAS_UP_TO_DATE);
      else if (state === "Outdated") meta.setFlags(MDF.CONSISTENT, MDF.WAS_UP_TO_DATE);
      else if (state === "Inconsistent") meta.setFlags(0, MDF.CONSISTENT | MDF.WAS_UP_TO_DATE);
    }
    if (d.diskState !== state) {
      d.diskState = state;
      this.#host.notify("change", "device", this);
    }
  }

  /** The disk state the metadata implies after attach (disk_state_from_md). */
  static diskStateFromMd(disk: AttachedDisk): DiskState {
    const md = disk.meta.md;
    if (!(md.flags & MDF.CONSISTENT)) return "Inconsistent";
    if (!(md.flags & MDF.WAS_UP_TO_DATE)) return "Outdated";
    return "UpToDate";
  }

  /**
   * Gives a device's data a new current UUID: the old one becomes the bitmap UUID of every
   * peer that does not see this write, and moves into the history.
   */
  newCurrentUuid(d: Device, clearBitmap: boolean): void {
    const disk = d.disk;
    if (!disk) throw new DrbdError(String(d.minor), ERR.NO_DISK);
    const md = disk.meta.md;
    const old = md.currentUuid;
    for (const c of this.connections.values()) {
      const slot = disk.meta.slotOf(c.peerNodeId, true);
      if (slot === undefined) continue;
      const peer = md.peers[c.peerNodeId];
      if (clearBitmap) {
        disk.meta.clearSlot(slot);
        peer.bitmapUuid = 0n;
      } else if (peer.bitmapUuid === 0n && c.state !== "Connected") {
        peer.bitmapUuid = old;
      }
    }
    if (old !== 0n && old !== 4n) {
      md.historyUuids.pop();
      md.historyUuids.unshift(old);
    }
    md.currentUuid = newUuid(this.isPrimary());
    disk.meta.flushBitmap();
    disk.meta.writeSuperblock();
  }

  // ---- I/O suspension ----------------------------------------------------------------------

  /** suspend-io: new requests wait until resume-io. */
  suspendIo(): void {
    if (this.#resume) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => resolve = r);
    this.#resume = { promise, resolve };
    this.suspendedUser = true;
    this.#host.notify("change", "resource", this);
  }

  /** resume-io. */
  resumeIo(): void {
    const r = this.#resume;
    this.#resume = undefined;
    this.suspendedUser = false;
    r?.resolve();
    this.#host.notify("change", "resource", this);
  }
}
