/**
 * The table of drbdsetup 9.22's commands: positional arguments, option fields (rows of the
 * option table, in drbdsetup's order), command-only options, and the one-line summaries that
 * `drbdsetup help` prints. Data only; the parser and help printer read it.
 *
 * @module
 */

import type { ArgKind } from "../adm/getopt.ts";

/** A positional argument that names the object a command works on. */
export type ContextArg = "resource" | "peer_node_id" | "minor" | "volume";

/** How a trailing positional argument is converted (drbdsetup's `conv_*` functions). */
export type ArgConversion = "block_dev" | "md_idx" | "u32" | "addr" | "str";

/** A positional argument after the object arguments (drbdsetup's `drbd_args`). */
export interface CommandArg {
  /** Name as the usage text prints it between braces. */
  name: string;
  conversion: ArgConversion;
}

/** An option of a command that is not an option-table field (parsed by the command itself). */
export interface CommandOption {
  name: string;
  arg: ArgKind;
  /** getopt's short letter for it (drbdsetup accepts `-v` for `--verbose`, etc.). */
  short: string;
}

/**
 * What the command does with its arguments, which decides the order of checks and messages:
 * `config` sends option fields to the kernel, `events`/`show`/`status` read their own options,
 * `down` takes a resource or all, `query` reads state and ignores extra arguments.
 */
export type CommandHandler = "config" | "events" | "show" | "status" | "down" | "query";

/** One drbdsetup command. */
export interface SetupCommand {
  name: string;
  /**
   * Object arguments. `single`: one argument that may be any of `args` (a resource, or `all`
   * when `all` is set, which is also assumed when it is missing); `sequence`: each of `args` in
   * turn.
   */
  context: { kind: "single" | "sequence"; args: readonly ContextArg[]; all: boolean };
  /** Further positional arguments. */
  args: readonly CommandArg[];
  /** Option-table fields taken as `--name[=value]`, in drbdsetup's order. */
  fields: readonly string[];
  /** Options the command parses itself. */
  options: readonly CommandOption[];
  /** Accepts `--set-defaults`. */
  setDefaults: boolean;
  handler: CommandHandler;
  /** The one-line summary of `drbdsetup help`. */
  summary: string;
}

const RESOURCE = { kind: "single", args: ["resource"], all: false } as const;
const MINOR = { kind: "single", args: ["minor"], all: false } as const;
const RESOURCE_OR_ALL = { kind: "single", args: ["resource"], all: true } as const;
const PEER_NODE = { kind: "sequence", args: ["resource", "peer_node_id"], all: false } as const;
const PEER_DEVICE = {
  kind: "sequence",
  args: ["resource", "peer_node_id", "volume"],
  all: false,
} as const;

const DISK_OPTIONS = [
  "on-io-error",
  "disk-barrier",
  "disk-flushes",
  "disk-drain",
  "md-flushes",
  "resync-after",
  "al-extents",
  "al-updates",
  "discard-zeroes-if-aligned",
  "disable-write-same",
  "disk-timeout",
  "read-balancing",
  "rs-discard-granularity",
];

const NET_OPTIONS = [
  "protocol",
  "timeout",
  "max-epoch-size",
  "connect-int",
  "ping-int",
  "sndbuf-size",
  "rcvbuf-size",
  "ko-count",
  "allow-two-primaries",
  "cram-hmac-alg",
  "shared-secret",
  "after-sb-0pri",
  "after-sb-1pri",
  "after-sb-2pri",
  "always-asbp",
  "rr-conflict",
  "ping-timeout",
  "data-integrity-alg",
  "tcp-cork",
  "on-congestion",
  "congestion-fill",
  "congestion-extents",
  "csums-alg",
  "csums-after-crash-only",
  "verify-alg",
  "use-rle",
  "socket-check-timeout",
  "fencing",
  "max-buffers",
  "allow-remote-read",
  "_name",
];

/** Fields of drbdsetup's resource options (new-resource, resource-options, show). */
export const RESOURCE_FIELDS: readonly string[] = [
  "cpu-mask",
  "on-no-data-accessible",
  "auto-promote",
  "peer-ack-window",
  "peer-ack-delay",
  "twopc-timeout",
  "twopc-retry-timeout",
  "auto-promote-timeout",
  "max-io-depth",
  "quorum",
  "on-no-quorum",
  "quorum-minimum-redundancy",
  "on-suspended-primary-outdated",
];

/** Fields of a volume's disk configuration as attach takes and show prints them. */
export const ATTACH_FIELDS: readonly string[] = ["size", ...DISK_OPTIONS];

/** Fields of a connection's net configuration as new-peer takes and show prints them. */
export const NEW_PEER_FIELDS: readonly string[] = ["transport", ...NET_OPTIONS];

/** Fields of a peer device's options (peer-device-options, show's `volume { disk { } }`). */
export const PEER_DEVICE_FIELDS: readonly string[] = [
  "resync-rate",
  "c-plan-ahead",
  "c-delay-target",
  "c-fill-target",
  "c-max-rate",
  "c-min-rate",
  "bitmap",
];

const WAIT_OPTIONS: readonly CommandOption[] = [
  { name: "wfc-timeout", arg: "required", short: "t" },
  { name: "degr-wfc-timeout", arg: "required", short: "d" },
  { name: "outdated-wfc-timeout", arg: "required", short: "o" },
  { name: "wait-after-sb", arg: "optional", short: "w" },
];

const EVENTS_OPTIONS: readonly CommandOption[] = [
  { name: "timestamps", arg: "none", short: "T" },
  { name: "statistics", arg: "none", short: "s" },
  { name: "now", arg: "none", short: "n" },
  { name: "poll", arg: "none", short: "p" },
  { name: "full", arg: "none", short: "f" },
  { name: "color", arg: "optional", short: "c" },
  { name: "diff", arg: "optional", short: "i" },
];

const SHOW_OPTIONS: readonly CommandOption[] = [
  { name: "show-defaults", arg: "none", short: "D" },
  { name: "json", arg: "none", short: "j" },
];

const STATUS_OPTIONS: readonly CommandOption[] = [
  { name: "verbose", arg: "none", short: "v" },
  { name: "statistics", arg: "none", short: "s" },
  { name: "color", arg: "optional", short: "c" },
  { name: "json", arg: "none", short: "j" },
];

function cmd(
  name: string,
  context: SetupCommand["context"],
  summary: string,
  more: Partial<Omit<SetupCommand, "name" | "context" | "summary">> = {},
): SetupCommand {
  return {
    name,
    context,
    args: more.args ?? [],
    fields: more.fields ?? [],
    options: more.options ?? [],
    setDefaults: more.setDefaults ?? false,
    handler: more.handler ?? "config",
    summary,
  };
}

const ADDRESSES: readonly CommandArg[] = [
  { name: "local-addr", conversion: "addr" },
  { name: "remote-addr", conversion: "addr" },
];

function waitCmd(name: string, context: SetupCommand["context"], summary: string) {
  return cmd(name, context, summary, { options: WAIT_OPTIONS, handler: "events" });
}

/** Every drbdsetup 9.22 command, in the order `drbdsetup help` lists them. */
export const COMMANDS: readonly SetupCommand[] = [
  cmd("primary", RESOURCE, "Change the role of a node in a resource to primary.", {
    fields: ["force"],
  }),
  cmd("secondary", RESOURCE, "Change the role of a node in a resource to secondary.", {
    fields: ["force"],
  }),
  cmd("attach", MINOR, "Attach a lower-level device to an existing replicated device.", {
    args: [
      { name: "lower_dev", conversion: "block_dev" },
      { name: "meta_data_dev", conversion: "block_dev" },
      { name: "meta_data_index", conversion: "md_idx" },
    ],
    fields: ATTACH_FIELDS,
  }),
  cmd("disk-options", MINOR, "Change the disk options of an attached lower-level device.", {
    fields: DISK_OPTIONS,
    setDefaults: true,
  }),
  cmd("detach", MINOR, "Detach the lower-level device of a replicated device.", {
    fields: ["force", "diskless"],
  }),
  cmd("connect", PEER_NODE, "Attempt to (re)establish a replication link to a peer host.", {
    fields: ["tentative", "discard-my-data"],
  }),
  cmd("new-peer", PEER_NODE, "Make a peer host known to a resource.", {
    fields: NEW_PEER_FIELDS,
  }),
  cmd("del-peer", PEER_NODE, "Remove a connection to a peer host.", { fields: ["force"] }),
  cmd(
    "new-path",
    PEER_NODE,
    "Add a path (endpoint address pair) where a peer host should be reachable.",
    { args: ADDRESSES },
  ),
  cmd(
    "del-path",
    PEER_NODE,
    "Remove a path (endpoint address pair) from a connection to a peer host.",
    { args: ADDRESSES },
  ),
  cmd("net-options", PEER_NODE, "Change the network options of a connection.", {
    fields: NET_OPTIONS,
    setDefaults: true,
  }),
  cmd("disconnect", PEER_NODE, "Unconnect from a peer host.", { fields: ["force"] }),
  cmd("resize", MINOR, "Reexamine the lower-level device sizes to resize a replicated device.", {
    fields: ["size", "assume-peer-has-space", "assume-clean", "al-stripes", "al-stripe-size-kB"],
  }),
  cmd("resource-options", RESOURCE, "Change the resource options of an existing resource.", {
    fields: RESOURCE_FIELDS,
    setDefaults: true,
  }),
  cmd("peer-device-options", PEER_DEVICE, "Change peer-device options.", {
    fields: PEER_DEVICE_FIELDS,
    setDefaults: true,
  }),
  cmd("new-current-uuid", MINOR, "Generate a new current UUID.", {
    fields: ["clear-bitmap", "force-resync"],
  }),
  cmd("invalidate", MINOR, "Replace the local data of a volume with that of a peer.", {
    fields: ["sync-from-peer-node-id", "reset-bitmap"],
  }),
  cmd("invalidate-remote", PEER_DEVICE, "Replace a peer's data of a volume with the local data.", {
    fields: ["reset-bitmap"],
  }),
  cmd("pause-sync", PEER_DEVICE, "Stop resynchronizing between a local and a peer device."),
  cmd("resume-sync", PEER_DEVICE, "Allow resynchronization to resume on a replicated device."),
  cmd("suspend-io", MINOR, "Suspend I/O on a replicated device."),
  cmd("resume-io", MINOR, "Resume I/O on a replicated device."),
  cmd("outdate", MINOR, "Mark the data on a lower-level device as outdated."),
  cmd("verify", PEER_DEVICE, "Verify the data on a lower-level device against a peer device.", {
    fields: ["start", "stop"],
  }),
  cmd("down", RESOURCE_OR_ALL, "Take a resource down.", { handler: "down" }),
  cmd("role", RESOURCE, "Show the current role of a resource.", { handler: "query" }),
  cmd("cstate", PEER_NODE, "Show the current state of a connection.", { handler: "query" }),
  cmd("dstate", MINOR, "Show the current disk state of a lower-level device.", {
    handler: "query",
  }),
  cmd(
    "show-gi",
    PEER_DEVICE,
    "Show the data generation identifiers for a device on a particular connection, with explanations.",
    { handler: "query" },
  ),
  cmd(
    "get-gi",
    PEER_DEVICE,
    "Show the data generation identifiers for a device on a particular connection.",
    { handler: "query" },
  ),
  cmd(
    "show",
    RESOURCE_OR_ALL,
    "Show the current configuration of a resource, or of all resources.",
    { options: SHOW_OPTIONS, handler: "show" },
  ),
  cmd("status", RESOURCE_OR_ALL, "Show the state of a resource, or of all resources.", {
    options: STATUS_OPTIONS,
    handler: "status",
  }),
  cmd("check-resize", MINOR, "Remember the current size of a lower-level device.", {
    handler: "query",
  }),
  cmd(
    "events2",
    RESOURCE_OR_ALL,
    "Show the current state and all state changes of a resource, or of all resources.",
    { options: EVENTS_OPTIONS, handler: "events" },
  ),
  waitCmd("wait-sync-volume", PEER_DEVICE, "Wait until resync finished on a volume."),
  waitCmd(
    "wait-sync-connection",
    PEER_NODE,
    "Wait until resync finished on all volumes of a connection.",
  ),
  waitCmd("wait-sync-resource", RESOURCE, "Wait until resync finished on all volumes."),
  waitCmd("wait-connect-volume", PEER_DEVICE, "Wait until a device on a peer is visible."),
  waitCmd(
    "wait-connect-connection",
    PEER_NODE,
    "Wait until all peer volumes of connection are visible.",
  ),
  // "establised" is drbdsetup 9.22's spelling; help output must match it byte for byte.
  waitCmd("wait-connect-resource", RESOURCE, "Wait until all connections are establised."),
  cmd("new-resource", RESOURCE, "Create a new resource.", {
    args: [{ name: "node_id", conversion: "u32" }],
    fields: RESOURCE_FIELDS,
  }),
  cmd(
    "new-minor",
    { kind: "sequence", args: ["resource", "minor", "volume"], all: false },
    "Create a new replicated device within a resource.",
    { fields: ["max-bio-size", "diskless"] },
  ),
  cmd("del-minor", MINOR, "Remove a replicated device."),
  cmd("del-resource", RESOURCE, "Remove a resource."),
  cmd(
    "forget-peer",
    RESOURCE,
    "Completely remove any reference to a unconnected peer from meta-data.",
    { args: [{ name: "peer_node_id", conversion: "u32" }] },
  ),
  cmd("rename-resource", RESOURCE, "Rename a resource.", {
    args: [{ name: "new_name", conversion: "str" }],
  }),
];

const byName = new Map(COMMANDS.map((c) => [c.name, c]));

/** The command called `name` exactly (drbdsetup does not accept abbreviations), if any. */
export function findCommand(name: string): SetupCommand | undefined {
  return byName.get(name);
}

/**
 * Old spellings of fields that drbdsetup still accepts for one command:
 * `primary --overwrite-data-of-peer` is `--force`, `connect --dry-run` is `--tentative`.
 */
export const FIELD_ALIASES: Readonly<Record<string, { alias: string; field: string }>> = {
  primary: { alias: "overwrite-data-of-peer", field: "force" },
  connect: { alias: "dry-run", field: "tentative" },
};
