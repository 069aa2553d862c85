/**
 * The command-line grammar of every udrbd tool as completion scripts need it, derived from the
 * command tables (lib/adm, lib/setup, lib/meta) and the option table (lib/options): which words
 * come before the command, which commands exist, which options each takes, how an option takes
 * its value and what that value may be.
 *
 * @module
 */

import { COMMANDS as ADM_COMMANDS, CONTEXTS, GENERAL_OPTIONS } from "../adm/commands.ts";
import { COMMANDS as META_COMMANDS } from "../meta/cli.ts";
import { lookupOption } from "../options/lookup.ts";
import type { OptionDef } from "../options/types.ts";
import { COMMANDS as SETUP_COMMANDS, type SetupCommand } from "../setup/commands.ts";
import { LOG_LEVELS } from "../util/log.ts";

/**
 * What a word may be: `words` a fixed list; `file` a path; `none` anything (nothing to offer);
 * `adm-resource` a resource of the drbdadm configuration (and `all`), with `res/vol` forms when
 * `volumes`; `setup-resource` a resource the node daemon holds (and `all` when `all`);
 * `setup-minor` a minor the node daemon exports.
 */
export type Slot =
  | { kind: "words"; words: readonly string[] }
  | { kind: "file" }
  | { kind: "none" }
  | { kind: "adm-resource"; volumes: boolean }
  | { kind: "setup-resource"; all: boolean }
  | { kind: "setup-minor" };

/** How an option takes its value: none; only as `--name=value`; `--name=value` or `--name value`. */
export type ValueMode = "none" | "attached" | "separate";

/** One option of a tool or command. */
export interface CompletionOption {
  /** Long name without the dashes. */
  name: string;
  /** Short letter, if the tool has one for it. */
  short?: string;
  mode: ValueMode;
  /** What the value may be (enum values, yes/no, a file...). */
  value: Slot;
  /** One line for menus. */
  summary: string;
}

/** One command of a tool: its options and its positional arguments. */
export interface CompletionCommand {
  name: string;
  summary: string;
  options: readonly CompletionOption[];
  /** Positional arguments after the command word. */
  args: readonly Slot[];
  /** The last argument may repeat (drbdadm takes several resources). */
  repeatLast: boolean;
}

/** One tool: options valid anywhere, words before the command, and its commands. */
export interface CompletionTool {
  name: string;
  options: readonly CompletionOption[];
  /** Positional words before the command word (drbdmeta: device, format, disk, index). */
  leading: readonly Slot[];
  /** Commands; empty for tools without command words. */
  commands: readonly CompletionCommand[];
}

const NONE: Slot = { kind: "none" };
const FILE: Slot = { kind: "file" };
const YES_NO: Slot = { kind: "words", words: ["yes", "no"] };
const words = (...w: string[]): Slot => ({ kind: "words", words: w });

const HELP: CompletionOption = {
  name: "help",
  short: "h",
  mode: "none",
  value: NONE,
  summary: "Print the usage.",
};

/** What a value of an option-table row may be. */
function valueOf(def: OptionDef | undefined): Slot {
  if (!def) return NONE;
  switch (def.type) {
    case "enum":
    case "numeric-or-enum":
      return { kind: "words", words: def.values ?? [] };
    case "boolean":
    case "flag":
      return YES_NO;
    default:
      return NONE;
  }
}

function summaryOf(def: OptionDef | undefined): string {
  return def?.summary ?? "";
}

// drbdadm's general options are not option-table rows; what their values are comes from
// drbdadm(8): files for the configuration and the helper programs, free text otherwise.
const ADM_GENERAL: Record<string, { value: Slot; summary: string }> = {
  stacked: { value: NONE, summary: "Work on the stacked resource on top of a resource." },
  "dry-run": { value: NONE, summary: "Print the steps instead of running them." },
  verbose: { value: NONE, summary: "Print the steps before running them." },
  "config-file": { value: FILE, summary: "Read this configuration file." },
  "config-to-test": { value: FILE, summary: "Check this configuration file too." },
  "config-to-exclude": { value: FILE, summary: "Ignore resources defined in this file." },
  drbdsetup: { value: FILE, summary: "The drbdsetup program to run." },
  drbdmeta: { value: FILE, summary: "The drbdmeta program to run." },
  "drbd-proxy-ctl": { value: FILE, summary: "The drbd-proxy-ctl program to run." },
  "sh-varname": { value: NONE, summary: "Variable name for sh-* commands." },
  version: { value: NONE, summary: "Print version information." },
  "setup-option": { value: NONE, summary: "Pass this option to every drbdsetup step." },
  help: { value: NONE, summary: "Print the usage text." },
};

/** drbdadm's own words for its commands (drbdadm has no summaries of its own). */
export const ADM_SUMMARIES: Readonly<Record<string, string>> = {
  attach: "Attach the backing device and metadata of each volume.",
  "disk-options": "Change the disk options of attached volumes.",
  detach: "Detach the backing device of each volume.",
  "new-peer": "Make the peers of the resource known to the node.",
  "del-peer": "Remove connections to peers.",
  "new-path": "Add the network paths of connections.",
  "del-path": "Remove the network paths of connections.",
  connect: "Connect to the peers.",
  "net-options": "Change the network options of connections.",
  disconnect: "Disconnect from the peers.",
  up: "Bring the resource up: create it, its volumes and connections, attach, connect.",
  "resource-options": "Change the resource options.",
  "peer-device-options": "Change the options of peer devices (resync rate and controller).",
  down: "Take the resource down.",
  primary: "Promote the resource to Primary.",
  secondary: "Demote the resource to Secondary.",
  invalidate: "Discard the local data and resync it from a peer.",
  "invalidate-remote": "Resync the peers' data from the local data.",
  outdate: "Mark the local data as Outdated.",
  resize: "Grow or shrink the device after the backing devices changed size.",
  verify: "Compare the local data with the peers' data (online verify).",
  "pause-sync": "Pause resynchronization.",
  "resume-sync": "Resume resynchronization.",
  adjust: "Make the running resource match the configuration.",
  "adjust-with-progress": "Like adjust, printing progress.",
  "wait-connect": "Wait until the resource is connected.",
  "wait-sync": "Wait until the resource is connected and resynchronized.",
  "wait-con-int": "Wait until all resources marked for it are connected (boot time).",
  role: "Print the role of the resource.",
  cstate: "Print the connection states.",
  dstate: "Print the disk states of the volumes.",
  status: "Print the state of resources.",
  dump: "Print the parsed configuration.",
  "dump-xml": "Print the parsed configuration as XML.",
  "create-md": "Initialize the metadata of each volume.",
  "show-gi": "Print the generation identifiers of a volume with explanations.",
  "get-gi": "Print the generation identifiers of a volume.",
  "dump-md": "Print the metadata of a volume as text.",
  "wipe-md": "Destroy the metadata of a volume.",
  "apply-al": "Apply the activity log to the bitmap.",
  "forget-peer": "Remove every trace of an unconnected peer from the metadata.",
  "hidden-commands": "List the commands not shown in the usage text.",
  "sh-nop": "Parse the configuration and do nothing.",
  "sh-resources": "Print the names of this host's resources.",
  "sh-resource": "Print the resource name.",
  "sh-mod-parms": "Print the module parameters.",
  "sh-dev": "Print the device names of the volumes.",
  "sh-udev": "Print udev variables for a volume.",
  "sh-minor": "Print the minor numbers of the volumes.",
  "sh-ll-dev": "Print the backing devices of the volumes.",
  "sh-md-dev": "Print the metadata devices of the volumes.",
  "sh-md-idx": "Print the metadata indexes of the volumes.",
  "sh-ip": "Print this host's addresses of the resource.",
  "sh-lr-of": "Print the resources stacked on top of the resource.",
  "proxy-up": "Configure DRBD proxy connections.",
  "proxy-down": "Remove DRBD proxy connections.",
  "new-resource": "Create the resource on the node.",
  "new-minor": "Create the volumes' devices on the node.",
  "del-minor": "Remove the volumes' devices from the node.",
  "suspend-io": "Suspend I/O on the volumes.",
  "resume-io": "Resume I/O on the volumes.",
  "set-gi": "Set the generation identifiers of a volume (experts only).",
  "new-current-uuid": "Generate a new current UUID (skip the initial sync).",
  "check-resize": "Remember the current size of the backing devices.",
};

/** The summary of a kernel helper command of drbdadm (run by the node for a handler). */
export function admHandlerSummary(name: string): string {
  return `Run the ${name} handler of the resource.`;
}

function admTool(): CompletionTool {
  const options: CompletionOption[] = GENERAL_OPTIONS.map((o) => ({
    name: o.name,
    short: o.key,
    mode: o.arg === "none" ? "none" : o.arg === "required" ? "separate" : "attached",
    value: ADM_GENERAL[o.name]?.value ?? NONE,
    summary: ADM_GENERAL[o.name]?.summary ?? "",
  }));
  const commands: CompletionCommand[] = [];
  for (const c of ADM_COMMANDS) {
    // kernel helper commands (level 3) are for the node, not for people at a prompt
    if (c.showInUsage === 3 || c.showInUsage === 0) continue;
    const opts: CompletionOption[] = (c.context ? CONTEXTS[c.context] : []).map((p) => {
      const def = lookupOption(p.name);
      return {
        name: p.name,
        mode: p.arg === "required" ? "separate" : "attached",
        value: valueOf(def),
        summary: summaryOf(def),
      };
    });
    const volumes = c.iterateVolumes || c.volIdOptional || c.volIdRequired;
    const takesResource = c.resNameRequired || c.backendResName || volumes;
    commands.push({
      name: c.name,
      summary: ADM_SUMMARIES[c.name] ?? admHandlerSummary(c.name),
      options: opts,
      args: takesResource ? [{ kind: "adm-resource", volumes }] : [],
      repeatLast: takesResource,
    });
  }
  return { name: "drbdadm", options, leading: [], commands: sortByName(commands) };
}

/** Values of drbdsetup options that are not option-table rows (`--color`). */
const SETUP_OPTION_VALUES: Record<string, Slot> = {
  color: words("always", "auto", "never"),
};

function setupArgs(c: SetupCommand): Slot[] {
  const ctx = c.context;
  const out: Slot[] = ctx.args.map((a): Slot => {
    switch (a) {
      case "resource":
        return { kind: "setup-resource", all: ctx.all };
      case "minor":
        return { kind: "setup-minor" };
      default:
        return NONE;
    }
  });
  for (const a of c.args) {
    if (a.conversion === "block_dev") out.push(FILE);
    else if (a.conversion === "md_idx") {
      out.push(words("internal", "flex-external", "flex-internal"));
    } else out.push(NONE);
  }
  return out;
}

function setupTool(): CompletionTool {
  const commands: CompletionCommand[] = SETUP_COMMANDS.map((c) => {
    const options: CompletionOption[] = c.fields.map((f) => {
      const def = lookupOption(f);
      const attached = def?.type === "boolean" || def?.type === "flag";
      return {
        name: f,
        mode: attached ? "attached" : "separate",
        value: valueOf(def),
        summary: summaryOf(def),
      };
    });
    for (const o of c.options) {
      const def = lookupOption(o.name);
      options.push({
        name: o.name,
        short: o.short,
        mode: o.arg === "none" ? "none" : o.arg === "required" ? "separate" : "attached",
        value: SETUP_OPTION_VALUES[o.name] ?? (o.arg === "none" ? NONE : valueOf(def)),
        summary: summaryOf(def),
      });
    }
    if (c.setDefaults) {
      options.push({
        name: "set-defaults",
        mode: "none",
        value: NONE,
        summary: summaryOf(lookupOption("set-defaults")),
      });
    }
    return { name: c.name, summary: c.summary, options, args: setupArgs(c), repeatLast: false };
  });
  const names = words(...SETUP_COMMANDS.map((c) => c.name).sort());
  for (const help of ["help", "xml-help"]) {
    commands.push({
      name: help,
      summary: help === "help"
        ? "Print the usage of a command."
        : "Print a command's options as XML.",
      options: [],
      args: [names],
      repeatLast: false,
    });
  }
  return { name: "drbdsetup", options: [], leading: [], commands: sortByName(commands) };
}

/** drbdmeta's options; lib/meta/cli.ts parses them (a test checks it accepts each). */
export const META_OPTIONS: readonly CompletionOption[] = [
  { name: "force", short: "f", mode: "none", value: NONE, summary: "Do not ask; overwrite." },
  {
    name: "ignore-sanity-checks",
    mode: "none",
    value: NONE,
    summary: "Skip the checks that protect existing data.",
  },
  { name: "dry-run", mode: "none", value: NONE, summary: "Do not write anything." },
  { name: "verbose", short: "v", mode: "none", value: NONE, summary: "Say more." },
  {
    name: "peer-max-bio-size",
    short: "p",
    mode: "separate",
    value: NONE,
    summary: "Largest request the peer accepts (create-md).",
  },
  {
    name: "node-id",
    short: "i",
    mode: "separate",
    value: NONE,
    summary: "The peer's node id (get-gi, show-gi, set-gi, forget-peer).",
  },
  {
    name: "al-stripes",
    short: "s",
    mode: "separate",
    value: NONE,
    summary: "Number of activity-log stripes (create-md).",
  },
  {
    name: "al-stripe-size-kB",
    short: "z",
    mode: "separate",
    value: NONE,
    summary: "Size of one activity-log stripe in KiB (create-md).",
  },
  {
    name: "initialize-bitmap",
    short: "b",
    mode: "separate",
    value: words("automatic", "zeroout", "pwrite", "skip"),
    summary: "How create-md initializes the bitmap.",
  },
];

/** What drbdmeta's commands do, in our words. */
export const META_SUMMARIES: Readonly<Record<string, string>> = {
  "get-gi": "Print the generation identifiers for one peer.",
  "show-gi": "Print the generation identifiers for one peer, with explanations.",
  "dump-md": "Print the whole metadata (superblock, activity log, bitmaps) as text.",
  "restore-md": "Write metadata from a dump-md text file.",
  "verify-dump": "Check a dump-md text file without writing anything.",
  "apply-al": "Apply the activity log to the bitmaps and clear it.",
  "wipe-md": "Destroy the metadata.",
  outdate: "Mark the data as Outdated.",
  invalidate: "Mark the data as Inconsistent, so that it is fully resynchronized.",
  dstate: "Print the disk state recorded in the metadata.",
  "read-dev-uuid": "Print the device UUID.",
  "write-dev-uuid": "Set the device UUID.",
  "set-gi": "Set the generation identifiers for one peer.",
  "check-resize": "Move internal metadata to the end of a backing device that has grown.",
  "create-md": "Initialize metadata for MAX_PEERS peers.",
  "forget-peer": "Remove one peer's slot from the metadata.",
};

function metaTool(): CompletionTool {
  const commands: CompletionCommand[] = META_COMMANDS.map((c) => ({
    name: c.name,
    summary: META_SUMMARIES[c.name] ?? "",
    options: [],
    args: c.args === "file" ? [FILE] : [],
    repeatLast: false,
  }));
  return {
    name: "drbdmeta",
    options: META_OPTIONS,
    leading: [NONE, words("v08", "v09"), FILE, words("internal", "flex-external", "flex-internal")],
    commands: sortByName(commands),
  };
}

function daemonTool(): CompletionTool {
  return {
    name: "daemon",
    options: [
      {
        name: "foreground",
        mode: "none",
        value: NONE,
        summary: "Run in this process (service managers).",
      },
      { name: "stop", mode: "none", value: NONE, summary: "Stop the running daemon." },
      {
        name: "log-level",
        mode: "separate",
        value: { kind: "words", words: LOG_LEVELS },
        summary: "How much to log.",
      },
      HELP,
    ],
    leading: [],
    commands: [],
  };
}

/**
 * The tools `udrbd TOOL` runs: the keys of mod.ts's TOOLS (which this module cannot import:
 * `udrbd completions` is loaded by mod.ts while mod.ts is still starting). A test keeps them
 * equal.
 */
export const UDRBD_TOOLS: readonly string[] = [
  "completions",
  "daemon",
  "drbd-overview",
  "drbdadm",
  "drbdmeta",
  "drbdsetup",
  "install",
];

/** The shells `udrbd completions` writes scripts for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** A shell of {@link SHELLS}. */
export type Shell = typeof SHELLS[number];

function overviewTool(): CompletionTool {
  return { name: "drbd-overview", options: [HELP], leading: [], commands: [] };
}

function installTool(): CompletionTool {
  return {
    name: "install",
    options: [
      { name: "prefix", mode: "separate", value: FILE, summary: "Install under this folder." },
      {
        name: "uninstall",
        mode: "none",
        value: NONE,
        summary: "Remove what an install put there.",
      },
      { name: "dry-run", short: "n", mode: "none", value: NONE, summary: "Change nothing." },
      HELP,
    ],
    leading: [],
    commands: [],
  };
}

function completionsTool(): CompletionTool {
  return { name: "completions", options: [], leading: [words(...SHELLS)], commands: [] };
}

function sortByName<T extends { name: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The grammar of every tool `udrbd TOOL` runs, for the tool names given ({@link UDRBD_TOOLS});
 * a tool this module does not know gets an entry with no options or commands.
 */
export function completionTools(toolNames: readonly string[]): CompletionTool[] {
  const known: Record<string, () => CompletionTool> = {
    drbdadm: admTool,
    drbdsetup: setupTool,
    drbdmeta: metaTool,
    daemon: daemonTool,
    completions: completionsTool,
    "drbd-overview": overviewTool,
    install: installTool,
  };
  return [...toolNames].sort().map((name) =>
    known[name]?.() ?? { name, options: [], leading: [], commands: [] }
  );
}
