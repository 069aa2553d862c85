/** Access to the reference samples written by the real drbdmeta 9.22 (shared/reference). */
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Folder of the metadata samples (the shared design folder sits beside the project). */
export const SAMPLES = `${here}../../../shared/reference/metadata-samples`;

/** Whether the shared reference folder is present (it is beside every checkout and in CI). */
export function haveSamples(): boolean {
  try {
    Deno.statSync(SAMPLES);
    return true;
  } catch {
    return false;
  }
}

/** The 4096-byte blocks of superblocks.hex.txt, by section title. */
export function hexBlocks(): Map<string, Uint8Array> {
  const text = Deno.readTextFileSync(`${SAMPLES}/superblocks.hex.txt`);
  const blocks = new Map<string, Uint8Array>();
  let title = "";
  let block: Uint8Array | null = null;
  let base = -1;
  for (const line of text.split("\n")) {
    if (line.startsWith("## ")) {
      title = line.slice(3);
      block = new Uint8Array(4096);
      base = -1;
      blocks.set(title, block);
      continue;
    }
    const m = /^([0-9a-f]{8}): ((?:[0-9a-f]{4} ?){1,8})/.exec(line);
    if (!m || !block) continue;
    const addr = parseInt(m[1], 16);
    if (base < 0) base = addr & ~0xfff;
    const hex = m[2].replace(/ /g, "");
    for (let i = 0; i < hex.length / 2; i++) {
      block[addr - base + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    }
  }
  return blocks;
}

/** Strips the three header lines (date, host and command) that differ between dumps. */
export function stripDumpHeader(dump: string): string {
  return dump.split("\n").filter((l) => !/^# (DRBD meta data dump|\d{4}-\d\d-\d\d |.*> )/.test(l))
    .join("\n");
}
