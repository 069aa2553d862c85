/**
 * One drbdmeta invocation on one metadata device: opening and validating the metadata,
 * confirmations, checked writes, and the last-known-device bookkeeping that every command
 * shares. The commands themselves are in commands.ts.
 *
 * @module
 */
import { type Console, ExitError } from "../cli/io.ts";
import {
  AL_NR_EXTENTS_DEFAULT,
  DEFAULT_BM_BLOCK_SIZE,
  MD_INDEX_FLEX_EXT,
  MD_INDEX_FLEX_INT,
  type MdFormat,
  SO_MUCH,
} from "./constants.ts";
import { MetaDevice, ShortIoError } from "./device.ts";
import {
  bmBytes,
  isValidMd,
  maxUsableSectors,
  mdByteOffset,
  type Placement,
  refreshPlacement,
  reinitializeOffsets,
} from "./layout.ts";
import { deleteLastKnown, type LastKnown, loadLastKnown, saveLastKnown } from "./lkbd.ts";
import { decodeSuperblock, emptyMd, encodeSuperblock, type MdCpu } from "./superblock.ts";

/** drbdmeta's options, as parsed from the command line. */
export interface MetaOptions {
  force: boolean;
  verbose: number;
  ignoreSanityChecks: boolean;
  dryRun: boolean;
  /** --node-id, −1 when not given. */
  nodeId: number;
  peerMaxBioSize: number;
  alStripes: number;
  alStripeSize4k: number;
  alStripesUsed: boolean;
  initializeBitmap: "automatic" | "zeroout" | "pwrite" | "skip";
}

/** The defaults drbdmeta starts from. */
export function defaultOptions(): MetaOptions {
  return {
    force: false,
    verbose: 0,
    ignoreSanityChecks: false,
    dryRun: false,
    nodeId: -1,
    peerMaxBioSize: 0,
    alStripes: 1,
    alStripeSize4k: 8,
    alStripesUsed: false,
    initializeBitmap: "automatic",
  };
}

/** Result of looking for metadata on the device. */
export type OpenResult = "valid" | "none" | "last-known";

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "No such file or directory",
  EACCES: "Permission denied",
  EBUSY: "Device or resource busy",
  EISDIR: "Is a directory",
  EROFS: "Read-only file system",
  ENXIO: "No such device or address",
  EPERM: "Operation not permitted",
  ENOTDIR: "Not a directory",
};

function strerror(e: unknown): string {
  const code = (e as { code?: string }).code;
  if (code && ERRNO_TEXT[code]) return ERRNO_TEXT[code];
  if (e instanceof Deno.errors.NotFound) return ERRNO_TEXT.ENOENT;
  if (e instanceof Deno.errors.PermissionDenied) return ERRNO_TEXT.EACCES;
  if (e instanceof Deno.errors.Busy) return ERRNO_TEXT.EBUSY;
  return (e as Error).message;
}

function errCode(e: unknown): string | undefined {
  if (e instanceof Deno.errors.Busy) return "EBUSY";
  return (e as { code?: string }).code;
}

/** One invocation of a drbdmeta command. */
export class MetaSession {
  readonly io: Console;
  readonly opts: MetaOptions;
  readonly format: MdFormat;
  readonly devPath: string;
  readonly index: number;
  /** The minor, or −1 for the device "-". */
  readonly minor: number;
  readonly progname: string;
  /** The whole command line, for the dump header. */
  readonly argv: string[];
  /** Whether the command is apply-al (it may not force an exclusive open). */
  isApplyAl = false;

  dev: MetaDevice | undefined;
  md: MdCpu = emptyMd();
  pl: Placement;
  bmBytes = 0;
  lk: LastKnown | null = null;
  updateLk = false;
  wipe: { fixed: number; flex: number; resize: number } = { fixed: 0, flex: 0, resize: 0 };
  #notedRegularFile = false;

  constructor(init: {
    io: Console;
    opts: MetaOptions;
    format: MdFormat;
    devPath: string;
    index: number;
    minor: number;
    progname: string;
    argv: string[];
  }) {
    this.io = init.io;
    this.opts = init.opts;
    this.format = init.format;
    this.devPath = init.devPath;
    this.index = init.index;
    this.minor = init.minor;
    this.progname = init.progname;
    this.argv = init.argv;
    this.pl = {
      index: init.index,
      bdSize: 0,
      mdOffset: 0,
      alOffset: 0,
      bmOffset: 0,
      maxUsableSect: 0,
    };
  }

  /** Prints to stdout. */
  out(text: string): void {
    this.io.out(text);
  }

  /** Prints to stderr. */
  err(text: string): void {
    this.io.err(text);
  }

  /** Prints `message` (if any) on stderr and ends the command with `code`. */
  die(code: number, message?: string): never {
    if (message) this.err(message);
    throw new ExitError(code);
  }

  /** Asks a yes/no question the way drbdmeta does; --force answers yes. */
  confirmed(text: string): boolean {
    this.err(`\n${text}\n`);
    if (this.opts.force) {
      this.err("*** confirmation forced via --force option ***\n");
      return true;
    }
    if (!this.io.stdinIsTerminal()) {
      this.err("stdin not a TTY, not waiting for confirmation\n");
      return false;
    }
    this.err("[need to type 'yes' to confirm] ");
    const answer = this.io.readLine();
    this.err("\n");
    return answer === "yes";
  }

  /** Opens the metadata device (v07_style_md_open_device plus the size checks of md_open). */
  openDevice(): MetaDevice {
    if (this.dev) return this.dev;
    let exclusive = this.index < 0;
    for (;;) {
      try {
        this.dev = MetaDevice.open(this.devPath, { exclusive });
        break;
      } catch (e) {
        this.err(`open(${this.devPath}) failed: ${strerror(e)}\n`);
        if (errCode(e) === "EBUSY" && exclusive) {
          if (
            (!this.opts.force && this.isApplyAl) ||
            !this.confirmed("Exclusive open failed. Do it anyways?")
          ) {
            this.out("Operation canceled.\n");
            throw new ExitError(20);
          }
          exclusive = false;
          continue;
        }
        throw new ExitError(20);
      }
    }
    const dev = this.dev;
    if (!dev.isBlockDevice && !this.opts.force && !this.#notedRegularFile) {
      // drbdmeta wants --force for a regular file; a userspace DRBD uses files as disks.
      this.#notedRegularFile = true;
      this.err(`note: '${this.devPath}' is a regular file, not a block device; using it as one\n`);
    }
    this.pl.bdSize = dev.size;
    if (dev.size < SO_MUCH) {
      this.die(10, `${this.devPath} is only ${dev.size} bytes. That's not enough.\n`);
    }
    this.pl.mdOffset = mdByteOffset(this.index, dev.size);
    if (this.pl.mdOffset > dev.size - 4096) {
      this.die(
        10,
        `Device too small: expecting meta data block at\nbyte offset ${this.pl.mdOffset}, but ${this.devPath} is only ${dev.size} bytes.\n`,
      );
    }
    return dev;
  }

  /** Reads `length` bytes at `offset` or ends the command as drbdmeta's pread_or_die does. */
  read(offset: number, length: number, tag: string): Uint8Array {
    const dev = this.openDevice();
    try {
      const data = dev.read(offset, length);
      this.#trace("pread", tag, length, offset);
      return data;
    } catch (e) {
      if (e instanceof ShortIoError) {
        this.die(10, `confused in ${tag}: expected to read ${length} bytes, actually read less\n`);
      }
      this.die(
        10,
        `pread(${this.fdNumber},...,${length},${offset}) in ${tag} failed: ${strerror(e)}\n`,
      );
    }
  }

  /**
   * drbdmeta's range check of a write (validate_offsets_or_die). Its byte offsets are unsigned:
   * a part of the layout that falls below zero (a device too small for its activity log)
   * wraps around and never bounds the area, while a write there is refused.
   */
  checkRange(offset: number, length: number, tag: string): void {
    const unsigned = (x: number) => (x < 0 ? Infinity : x);
    const al = this.pl.mdOffset + this.md.alOffset * 512;
    const bm = this.pl.mdOffset + this.md.bmOffset * 512;
    const min = Math.min(unsigned(this.pl.mdOffset), unsigned(al), unsigned(bm));
    const max = min + this.md.mdSizeSect * 512;
    const isWipe = offset !== 0 &&
      (offset === this.wipe.fixed || offset === this.wipe.flex || offset === this.wipe.resize);
    if (!isWipe && (offset < min || offset + length > max)) {
      const u = (x: number) => BigInt.asUintN(64, BigInt(x)).toString();
      this.err(
        `${tag}: offset+count (${u(offset)}+${length}) not in meta data area range [${u(min)}; ${
          u(max)
        }], aborted\n`,
      );
      if (this.opts.ignoreSanityChecks) this.err("Ignored due to --ignore-sanity-checks\n");
      else this.die(10, "If you want to force this, tell me to --ignore-sanity-checks\n");
    }
  }

  /** Writes after drbdmeta's range check of the metadata area. */
  write(offset: number, data: Uint8Array, tag: string): void {
    const dev = this.openDevice();
    this.checkRange(offset, data.length, tag);
    if (this.opts.dryRun) {
      this.err(
        ` ${tag.padEnd(26)}: pwrite(${this.fdNumber}, ...,${String(data.length).padStart(6)},${
          String(offset).padStart(12)
        }) SKIPPED DUE TO DRY-RUN\n`,
      );
      return;
    }
    if (offset < 0) {
      this.die(
        10,
        `pwrite(3,...,${data.length},${
          BigInt.asUintN(64, BigInt(offset))
        }) in ${tag} failed: Invalid argument\n`,
      );
    }
    try {
      dev.write(offset, data);
    } catch (e) {
      this.die(
        10,
        `pwrite(${this.fdNumber},...,${data.length},${offset}) in ${tag} failed: ${strerror(e)}\n`,
      );
    }
    this.#trace("pwrite", tag, data.length, offset);
  }

  /** drbdmeta -v -v: every read and write, with its alignment warnings. */
  #trace(op: string, tag: string, count: number, offset: number): void {
    if (this.opts.verbose < 2) return;
    this.io.flush();
    let t = ` ${tag.padEnd(26)}: ${op}(${this.fdNumber}, ...,${String(count).padStart(6)},${
      String(offset).padStart(12)
    })\n`;
    if (count % 4096) t += "\tcount will cause EINVAL on hard sect size != 512\n";
    if (offset % 4096) t += "\toffset will cause EINVAL on hard sect size != 512\n";
    this.err(t);
  }

  /** The descriptor number drbdmeta's messages show (the minor's lock file takes 3). */
  get fdNumber(): number {
    return (this.minor === -1 ? 3 : 4) + this.filesOpenedBefore;
  }

  /** Files the command opened before the device (restore-md's dump), shifting fd numbers. */
  filesOpenedBefore = 0;

  /** Whether `md` is valid metadata for this device and placement. */
  isValid(md: MdCpu, index = this.index, size = this.pl.bdSize, format = this.format): boolean {
    return isValidMd(format, md, index, size, this.io, this.opts.verbose);
  }

  /** Clips la-size-sect to what the device can hold and derives the bitmap size. */
  clipEffectiveSize(): void {
    if (this.md.effectiveSize > this.pl.maxUsableSect) {
      this.out(
        `# la-size-sect was too big (${this.md.effectiveSize}), truncated (${this.pl.maxUsableSect})!\n`,
      );
      this.md.effectiveSize = this.pl.maxUsableSect;
    }
    this.bmBytes = bmBytes(this.md, this.md.effectiveSize);
  }

  /** Looks for valid metadata (v08_md_open): at its place, or where the last-known size puts it. */
  open(): OpenResult {
    this.openDevice();
    const block = this.read(this.pl.mdOffset, 4096, `${this.format}_md_disk_to_cpu`);
    const md = decodeSuperblock(this.format, block);
    if (this.isValid(md)) {
      this.md = md;
      refreshPlacement(this.md, this.pl);
      this.clipEffectiveSize();
      return "valid";
    }
    this.#checkForResize();
    if (!this.lk?.size || !this.md.magic) return "none";
    return "last-known";
  }

  /** v08_check_for_resize: metadata may still sit where the device's old size put it. */
  #checkForResize(): void {
    if (this.index !== MD_INDEX_FLEX_INT) return;
    const lk = loadLastKnown(this.minor, (t) => this.err(t));
    if (!lk) {
      if (this.opts.verbose) this.err("no last-known offset information available.\n");
      return;
    }
    this.lk = lk;
    if (lk.size === this.pl.bdSize) return;
    const flexOffset = mdByteOffset(MD_INDEX_FLEX_INT, lk.size);
    let found = false;
    let mdTest = emptyMd();
    if (flexOffset < this.pl.bdSize && flexOffset >= 0) {
      mdTest = decodeSuperblock(this.format, this.read(flexOffset, 4096, "v08_check_for_resize"));
      found = this.isValid(mdTest, MD_INDEX_FLEX_INT, lk.size);
    }
    if (found && lk.uuid && mdTest.deviceUuid !== lk.uuid) {
      const h = (x: bigint) => x.toString(16).toUpperCase().padStart(16, "0");
      this.err(`Last known and found uuid differ!?\n${h(lk.uuid)} != ${h(this.md.deviceUuid)}\n`);
      if (!this.opts.force) {
        found = false;
        this.err("You may --force me to ignore that.\n");
      } else this.err("You --force'ed me to ignore that.\n");
    }
    if (found) this.md = mdTest;
  }

  /** Writes the superblock after validating it (md_cpu_to_disk); false if it is not valid. */
  writeSuperblock(): boolean {
    if (!this.isValid(this.md)) return false;
    this.write(
      this.pl.mdOffset,
      encodeSuperblock(this.format, this.md),
      `${this.format}_md_cpu_to_disk`,
    );
    this.updateLk = true;
    return true;
  }

  /** Closes the device, updating the last-known-device file when metadata was written. */
  close(): number {
    if (this.updateLk && !this.opts.dryRun) {
      if (this.index !== MD_INDEX_FLEX_INT) deleteLastKnown(this.minor, (t) => this.err(t));
      else {
        saveLastKnown(this.minor, {
          size: this.pl.bdSize,
          uuid: this.md.deviceUuid,
          name: this.devPath,
        }, (t) => this.err(t));
      }
    }
    this.dev?.close();
    this.dev = undefined;
    return 0;
  }

  /** Fresh in-memory metadata of this format (md_initialize without disk writes). */
  initializeMd(maxPeers: number): void {
    const md = emptyMd();
    md.effectiveSize = 0;
    md.currentUuid = 4n;
    md.flags = 0x80; // AL_CLEAN
    md.alStripes = this.opts.alStripes;
    md.alStripeSize4k = this.opts.alStripeSize4k;
    if (this.format === "v08") {
      md.maxPeers = 1;
      md.magic = 0x8374026b;
    } else {
      md.maxPeers = maxPeers;
      md.nodeId = -1;
      md.magic = 0x8374026d;
      for (const p of md.peers) p.bitmapIndex = -1;
    }
    md.alNrExtents = AL_NR_EXTENTS_DEFAULT;
    md.bmBytesPerBit = DEFAULT_BM_BLOCK_SIZE;
    this.md = md;
    this.reinitializeOffsets();
  }

  /** Recomputes the layout for the current device (re_initialize_md_offsets). */
  reinitializeOffsets(): void {
    reinitializeOffsets(this.md, this.pl, this.io);
    if (this.opts.verbose >= 2) {
      this.err(
        `md_offset: ${this.pl.mdOffset}\nal_offset: ${this.pl.alOffset} (${this.md.alOffset})\n` +
          `bm_offset: ${this.pl.bmOffset} (${this.md.bmOffset})\nmd_size_sect: ${this.md.mdSizeSect}\n` +
          `max_usable_sect: ${this.pl.maxUsableSect}\n`,
      );
    }
  }

  /** Sectors of data the current layout leaves usable. */
  maxUsableSectors(): number {
    return maxUsableSectors(this.md, this.pl);
  }

  /** Whether the placement is external (an index slot or flex-external). */
  get isExternal(): boolean {
    return this.index >= 0 || this.index === MD_INDEX_FLEX_EXT;
  }
}
