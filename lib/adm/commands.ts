/**
 * drbdadm's command table: every command with the flags that decide how it is resolved and
 * iterated (per resource, per volume, per connection, per path), and the drbdsetup/drbdmeta
 * options it accepts on the command line.
 *
 * @module
 */

import type { ArgKind, LongOption } from "./getopt.ts";

/** One option a drbdadm command passes on to drbdsetup or drbdmeta (`--name[=value]`). */
export interface PassOption {
  name: string;
  /** `optional`: `--name` or `--name=value`; `required`: `--name=value` or `--name value`. */
  arg: ArgKind;
}

const opt = (name: string): PassOption => ({ name, arg: "optional" });
const req = (name: string): PassOption => ({ name, arg: "required" });

const CHANGEABLE_DISK: PassOption[] = [
  req("on-io-error"),
  opt("disk-barrier"),
  opt("disk-flushes"),
  opt("disk-drain"),
  opt("md-flushes"),
  req("resync-after"),
  req("al-extents"),
  opt("al-updates"),
  opt("discard-zeroes-if-aligned"),
  opt("disable-write-same"),
  req("disk-timeout"),
  req("read-balancing"),
  req("rs-discard-granularity"),
];

const CHANGEABLE_NET: PassOption[] = [
  req("protocol"),
  req("timeout"),
  req("max-epoch-size"),
  req("connect-int"),
  req("ping-int"),
  req("sndbuf-size"),
  req("rcvbuf-size"),
  req("ko-count"),
  opt("allow-two-primaries"),
  req("cram-hmac-alg"),
  req("shared-secret"),
  req("after-sb-0pri"),
  req("after-sb-1pri"),
  req("after-sb-2pri"),
  opt("always-asbp"),
  req("rr-conflict"),
  req("ping-timeout"),
  req("data-integrity-alg"),
  opt("tcp-cork"),
  req("on-congestion"),
  req("congestion-fill"),
  req("congestion-extents"),
  req("csums-alg"),
  opt("csums-after-crash-only"),
  req("verify-alg"),
  opt("use-rle"),
  req("socket-check-timeout"),
  req("fencing"),
  req("max-buffers"),
  opt("allow-remote-read"),
  req("_name"),
];

/**
 * The option sets ("contexts") of drbdadm's commands, in drbdsetup's order. `wildcard` accepts
 * any option and passes it through.
 */
export const CONTEXTS = {
  attach: [req("size"), ...CHANGEABLE_DISK],
  detach: [opt("force"), opt("diskless")],
  newPeer: [req("transport"), ...CHANGEABLE_NET],
  path: [],
  connect: [opt("tentative"), opt("discard-my-data")],
  netOptions: CHANGEABLE_NET,
  disconnect: [opt("force")],
  resourceOptions: [
    req("cpu-mask"),
    req("on-no-data-accessible"),
    opt("auto-promote"),
    req("peer-ack-window"),
    req("peer-ack-delay"),
    req("twopc-timeout"),
    req("twopc-retry-timeout"),
    req("auto-promote-timeout"),
    req("max-io-depth"),
    req("quorum"),
    req("on-no-quorum"),
    req("quorum-minimum-redundancy"),
    req("on-suspended-primary-outdated"),
  ],
  peerDeviceOptions: [
    req("resync-rate"),
    req("c-plan-ahead"),
    req("c-delay-target"),
    req("c-fill-target"),
    req("c-max-rate"),
    req("c-min-rate"),
    opt("bitmap"),
  ],
  role: [opt("force")],
  invalidateAdm: [opt("force"), req("sync-from-peer-node-id"), opt("reset-bitmap")],
  invalidate: [req("sync-from-peer-node-id"), opt("reset-bitmap")],
  invalidatePeer: [opt("reset-bitmap")],
  resize: [
    req("size"),
    opt("assume-peer-has-space"),
    opt("assume-clean"),
    req("al-stripes"),
    req("al-stripe-size-kB"),
  ],
  verify: [req("start"), req("stop")],
  adjust: [opt("skip-disk"), opt("skip-net"), opt("tentative"), opt("discard-my-data")],
  forceable: [opt("force")],
  createMd: [
    req("max-peers"),
    req("peer-max-bio-size"),
    req("al-stripes"),
    req("al-stripe-size-kB"),
    opt("force"),
  ],
  deviceOptions: [req("max-bio-size"), opt("diskless")],
  newCurrentUuid: [opt("clear-bitmap"), opt("force-resync")],
  wildcard: [],
} satisfies Record<string, PassOption[]>;

/** A context name of {@link CONTEXTS}. */
export type ContextName = keyof typeof CONTEXTS;

/** What a command does once its resource (and volume/connection/path) is known. */
export type Action =
  | "attach"
  | "new-peer"
  | "path"
  | "connect"
  | "setup"
  | "up"
  | "resource"
  | "peer-device"
  | "invalidate"
  | "outdate"
  | "resize"
  | "adjust"
  | "wait"
  | "wait-con-int"
  | "setup-and-meta"
  | "dump"
  | "create-md"
  | "meta"
  | "forget-peer"
  | "hidden"
  | "sh-nop"
  | "sh-resources"
  | "sh-resource"
  | "sh-mod-parms"
  | "sh-dev"
  | "sh-udev"
  | "sh-minor"
  | "sh-ll-dev"
  | "sh-md-dev"
  | "sh-md-idx"
  | "sh-ip"
  | "sh-lr-of"
  | "proxy-up"
  | "proxy-down"
  | "proxy-conn-up"
  | "proxy-conn-down"
  | "proxy-conn-plugins"
  | "new-minor"
  | "khelper"
  | "check-resize";

/** One drbdadm command and the flags that shape its resolution and iteration. */
export interface AdmCommand {
  name: string;
  action: Action;
  context?: ContextName;
  /** 1: `drbdadm help`; 2: shell helpers; 3: kernel helpers; 4: experts (hidden-commands). */
  showInUsage: number;
  resNameRequired: boolean;
  backendResName: boolean;
  iterateVolumes: boolean;
  iteratePaths: boolean;
  verifyIps: boolean;
  needPeer: boolean;
  diskRequired: boolean;
  volIdRequired: boolean;
  volIdOptional: boolean;
  takesLong: boolean;
  testConfig: boolean;
  useCachedConfigFile: boolean;
  isProxyCmd: boolean;
}

type Flags = Partial<Omit<AdmCommand, "name" | "action" | "context">>;

const DEFAULT: Flags = {
  showInUsage: 1,
  resNameRequired: true,
  backendResName: true,
  iterateVolumes: true,
};
const MINOR_ONLY: Flags = { ...DEFAULT, backendResName: false, diskRequired: true };
const RESNAME: Flags = { showInUsage: 1, resNameRequired: true, backendResName: true };
const RESNAME_VERIFY_IPS: Flags = { ...RESNAME, verifyIps: true };
const CONNECT: Flags = { ...RESNAME, verifyIps: true, needPeer: true };
const DISCONNECT: Flags = { ...RESNAME, needPeer: true };
const WAIT: Flags = { showInUsage: 1, resNameRequired: true, volIdOptional: true, verifyIps: true };
const PEER_DEVICE: Flags = { ...DEFAULT, needPeer: true };
const RES_HANDLER: Flags = {
  showInUsage: 3,
  resNameRequired: true,
  backendResName: true,
  useCachedConfigFile: true,
};
const ADVANCED: Flags = { ...DEFAULT, showInUsage: 4 };
const ADVANCED_NEED_VOL: Flags = { ...ADVANCED, volIdRequired: true };
const DUMP: Flags = { ...RESNAME, verifyIps: true, testConfig: true };
const SHELL: Flags = {
  showInUsage: 2,
  iterateVolumes: true,
  resNameRequired: true,
  backendResName: true,
};
const SH_RESNAME: Flags = { showInUsage: 2, resNameRequired: true, backendResName: true };
const PROXY: Flags = { ...SH_RESNAME, needPeer: true, isProxyCmd: true };
const HOOK: Flags = { ...SH_RESNAME, useCachedConfigFile: true };
const GEN_SHELL: Flags = { showInUsage: 2 };

function cmd(
  name: string,
  action: Action,
  context: ContextName | undefined,
  ...flags: Flags[]
): AdmCommand {
  return Object.assign({
    name,
    action,
    context,
    showInUsage: 0,
    resNameRequired: false,
    backendResName: false,
    iterateVolumes: false,
    iteratePaths: false,
    verifyIps: false,
    needPeer: false,
    diskRequired: false,
    volIdRequired: false,
    volIdOptional: false,
    takesLong: false,
    testConfig: false,
    useCachedConfigFile: false,
    isProxyCmd: false,
  }, ...flags);
}

const HANDLERS = [
  "before-resync-target",
  "after-resync-target",
  "before-resync-source",
  "pri-on-incon-degr",
  "pri-lost-after-sb",
  "fence-peer",
  "local-io-error",
  "pri-lost",
  "initial-split-brain",
  "split-brain",
  "out-of-sync",
  "unfence-peer",
  "quorum-lost",
  "disconnected",
];

/** Every drbdadm command, in drbd-utils' table order (which also orders option lookup). */
export const COMMANDS: readonly AdmCommand[] = [
  cmd("attach", "attach", "attach", MINOR_ONLY),
  cmd("disk-options", "attach", "attach", MINOR_ONLY),
  cmd("detach", "setup", "detach", MINOR_ONLY, { takesLong: true }),
  cmd("new-peer", "new-peer", "newPeer", CONNECT),
  cmd("del-peer", "setup", "disconnect", CONNECT),
  cmd("new-path", "path", "path", CONNECT, { iteratePaths: true }),
  cmd("del-path", "path", "path", CONNECT, { iteratePaths: true }),
  cmd("connect", "connect", "connect", CONNECT),
  cmd("net-options", "new-peer", "netOptions", CONNECT),
  cmd("disconnect", "setup", "disconnect", DISCONNECT),
  cmd("up", "up", undefined, RESNAME_VERIFY_IPS),
  cmd("resource-options", "resource", "resourceOptions", RESNAME),
  cmd("peer-device-options", "peer-device", "peerDeviceOptions", PEER_DEVICE),
  cmd("down", "setup", undefined, RESNAME, { takesLong: true }),
  cmd("primary", "setup", "role", RESNAME, { takesLong: true }),
  cmd("secondary", "setup", "role", RESNAME, { takesLong: true }),
  cmd("invalidate", "invalidate", "invalidateAdm", MINOR_ONLY),
  cmd("invalidate-remote", "setup", "invalidatePeer", PEER_DEVICE, { takesLong: true }),
  cmd("outdate", "outdate", undefined, DEFAULT),
  cmd("resize", "resize", "resize", DEFAULT, { diskRequired: true }),
  cmd("verify", "setup", "verify", PEER_DEVICE),
  cmd("pause-sync", "setup", undefined, PEER_DEVICE),
  cmd("resume-sync", "setup", undefined, PEER_DEVICE),
  cmd("adjust", "adjust", "adjust", RESNAME_VERIFY_IPS, { volIdOptional: true }),
  cmd("adjust-with-progress", "adjust", undefined, RESNAME_VERIFY_IPS),
  cmd("wait-connect", "wait", undefined, WAIT),
  cmd("wait-sync", "wait", undefined, WAIT),
  cmd("wait-con-int", "wait-con-int", undefined, { showInUsage: 1, verifyIps: true }),
  cmd("role", "setup", undefined, RESNAME),
  cmd("cstate", "setup", undefined, DISCONNECT),
  cmd("dstate", "setup-and-meta", "forceable", MINOR_ONLY, { diskRequired: false }),
  cmd("status", "setup", undefined, { showInUsage: 1, backendResName: true }),
  cmd("dump", "dump", undefined, DUMP),
  cmd("dump-xml", "dump", undefined, DUMP),
  cmd("create-md", "create-md", "createMd", MINOR_ONLY),
  cmd("show-gi", "setup-and-meta", "forceable", PEER_DEVICE, { diskRequired: true }),
  cmd("get-gi", "setup-and-meta", "forceable", PEER_DEVICE, { diskRequired: true }),
  cmd("dump-md", "meta", "forceable", MINOR_ONLY),
  cmd("wipe-md", "meta", "forceable", MINOR_ONLY),
  cmd("apply-al", "meta", "forceable", MINOR_ONLY),
  cmd("forget-peer", "forget-peer", "forceable", DISCONNECT),
  cmd("hidden-commands", "hidden", undefined, { showInUsage: 1 }),
  cmd("sh-nop", "sh-nop", undefined, GEN_SHELL, { testConfig: true }),
  cmd("sh-resources", "sh-resources", undefined, GEN_SHELL),
  cmd("sh-resource", "sh-resource", undefined, SH_RESNAME, { volIdOptional: true }),
  cmd("sh-mod-parms", "sh-mod-parms", undefined, GEN_SHELL),
  cmd("sh-dev", "sh-dev", undefined, SHELL),
  cmd("sh-udev", "sh-udev", undefined, { volIdRequired: true }, HOOK),
  cmd("sh-minor", "sh-minor", undefined, SHELL),
  cmd("sh-ll-dev", "sh-ll-dev", undefined, SHELL),
  cmd("sh-md-dev", "sh-md-dev", undefined, SHELL, { diskRequired: true }),
  cmd("sh-md-idx", "sh-md-idx", undefined, SHELL, { diskRequired: true }),
  cmd("sh-ip", "sh-ip", undefined, SHELL, { needPeer: true, iteratePaths: true }),
  cmd("sh-lr-of", "sh-lr-of", undefined, SHELL),
  cmd("proxy-up", "proxy-up", undefined, PROXY),
  cmd("proxy-down", "proxy-down", undefined, PROXY),
  cmd("new-resource", "resource", "resourceOptions", SH_RESNAME),
  cmd("new-minor", "new-minor", "deviceOptions", ADVANCED),
  cmd("del-minor", "setup", undefined, MINOR_ONLY, { showInUsage: 4, diskRequired: false }),
  ...HANDLERS.map((h) => cmd(h, "khelper", undefined, RES_HANDLER)),
  cmd("suspend-io", "setup", undefined, ADVANCED, { backendResName: false }),
  cmd("resume-io", "setup", undefined, ADVANCED, { backendResName: false }),
  cmd("set-gi", "meta", "wildcard", { diskRequired: true, needPeer: true }, ADVANCED_NEED_VOL),
  cmd("new-current-uuid", "setup", "newCurrentUuid", ADVANCED_NEED_VOL, { backendResName: false }),
  cmd("check-resize", "check-resize", undefined, ADVANCED),
];

/** The command called `name` (after drbdadm's renames of deprecated names), if any. */
export function findCommand(name: string): AdmCommand | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** Internal command variants drbdadm schedules (e.g. `--set-defaults` forms during adjust). */
export function internalCommand(
  name: string,
  action: Action,
  context: ContextName | undefined,
  flags: Flags,
): AdmCommand {
  return cmd(name, action, context, flags);
}

/** drbdadm's general options, in the order of its usage text. */
export const GENERAL_OPTIONS: readonly LongOption[] = [
  { name: "stacked", arg: "none", key: "S" },
  { name: "dry-run", arg: "none", key: "d" },
  { name: "verbose", arg: "none", key: "v" },
  { name: "config-file", arg: "required", key: "c" },
  { name: "config-to-test", arg: "required", key: "t" },
  { name: "config-to-exclude", arg: "required", key: "E" },
  { name: "drbdsetup", arg: "required", key: "s" },
  { name: "drbdmeta", arg: "required", key: "m" },
  { name: "drbd-proxy-ctl", arg: "required", key: "p" },
  { name: "sh-varname", arg: "required", key: "n" },
  { name: "version", arg: "none", key: "V" },
  { name: "setup-option", arg: "required", key: "W" },
  { name: "help", arg: "none", key: "h" },
];

/** getopt's short-option string for {@link GENERAL_OPTIONS}. */
export const SHORT_OPTIONS = "Sdvc:t:E:s:m:p:n:VW:h";

/**
 * Every long option drbdadm recognises: its general options, then the options of each command's
 * context in table order (repetitions included, as drbdadm builds its list; they matter for the
 * "ambiguous" message).
 */
export function allLongOptions(): LongOption[] {
  const list: LongOption[] = [...GENERAL_OPTIONS];
  for (const c of COMMANDS) {
    if (!c.context) continue;
    for (const f of CONTEXTS[c.context]) {
      if (GENERAL_OPTIONS.some((g) => g.name === f.name)) continue;
      list.push({ name: f.name, arg: f.arg, key: "" });
    }
  }
  return list;
}
