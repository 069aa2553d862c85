/**
 * One replicated volume (a DRBD minor) on this node: its optional backing disk with metadata
 * and activity log, and the {@link BlockDevice} its NBD export serves, which enforces DRBD's
 * role rules: a Primary reads and writes; a Secondary refuses writes (unless auto-promote can
 * promote it) and reads only from UpToDate data.
 *
 * @module
 */

import {
  type BlockDevice,
  BlockDeviceError,
  type BlockSizeConstraints,
  type Extent,
  FileBlockDevice,
  type NbdClientInfo,
  type WriteFlags,
  type ZeroFlags,
} from "../nbd/block_device.ts";
import { Errno } from "../nbd/protocol.ts";
import { MDF } from "../meta/constants.ts";
import { ActivityLog } from "./activity_log.ts";
import { DiskMeta, type MetaIndex } from "./metadata.ts";
import type { ReplicatedWrite } from "./peer.ts";
import type { DiskState } from "./states.ts";

/** What a device needs from its resource (role, promotion, peers, I/O suspension). */
export interface DeviceOwner {
  readonly name: string;
  isPrimary(): boolean;
  /** Whether a write may promote the resource now (auto-promote). */
  canAutoPromote(): boolean;
  /** Promotes for a writing client; throws when not allowed. */
  autoPromote(): Promise<void>;
  /** Called when the last client of a device is gone (auto-demote). */
  lastClientGone(): void;
  /** Bitmap slots of peers that do not receive this write (not connected). */
  unreplicatedSlots(device: Device): number[];
  /**
   * Runs the local write `local` and sends `w` to every peer that replicates this volume;
   * resolves when the write is done locally and each peer's protocol (A/B/C) is satisfied.
   */
  replicate(
    device: Device,
    w: ReplicatedWrite,
    local: () => Promise<void> | void,
  ): Promise<void> | void;
  /** Flush barrier to every replicating peer (after the local flush). */
  flushPeers(device: Device): Promise<void> | void;
  /** Resolves when I/O is not suspended. */
  ioAllowed(): Promise<void> | undefined;
  /** Called on the first write after promotion (new current UUID when peers miss it). */
  beforeFirstWrite(device: Device): void;
  /** Something changed that status and events2 show. */
  changed(device: Device): void;
}

/** The attached backing disk of a device. */
export interface AttachedDisk {
  backing: string;
  metaPath: string;
  metaIndex: MetaIndex;
  options: Record<string, string>;
  meta: DiskMeta;
  al: ActivityLog;
  data: FileBlockDevice;
}

/** I/O counters in KiB and operations (drbdsetup status --statistics). */
export interface DeviceStats {
  read: number;
  written: number;
  bmWrites: number;
  upperPending: number;
  lowerPending: number;
}

const MAX_BIO = 1 << 20;

/** A DRBD minor. */
export class Device implements BlockDevice {
  readonly minor: number;
  readonly volume: number;
  readonly owner: DeviceOwner;
  readonly options: Record<string, string>;
  readonly stats: DeviceStats = {
    read: 0,
    written: 0,
    bmWrites: 0,
    upperPending: 0,
    lowerPending: 0,
  };
  diskState: DiskState = "Diskless";
  disk: AttachedDisk | undefined;
  /** Clients of the NBD export (each one "holds the device open"). */
  readonly clients = new Set<NbdClientInfo>();
  readonly blockSize: BlockSizeConstraints = {
    minimum: 512,
    preferred: 4096,
    maximum: MAX_BIO,
  };
  readonly readOnly = false;
  readonly canTrim = true;
  readonly canZero = true;
  readonly canFastZero = false;
  readonly canCache = false;
  readonly canMultiConn = true;
  /** Set on promotion: the first write must first give the data a new current UUID. */
  firstWritePending = false;

  constructor(owner: DeviceOwner, minor: number, volume: number, options: Record<string, string>) {
    this.owner = owner;
    this.minor = minor;
    this.volume = volume;
    this.options = options;
  }

  /** Size in bytes the device presents: the agreed size of its data, 0 without data. */
  get size(): number {
    return this.disk ? this.disk.meta.md.effectiveSize * 512 : 0;
  }

  /** Whether the local disk holds UpToDate data. */
  get upToDate(): boolean {
    return this.diskState === "UpToDate";
  }

  writable(): boolean {
    if (!this.disk) return false;
    return this.owner.isPrimary() || this.owner.canAutoPromote();
  }

  async pread(buf: Uint8Array, offset: number): Promise<void> {
    const gate = this.owner.ioAllowed();
    if (gate) await gate;
    const disk = this.#readableDisk();
    this.stats.upperPending++;
    try {
      await disk.data.pread(buf, offset);
      this.stats.read += buf.length / 1024;
    } finally {
      this.stats.upperPending--;
    }
  }

  pwrite(buf: Uint8Array, offset: number, flags: WriteFlags): Promise<void> {
    return this.#write(
      {
        kind: "write",
        sector: offset / 512,
        length: buf.length,
        data: buf,
        headroom: flags.headroom,
        fua: flags.fua,
      },
      (d) => d.data.pwrite(buf, offset, flags),
    );
  }

  trim(offset: number, length: number, flags: WriteFlags): Promise<void> {
    return this.#write(
      { kind: "trim", sector: offset / 512, length, fua: flags.fua },
      (d) => d.data.trim(offset, length, flags),
    );
  }

  zero(offset: number, length: number, flags: ZeroFlags): Promise<void> {
    return this.#write(
      { kind: "zero", sector: offset / 512, length, fua: flags.fua },
      (d) => d.data.zero(offset, length, flags),
    );
  }

  async flush(): Promise<void> {
    const gate = this.owner.ioAllowed();
    if (gate) await gate;
    if (!this.disk) throw new BlockDeviceError(Errno.EIO, "no disk");
    await this.disk.data.flush();
    const peers = this.owner.flushPeers(this);
    if (peers) await peers;
  }

  blockStatus(offset: number, length: number): Extent[] {
    const d = this.disk;
    if (!d) return [{ length, flags: 0 }];
    return d.data.blockStatus(offset, length);
  }

  connect(client: NbdClientInfo): void {
    this.clients.add(client);
    this.owner.changed(this);
  }

  disconnect(client: NbdClientInfo): void {
    this.clients.delete(client);
    if (this.clients.size === 0) this.owner.lastClientGone();
    this.owner.changed(this);
  }

  async #write(
    w: ReplicatedWrite,
    io: (d: AttachedDisk) => Promise<void> | void,
  ): Promise<void> {
    const offset = w.sector * 512;
    const length = w.length;
    const gate = this.owner.ioAllowed();
    if (gate) await gate;
    if (!this.owner.isPrimary()) await this.owner.autoPromote();
    const disk = this.disk;
    if (!disk || this.diskState !== "UpToDate") {
      throw new BlockDeviceError(Errno.EIO, "no UpToDate data to write to");
    }
    if (this.firstWritePending) {
      this.firstWritePending = false;
      this.owner.beforeFirstWrite(this);
    }
    const sector = Math.floor(offset / 512);
    const sectors = Math.ceil((offset + length) / 512) - sector;
    this.stats.upperPending++;
    await disk.al.acquire(sector, sectors);
    try {
      disk.meta.setOutOfSync(sector, sectors, this.owner.unreplicatedSlots(this));
      this.stats.lowerPending++;
      try {
        await this.owner.replicate(this, w, () => io(disk));
      } finally {
        this.stats.lowerPending--;
      }
      this.stats.written += length / 1024;
    } finally {
      disk.al.release(sector, sectors);
      this.stats.upperPending--;
    }
  }

  #readableDisk(): AttachedDisk {
    const d = this.disk;
    if (!d) throw new BlockDeviceError(Errno.EIO, "diskless, and no peer to read from");
    if (this.diskState !== "UpToDate") {
      throw new BlockDeviceError(Errno.EIO, `local disk is ${this.diskState}`);
    }
    return d;
  }

  /**
   * Attaches a backing disk: validates the metadata as the kernel does, opens the data area,
   * marks the metadata in use (AL_CLEAN off), and derives the disk state.
   */
  static attachDisk(
    objname: string,
    args: {
      backing: string;
      metaPath: string;
      metaIndex: MetaIndex;
      nodeId: number;
      options: Record<string, string>;
      onEvict: () => void;
    },
  ): AttachedDisk {
    const meta = DiskMeta.open(objname, args.backing, args.metaPath, args.metaIndex, args.nodeId);
    try {
      const md = meta.md;
      if (md.nodeId === -1) md.nodeId = args.nodeId;
      const data = FileBlockDevice.open(args.backing);
      const alExtents = Number(args.options["al-extents"] ?? md.alNrExtents ?? 1237) || 1237;
      md.alNrExtents = alExtents;
      let crashed = 0;
      if (md.flags & MDF.PRIMARY_IND) crashed = MDF.CRASHED_PRIMARY;
      meta.md.flags = (md.flags | crashed) & ~(MDF.AL_CLEAN | MDF.PRIMARY_IND);
      meta.writeSuperblock();
      const al = new ActivityLog(meta, alExtents, args.onEvict);
      return {
        backing: args.backing,
        metaPath: args.metaPath,
        metaIndex: args.metaIndex,
        options: args.options,
        meta,
        al,
        data,
      };
    } catch (e) {
      meta.close(false);
      throw e;
    }
  }
}
