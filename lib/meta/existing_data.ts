/**
 * What is already on a device before metadata is written to it: drbdmeta's detection of
 * filesystems, swap, LVM physical volumes and "some data" in the device's first 68 KiB,
 * with the refusals and questions of drbd-utils 9.22.
 *
 * @module
 */

/** What the first 68 KiB of a device look like. */
export interface FoundData {
  /** drbdmeta's name for it: "ext3 filesystem", "swap space signature", "some data"… */
  type: string;
  /** Blocks in use (0: unknown size, "some data"). */
  blocks: number;
  /** Block size; REFUSE for content that must never be overwritten. */
  blockSize: number;
}

/** Block size marking content drbdmeta always refuses to overwrite (swap). */
export const REFUSE_BSIZE = -1;
/** Block size marking content whose size could not be determined (LVM without pvs). */
export const ERR_BSIZE = -2;

function ascii(data: Uint8Array, off: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (data[off + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Identifies the content of a device from its first 68 KiB; null when all zero. */
export function identifyData(
  data: Uint8Array,
  pvSizeSectors?: () => number | null,
): FoundData | null {
  if (data.every((b) => b === 0)) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const off of [4096 - 10, 8192 - 10]) {
    if (ascii(data, off, "SWAP-SPACE") || ascii(data, off, "SWAPSPACE2")) {
      return { type: "swap space signature", blocks: 1, blockSize: REFUSE_BSIZE };
    }
  }
  if (ascii(data, 0x218, "LVM2")) {
    const sectors = pvSizeSectors?.() ?? null;
    return sectors === null
      ? { type: "LVM2 physical volume signature", blocks: 1, blockSize: ERR_BSIZE }
      : { type: "LVM2 physical volume signature", blocks: sectors, blockSize: 512 };
  }
  if (v.getUint16(0x438, true) === 0xef53) {
    const journal = (data[0x45c] & 4) === 4;
    const logSize = v.getUint32(0x418, true);
    return {
      type: journal ? "ext3 filesystem" : "ext2 filesystem",
      blocks: v.getUint32(0x404, true),
      blockSize: logSize === 0 ? 1024 : logSize === 1 ? 2048 : 4096,
    };
  }
  if (v.getUint32(0) === 0x58465342) {
    return {
      type: "xfs filesystem",
      blockSize: v.getUint32(4),
      blocks: Number(v.getBigUint64(8)),
    };
  }
  if (ascii(data, 0x8000, "JFS1")) {
    return {
      type: "JFS filesystem",
      blocks: Number(v.getBigUint64(0x8008, true)),
      blockSize: v.getUint32(0x8018, true),
    };
  }
  if (ascii(data, 0x10034, "ReIsErFs") || ascii(data, 0x10034, "ReIsEr2Fs")) {
    return {
      type: "reiser filesystem",
      blocks: v.getUint32(0x10000, true),
      blockSize: v.getUint16(0x1002c, true),
    };
  }
  if (ascii(data, 0x10040, "_BHRfS_M")) {
    // drbd-utils 9.22 does not know btrfs ("some data", and --force overwrites it); udrbd
    // sizes it like the filesystems drbdmeta knows, so a filesystem that would be truncated
    // is refused.
    const sectorSize = v.getUint32(0x10090, true) || 4096;
    return {
      type: "btrfs filesystem",
      blocks: Math.ceil(Number(v.getBigUint64(0x10070, true)) / sectorSize),
      blockSize: sectorSize,
    };
  }
  return { type: "some data", blocks: 0, blockSize: 0 };
}

/** Size in sectors of the LVM physical volume on `dev`, asked of `pvs`; null if unknown. */
export function pvSizeFromPvs(dev: string): number | null {
  try {
    const out = new Deno.Command("pvs", {
      args: [
        "--noheadings",
        "--nosuffix",
        "--units",
        "s",
        "-o",
        "pv_size",
        "--config",
        `devices { write_cache_state=0 filter = [ 'a|${dev}|', 'r|.|' ] }`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    const m = /^\s*(\d+)\s*$/m.exec(new TextDecoder().decode(out.stdout));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
