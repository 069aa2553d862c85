/**
 * "Last known block device" files: drbdmeta remembers, per minor, the size of the device its
 * internal metadata was last written for (`/var/lib/drbd/drbd-minor-N.lkbd`), so metadata
 * can still be found after the device grew. udrbd reads and writes the same files, so both
 * tools agree.
 *
 * @module
 */

/** The remembered device. */
export interface LastKnown {
  size: number;
  name: string | null;
  uuid: bigint;
}

/** The directory drbd-utils keeps these files in (DRBD_LIB_DIR overrides, as for drbd-utils). */
export function lkbdDir(): string {
  return Deno.env.get("DRBD_LIB_DIR") ?? "/var/lib/drbd";
}

/** Path of the file for `minor` (−1 for the "-" device). */
export function lkbdPath(minor: number): string {
  return `${lkbdDir()}/drbd-minor-${minor}.lkbd`;
}

/** Reads the remembered device for `minor`; null when there is none or it cannot be parsed. */
export function loadLastKnown(minor: number, err: (t: string) => void): LastKnown | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(lkbdPath(minor));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      err(`lk_bdev_load(${lkbdPath(minor)}) failed: ${(e as Error).message}\n`);
    }
    return null;
  }
  const m = /^\s*(\d+)(?:\s+(\S+))?(\n)?(?:uuid:\s*([0-9a-fA-F]+)\n)?/.exec(text);
  if (!m) {
    err(`lk_bdev_load(${lkbdPath(minor)}): parse error\n`);
    return null;
  }
  return { size: Number(m[1]), name: m[2] ?? null, uuid: m[4] ? BigInt("0x" + m[4]) : 0n };
}

/** Remembers `lk` for `minor`. */
export function saveLastKnown(minor: number, lk: LastKnown, err: (t: string) => void): void {
  let text = `${lk.size}\t${lk.name}\n`;
  if (lk.uuid) text += `uuid:\t${lk.uuid.toString(16).toUpperCase().padStart(16, "0")}\n`;
  try {
    Deno.mkdirSync(lkbdDir(), { recursive: true });
    Deno.writeTextFileSync(lkbdPath(minor), text);
  } catch (e) {
    err(`lk_bdev_save(${lkbdPath(minor)}) failed: ${(e as Error).message}\n`);
  }
}

/** Forgets the remembered device for `minor`. */
export function deleteLastKnown(minor: number, err: (t: string) => void): void {
  try {
    Deno.removeSync(lkbdPath(minor));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      err(`lk_bdev_delete(${lkbdPath(minor)}) failed: ${(e as Error).message}\n`);
    }
  }
}
