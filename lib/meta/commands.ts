/**
 * drbdmeta's commands (create-md, dump-md, restore-md, apply-al, get-gi, show-gi, set-gi,
 * outdate, invalidate, dstate, check-resize, wipe-md, read-dev-uuid, write-dev-uuid,
 * forget-peer, verify-dump), with drbd-utils 9.22's flows, texts and exit codes.
 *
 * A command returns 0 on success or a negative number for "failed" (the caller exits 1);
 * fatal errors print their message and throw ExitError with drbdmeta's code.
 *
 * @module
 */
import { ExitError } from "../cli/io.ts";
import {
  AL_EXTENTS_MAX,
  AL_MAGIC,
  AL_PMEM_MAGIC,
  BM_BYTES_PER_AL_EXT,
  BUFFER_SIZE,
  DRBD_NODE_ID_MAX,
  MD_INDEX_FLEX_INT,
  MD_MAGIC_08,
  MD_MAGIC_09,
  MD_MAGIC_84_UNCLEAN,
  MDF,
  MDF_PEER,
  SO_MUCH,
} from "./constants.ts";
import { initializedAl, replayAl07, replayAl84 } from "./activity_log.ts";
import { dumpBitmapSlot } from "./bitmap_text.ts";
import { isZero } from "./device.ts";
import { DumpParser, type ParsedDump, SlotWords } from "./dump_parser.ts";
import { ERR_BSIZE, identifyData, pvSizeFromPvs, REFUSE_BSIZE } from "./existing_data.ts";
import { align, bmBytes, mdByteOffset, refreshPlacement } from "./layout.ts";
import { deleteLastKnown, loadLastKnown } from "./lkbd.ts";
import { UNIT_SHIFT } from "../options/units.ts";
import type { MetaSession } from "./session.ts";
import { decodeV08, decodeV09, type MdCpu } from "./superblock.ts";

const hex16 = (v: bigint) => v.toString(16).toUpperCase().padStart(16, "0");
const hex8 = (v: number) => (v >>> 0).toString(16).toUpperCase().padStart(8, "0");

/** drbdmeta's human-readable size of `kb` kibibytes ("128 MB"). */
export function ppsize(kb: number): string {
  const units = ["K", "M", "G", "T", "P", "E"];
  let size = kb;
  let base = 0;
  while (size >= 10000 && base < units.length - 1) {
    size = Math.floor(size / 1024) + (Math.floor(size / 512) % 2);
    base++;
  }
  return `${size} ${units[base]}B`;
}

function ignoringArgs(s: MetaSession, args: string[]): void {
  if (args.length > 0) s.err("Ignoring additional arguments\n");
}

// ---- get-gi / show-gi / dstate ----------------------------------------------------------

function giLine(s: MetaSession, md: MdCpu, nodeId: number): string {
  const uuids = `${hex16(md.currentUuid)}:${hex16(md.peers[nodeId].bitmapUuid)}:${
    hex16(md.historyUuids[0])
  }:${hex16(md.historyUuids[1])}:`;
  const b = (flags: number, mask: number) => (flags & mask ? "1" : "0");
  const f = md.flags;
  if (s.format === "v08") {
    return uuids + [
      b(f, MDF.CONSISTENT),
      b(f, MDF.WAS_UP_TO_DATE),
      b(f, MDF.PRIMARY_IND),
      b(f, MDF.CONNECTED_IND),
      b(f, MDF.FULL_SYNC),
      b(f, MDF.PEER_OUT_DATED),
      b(f, MDF.CRASHED_PRIMARY),
    ].join(":") + "\n";
  }
  const pf = md.peers[nodeId].flags;
  return uuids + [
    b(f, MDF.CONSISTENT),
    b(f, MDF.WAS_UP_TO_DATE),
    b(f, MDF.PRIMARY_IND),
    b(f, MDF.CRASHED_PRIMARY),
    b(f, MDF.AL_CLEAN),
    b(f, MDF.AL_DISABLED),
    b(f, MDF.PRIMARY_LOST_QUORUM),
  ].join(":") + ":" + [
    b(pf, MDF_PEER.CONNECTED),
    b(pf, MDF_PEER.OUTDATED),
    b(pf, MDF_PEER.FENCING),
    b(pf, MDF_PEER.FULL_SYNC),
    b(pf, MDF_PEER.DEVICE_SEEN),
  ].join(":") + "\n";
}

const SHOW_GI_HEAD = "\n" +
  "       +--<  Current data generation UUID  >-\n" +
  "       |               +--<  Bitmap's base data generation UUID  >-\n" +
  "       |               |                 +--<  younger history UUID  >-\n" +
  "       |               |                 |         +-<  older history  >-\n" +
  "       V               V                 V         V\n";

const SHOW_GI_V08 =
  "                                                                    ^ ^ ^ ^ ^ ^ ^\n" +
  "                                      -<  Data consistency flag  >--+ | | | | | |\n" +
  "                             -<  Data was/is currently up-to-date  >--+ | | | | |\n" +
  "                                  -<  Node was/is currently primary  >--+ | | | |\n" +
  "                                  -<  Node was/is currently connected  >--+ | | |\n" +
  "         -<  Node was in the progress of setting all bits in the bitmap  >--+ | |\n" +
  "                        -<  The peer's disk was out-dated or inconsistent  >--+ |\n" +
  "      -<  This node was a crashed primary, and has not seen its peer since   >--+\n" +
  "\n";

const SHOW_GI_V09 =
  "                                                                    ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^\n" +
  "                                      -<  Data consistency flag  >--+ | | | | | | | | | | |\n" +
  "                             -<  Data was/is currently up-to-date  >--+ | | | | | | | | | |\n" +
  "                                  -<  Node was/is currently primary  >--+ | | | | | | | | |\n" +
  " -<  This node was a crashed primary, and has not seen its peer since  >--+ | | | | | | | |\n" +
  "             -<  The activity-log was applied, the disk can be attached  >--+ | | | | | | |\n" +
  "        -<  The activity-log was disabled, peer is completely out of sync  >--+ | | | | | |\n" +
  "                              -<  This node was primary when it lost quorum  >--+ | | | | |\n" +
  "                                          -<  Node was/is currently connected  >--+ | | | |\n" +
  "                              -<  The peer's disk was out-dated or inconsistent  >--+ | | |\n" +
  "                                 -<   A fence policy other the dont-care was used  >--+ | |\n" +
  "                  -<  Node was in the progress of marking all blocks as out of sync  >--+ |\n" +
  "                     -<  At least once we saw this node with a backing device attached >--+\n" +
  "\n";

/** get-gi: the generation identifiers as one line. */
export function getGi(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  if (s.open() !== "valid") return -1;
  s.out(giLine(s, s.md, s.opts.nodeId));
  return s.close();
}

/** show-gi: the generation identifiers explained. */
export function showGi(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  if (s.open() !== "valid") return -1;
  const md = s.md;
  s.out(SHOW_GI_HEAD);
  s.out(giLine(s, md, s.opts.nodeId));
  if (s.format === "v08") {
    const f = md.flags;
    s.out(SHOW_GI_V08);
    s.out(
      `flags:${f & MDF.CRASHED_PRIMARY ? " crashed" : ""} ${
        f & MDF.PRIMARY_IND ? "Primary" : "Secondary"
      }, ${f & MDF.CONNECTED_IND ? "Connected" : "StandAlone"}, ${
        f & MDF.CONSISTENT ? (f & MDF.WAS_UP_TO_DATE ? "UpToDate" : "Outdated") : "Inconsistent"
      }${f & MDF.FULL_SYNC ? ", need full sync" : ""}${
        f & MDF.PEER_OUT_DATED ? ", peer Outdated" : ""
      }\n`,
    );
    s.out(`meta-data: ${f & MDF.AL_CLEAN ? "clean" : "need apply-al"}\n`);
  } else s.out(SHOW_GI_V09);
  if (md.effectiveSize) {
    s.out(
      `last agreed size: ${
        ppsize(Math.floor(md.effectiveSize / 2))
      } (${md.effectiveSize} sectors)\n`,
    );
    s.out(`last agreed max bio size: ${md.laPeerMaxBioSize >>> 0} Byte\n`);
  } else s.out("zero size device -- never seen peer yet?\n");
  return s.close();
}

/** dstate: the disk state the metadata implies. */
export function dstate(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  if (s.open() !== "valid") {
    s.err("No valid meta data found\n");
    return -1;
  }
  const f = s.md.flags;
  if (f & MDF.CONSISTENT) {
    if (f & MDF.WAS_UP_TO_DATE) s.out(f & MDF.PEER_OUT_DATED ? "UpToDate\n" : "Consistent\n");
    else s.out("Outdated\n");
  } else s.out("Inconsistent\n");
  return s.close();
}

// ---- set-gi ---------------------------------------------------------------------------------

function parseGiFields(s: MetaSession, md: MdCpu, nodeId: number, arg: string): void {
  const fields = arg.split(":");
  let k = 0;
  // each step consumes one field; an absent field (end of string) stops parsing
  const rest = () => fields.slice(k).join(":");
  const u64 = (set: (v: bigint) => void): boolean => {
    if (k >= fields.length) return false;
    const t = fields[k++];
    if (t.length) {
      const m = /^\s*([+-]?)(0[xX])?([0-9a-fA-F]+)$/.exec(t);
      if (!m) s.die(10, `'${k < fields.length ? rest() : "(null)"}' is not a number.\n`);
      let v = BigInt("0x" + m[3]);
      if (v > 0xffffffffffffffffn) {
        s.die(10, `'${k < fields.length ? rest() : "(null)"}': Numerical result out of range\n`);
      }
      if (m[1] === "-") v = BigInt.asUintN(64, -v);
      set(v);
    }
    return true;
  };
  const bit = (get: () => number, set: (f: number) => void, mask: number): boolean => {
    if (k >= fields.length) return false;
    const t = fields[k++];
    let d = get() & mask ? 1 : 0;
    if (t.length) {
      const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(t);
      if (!m) s.die(10, `'${k < fields.length ? rest() : "(null)"}' is not a number.\n`);
      const body = m[2];
      let v = body.startsWith("0x") || body.startsWith("0X")
        ? BigInt(body)
        : body.length > 1 && body.startsWith("0")
        ? BigInt("0o" + body.slice(1))
        : BigInt(body);
      if (m[1] === "-") v = BigInt.asUintN(64, -v);
      if (v > 0xffffffffn) {
        s.die(10, `'${k < fields.length ? rest() : "(null)"}' is out of range (max 0xFFffFFff).\n`);
      }
      d = Number(v);
    }
    if (d > 1) s.die(10, `'${d | 0}' is not 0 or 1.\n`);
    set(d ? get() | mask : get() & ~mask);
    return true;
  };
  const mdBit = (mask: number) => bit(() => md.flags, (f) => (md.flags = f >>> 0), mask);
  const peerBit = (mask: number) =>
    bit(() => md.peers[nodeId].flags, (f) => (md.peers[nodeId].flags = f >>> 0), mask);
  if (!u64((v) => (md.currentUuid = v))) return;
  if (!u64((v) => (md.peers[nodeId].bitmapUuid = v))) return;
  for (let i = 0; i < 2; i++) if (!u64((v) => (md.historyUuids[i] = v))) return;
  const steps: (() => boolean)[] = s.format === "v08"
    ? [
      () => mdBit(MDF.CONSISTENT),
      () => mdBit(MDF.WAS_UP_TO_DATE),
      () => mdBit(MDF.PRIMARY_IND),
      () => mdBit(MDF.CONNECTED_IND),
      () => mdBit(MDF.FULL_SYNC),
      () => mdBit(MDF.PEER_OUT_DATED),
      () => mdBit(MDF.CRASHED_PRIMARY),
    ]
    : [
      () => mdBit(MDF.CONSISTENT),
      () => mdBit(MDF.WAS_UP_TO_DATE),
      () => mdBit(MDF.PRIMARY_IND),
      () => mdBit(MDF.CRASHED_PRIMARY),
      () => mdBit(MDF.AL_CLEAN),
      () => mdBit(MDF.AL_DISABLED),
      () => mdBit(MDF.PRIMARY_LOST_QUORUM),
      () => peerBit(MDF_PEER.CONNECTED),
      () => peerBit(MDF_PEER.OUTDATED),
      () => peerBit(MDF_PEER.FENCING),
      () => peerBit(MDF_PEER.FULL_SYNC),
      () => peerBit(MDF_PEER.DEVICE_SEEN),
    ];
  for (const step of steps) if (!step()) return;
}

/** set-gi: overwrite generation identifiers and flags (get-gi syntax; empty fields keep). */
export function setGi(s: MetaSession, args: string[]): number {
  if (args.length > 1) s.err("Ignoring additional arguments\n");
  if (args.length < 1) s.die(10, "Required Argument missing\n");
  if (s.open() !== "valid") return -1;
  const tmp = structuredClone(s.md);
  parseGiFields(s, tmp, s.opts.nodeId, args[0]);
  s.out("previously " + giLine(s, s.md, s.opts.nodeId));
  s.out("set GI to  " + giLine(s, tmp, s.opts.nodeId));
  if (!s.confirmed("Write new GI to disk?")) {
    s.out("Operation canceled.\n");
    throw new ExitError(0);
  }
  s.md = tmp;
  let err = s.writeSuperblock() ? 0 : -1;
  err = s.close() || err;
  if (err) s.err("update failed\n");
  return err;
}

// ---- outdate / invalidate / device uuid / forget-peer --------------------------------------

function rewrite(s: MetaSession, failText: string): number {
  let err = s.writeSuperblock() ? 0 : -1;
  err = s.close() || err;
  if (err) s.err(failText);
  return err;
}

/** outdate: a consistent disk is no longer up to date. */
export function outdate(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  if (s.open() !== "valid") return -1;
  if (!(s.md.flags & MDF.CONSISTENT)) s.die(5, "Device is inconsistent.\n");
  s.md.flags &= ~MDF.WAS_UP_TO_DATE;
  return rewrite(s, "update failed\n");
}

/** invalidate: the disk must be fully resynchronized. */
export function invalidate(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  if (s.open() !== "valid") return -1;
  s.md.flags &= ~(MDF.CONSISTENT | MDF.WAS_UP_TO_DATE);
  if (s.format === "v08") s.md.flags |= MDF.FULL_SYNC;
  else for (const p of s.md.peers) p.flags |= MDF_PEER.FULL_SYNC;
  return rewrite(s, "update failed\n");
}

/** read-dev-uuid: the device UUID. */
export function readDevUuid(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  if (s.open() !== "valid") return -1;
  s.out(hex16(s.md.deviceUuid) + "\n");
  return s.close();
}

/** Parses like strtoull(text, NULL, 16): leading blanks, sign, optional 0x, hex digits; garbage → 0. */
function strtoU64Hex(text: string): bigint {
  const m = /^\s*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]*)/.exec(text);
  if (!m || !m[2]) return 0n;
  let v = BigInt("0x" + m[2]);
  if (v > 0xffffffffffffffffn) v = 0xffffffffffffffffn;
  return m[1] === "-" ? BigInt.asUintN(64, -v) : v;
}

/** write-dev-uuid VAL: set the device UUID. */
export function writeDevUuid(s: MetaSession, args: string[]): number {
  if (args.length > 1) s.err("Ignoring additional arguments\n");
  if (args.length < 1) s.die(10, "Required Argument missing\n");
  if (s.open() !== "valid") return -1;
  s.md.deviceUuid = strtoU64Hex(args[0]);
  return rewrite(s, "update failed\n");
}

/** forget-peer: drop a peer's bitmap slot assignment (v09). */
export function forgetPeer(s: MetaSession, _args: string[]): number {
  if (s.open() !== "valid") return -1;
  const md = s.md;
  const node = s.opts.nodeId;
  let day0 = -1;
  for (let p = 0; p < DRBD_NODE_ID_MAX; p++) {
    if (p === md.nodeId) continue;
    if (md.peers[p].bitmapIndex === -1) {
      day0 = p;
      break;
    }
  }
  const toIndex = md.peers[node].bitmapIndex;
  md.peers[node].bitmapIndex = -1;
  md.peers[node].flags = 0;
  if (day0 > -1) {
    md.peers[node].bitmapUuid = md.peers[day0].bitmapUuid;
    md.peers[node].bitmapDagtag = md.peers[day0].bitmapDagtag;
    s.err(
      `Copying bitmap slot ${
        md.peers[day0].bitmapIndex
      } to ${toIndex} not implemented.\nDo it with dump-md, edit, restore-md\n`,
    );
  } else {
    md.peers[node].bitmapUuid = 0n;
    md.peers[node].bitmapDagtag = 0n;
    s.err(
      `Setting all bits in slot ${toIndex} not implemented.\nDo it with dump-md, edit, restore-md\n`,
    );
  }
  // drbdmeta ignores whether this write was valid; only closing decides the outcome
  s.writeSuperblock();
  const err = s.close();
  if (err) s.err("update failed\n");
  return err;
}

// ---- wipe-md --------------------------------------------------------------------------------

/** wipe-md: zero the superblock. */
export function wipeMd(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  if (s.open() !== "valid") {
    s.err("There appears to be no drbd meta data to wipe out?\n");
    return 0;
  }
  if (!s.confirmed("Do you really want to wipe out the DRBD meta data?")) {
    s.out("Operation cancelled.\n");
    throw new ExitError(1);
  }
  s.out("Wiping meta data...\n");
  s.write(s.pl.mdOffset, new Uint8Array(4096), "meta_wipe_md");
  const err = s.close();
  if (err) s.err("operation failed\n");
  else s.out("DRBD meta data block successfully wiped out.\n");
  deleteLastKnown(s.minor, (t) => s.err(t));
  return err;
}

// ---- existing data --------------------------------------------------------------------------

/** check_for_existing_data: refuse or ask before overwriting what looks like data. */
export function checkForExistingData(s: MetaSession): void {
  const data = s.read(0, SO_MUCH, "check_for_existing_data");
  const found = identifyData(data, () => pvSizeFromPvs(s.devPath));
  if (!found) return;
  s.out(`md_offset ${s.pl.mdOffset}\nal_offset ${s.pl.alOffset}\nbm_offset ${s.pl.bmOffset}\n`);
  s.out(`\nFound ${found.type}\n`);
  const refuse = () => {
    s.out(
      "If you want me to do this, you need to zero out the first part\n" +
        "of the device (destroy the content).\nYou should be very sure that you mean it.\n" +
        "Operation refused.\n\n",
    );
    throw new ExitError(40);
  };
  if (found.blocks) {
    if (s.isExternal) {
      s.out("\nThis would corrupt existing data.\n");
      if (s.opts.ignoreSanityChecks) {
        s.out("\nIgnoring sanity check on user request.\n\n");
        return;
      }
      refuse();
    }
    const fsKb = Math.floor((found.blockSize * found.blocks + 1023) / 1024);
    const maxUsableKb = Math.floor(s.maxUsableSectors() / 2);
    const special = found.blockSize === REFUSE_BSIZE || found.blockSize === ERR_BSIZE;
    if (!special) s.out(`${String(fsKb).padStart(12)} kB data area apparently used\n`);
    s.out(`${String(maxUsableKb).padStart(12)} kB left usable by current configuration\n`);
    if (found.blockSize === ERR_BSIZE) {
      s.out("Could not determine the size of the actually used data area.\n\n");
    }
    if (special) {
      s.out(
        "Device size would be truncated, which\nwould corrupt data and result in\n" +
          "'access beyond end of device' errors.\n",
      );
      if (s.opts.ignoreSanityChecks) {
        s.out("\nIgnoring sanity check on user request.\n\n");
        return;
      }
      refuse();
    }
    if (fsKb > maxUsableKb) {
      s.out(
        "\nDevice size would be truncated, which\nwould corrupt data and result in\n" +
          "'access beyond end of device' errors.\nYou need to either\n" +
          "   * use external meta data (recommended)\n   * shrink that filesystem first\n" +
          "   * zero out the device (destroy the filesystem)\nOperation refused.\n\n",
      );
      throw new ExitError(40);
    }
    s.out(
      "\nEven though it looks like this would place the new meta data into\n" +
        "unused space, you still need to confirm, as this is only a guess.\n",
    );
  } else s.out("\n ==> This might destroy existing data! <==\n");
  if (!s.confirmed("Do you want to proceed?")) {
    s.out("Operation canceled.\n");
    throw new ExitError(1);
  }
}

// ---- create-md ------------------------------------------------------------------------------

/** drbdmeta also probes for v07 metadata; udrbd does not read v07, but says what 9.22 says. */
function probeV07(s: MetaSession, block: Uint8Array): void {
  const magic = new DataView(block.buffer, block.byteOffset, block.byteLength).getUint32(28);
  if (magic !== 0x8374026a && s.opts.verbose >= 1) s.err("v07 Magic number not found\n");
}

function detectMd(s: MetaSession, block: Uint8Array, size: number, index: number) {
  probeV07(s, block);
  let have: "v08" | "v09" | null = null;
  let md: MdCpu | null = null;
  const m8 = decodeV08(block);
  if (s.isValid(m8, index, size, "v08")) {
    have = "v08";
    md = m8;
  }
  const m9 = decodeV09(block);
  if (s.isValid(m9, index, size, "v09")) {
    have = "v09";
    md = m9;
  }
  return { have, md };
}

function convertMd(s: MetaSession, from: "v08" | "v09", md: MdCpu): void {
  s.md = md;
  if (s.format === from) return;
  if (s.format === "v09") {
    for (const p of md.peers) {
      p.bitmapUuid = 0n;
      p.flags = 0;
      p.bitmapIndex = -1;
    }
    if (md.flags & MDF.CONNECTED_IND) md.peers[0].flags |= MDF_PEER.CONNECTED;
    if (md.flags & MDF.FULL_SYNC) md.peers[0].flags |= MDF_PEER.FULL_SYNC;
    if (md.flags & MDF.PEER_OUT_DATED) md.peers[0].flags |= MDF_PEER.OUTDATED;
    md.flags &= ~(MDF.CONNECTED_IND | MDF.FULL_SYNC | MDF.PEER_OUT_DATED);
    md.nodeId = -1;
    md.magic = MD_MAGIC_09;
  } else {
    if (md.peers[0].flags & MDF_PEER.CONNECTED) md.flags |= MDF.CONNECTED_IND;
    if (md.peers[0].flags & MDF_PEER.FULL_SYNC) md.flags |= MDF.FULL_SYNC;
    if (md.peers[0].flags & MDF_PEER.OUTDATED) md.flags |= MDF.PEER_OUT_DATED;
    md.magic = MD_MAGIC_08;
    md.maxPeers = 1;
  }
  s.reinitializeOffsets();
  if (!s.isValid(md)) s.die(111, "Conversion failed.\nThis is a bug :(\n");
}

function checkInternalFlavours(s: MetaSession): void {
  const fixedOffset = mdByteOffset(-1, s.pl.bdSize);
  if (fixedOffset >= 0 && fixedOffset < s.pl.bdSize - 4096) {
    probeV07(s, s.read(fixedOffset, 4096, "check_internal_md_flavours"));
  }
  const flexOffset = mdByteOffset(MD_INDEX_FLEX_INT, s.pl.bdSize);
  const block = s.read(flexOffset, 4096, "check_internal_md_flavours");
  const { have, md } = detectMd(s, block, s.pl.bdSize, MD_INDEX_FLEX_INT);
  if (!have || !md) return;
  s.err(`You want me to create a ${s.format} style flexible-size internal meta data block.\n`);
  s.err(
    `There appears to be a ${have} flexible-size internal meta data block\nalready in place on ${s.devPath} at byte offset ${flexOffset}\n`,
  );
  if (s.format === have) {
    if (s.md.alStripes !== s.opts.alStripes || s.md.alStripeSize4k !== s.opts.alStripeSize4k) {
      if (s.confirmed("Do you want to change the activity log stripe settings *only*?")) {
        s.die(
          30,
          "Sorry, not yet fully implemented\nTry dump-md > dump.txt; restore-md -s x -z y dump.txt\n",
        );
      }
    }
    if (!s.confirmed("Do you really want to overwrite the existing meta-data?")) {
      s.out("Operation cancelled.\n");
      throw new ExitError(1);
    }
    s.md.magic = 0;
  } else if (s.confirmed(`Valid ${have} meta-data found, convert to ${s.format}?`)) {
    convertMd(s, have, md);
  } else {
    if (
      !s.confirmed(
        `So you want me to replace the ${have} meta-data\nwith newly initialized ${s.format} meta-data?`,
      )
    ) {
      s.out("Operation cancelled.\n");
      throw new ExitError(1);
    }
    s.md.magic = 0;
  }
}

function checkExternalFlavours(s: MetaSession): void {
  if (s.md.magic) {
    if (!s.confirmed("Valid meta data seems to be in place.\nDo you really want to overwrite?")) {
      s.out("Operation cancelled.\n");
      throw new ExitError(1);
    }
    s.md.magic = 0;
    return;
  }
  const block = s.read(s.pl.mdOffset, 4096, "check_external_md_flavours");
  const { have, md } = detectMd(s, block, s.pl.bdSize, -2);
  if (!have || !md) return;
  if (s.confirmed(`Valid ${have} meta-data found, convert to ${s.format}?`)) {
    convertMd(s, have, md);
    return;
  }
  if (
    s.confirmed(
      `So you want me to replace the ${have} meta-data\nwith newly initialized ${s.format} meta-data?`,
    )
  ) {
    s.md.magic = 0;
    return;
  }
  s.out("Operation cancelled.\n");
  throw new ExitError(1);
}

function initializeBitmap(s: MetaSession): void {
  const bytes = align(bmBytes(s.md, Math.floor(s.pl.bdSize / 512)), s.openDevice().hardSectSize);
  const kb = ppsize(Math.floor(bytes / 1024));
  if (s.opts.initializeBitmap === "skip") {
    s.err("SKIPPED initializing bitmap area\n");
    return;
  }
  if (s.opts.initializeBitmap === "pwrite") {
    s.err(`initializing bitmap (${kb}) to all zero using pwrite\n`);
  } else s.err(`initializing bitmap (${kb}) to all zero\n`);
  const tag = "md_initialize_common:BM";
  const dev0 = s.openDevice();
  if (s.opts.initializeBitmap === "zeroout" && !dev0.isBlockDevice) {
    // zeroout means the BLKZEROOUT ioctl only, which regular files do not have
    s.die(10, "fast zero-out failed, fallback disabled\n");
  }
  s.checkRange(s.pl.bmOffset, Math.min(bytes, BUFFER_SIZE), tag);
  if (s.opts.dryRun) {
    // show the writes drbdmeta would make, in its 32 MiB pieces
    for (let off = 0; off < bytes; off += BUFFER_SIZE) {
      s.write(s.pl.bmOffset + off, new Uint8Array(Math.min(BUFFER_SIZE, bytes - off)), tag);
    }
    return;
  }
  const dev = s.openDevice();
  // -v -v shows every write drbdmeta makes, so make them all
  const skipZero = s.opts.verbose < 2;
  let reported = 0;
  for (let off = 0; off < bytes; off += BUFFER_SIZE) {
    const n = Math.min(BUFFER_SIZE, bytes - off);
    if (skipZero) dev.zero(s.pl.bmOffset + off, n, (o, d) => s.write(o, d, tag));
    else s.write(s.pl.bmOffset + off, new Uint8Array(n), tag);
    const percent = Math.floor(100 * (off + n) / bytes);
    if (off + n < bytes && percent !== reported) {
      s.err(`\r${percent}%`);
      reported = percent;
    }
  }
  if (reported) s.err("\r100%\n");
}

/** create-md [MAX_PEERS]: write fresh metadata (or convert between v08 and v09). */
export function createMd(s: MetaSession, args: string[]): number {
  let maxPeers = 1;
  if (s.format === "v09") {
    if (args.length < 1) {
      s.die(
        20,
        `USAGE: ${s.progname} MINOR v09 ... create-md MAX_PEERS\n\n  MAX_PEERS argument missing\n`,
      );
    } else if (args.length > 1) s.err("Ignoring additional arguments\n");
    maxPeers = Number(BigInt.asIntN(32, strtollUnit(s, args[0], 1)));
  } else if (args.length > 0) s.err("Ignoring additional arguments\n");
  if (maxPeers < 1 || maxPeers > 31) {
    s.die(20, "MAX_PEERS argument not in allowed range 1 .. 31.\n");
  }
  const found = s.open();
  if (found === "last-known") {
    if (s.opts.alStripesUsed) {
      if (s.opts.alStripes !== s.md.alStripes || s.opts.alStripeSize4k !== s.md.alStripeSize4k) {
        s.die(
          20,
          "Cannot move after offline resize and change AL-striping at the same time, yet.\n",
        );
      }
    }
    if (!s.opts.force && s.confirmed("Move internal meta data from last-known position?\n")) {
      checkForExistingData(s);
      return moveAfterResize(s);
    }
    s.md = { ...s.md, magic: 0 };
  }
  if (s.index === MD_INDEX_FLEX_INT) checkInternalFlavours(s);
  else checkExternalFlavours(s);
  if (!s.md.magic) {
    s.initializeMd(maxPeers);
    checkForExistingData(s);
    s.out("initializing activity log\n");
    const blocks = s.md.alStripes * s.md.alStripeSize4k;
    s.write(s.pl.alOffset, initializedAl(blocks), "md_initialize_common:AL");
    initializeBitmap(s);
  } else {
    if (s.format === "v09" && maxPeers !== 1) {
      s.out(`Warning: setting max_peers to 1 instead of ${maxPeers}\n\n`);
    }
    checkForExistingData(s);
  }
  s.md.laPeerMaxBioSize = s.opts.peerMaxBioSize;
  s.out("Writing meta data...\n");
  let err = s.writeSuperblock() ? 0 : -1;
  if (!err) {
    const zero = new Uint8Array(4096);
    if (s.wipe.fixed) s.write(s.wipe.fixed, zero, "wipe fixed-size v07 internal md");
    if (s.wipe.flex) s.write(s.wipe.flex, zero, "wipe flexible-size internal md");
  }
  err = s.close() || err;
  if (err) s.err("operation failed\n");
  else s.out("New drbd meta data block successfully created.\n");
  return err;
}

// ---- resize ---------------------------------------------------------------------------------

/** Moves internal metadata from where the device's old size put it to its proper place. */
export function moveAfterResize(s: MetaSession): number {
  const lkSize = s.lk?.size ?? 0;
  const old = { ...s.md };
  const oldOffset = mdByteOffset(MD_INDEX_FLEX_INT, lkSize);
  s.reinitializeOffsets();
  s.err("Moving the internal meta data to its proper location\n");
  // activity log: fixed size, right before the superblock
  const alFrom = oldOffset + old.alOffset * 512;
  s.write(
    s.pl.alOffset,
    s.read(alFrom, oldOffset - alFrom, "v08_move_internal_md_after_resize"),
    "v08_move_internal_md_after_resize",
  );
  const oldBm = oldOffset + s.md.bmOffset * 512;
  let cur = oldOffset + s.md.alOffset * 512 - BUFFER_SIZE;
  while (cur > oldBm) {
    s.write(
      s.pl.bmOffset + (cur - oldBm),
      s.read(cur, BUFFER_SIZE, "v08_move_internal_md_after_resize"),
      "v08_move_internal_md_after_resize",
    );
    cur -= BUFFER_SIZE;
  }
  const last = BUFFER_SIZE - (oldBm - cur);
  if (last > 0) {
    s.write(
      s.pl.bmOffset,
      s.read(oldBm, last, "v08_move_internal_md_after_resize"),
      "v08_move_internal_md_after_resize",
    );
  }
  s.reinitializeOffsets();
  let err = s.writeSuperblock() ? 0 : -1;
  if (!err) s.out("Internal drbd meta data successfully moved.\n");
  if (!err && oldOffset < s.pl.bmOffset) {
    s.wipe.resize = oldOffset;
    s.write(oldOffset, new Uint8Array(4096), "v08_move_internal_md_after_resize");
  }
  err = s.close() || err;
  if (err) s.err("operation failed\n");
  return err;
}

/** check-resize: after the device grew, move internal metadata to the new end. */
export function checkResize(s: MetaSession, _args: string[]): number {
  const found = s.open();
  if (found === "valid") {
    const lk = loadLastKnown(s.minor, (t) => s.err(t));
    if (!lk) return -1;
    if (s.index !== MD_INDEX_FLEX_INT) deleteLastKnown(s.minor, (t) => s.err(t));
    else if (lk.size !== s.pl.bdSize || lk.uuid !== s.md.deviceUuid) s.updateLk = true;
    return s.close();
  }
  if (found === "none") {
    if (s.index !== MD_INDEX_FLEX_INT) {
      s.err("Operation only supported for >= v8 internal meta data\n");
      return -1;
    }
    s.err("no suitable meta data found :(\n");
    return -1;
  }
  return moveAfterResize(s);
}

// ---- dump-md --------------------------------------------------------------------------------

function peerFlagNames(flags: number): string {
  const names: Record<number, string> = {
    0: "connected",
    1: "<=outdated",
    2: "fencing",
    3: "full-sync",
    4: "seen",
    16: "exists",
  };
  let out = "";
  let sep = " # ";
  for (let i = 0; i < 32; i++) {
    const f = (1 << i) >>> 0;
    if (!(flags & f)) continue;
    const piece = `${sep}${names[i] ?? `0x${f.toString(16)}=?`}`;
    sep = " | ";
    if (out.length + piece.length > 79) {
      out += piece.slice(0, 79 - out.length);
      break;
    }
    out += piece;
  }
  return out;
}

function dumpHeader(s: MetaSession): string {
  const now = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const tz = -now.getTimezoneOffset();
  const tzs = `${tz >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(tz) / 60))}${
    pad(Math.abs(tz) % 60)
  }`;
  const stamp = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${
    pad(now.getHours())
  }:${pad(now.getMinutes())}:${pad(now.getSeconds())} ${tzs} [${Math.floor(now.getTime() / 1000)}]`;
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch { /* keep the default */ }
  return `# DRBD meta data dump\n# ${stamp}\n# ${host}> ${s.argv.join(" ")}\n#\n\n`;
}

/** dump-md: the metadata as text that restore-md reads back. */
export function dumpMd(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  const found = s.open();
  if (found === "none") {
    s.err("No valid meta data found\n");
    return -1;
  }
  const md = s.md;
  const clean = md.magic !== MD_MAGIC_84_UNCLEAN && (md.flags & MDF.AL_CLEAN) !== 0;
  if (!clean) {
    s.err('Found meta data is "unclean", please apply-al first\n');
    if (!s.opts.force) return -1;
  }
  s.out(dumpHeader(s));
  s.out(`version "${s.format}";\n\n`);
  if (!clean) {
    s.out(
      "This_is_an_unclean_meta_data_dump._Don't_trust_the_bitmap.\n" +
        '# You should "apply-al" first, if you plan to restore this.\n\n',
    );
  }
  if (s.format === "v09") s.out(`max-peers ${md.maxPeers};\n`);
  s.out(`# md_size_sect ${md.mdSizeSect}\n`);
  if (found === "last-known") {
    s.out(
      `#\n### Device seems to have been resized!\n### dumping meta data from the last known position\n### current size of ${s.devPath}: ${s.pl.bdSize} byte\n### expected position of meta data:\n`,
    );
    s.out(
      `## md_offset ${s.pl.mdOffset}\n## al_offset ${s.pl.alOffset}\n## bm_offset ${s.pl.bmOffset}\n`,
    );
    s.out(
      `### last known size of ${s.lk?.name ?? "-?-"}: ${
        s.lk?.size ?? 0
      } byte\n### adjusted position of meta data:\n`,
    );
    s.pl.mdOffset = mdByteOffset(MD_INDEX_FLEX_INT, s.lk?.size ?? 0);
    refreshPlacement(md, s.pl);
    s.bmBytes = bmBytes(md, md.effectiveSize);
  }
  s.out(
    `# md_offset ${s.pl.mdOffset}\n# al_offset ${s.pl.alOffset}\n# bm_offset ${s.pl.bmOffset}\n\n`,
  );
  if (s.format === "v08") {
    s.out(
      `uuid {\n    0x${hex16(md.currentUuid)}; 0x${hex16(md.peers[0].bitmapUuid)}; 0x${
        hex16(md.historyUuids[0])
      }; 0x${hex16(md.historyUuids[1])};\n    flags 0x${hex8(md.peers[0].flags)};\n}\n`,
    );
  } else {
    let t = `node-id ${md.nodeId};\ncurrent-uuid 0x${hex16(md.currentUuid)};\nflags 0x${
      hex8(md.flags)
    };\n`;
    for (let i = 0; i < DRBD_NODE_ID_MAX; i++) {
      const p = md.peers[i];
      t += `peer[${i}] {\n    bitmap-index ${p.bitmapIndex};\n    bitmap-uuid 0x${
        hex16(p.bitmapUuid)
      };\n    bitmap-dagtag 0x${hex16(p.bitmapDagtag)};\n    flags 0x${hex8(p.flags)};${
        peerFlagNames(p.flags)
      }\n}\n`;
    }
    t += "history-uuids {";
    for (let i = 0; i < DRBD_NODE_ID_MAX; i++) {
      t += `${i % 4 ? " " : "\n        "}0x${hex16(md.historyUuids[i])};`;
    }
    s.out(t + "\n}\n");
  }
  s.out(
    `# al-extents ${md.alNrExtents >>> 0};\nla-size-sect ${md.effectiveSize};\nbm-byte-per-bit ${
      md.bmBytesPerBit >>> 0
    };\ndevice-uuid 0x${hex16(md.deviceUuid)};\nla-peer-max-bio-size ${
      md.laPeerMaxBioSize | 0
    };\nal-stripes ${md.alStripes >>> 0};\nal-stripe-size-4k ${md.alStripeSize4k >>> 0};\n`,
  );
  s.out(`# bm-bytes ${s.bmBytes};\n`);
  const dev = s.openDevice();
  const geometry = {
    bmOffset: s.pl.bmOffset,
    bmBytes: s.bmBytes,
    maxPeers: md.maxPeers,
    hardSectSize: dev.hardSectSize,
  };
  let bits = 0;
  const slots = s.format === "v08" ? 1 : md.maxPeers;
  for (let slot = 0; slot < slots; slot++) {
    s.out(s.format === "v08" ? "bm " : `bitmap[${slot}] `);
    bits = dumpBitmapSlot((o, n) => s.read(o, n, "fprintf_bm"), geometry, slot, (t) => s.out(t));
  }
  s.out(`# bits-set ${bits};\n`);
  return s.close();
}

// ---- restore-md / verify-dump ---------------------------------------------------------------

function readDumpFile(s: MetaSession, path: string | undefined): Uint8Array {
  if (path === undefined) {
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(1 << 16);
    for (;;) {
      const n = Deno.stdin.readSync(buf);
      if (n === null || n === 0) break;
      chunks.push(buf.slice(0, n));
    }
    const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    return all;
  }
  try {
    return Deno.readFileSync(path);
  } catch {
    s.die(20, `open of '${path}' failed.\n`);
  }
}

/**
 * The bitmap writes of a restore. Within the first 32 MiB window this is byte for byte what
 * drbd-utils 9.22 writes: as many u32 words per slot as the last slot's block gives, zero
 * beyond, padded to the sector size, capped at the bitmap area. 9.22 never advances past
 * its first window (a signed/unsigned comparison) and so silently drops out-of-sync bits of
 * bitmaps larger than 32 MiB (devices over 1 TiB per slot); udrbd writes them all.
 */
function* restoreWrites(
  s: MetaSession,
  dump: ParsedDump,
  maxPeers: number,
  limit: number,
  first: Uint32Array,
): Generator<{ offset: number; data: Uint8Array } | { message: string }> {
  const P = maxPeers;
  const hardSect = s.dev?.hardSectSize ?? 512;
  const words = dump.slots[P - 1].words * P;
  if (words <= 0) return;
  const size = align(words * 4, hardSect);
  if (s.pl.bmOffset >= limit) {
    s.die(10, `confused in meta_restore_md: offset (${s.pl.bmOffset}) > limit (${limit})\n`);
  }
  let count = size;
  if (count > limit - s.pl.bmOffset) {
    // 9.22 reports its first window, which holds at most 32 MiB
    yield {
      message: `in meta_restore_md: truncating byte count from ${Math.min(count, BUFFER_SIZE)} to ${
        limit - s.pl.bmOffset
      }\n`,
    };
    count = limit - s.pl.bmOffset;
  }
  const end = Math.min(words, Math.floor(count / 4));
  // the first window was decoded while the dump was validated
  const firstBytes = Math.min(count, first.length * 4);
  first.fill(0, Math.min(end, first.length));
  yield {
    offset: s.pl.bmOffset,
    data: new Uint8Array(first.buffer, first.byteOffset, firstBytes),
  };
  if (count > firstBytes) {
    const streams = dump.slots.map((_, slot) => new SlotWords(dump, slot));
    const skip = first.length;
    for (let slot = 0; slot < P; slot++) {
      // words of this slot already in the first window
      for (let k = 0; slot + k * P < skip && k < dump.slots[slot].words; k++) {
        streams[slot].nextWord();
      }
    }
    for (let base = firstBytes; base < count; base += BUFFER_SIZE) {
      const buf = new Uint8Array(Math.min(BUFFER_SIZE, count - base));
      const view = new DataView(buf.buffer);
      const last = Math.min(end, (base + buf.length) / 4);
      for (let g = base / 4; g < last; g++) {
        const slot = g % P;
        if (Math.floor(g / P) >= dump.slots[slot].words) continue;
        view.setUint32(4 * g - base, streams[slot].nextWord(), true);
      }
      yield { offset: s.pl.bmOffset + base, data: buf };
    }
  }
  if (count !== size) yield { message: "Bitmap info too large, truncated!\n" };
}

/** restore-md FILE and verify-dump FILE: read a dump back into metadata (or only check it). */
export function restoreMd(s: MetaSession, args: string[], parseOnly: boolean): number {
  const data = readDumpFile(s, args[0]);
  if (args[0] !== undefined) s.filesOpenedBefore = 1;
  let oldMaxPeers = -1;
  if (!parseOnly) {
    if (s.open() !== "none") {
      oldMaxPeers = s.md.maxPeers;
      if (!s.confirmed("Valid meta-data in place, overwrite?")) return -1;
    }
  }
  const parser = new DumpParser(data, s.format, (t) => {
    s.io.flush();
    s.err(t);
  });
  const [version, maxPeers] = parser.header();
  s.initializeMd(maxPeers);
  if (!parseOnly) {
    s.err("reinitializing\n");
    if (oldMaxPeers < maxPeers && s.index !== MD_INDEX_FLEX_INT) {
      s.out(
        `Meta data needs more space now, since max_peers\nis bigger than in existing meta_data. (${oldMaxPeers} -> ${maxPeers})\n`,
      );
    }
    checkForExistingData(s);
  }
  const dump = parser.body(version, maxPeers);
  const md = s.md;
  md.currentUuid = dump.currentUuid;
  md.flags = dump.flags;
  if (s.format === "v09") {
    md.nodeId = dump.nodeId;
    md.peers = dump.peers.map((p) => ({ ...p }));
  } else md.peers[0].bitmapUuid = dump.peers[0].bitmapUuid;
  md.historyUuids = [...dump.historyUuids];
  md.bmBytesPerBit = dump.bmBytePerBit;
  md.deviceUuid = dump.deviceUuid;
  md.laPeerMaxBioSize = dump.laPeerMaxBioSize;
  md.alStripes = dump.alStripes;
  md.alStripeSize4k = dump.alStripeSize4k;
  if (s.opts.alStripes !== md.alStripes || s.opts.alStripeSize4k !== md.alStripeSize4k) {
    if (s.opts.alStripesUsed) {
      s.err("override activity log striping from commandline\n");
      md.alStripes = s.opts.alStripes;
      md.alStripeSize4k = s.opts.alStripeSize4k;
    }
    if (s.opts.verbose >= 2) s.err("adjusting activity-log and bitmap offsets\n");
    s.reinitializeOffsets();
  }
  // la-size-sect may be larger than a JS number holds exactly; clip on the exact value
  if (dump.laSizeSect > BigInt(s.pl.maxUsableSect)) {
    s.out(`# la-size-sect was too big (${dump.laSizeSect}), truncated (${s.pl.maxUsableSect})!\n`);
    md.effectiveSize = s.pl.maxUsableSect;
  } else md.effectiveSize = Number(dump.laSizeSect);
  s.bmBytes = bmBytes(md, md.effectiveSize);
  // as many bitmap blocks as the initialized metadata has slots (max-peers 0 became 1)
  dump.maxPeers = md.maxPeers;
  const limit = s.pl.bmOffset + align(s.bmBytes, 4096);
  const first = new Uint32Array(
    parseOnly ? 0 : Math.min(BUFFER_SIZE, Math.max(0, limit - s.pl.bmOffset)) / 4,
  );
  parser.bitmaps(dump, first);
  if (parseOnly) {
    s.out("input file parsed ok\n");
    return 0;
  }
  // everything parsed: now check that the result is writable before the first byte goes out
  if (!s.isValid(md)) {
    s.err("Writing failed\n");
    s.close();
    return -1;
  }
  const dev = s.openDevice();
  for (const step of restoreWrites(s, dump, md.maxPeers, limit, first)) {
    if ("message" in step) s.err(step.message);
    else if (!s.opts.dryRun && s.opts.verbose < 2 && isZero(step.data)) {
      s.checkRange(step.offset, step.data.length, "meta_restore_md");
      dev.zero(step.offset, step.data.length, (o, d) => s.write(o, d, "meta_restore_md"));
    } else s.write(step.offset, step.data, "meta_restore_md");
  }
  let err = s.writeSuperblock() ? 0 : -1;
  err = s.close() || err;
  if (err) {
    s.err("Writing failed\n");
    return -1;
  }
  s.out("Successfully restored meta data\n");
  return 0;
}

// ---- apply-al -------------------------------------------------------------------------------

/** apply-al: replay the activity log into the bitmap and mark the metadata clean. */
export function applyAl(s: MetaSession, args: string[]): number {
  ignoringArgs(s, args);
  let found = s.open();
  if (found === "last-known") {
    if (moveAfterResize(s) === 0) found = s.open();
  }
  if (found !== "valid") {
    s.err("No valid meta data found\n");
    return -1;
  }
  const md = s.md;
  const alSize = md.alStripes * md.alStripeSize4k * 4096;
  const area = s.read(s.pl.alOffset, Math.min(alSize, BUFFER_SIZE), "apply_al");
  const v = new DataView(area.buffer, area.byteOffset, area.byteLength);
  const be32 = (o: number) => (o + 4 <= area.length ? v.getUint32(o) : 0);
  let result: { code: number; hot: Uint32Array };
  let reinitAnyway = false;
  if (
    md.magic === MD_MAGIC_84_UNCLEAN || md.magic === MD_MAGIC_09 || be32(0) === AL_MAGIC ||
    be32(4096) === AL_MAGIC || md.alStripes !== 1 || md.alStripeSize4k !== 8
  ) {
    if (be32(0) === AL_PMEM_MAGIC) {
      const hot = new Uint32Array(AL_EXTENTS_MAX).fill(0xffffffff);
      for (let i = 0; i < md.alNrExtents && i < AL_EXTENTS_MAX; i++) hot[i] = be32(4 + 4 * i);
      result = { code: 1, hot };
    } else result = replayAl84(area, md.alStripes, md.alStripeSize4k, s.io);
  } else {
    result = replayAl07(area, md.alNrExtents, s.io);
    reinitAnyway = true;
  }
  const primary = (md.flags & MDF.PRIMARY_IND) !== 0;
  if (result.code < 0) {
    if (primary) return result.code === -61 ? 1 : 2;
    s.err("Error ignored, no need to apply the AL\n");
    reinitAnyway = true;
  }
  let updateFlags = false;
  if (result.code > 0 && primary) {
    applyHotExtents(s, result.hot);
    updateFlags = true;
  }
  if (reinitAnyway || result.code > 0) {
    s.write(
      s.pl.alOffset,
      initializedAl(md.alStripes * md.alStripeSize4k),
      "md_initialize_common:AL",
    );
  }
  if ((md.flags & MDF.AL_CLEAN) === 0 || md.magic !== MD_MAGIC_08) updateFlags = true;
  let err = 0;
  if (updateFlags) {
    md.flags |= MDF.AL_CLEAN;
    if (s.format === "v08") md.magic = MD_MAGIC_08;
    err = s.writeSuperblock() ? 0 : -1;
    err = s.close() || err;
    if (err) s.err("update of super block flags failed\n");
    return err;
  }
  return s.close();
}

function applyHotExtents(s: MetaSession, hot: Uint32Array): void {
  const extents = Array.from(hot).sort((a, b) => a - b);
  const extSize = BM_BYTES_PER_AL_EXT * s.md.maxPeers;
  const bmTotal = align(s.bmBytes, s.openDevice().hardSectSize);
  let added = 0;
  let any = false;
  for (const e of extents) {
    if (e === 0xffffffff) break;
    any = true;
    const pos = e * extSize;
    if (pos >= bmTotal) {
      s.err(`extent ${e} beyond end of bitmap! (${pos} >= ${bmTotal})\n`);
      continue;
    }
    const size = Math.min(extSize, bmTotal - pos);
    const bytes = s.read(s.pl.bmOffset + pos, size, "apply_al");
    let set = 0;
    for (const b of bytes) {
      let x = b;
      while (x) {
        set += x & 1;
        x >>= 1;
      }
    }
    added += size * 8 - set;
    s.write(s.pl.bmOffset + pos, new Uint8Array(size).fill(0xff), "apply_al");
  }
  if (any) s.err(`Marked additional ${ppsize((added * 4) >>> 0)} as out-of-sync based on AL.\n`);
  else s.err("Nothing to do.\n");
}

// ---- shared argument helper -----------------------------------------------------------------

/** drbd-utils' m_strtoll: a number with an optional K/M/G/s unit; exits 20 on garbage. */
export function strtollUnit(
  s: { die(code: number, msg?: string): never },
  text: string,
  defUnit: 1 | "k",
): bigint {
  if (!text) s.die(100, "missing number argument\n");
  const m = /^\s*([+-]?)(\d+)(.?)(.?)/s.exec(text);
  if (!m || m[4] !== "") s.die(20, `${text} is not a valid number\n`);
  let v = BigInt(m[2]);
  if (v > 0xffffffffffffffffn) v = 0xffffffffffffffffn;
  if (m[1] === "-") v = BigInt.asUintN(64, -v);
  if (m[3] === "") return v;
  const unit = UNIT_SHIFT[m[3]];
  if (unit === undefined) s.die(20, `${text} is not a valid number\n`);
  const shift = (defUnit === "k" ? -10 : 0) + unit;
  if (shift < 0) return (v + (1n << BigInt(-shift)) - 1n) >> BigInt(-shift);
  if (v > (0xffffffffffffffffn >> BigInt(shift))) s.die(20, `${text}: out of range\n`);
  return v << BigInt(shift);
}
