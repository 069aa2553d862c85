/**
 * udrbd's man pages: our own prose about each tool and drbd.conf, with the command and option
 * sections generated from the command tables (lib/adm, lib/setup, lib/meta) and the option
 * table (lib/options). The same text on every run: no dates, sorted where tables are unordered.
 *
 * @module
 */

import { COMMANDS as ADM_COMMANDS, CONTEXTS, GENERAL_OPTIONS } from "../adm/commands.ts";
import { COMMANDS as META_COMMANDS } from "../meta/cli.ts";
import { lookupOption, optionsInSection } from "../options/lookup.ts";
import type { OptionDef, Section } from "../options/types.ts";
import { COMMANDS as SETUP_COMMANDS, type SetupCommand } from "../setup/commands.ts";
import { fieldUsage } from "../setup/fields.ts";
import { LOG_LEVELS } from "../util/log.ts";
import { DRBD_UTILS_VERSION, VERSION } from "../version.ts";
import {
  ADM_SUMMARIES,
  admHandlerSummary,
  META_OPTIONS,
  META_SUMMARIES,
  UDRBD_TOOLS,
} from "./model.ts";
import { bold, escapeText, italic, ManPage } from "./roff.ts";

/** The man pages udrbd ships, by file name. */
export const MAN_PAGES: readonly string[] = [
  "drbd-overview.8",
  "drbd.conf.5",
  "drbdadm.8",
  "drbdmeta.8",
  "drbdsetup.8",
  "udrbd.8",
];

const SOURCE = `udrbd ${VERSION}`;
const MANUAL = "udrbd";

/** The roff text of the man page `name` (one of {@link MAN_PAGES}). */
export function manPage(name: string): string {
  switch (name) {
    case "drbdadm.8":
      return drbdadmPage();
    case "drbdsetup.8":
      return drbdsetupPage();
    case "drbdmeta.8":
      return drbdmetaPage();
    case "drbd-overview.8":
      return overviewPage();
    case "drbd.conf.5":
      return confPage();
    case "udrbd.8":
      return udrbdPage();
  }
  throw new Error(`no man page ${name}`);
}

// --- option descriptions from the option table -------------------------------------------

/** What a bare number of a numeric option counts in. */
function baseUnit(def: OptionDef): string | undefined {
  switch (def.unitPrefix) {
    case "s":
      return "sectors of 512 bytes";
    case "k":
      return def.unit?.endsWith("/second") ? "KiB per second" : "KiB";
    default:
      return def.unit;
  }
}

/** The facts of one option-table row as sentences: value kind, range, unit, default. */
function optionFacts(def: OptionDef): string[] {
  const facts: string[] = [];
  const dflt = def.default !== undefined ? ` Default: \`${def.default}\`.` : "";
  switch (def.type) {
    case "boolean":
      facts.push(`Value: \`yes\` or \`no\`; the keyword alone means \`yes\`.${dflt}`);
      break;
    case "flag":
      facts.push(`A flag: the keyword alone turns it on.${dflt}`);
      break;
    case "enum":
      facts.push(`Value: one of ${def.values!.map((v) => `\`${v}\``).join(", ")}.${dflt}`);
      break;
    case "numeric-or-enum":
      facts.push(
        `Value: ${def.values!.map((v) => `\`${v}\``).join(", ")}, or a number from ` +
          `${def.min} to ${def.max}.${dflt}`,
      );
      break;
    case "numeric": {
      const unit = baseUnit(def);
      const range = def.min !== undefined && def.max !== undefined
        ? ` from ${def.min} to ${def.max}`
        : "";
      facts.push(`Value: a number${range}${unit ? `, in ${unit}` : ""}.${dflt}`);
      if (def.unitPrefix === "s" || def.unitPrefix === "k") {
        facts.push(
          "A suffix `K`, `M` or `G` (binary multiples) or `s` (512-byte sectors) converts from " +
            "other units.",
        );
      }
      break;
    }
    case "string":
      facts.push(
        `Value: text${
          def.maxLength !== undefined ? ` of fewer than ${def.maxLength} characters` : ""
        }.${dflt}`,
      );
      break;
  }
  if (def.aliases?.length) {
    facts.push(`Also accepted as ${def.aliases.map((a) => `\`${a}\``).join(", ")}.`);
  }
  return facts;
}

/** drbd.conf's way to write an option: `keyword value;`. */
function confTag(def: OptionDef): string {
  switch (def.type) {
    case "flag":
      return `${bold(def.name)};`;
    case "boolean":
      return `${bold(def.name)} [${italic("yes")}|${italic("no")}];`;
    case "enum":
      return `${bold(def.name)} ${italic("value")};`;
    case "string":
      return `${bold(def.name)} ${italic("text")};`;
    default:
      return `${bold(def.name)} ${italic("value")};`;
  }
}

/** drbdsetup's way to write an option, from its usage fragment (`--size=(0 ... 2199023255552)`). */
function setupTag(def: OptionDef): string {
  const usage = fieldUsage(def).replace(/^\[/, "").replace(/\]$/, "");
  const eq = usage.indexOf("=");
  // enum lists can be long: break after each separator so no line overflows
  const value = escapeText(usage.slice(eq + 1)).replaceAll("|", "|\\:");
  return `${bold(usage.slice(0, eq))}=${value}`;
}

// --- drbdadm ------------------------------------------------------------------------------

const ADM_OPTION_TEXT: Record<string, { arg?: string; text: string }> = {
  stacked: {
    text: "Work on the stacked resource that sits on top of each named resource, instead of " +
      "on the resource itself.",
  },
  "dry-run": {
    text: "Print the drbdsetup and drbdmeta steps the command would run, one per line, and run " +
      "none of them. The steps are the same as drbd-utils 9.22 prints.",
  },
  verbose: { text: "Print each step before it runs." },
  "config-file": {
    arg: "file",
    text: "Read the configuration from {file} instead of `/etc/drbd.conf` " +
      "(or `/etc/drbd-90.conf`, `/etc/drbd-84.conf`, whichever exists first).",
  },
  "config-to-test": {
    arg: "file",
    text: "Parse {file} as an additional resource file and check it together with the " +
      "configuration, e.g. before installing it.",
  },
  "config-to-exclude": {
    arg: "file",
    text: "Leave out the resources defined in {file}.",
  },
  drbdsetup: { arg: "program", text: "Run {program} for drbdsetup steps (dry-run output)." },
  drbdmeta: { arg: "program", text: "Run {program} for drbdmeta steps (dry-run output)." },
  "drbd-proxy-ctl": {
    arg: "program",
    text: "Run {program} for DRBD proxy steps (dry-run output).",
  },
  "sh-varname": {
    arg: "name",
    text: "For the sh-* commands: the variable name to print values as.",
  },
  version: { text: "Print version variables in shell syntax and exit." },
  "setup-option": {
    arg: "option",
    text: "Pass {option} on to every drbdsetup step.",
  },
  help: { text: "Print the usage text and exit." },
};

function admOptionTag(name: string, key: string, arg?: string): string {
  const a = arg ? ` ${italic(arg)}` : "";
  const long = arg ? `${bold(`--${name}`)}=${italic(arg)}` : bold(`--${name}`);
  return key ? `${bold(`-${key}`)}${a}, ${long}` : long;
}

function drbdadmPage(): string {
  const page = new ManPage("drbdadm", 8, SOURCE, MANUAL);
  page.section("name").roff("drbdadm \\- administer DRBD resources as drbd.conf describes them");
  page.section("synopsis").roff(
    `${bold("drbdadm")} [${italic("options")}] ${italic("command")} [${
      italic("command-options")
    }] {${bold("all")}|${italic("resource")}[${bold("/")}${italic("volume")}]...}`,
  );
  page.section("description")
    .para(
      "`drbdadm` is the tool an administrator uses day to day. It reads the DRBD " +
        "configuration (see drbd.conf(5)), picks the sections that belong to this host, and " +
        "turns a high-level command such as `up`, `adjust` or `primary` into the " +
        "drbdsetup(8) and drbdmeta(8) steps that carry it out.",
    )
    .para(
      "udrbd's drbdadm reads the same files and accepts the same command lines as drbdadm " +
        `of drbd-utils ${DRBD_UTILS_VERSION}; its messages, exit codes and the steps shown by ` +
        "`--dry-run` are the same. It runs the steps in its own process, talking to the " +
        "udrbd node daemon (see udrbd(8)) where the real tool would talk to the kernel module.",
    )
    .para(
      "Most commands take one or more resource names, or `all` for every resource of this " +
        "host. Commands that work on volumes also accept {resource}`/`{volume} to name a " +
        "single volume.",
    );
  page.section("options");
  page.para("General options come before the command:");
  for (const o of GENERAL_OPTIONS) {
    const t = ADM_OPTION_TEXT[o.name];
    if (!t) throw new Error(`drbdadm.8 lacks text for --${o.name}`);
    page.item(admOptionTag(o.name, o.key, t.arg), t.text);
  }
  page.para(
    "Options after the command are handed to the drbdsetup or drbdmeta steps it runs; the " +
      "commands below list the ones each accepts. Their meaning is described in drbdsetup(8) " +
      "and, for those that can be set in the configuration, in drbd.conf(5).",
  );
  page.section("commands");
  const groups: [number, string, string][] = [
    [1, "Everyday commands", ""],
    [
      2,
      "Commands for scripts",
      "These print facts from the configuration in a form shell scripts can use.",
    ],
    [
      3,
      "Handler commands",
      "The node runs these when an event calls for one of the handlers of drbd.conf(5); " +
      "each runs the handler's command with the resource's environment.",
    ],
    [4, "Commands for experts", "These are rarely needed and can lose data when misused."],
  ];
  for (const [level, title, intro] of groups) {
    page.subsection(escapeText(title));
    if (intro) page.para(intro);
    const cmds = ADM_COMMANDS.filter((c) => c.showInUsage === level)
      .map((c) => c.name).sort();
    for (const name of cmds) {
      const c = ADM_COMMANDS.find((x) => x.name === name)!;
      const summary = level === 3
        ? admHandlerSummary(name)
        : ADM_SUMMARIES[name] ?? missing(`drbdadm.8: summary of ${name}`);
      const body = [summary];
      const opts = c.context ? CONTEXTS[c.context] : [];
      if (c.context === "wildcard") body.push("Any further option is passed on unchanged.");
      else if (opts.length) {
        body.push(`Options: ${opts.map((o) => `\`--${o.name}\``).join(", ")}.`);
      }
      page.item(bold(name), ...body);
    }
  }
  page.section("exit status").para(
    `0 on success, another number on failure: the codes of drbdadm ${DRBD_UTILS_VERSION} ` +
      "for configuration and usage errors, or the exit status of the step that failed.",
  );
  page.section("environment")
    .item(
      bold("UDRBD_HOSTNAME"),
      "The host name that selects the `on` sections of this host, instead of the node name " +
        "(`uname -n`). Lets several nodes share one machine in tests and demonstrations.",
    )
    .item(bold("UDRBD_RUN_DIR"), "The node daemon's run directory (see udrbd(8)).");
  page.section("files")
    .item(bold("/etc/drbd.conf"), "The configuration, usually including `/etc/drbd.d/*.res`.");
  page.section("examples").example(
    "drbdadm create-md r0",
    "drbdadm up r0",
    "drbdadm primary --force r0",
    "drbdadm -d adjust all",
    "drbdadm status",
  );
  page.section("see also").roff(seeAlso("drbdadm"));
  return page.toString();
}

function missing(what: string): never {
  throw new Error(`man pages: no text for ${what}`);
}

function seeAlso(self: string): string {
  return [
    "drbd.conf(5)",
    "drbdadm(8)",
    "drbdsetup(8)",
    "drbdmeta(8)",
    "drbd-overview(8)",
    "udrbd(8)",
  ]
    .filter((p) => !p.startsWith(`${self}(`))
    .map((p) => `${bold(p.slice(0, p.indexOf("(")))}${p.slice(p.indexOf("("))}`)
    .join(",\n");
}

// --- drbdsetup ----------------------------------------------------------------------------

const SETUP_OPTION_TEXT: Record<string, string> = {
  "wfc-timeout": "Seconds to wait; 0 waits for ever.",
  "degr-wfc-timeout": "Seconds to wait when the node was degraded before; 0 waits for ever.",
  "outdated-wfc-timeout": "Seconds to wait when the peer was outdated; 0 waits for ever.",
  "wait-after-sb": "Keep waiting after a split brain was detected.",
  timestamps: "Start each line with the time of the event.",
  statistics: "Include performance and resync counters.",
  now: "Print the current state and stop instead of following changes.",
  poll: "Print the current state again each time a line is read from standard input.",
  full: "Print every field of every object on each change.",
  color: "Color the output: `always`, `never` or `auto` (when standard output is a terminal).",
  diff: "Print only what changed since the previous state.",
  "show-defaults": "Also print options that have their default value.",
  json: "Print JSON instead of text.",
  verbose: "Print every field, not only the interesting ones.",
};

function setupArgText(c: SetupCommand): string {
  const ctx = c.context;
  const names = ctx.args.map((a) => italic(a));
  let out = ctx.kind === "single" && ctx.all
    ? `{${names.join("|")}|${bold("all")}}`
    : names.join(" ");
  for (const a of c.args) out += ` ${italic(a.name)}`;
  return out;
}

function drbdsetupPage(): string {
  const page = new ManPage("drbdsetup", 8, SOURCE, MANUAL);
  page.section("name").roff("drbdsetup \\- configure DRBD resources on the udrbd node daemon");
  page.section("synopsis").roff(
    `${bold("drbdsetup")} ${italic("command")} ${italic("arguments")} [${italic("options")}]`,
  );
  page.section("description")
    .para(
      "`drbdsetup` changes and shows the running DRBD configuration of this host: resources, " +
        "their volumes (minors), connections to peers and the paths of those connections. " +
        "For real DRBD it talks to the kernel module; udrbd's drbdsetup talks to the udrbd node " +
        "daemon over its control socket and starts the daemon when none runs, as loading the " +
        "module would.",
    )
    .para(
      `Command lines, help texts, messages and exit codes follow drbdsetup ${DRBD_UTILS_VERSION}. ` +
        "Usually drbdadm(8) runs drbdsetup with values taken from drbd.conf(5); calling it " +
        "directly is for scripts and experiments.",
    )
    .para(
      "Objects are named by position: a {resource} name, a {minor} number, the " +
        "{peer_node_id} of a connection, and a {volume} number within a resource. Numbers may " +
        "carry a unit suffix (`K`, `M`, `G`, or `s` for 512-byte sectors); a bare number " +
        "counts in the option's own unit.",
    )
    .para(
      "An option shown as `--name={yes|no}` may be given as `--name` alone, meaning yes. " +
        "Commands that change options of an existing object also take `--set-defaults`, which " +
        "resets every option not given on the command line to its default.",
    );
  page.section("commands");
  for (const c of SETUP_COMMANDS) {
    page.subsection(`${bold(c.name)} ${setupArgText(c)}`);
    page.roff(".PP", escapeText(c.summary));
    for (const f of c.fields) {
      const def = lookupOption(f) ?? missing(`option ${f}`);
      page.item(setupTag(def), def.summary, ...optionFacts(def));
    }
    for (const o of c.options) {
      const tag = o.arg === "none"
        ? `${bold(`-${o.short}`)}, ${bold(`--${o.name}`)}`
        : `${bold(`-${o.short}`)}, ${bold(`--${o.name}`)}${o.arg === "optional" ? "[" : ""}=${
          italic("value")
        }${o.arg === "optional" ? "]" : ""}`;
      page.item(tag, SETUP_OPTION_TEXT[o.name] ?? missing(`drbdsetup option ${o.name}`));
    }
    if (c.setDefaults) {
      page.item(bold("--set-defaults"), "Reset the options not given to their defaults.");
    }
  }
  page.subsection(`${bold("help")} [${italic("command")}]`)
    .roff(".PP", "Print the list of commands, or the usage of one command.");
  page.subsection(`${bold("xml-help")} ${italic("command")}`)
    .roff(".PP", "Print the options of a command as XML, for tools that generate command lines.");
  page.section("exit status").para(
    `0 on success, another number on failure, as drbdsetup ${DRBD_UTILS_VERSION} exits; ` +
      "the reason is printed on standard error.",
  );
  page.section("environment").item(
    bold("UDRBD_RUN_DIR"),
    "The daemon's run directory, default `/run/udrbd` (see udrbd(8)).",
  );
  page.section("examples").example(
    "drbdsetup new-resource r0 1",
    "drbdsetup new-minor r0 0 0",
    "drbdsetup attach 0 /dev/sdb1 /dev/sdb1 internal",
    "drbdsetup new-peer r0 2 --protocol=C",
    "drbdsetup new-path r0 2 ipv4:10.0.0.1:7789 ipv4:10.0.0.2:7789",
    "drbdsetup connect r0 2",
    "drbdsetup status r0 --verbose",
  );
  page.section("see also").roff(seeAlso("drbdsetup"));
  return page.toString();
}

// --- drbdmeta -----------------------------------------------------------------------------

function drbdmetaPage(): string {
  const page = new ManPage("drbdmeta", 8, SOURCE, MANUAL);
  page.section("name").roff("drbdmeta \\- create, dump, restore and modify DRBD metadata");
  page.section("synopsis").roff(
    `${bold("drbdmeta")} [${italic("options")}] ${italic("device")} ${bold("v09")}|${bold("v08")} ${
      italic("disk")
    } ${italic("index")} ${italic("command")} [${italic("arguments")}]`,
  );
  page.section("description")
    .para(
      "DRBD keeps metadata beside the data of each volume: a superblock with the volume's " +
        "size, flags and generation identifiers (one set per peer), the activity log that " +
        "makes recovery after a crash quick, and a bitmap per peer that records which blocks " +
        "differ. `drbdmeta` reads and writes that metadata directly on the backing device " +
        "while the volume is not in use.",
    )
    .para(
      `The on-disk layout and the text of \`dump-md\` are byte for byte those of drbdmeta ` +
        `${DRBD_UTILS_VERSION}, so metadata moves freely between udrbd and DRBD.`,
    )
    .para(
      "{device} is the minor number or `/dev/drbd`{minor} (used for locking); the format is " +
        "`v09` (DRBD 9, several peers) or `v08` (DRBD 8.4, one peer); {disk} is the backing " +
        "device or file holding the metadata; {index} says where on it: `internal` (at the " +
        "end of the data device), `flex-external` (a separate device holding only metadata), " +
        "or a number for the old fixed-size external layout.",
    );
  page.section("commands");
  for (const c of [...META_COMMANDS].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const args = c.name === "create-md"
      ? ` ${italic("max_peers")}`
      : c.args === "file"
      ? ` ${italic("file")}`
      : c.args
      ? ` ${italic("value")}`
      : "";
    const nodeId = c.nodeIdRequired ? ` ${bold("--node-id")} ${italic("id")}` : "";
    page.item(
      `${bold(c.name)}${nodeId}${args}`,
      META_SUMMARIES[c.name] ?? missing(`drbdmeta command ${c.name}`),
    );
  }
  page.section("options");
  for (const o of META_OPTIONS) {
    const arg = o.mode === "none" ? "" : ` ${italic("value")}`;
    const tag = o.short
      ? `${bold(`-${o.short}`)}${arg}, ${bold(`--${o.name}`)}${arg}`
      : `${bold(`--${o.name}`)}${arg}`;
    const values = o.value.kind === "words"
      ? [`Value: one of ${o.value.words.map((w) => `\`${w}\``).join(", ")}.`]
      : [];
    page.item(tag, o.summary, ...values);
  }
  page.section("differences from drbdmeta " + DRBD_UTILS_VERSION)
    .item(
      "\\(bu",
      "A regular file is a valid backing device and needs no `--force`; udrbd says once " +
        "that it is not a block device.",
    )
    .item(
      "\\(bu",
      "`restore-md` checks the whole dump before it writes anything, and restores bitmaps " +
        "larger than 32 MiB completely.",
    )
    .item(
      "\\(bu",
      "A btrfs file system is recognized and protected like ext4 or xfs when creating metadata.",
    )
    .item("\\(bu", "Formats `v06` and `v07` are recognized but not read.");
  page.section("examples").example(
    "drbdmeta 0 v09 /dev/sdb1 internal create-md 2",
    "drbdmeta 0 v09 /dev/sdb1 internal dump-md > md.txt",
    "drbdmeta 0 v09 /dev/sdb1 internal show-gi --node-id 1",
    "drbdmeta --force 0 v09 /dev/sdb1 internal restore-md md.txt",
  );
  page.section("see also").roff(seeAlso("drbdmeta"));
  return page.toString();
}

// --- drbd-overview ------------------------------------------------------------------------

function overviewPage(): string {
  const page = new ManPage("drbd-overview", 8, SOURCE, MANUAL);
  page.section("name").roff("drbd-overview \\- one line per DRBD device, in DRBD 8.4's layout");
  page.section("synopsis").roff(`${bold("drbd-overview")} [${bold("-d")}]`);
  page.section("description")
    .para(
      "`drbd-overview` prints one row for each DRBD minor of this host, aligned in columns as " +
        "the drbd-overview script of DRBD 8.4 printed them: {minor}`:`{resource}`/`{volume}, " +
        "connection state, roles, disk states, replication protocol and I/O flags, followed by " +
        "what is mounted from the device: mount point, file system type, size, used, " +
        "available and use%. A resynchronizing device gets its progress bar on the next line.",
    )
    .para(
      "Minors that drbd.conf(5) configures for this host but that are not up are listed as " +
        "`Unconfigured`. When no udrbd node daemon runs, it prints `drbd not loaded` and exits " +
        "0, as the 8.4 script did without the kernel module.",
    )
    .para(
      "The layout shows one peer per device; `drbdadm status` shows DRBD 9's view with every " +
        "peer.",
    );
  page.section("options")
    .item(bold("-d"), "Print error messages, which are hidden otherwise (as in DRBD 8.4).")
    .item(`${bold("-h")}, ${bold("--help")}`, "Print the usage and exit.");
  page.section("environment").item(
    bold("UDRBD_RUN_DIR"),
    "The node daemon's run directory, default `/run/udrbd`.",
  );
  page.section("see also").roff(seeAlso("drbd-overview"));
  return page.toString();
}

// --- drbd.conf ----------------------------------------------------------------------------

const SECTION_TEXT: Record<Section, { where: string; text: string }> = {
  global: {
    where: "global { ... }",
    text: "Settings of drbdadm itself; at most one `global` section, first in the file.",
  },
  resource: { where: "resource", text: "" },
  options: {
    where: "options { ... }",
    text: "Options of the resource as a whole, in `common` or `resource`.",
  },
  net: {
    where: "net { ... }",
    text: "Options of the connections to peers, in `common`, `resource` or `connection`.",
  },
  disk: {
    where: "disk { ... }",
    text: "Options of the backing devices, in `common`, `resource`, `on` or `volume`.",
  },
  "peer-device": {
    where: "disk { ... } (peer device options)",
    text: "Options of the replication of one volume to one peer (resync rate and the resync " +
      "controller). They are written in a `disk` section, or in a `disk` section inside a " +
      "`volume` of a `connection` to set them for one peer.",
  },
  startup: {
    where: "startup { ... }",
    text: "How long `drbdadm wait-connect` and the boot scripts wait for peers.",
  },
  handlers: {
    where: "handlers { ... }",
    text: "Commands the node runs when something happens. Each value is a shell command; the " +
      "environment names the resource (`DRBD_RESOURCE`), the volume, minor and peer involved.",
  },
  proxy: {
    where: "proxy { ... }",
    text: "Settings of DRBD proxy connections (accepted and passed on; udrbd has no proxy).",
  },
};

const CONF_SECTIONS: readonly Section[] = [
  "global",
  "options",
  "net",
  "disk",
  "peer-device",
  "startup",
  "handlers",
  "proxy",
];

function confPage(): string {
  const page = new ManPage("drbd.conf", 5, SOURCE, MANUAL);
  page.section("name").roff("drbd.conf \\- the configuration of DRBD resources");
  page.section("description")
    .para(
      "drbdadm(8) reads the description of all DRBD resources from `/etc/drbd.conf`, which " +
        "usually includes one file per resource from `/etc/drbd.d/`. The same file is copied " +
        "to every host: each host finds its own parts by its host name.",
    )
    .para(
      "The file consists of sections in braces and statements ending in a semicolon. " +
        "Comments run from `#` to the end of the line. Values containing blanks are written " +
        'in double quotes. `include "`{pattern}`";` reads every file matching a shell ' +
        "pattern.",
    );
  page.section("structure")
    .para("A small configuration of two hosts looks like this:")
    .example(
      "global { usage-count no; }",
      "common { net { protocol C; } }",
      "resource r0 {",
      "    device    /dev/drbd1;",
      "    disk      /dev/sdb1;",
      "    meta-disk internal;",
      "    on alice { address 10.0.0.1:7789; node-id 0; }",
      "    on bob   { address 10.0.0.2:7789; node-id 1; }",
      "}",
    )
    .item(
      bold("global"),
      "Settings of drbdadm; see below.",
    )
    .item(
      bold("common"),
      "Sections `options`, `net`, `disk`, `startup` and `handlers` that every resource " +
        "inherits unless it sets the value itself.",
    )
    .item(
      `${bold("resource")} ${italic("name")}`,
      "One replicated resource: its volumes, the hosts it lives on, the connections between " +
        "them and its own option sections. The name may not contain blanks or slashes.",
    )
    .item(
      `${bold("on")} ${italic("host")} [${italic("host")}...]`,
      "What belongs to one host: its `node-id`, its `address`, and its volumes or the " +
        "`device`, `disk` and `meta-disk` of the implicit volume 0. Statements written " +
        "directly in the resource apply to every host.",
    )
    .item(
      `${bold("floating")} [${italic("af")}] ${italic("address")}${bold(":")}${italic("port")}`,
      "Like `on`, but the host is chosen by its address instead of its name.",
    )
    .item(
      `${bold("volume")} ${italic("number")}`,
      "One volume of the resource, with its own `device`, `disk`, `meta-disk` and " +
        "`disk` options. Volumes of a resource are replicated together, in write order.",
    )
    .item(
      `${bold("device")} [${italic("path")}] ${bold("minor")} ${italic("number")}`,
      "The replicated device: `/dev/drbd`{minor}. With udrbd, it is the NBD export of that " +
        "minor (see udrbd(8)).",
    )
    .item(
      `${bold("disk")} ${italic("path")}`,
      "The backing device (or file) that holds the local data; `none` for a diskless node.",
    )
    .item(
      `${bold("meta-disk")} ${bold("internal")}|${italic("path")} [${italic("index")}]`,
      "Where the metadata lives: at the end of the backing device, or on a separate device.",
    )
    .item(
      `${bold("address")} [${italic("af")}] ${italic("address")}${bold(":")}${italic("port")}`,
      "Where the host accepts replication connections; the address family is `ipv4` (the " +
        "default) or `ipv6`.",
    )
    .item(`${bold("node-id")} ${italic("number")}`, "The host's number within the resource.")
    .item(
      `${bold("connection")} [${italic("name")}]`,
      "A connection between two hosts, given by two `host` statements or by `path` sections, " +
        "with its own `net` options. Without any, every pair of hosts is connected.",
    )
    .item(
      `${bold("connection-mesh")}`,
      "`hosts` {host}...`;` connects each pair of the hosts named, with the `net` options " +
        "given here.",
    )
    .item(
      bold("path"),
      "One network path of a connection: two `host` statements with addresses.",
    )
    .item(
      `${bold("stacked-on-top-of")} ${italic("resource")}`,
      "Used instead of `on` for a resource whose backing device is another DRBD resource.",
    )
    .item(
      `${bold("skip")}`,
      "Followed by anything in braces: ignored, a way to comment out a whole section.",
    );
  for (const section of CONF_SECTIONS) {
    const s = SECTION_TEXT[section];
    page.section(`${s.where.replace(/ \{ \.\.\. \}/, "")} section`);
    page.para(s.text);
    for (const def of optionsInSection(section)) {
      if (section === "disk" && def.sections.includes("peer-device")) continue;
      page.item(confTag(def), def.summary, ...optionFacts(def));
    }
  }
  page.section("files")
    .item(bold("/etc/drbd.conf"), "The configuration drbdadm reads first.")
    .item(bold("/etc/drbd.d/"), "The customary place for `global_common.conf` and the resources.");
  page.section("see also").roff(seeAlso("drbd.conf"));
  return page.toString();
}

// --- udrbd --------------------------------------------------------------------------------

const TOOL_TEXT: Record<string, string> = {
  drbdadm: "Administer resources as drbd.conf describes them; see drbdadm(8).",
  drbdsetup: "Configure the resources of the node daemon; see drbdsetup(8).",
  drbdmeta: "Create, dump, restore and modify metadata; see drbdmeta(8).",
  "drbd-overview": "One line per device, in DRBD 8.4's layout; see drbd-overview(8).",
  daemon: "The node daemon (below).",
  install: "Install the tools, completions, man pages and systemd units under a prefix.",
  completions: "Print the shell completion script for `bash`, `zsh` or `fish`.",
};

function udrbdPage(): string {
  const page = new ManPage("udrbd", 8, SOURCE, MANUAL);
  page.section("name").roff("udrbd \\- DRBD in userspace");
  page.section("synopsis")
    .roff(`${bold("udrbd")} ${italic("tool")} [${italic("arguments")}...]`)
    .roff(
      ".br",
      `${bold("udrbd daemon")} [${bold("--foreground")}|${bold("--stop")}] [${
        bold("--log-level")
      } ${italic("level")}]`,
    );
  page.section("description")
    .para(
      "udrbd is DRBD, the Distributed Replicated Block Device, rebuilt in userspace: it " +
        "mirrors block devices between hosts over the network like a RAID-1 across machines, " +
        "without a kernel module. It keeps DRBD's user interface: the same drbd.conf(5), the " +
        "same tools and commands, the same on-disk metadata and the same status texts, so " +
        "configurations and scripts carry over.",
    )
    .para(
      "One program supplies every tool. It picks the tool from the name it was called by " +
        "(a symlink named `drbdadm` runs drbdadm) or from its first argument.",
    );
  page.section("tools");
  for (const name of UDRBD_TOOLS) {
    page.item(bold(name), TOOL_TEXT[name] ?? missing(`udrbd.8: tool ${name}`));
  }
  page.section("the node daemon")
    .para(
      "The daemon plays the part of DRBD's kernel module: one per host, holding every " +
        "resource of the host, its volumes and its connections to peers. drbdsetup (and so " +
        "drbdadm) starts it when it is not running. All lasting state is in the metadata on " +
        "the backing devices, so restarting the daemon is like rebooting the node.",
    )
    .item(
      bold("--foreground"),
      "Run in this process and log to standard error too (for a service manager); stop with SIGTERM or SIGINT.",
    )
    .item(bold("--stop"), "Stop the running daemon in order and wait until it has exited.")
    .item(
      `${bold("--log-level")} ${italic("level")}`,
      `One of ${LOG_LEVELS.map((l) => `\`${l}\``).join(", ")}; default \`info\`.`,
    );
  page.section("devices").para(
    "Each volume is served as an NBD (Network Block Device) export on a Unix socket in the " +
      "run directory. Where the kernel's nbd driver is present, the daemon connects a free " +
      "`/dev/nbd`{N} to the export and links `/dev/drbd`{minor} to it; otherwise the socket " +
      "itself is the device, usable by qemu, libnbd or nbdfuse. As with DRBD, a Primary's " +
      "device is writable, a Secondary's is not.",
  );
  page.section("environment")
    .item(
      bold("UDRBD_RUN_DIR"),
      "The run directory, default `/run/udrbd`: the control socket `control.sock`, " +
        "`daemon.pid`, `daemon.log`, and the NBD sockets of the volumes in `nbd/`.",
    )
    .item(
      bold("UDRBD_HOSTNAME"),
      "The host name that selects this host's sections of drbd.conf instead of the node name.",
    );
  page.section("see also").roff(seeAlso("udrbd"));
  return page.toString();
}
