/**
 * The device metadata lives on: a block device or a regular file, read and written with
 * positional I/O (pread/pwrite).
 *
 * @module
 */

/** An open metadata device. */
export class MetaDevice {
  readonly path: string;
  readonly size: number;
  readonly isBlockDevice: boolean;
  /** Logical sector size: the alignment of bitmap writes (512 for regular files). */
  readonly hardSectSize: number;
  #file: Deno.FsFile | null;
  #writes = 0;

  private constructor(
    path: string,
    file: Deno.FsFile,
    size: number,
    isBlock: boolean,
    sect: number,
  ) {
    this.path = path;
    this.#file = file;
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
    const file = Deno.openSync(path, { read: true, write: true });
    let size = st.size;
    let sect = 512;
    if (isBlock) {
      size = file.seekSync(0, Deno.SeekMode.End);
      sect = logicalBlockSize(st.rdev ?? 0);
    }
    return new MetaDevice(path, file, size, isBlock, sect);
  }

  #open(): Deno.FsFile {
    if (!this.#file) throw new Error(`${this.path} is closed`);
    return this.#file;
  }

  /** Reads exactly `length` bytes at `offset`; short reads throw. */
  read(offset: number, length: number): Uint8Array {
    const f = this.#open();
    const buf = new Uint8Array(length);
    let done = 0;
    f.seekSync(offset, Deno.SeekMode.Start);
    while (done < length) {
      const n = f.readSync(buf.subarray(done));
      if (n === null || n === 0) {
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
    const f = this.#open();
    f.seekSync(offset, Deno.SeekMode.Start);
    let done = 0;
    while (done < data.length) done += f.writeSync(data.subarray(done));
    this.#writes++;
  }

  /**
   * Makes `length` bytes at `offset` read as zero. On a regular file, ranges that already
   * read as zero (holes of a sparse file) are left alone: same bytes, nothing to flush.
   */
  zero(offset: number, length: number, write: (offset: number, data: Uint8Array) => void): void {
    const chunk = 1 << 22;
    const zeros = new Uint8Array(Math.min(chunk, length));
    for (let done = 0; done < length; done += chunk) {
      const n = Math.min(chunk, length - done);
      if (!this.isBlockDevice && isZero(this.read(offset + done, n))) continue;
      write(offset + done, n === zeros.length ? zeros : zeros.subarray(0, n));
    }
  }

  /** Flushes written data to stable storage. */
  sync(): void {
    try {
      this.#file?.syncSync();
    } catch {
      // some devices (ramdisks) refuse fsync; drbdmeta ignores that too
    }
  }

  /** Closes the device (after a sync). */
  close(): void {
    if (!this.#file) return;
    if (this.#writes) this.sync();
    this.#file.close();
    this.#file = null;
  }
}

/** A read that hit the end of the device early. */
export class ShortIoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShortIoError";
  }
}

/** Whether every byte of `data` is zero. */
export function isZero(data: Uint8Array): boolean {
  const words = data.byteOffset % 4 === 0 && data.length % 4 === 0
    ? new Uint32Array(data.buffer, data.byteOffset, data.length / 4)
    : null;
  if (words) {
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  return data.every((b) => b === 0);
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
