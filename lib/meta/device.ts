/**
 * The device metadata lives on: a block device or a regular file, read and written with
 * positional I/O (pread/pwrite).
 *
 * @module
 */
import fs from "node:fs";

/** An open metadata device. */
export class MetaDevice {
  readonly path: string;
  readonly size: number;
  readonly isBlockDevice: boolean;
  /** Logical sector size: the alignment of bitmap writes (512 for regular files). */
  readonly hardSectSize: number;
  #fd: number;
  #writes = 0;

  private constructor(path: string, fd: number, size: number, isBlock: boolean, sect: number) {
    this.path = path;
    this.#fd = fd;
    this.size = size;
    this.isBlockDevice = isBlock;
    this.hardSectSize = sect;
  }

  /** Opens `path` read-write; throws Deno/Node errors (ENOENT, EACCES, EBUSY…) to the caller. */
  static open(path: string, options: { exclusive?: boolean } = {}): MetaDevice {
    const st = Deno.statSync(path);
    const isBlock = st.isBlockDevice === true;
    if (isBlock && options.exclusive && inUse(st.rdev ?? 0)) {
      // what O_EXCL on a block device reports; Deno cannot pass O_EXCL without O_CREAT
      throw Object.assign(new Error(`EBUSY: device or resource busy, open '${path}'`), {
        code: "EBUSY",
      });
    }
    const fd = fs.openSync(path, fs.constants.O_RDWR);
    let size = st.size;
    let sect = 512;
    if (isBlock) {
      size = blockDeviceSize(path);
      sect = logicalBlockSize(st.rdev ?? 0);
    }
    return new MetaDevice(path, fd, size, isBlock, sect);
  }

  /** Reads exactly `length` bytes at `offset`; short reads throw. */
  read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.#fd, buf, done, length - done, offset + done);
      if (n === 0) {
        throw new ShortIoError(
          `confused: expected to read ${length} bytes, actually read ${done}`,
        );
      }
      done += n;
    }
    return buf;
  }

  /** Writes all of `data` at `offset`. */
  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      done += fs.writeSync(this.#fd, data, done, data.length - done, offset + done);
    }
    this.#writes++;
  }

  /** How many writes this handle has made (tests use it to prove "nothing written"). */
  get writes(): number {
    return this.#writes;
  }

  /** Flushes written data to stable storage. */
  sync(): void {
    try {
      fs.fsyncSync(this.#fd);
    } catch {
      // some devices (ramdisks) refuse fsync; drbdmeta ignores that too
    }
  }

  /** Closes the device (after a sync). */
  close(): void {
    if (this.#fd < 0) return;
    this.sync();
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

/** A read that hit the end of the device early. */
export class ShortIoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShortIoError";
  }
}

function blockDeviceSize(path: string): number {
  const f = Deno.openSync(path, { read: true });
  try {
    return f.seekSync(0, Deno.SeekMode.End);
  } finally {
    f.close();
  }
}

function majorMinor(rdev: number): string {
  // Linux dev_t: major in bits 8..19 (+ high bits), minor in bits 0..7 and 20..31
  const major = ((rdev >> 8) & 0xfff) | ((rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >> 12) & ~0xff);
  return `${major}:${minor}`;
}

/** Whether a block device is mounted or held by another device (an exclusive open would fail). */
function inUse(rdev: number): boolean {
  const mm = majorMinor(rdev);
  try {
    const mounts = Deno.readTextFileSync("/proc/self/mountinfo");
    if (mounts.split("\n").some((l) => l.split(" ")[2] === mm)) return true;
  } catch { /* no procfs: assume not mounted */ }
  try {
    for (const _ of Deno.readDirSync(`/sys/dev/block/${mm}/holders`)) return true;
  } catch { /* no sysfs entry */ }
  return false;
}

function logicalBlockSize(rdev: number): number {
  const [major, minor] = majorMinor(rdev).split(":");
  try {
    const text = Deno.readTextFileSync(`/sys/dev/block/${major}:${minor}/queue/logical_block_size`);
    const n = parseInt(text.trim(), 10);
    return n > 0 ? n : 512;
  } catch {
    return 512;
  }
}
