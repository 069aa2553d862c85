/**
 * DRBD's return codes for configuration requests and state changes, with the texts drbdsetup
 * 9.22 prints for them and the exit codes it maps them to. The engine throws {@link DrbdError};
 * the control channel turns it into drbdsetup's stderr text and exit code.
 *
 * @module
 */

/** Configuration request failures (ERR_*, 100 and up). */
export const ERR = {
  LOCAL_ADDR: 102,
  PEER_ADDR: 103,
  OPEN_DISK: 104,
  OPEN_MD_DISK: 105,
  DISK_NOT_BDEV: 107,
  MD_NOT_BDEV: 108,
  DISK_TOO_SMALL: 111,
  MD_DISK_TOO_SMALL: 112,
  BDCLAIM_DISK: 114,
  BDCLAIM_MD_DISK: 115,
  MD_IDX_INVALID: 116,
  IO_MD_DISK: 118,
  MD_INVALID: 119,
  DISCARD_IMPOSSIBLE: 123,
  DISK_CONFIGURED: 124,
  NET_CONFIGURED: 125,
  MINOR_INVALID: 127,
  INVALID_STATE: 128,
  RESIZE_RESYNC: 130,
  RESYNC_AFTER: 132,
  RESYNC_AFTER_CYCLE: 133,
  PAUSE_IS_SET: 134,
  PAUSE_IS_CLEAR: 135,
  NO_DISK: 138,
  VERIFY_ALG: 146,
  CSUMS_RESYNC_RUNNING: 148,
  VERIFY_RUNNING: 149,
  DATA_NOT_CURRENT: 150,
  CONG_NOT_PROTO_A: 155,
  PIC_AFTER_DEP: 156,
  PIC_PEER_DEP: 157,
  RES_NOT_KNOWN: 158,
  RES_IN_USE: 159,
  MINOR_CONFIGURED: 160,
  MINOR_OR_VOLUME_EXISTS: 161,
  INVALID_REQUEST: 162,
  MD_UNCLEAN: 165,
  IMPLICIT_SHRINK: 170,
  INVALID_PEER_NODE_ID: 171,
  LOCAL_AND_PEER_ADDR: 173,
  ALREADY_EXISTS: 174,
  PATH_COLLISION: 176,
} as const;

/** State change failures (SS_*, negative). */
export const SS = {
  TWO_PRIMARIES: -1,
  NO_UP_TO_DATE_DISK: -2,
  NO_LOCAL_DISK: -4,
  NO_REMOTE_DISK: -5,
  CONNECTED_OUTDATES: -6,
  PRIMARY_NOP: -7,
  RESYNC_RUNNING: -8,
  ALREADY_STANDALONE: -9,
  IS_DISKLESS: -11,
  DEVICE_IN_USE: -12,
  NO_NET_CONFIG: -13,
  NO_VERIFY_ALG: -14,
  NEED_CONNECTION: -15,
  LOWER_THAN_OUTDATED: -16,
  IN_TRANSIENT_STATE: -18,
  TIMEOUT: -23,
  NO_QUORUM: -25,
} as const;

const ERR_TEXT: Record<number, string> = {
  102: "Local address(port) already in use.",
  103: "Remote address(port) already in use.",
  104: "Can not open backing device.",
  105: "Can not open meta device.",
  107: "Lower device is not a block device.",
  108: "Meta device is not a block device.",
  111: "Low.dev. smaller than requested DRBD-dev. size.",
  112: "Meta device too small.",
  114: "Lower device is already claimed. This usually means it is mounted.",
  115: "Meta device is already claimed. This usually means it is mounted.",
  116: "Lower device / meta device / index combination invalid.",
  118: "IO error(s) occurred during initial access to meta-data.\n",
  119: "No valid meta-data signature found.\n\n" +
    "\t==> Use 'drbdadm create-md res' to initialize meta-data area. <==\n",
  123: "--discard-my-data not allowed when primary.",
  124: "Device is attached to a disk (use detach first)",
  125: "Device has a net-config (use disconnect first)",
  127: "Device minor not allocated",
  128: "Resulting device state would be invalid",
  130: "Resize not allowed during resync.",
  132: "The resync-after minor number is invalid",
  133: "This would cause a resync-after dependency cycle",
  134: "Sync-pause flag is already set",
  135: "Sync-pause flag is already cleared",
  138: "Device does not have a disk-config",
  146: "VERIFYAlgNotAvail",
  148: "Can not change csums-alg while resync is in progress",
  149: "Can not change verify-alg while online verify runs",
  150: "Can only attach to the data we lost last (see kernel log).",
  155: "on-congestion policy pull-ahead only with prot A allowed",
  156: "Sync-pause flag is already cleared.\n" +
    "Note: Resync pause caused by a local resync-after dependency.",
  157: "Sync-pause flag is already cleared.\n" + "Note: Resync pause caused by the peer node.",
  158: "Unknown resource",
  159: "Resource still in use (delete all minors first)",
  160: "Minor still configured (down it first)",
  161: "Minor or volume exists already (delete it first)",
  162: "Invalid configuration request",
  165: "Unclean meta-data found.\nYou need to 'drbdadm apply-al res'\n",
  170: "Implicit device shrinking not allowed. See kernel log.\n",
  171: "Invalid peer-node-id\n",
  173: "Combination of local address(port) and remote address(port) already in use\n",
  174: "Already exists\n",
  176: "Path collision\n",
};

const SS_TEXT: Record<number, string> = {
  [-1]: "Multiple primaries not allowed by config",
  [-2]: "Need access to UpToDate data",
  [-4]: "Can not resync without local disk",
  [-5]: "Can not resync without remote disk",
  [-6]: "Refusing to be Outdated while Connected",
  [-7]: "Refusing to be Primary while peer is not outdated",
  [-8]: "Can not start OV/resync since it is already active",
  [-9]: "Can not disconnect a StandAlone device",
  [-11]: "Device is diskless, the requested operation requires a disk",
  [-12]: "Device is held open by someone",
  [-13]: "Have no net/connection configuration",
  [-14]: "Need a verify algorithm to start online verify",
  [-15]: "Need a connection to start verify or resync",
  [-16]: "Disk state is lower than outdated",
  [-18]: "In transient state, retry after next state change",
  [-23]: "Timeout in operation",
  [-25]: "No quorum",
};

/** drbdsetup's exit code for a return code (print_config_error in drbdsetup.c). */
export function exitCodeFor(retcode: number): number {
  if (retcode > 100) return 10;
  if (retcode === SS.NO_UP_TO_DATE_DISK) return 17;
  if (retcode === SS.LOWER_THAN_OUTDATED) return 5;
  if (retcode === SS.NO_LOCAL_DISK) return 16;
  return 11;
}

/**
 * drbdsetup's stderr text for a return code on object `objname` (a resource or minor). For a
 * state change `detail` is the kernel's additional info; for a request failure (above 100) it
 * replaces the code's text, which drbdsetup does only for its own failures, never for the
 * kernel's: a kernel reason is `info`, printed under "additional info from kernel:".
 */
export function retcodeText(
  objname: string,
  retcode: number,
  detail?: string,
  info?: string,
): string {
  if (retcode > 100) {
    const text = `${objname}: Failure: (${retcode}) ${detail ?? ERR_TEXT[retcode] ?? "Unknown"}\n`;
    return info ? `${text}additional info from kernel:\n${info}\n` : text;
  }
  let text = `${objname}: State change failed: (${retcode}) ${SS_TEXT[retcode] ?? "unknown"}\n`;
  if (detail) text += `additional info from kernel:\n${detail}\n`;
  return text;
}

/**
 * A refused request or state change: carries DRBD's return code, the object it concerns and
 * the resulting drbdsetup text and exit code.
 */
export class DrbdError extends Error {
  readonly retcode: number;
  readonly exitCode: number;
  readonly text: string;

  /**
   * `detail` and `info` as in {@link retcodeText}; `options.cause` is what the daemon logs
   * with the refusal (the kernel's log line), not shown to drbdsetup.
   */
  constructor(
    objname: string,
    retcode: number,
    detail?: string,
    info?: string,
    options?: ErrorOptions,
  ) {
    const text = retcodeText(objname, retcode, detail, info);
    super(text.trimEnd(), options);
    this.name = "DrbdError";
    this.retcode = retcode;
    this.exitCode = exitCodeFor(retcode);
    this.text = text;
  }
}

/** A failure drbdsetup reports with its own text and exit code 20 (OTHER_ERROR, usage). */
export class OtherError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 20) {
    super(message);
    this.name = "OtherError";
    this.exitCode = exitCode;
  }
}
