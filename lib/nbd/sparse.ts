/**
 * Sparse-file helpers for {@link FileBlockDevice} on Linux: hole detection with
 * lseek(SEEK_DATA/SEEK_HOLE) and hole punching / range zeroing with fallocate(2), through FFI on
 * libc. Unavailable (null) without FFI permission or outside Linux; callers then fall back to
 * "everything is data" and to writing zeros.
 *
 * @module
 */
import type { Extent } from "./block_device.ts";
import { StatusFlag } from "./protocol.ts";

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const ENXIO = 6;
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;
/** Most extents returned for one query (clients ask again for the rest). */
const MAX_EXTENTS = 1024;

/** Sparse-file operations on a raw file descriptor. */
export interface SparseOps {
  /** Data and hole extents from `offset`, covering at most `length` bytes. */
  extents(fd: number, offset: number, length: number): Extent[];
  /** Deallocates a range (reads back as zeros); false when the file system cannot. */
  punchHole(fd: number, offset: number, length: number): boolean;
  /** Zeroes a range keeping it allocated; false when the file system cannot. */
  zeroRange(fd: number, offset: number, length: number): boolean;
  /** Unloads the library handle. */
  close(): void;
}

const SYMBOLS = {
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  fallocate: { parameters: ["i32", "i32", "i64", "i64"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** Loads the helpers (one library handle per caller); null when FFI or libc is unavailable. */
export function sparseOps(): SparseOps | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    const lib = Deno.dlopen("libc.so.6", SYMBOLS);
    const s = lib.symbols;
    const errno = () => {
      const p = s.__errno_location();
      return p ? new Deno.UnsafePointerView(p).getInt32() : 0;
    };
    const seek = (fd: number, offset: number, whence: number): number | "enxio" | "error" => {
      const r = Number(s.lseek(fd, BigInt(offset), whence));
      if (r >= 0) return r;
      return errno() === ENXIO ? "enxio" : "error";
    };
    return {
      close: () => lib.close(),
      extents(fd, offset, length) {
        const end = offset + length;
        const out: Extent[] = [];
        let pos = offset;
        while (pos < end && out.length < MAX_EXTENTS) {
          const d = seek(fd, pos, SEEK_DATA);
          if (d === "enxio") {
            out.push({ length: end - pos, flags: StatusFlag.HOLE | StatusFlag.ZERO });
            break;
          }
          if (d === "error" || d < pos) {
            out.push({ length: end - pos, flags: 0 });
            break;
          }
          if (d > pos) {
            const h = Math.min(d, end);
            out.push({ length: h - pos, flags: StatusFlag.HOLE | StatusFlag.ZERO });
            pos = h;
            continue;
          }
          const h = seek(fd, pos, SEEK_HOLE);
          const stop = typeof h === "number" && h > pos ? Math.min(h, end) : end;
          out.push({ length: stop - pos, flags: 0 });
          pos = stop;
        }
        return out;
      },
      punchHole(fd, offset, length) {
        return s.fallocate(
          fd,
          FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
          BigInt(offset),
          BigInt(length),
        ) === 0;
      },
      zeroRange(fd, offset, length) {
        return s.fallocate(
          fd,
          FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
          BigInt(offset),
          BigInt(length),
        ) === 0;
      },
    };
  } catch {
    return null;
  }
}
