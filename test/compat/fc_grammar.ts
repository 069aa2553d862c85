/**
 * The grammar of the drbdadm command-line fuzzer (fc_fuzz.ts): a handful of fixed, varied
 * configurations and a seeded generator of command lines over them — every command of
 * `drbdadm help` and `drbdadm hidden-commands`, target forms (`all`, names, `res/vol`,
 * `res:peer`, `minor-N`, unknown ones), general options in short, clustered, long and
 * abbreviated forms, per-command options (right, foreign, unknown, with and without values),
 * `--` passthrough, `help` and `--help`.
 *
 * Every generated line that could run a step carries `-d` (or `--dry-run`) before any `--`, so
 * the real drbdadm only prints; the configurations name backing devices that do not exist.
 *
 * The command and option lists are facts read off drbd-utils 9.22's `drbdadm help`,
 * `drbdadm hidden-commands` and `drbdadm <command> --help`, kept here so that the generator does
 * not depend on the table it tests.
 *
 * @module
 */

/** A small deterministic PRNG (mulberry32): the same seed gives the same command lines. */
export class Rng {
  #state: number;

  /** Starts the sequence of `seed`. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of `list`. */
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
}

/** One fixed configuration and the names a command line can use with it. */
export interface FuzzConfig {
  /** File name stem (`fc-<name>.conf` in the work folder). */
  name: string;
  /** The text; `@HOST@` becomes this machine's node name. */
  text: string;
  /** Resource names (stacked ones included). */
  resources: string[];
  /** Peer host names and connection names, per resource. */
  peers: Record<string, string[]>;
  /** Volume numbers, per resource. */
  volumes: Record<string, number[]>;
  /** Minor numbers of this host's volumes. */
  minors: number[];
}

/** The configurations the command lines run against. */
export const CONFIGS: readonly FuzzConfig[] = [
  {
    name: "two",
    text: `global { usage-count no; }
common { net { protocol C; } }
resource r0 {
  handlers { fence-peer "/bin/true"; split-brain "/bin/true"; }
  disk { on-io-error detach; }
  net { after-sb-0pri discard-zero-changes; }
  device /dev/drbd0; disk /dev/fc/r0; meta-disk internal;
  on @HOST@ { address 10.9.0.1:7788; node-id 0; }
  on bob { address 10.9.0.2:7788; node-id 1; }
}
resource r1 {
  device minor 1; disk /dev/fc/r1; meta-disk /dev/fc/md1 [0];
  on @HOST@ { address 10.9.0.1:7789; node-id 0; }
  on bob { address 10.9.0.2:7789; node-id 1; }
}
`,
    resources: ["r0", "r1"],
    peers: { r0: ["bob"], r1: ["bob"] },
    volumes: { r0: [0], r1: [0] },
    minors: [0, 1],
  },
  {
    name: "mesh",
    text: `resource m {
  options { quorum majority; }
  volume 0 { device minor 20; disk /dev/fc/m0; meta-disk internal; }
  on @HOST@ { address 10.9.1.1:7020; node-id 0; }
  on b { address 10.9.1.2:7020; node-id 1; }
  on c { address 10.9.1.3:7020; node-id 2; }
  connection { host @HOST@; host b; net { protocol C; } }
  connection cee { host @HOST@; host c; net { protocol A; } }
  connection { host b; host c; }
}
`,
    resources: ["m"],
    peers: { m: ["b", "c", "cee"] },
    volumes: { m: [0] },
    minors: [20],
  },
  {
    name: "vols",
    text: `resource mv {
  net { protocol C; }
  disk { resync-rate 10M; }
  volume 0 { device minor 30; disk /dev/fc/v0; meta-disk internal; }
  volume 1 { device minor 31; disk /dev/fc/v1; meta-disk internal; disk { c-plan-ahead 0; } }
  volume 5 { device minor 35; disk /dev/fc/v5; meta-disk /dev/fc/md5; }
  on @HOST@ { address 10.9.2.1:7030; node-id 3; }
  on peer2 { address 10.9.2.2:7030; node-id 4; }
}
`,
    resources: ["mv"],
    peers: { mv: ["peer2"] },
    volumes: { mv: [0, 1, 5] },
    minors: [30, 31, 35],
  },
  {
    name: "stacked",
    text: `resource low {
  device /dev/drbd40; disk /dev/fc/low; meta-disk internal;
  on @HOST@ { address 10.9.3.1:7040; }
  on lowb { address 10.9.3.2:7040; }
}
resource up {
  net { protocol A; }
  stacked-on-top-of low { device /dev/drbd41; address 192.0.2.41:7041; }
  on far { device /dev/drbd41; disk /dev/fc/far; address 10.9.3.9:7041; meta-disk internal; }
}
`,
    resources: ["low", "up"],
    peers: { low: ["lowb"], up: ["far"] },
    volumes: { low: [0], up: [0] },
    minors: [40, 41],
  },
  {
    name: "proxy",
    text: `resource px {
  proxy { memlimit 100M; plugin { lz4; } }
  device /dev/drbd50; disk /dev/fc/px; meta-disk internal;
  on @HOST@ {
    address 127.0.0.1:7050;
    proxy on @HOST@ { inside 127.0.0.2:7051; outside 192.0.2.50:7052; }
  }
  on pxpeer {
    address 10.9.4.2:7050;
    proxy on pxpeer { inside 127.0.0.2:7051; outside 10.9.4.3:7052; }
  }
}
`,
    resources: ["px"],
    peers: { px: ["pxpeer"] },
    volumes: { px: [0] },
    minors: [50],
  },
  {
    name: "diskless",
    text: `resource dl {
  volume 0 { device minor 60; meta-disk internal; }
  volume 1 { device minor 61; meta-disk internal; }
  on @HOST@ { volume 0 { disk none; } volume 1 { disk none; } address 10.9.5.1:7060; node-id 0; }
  on store { volume 0 { disk /dev/fc/s0; } volume 1 { disk /dev/fc/s1; } address 10.9.5.2:7060; node-id 1; }
}
resource keep {
  device minor 62; disk /dev/fc/keep; meta-disk internal;
  on @HOST@ { address 10.9.5.1:7062; node-id 0; }
  on store { address 10.9.5.2:7062; node-id 1; }
}
`,
    resources: ["dl", "keep"],
    peers: { dl: ["store"], keep: ["store"] },
    volumes: { dl: [0, 1], keep: [0] },
    minors: [60, 61, 62],
  },
  {
    name: "mixed",
    text: `skip resource old { on x { } }
resource elsewhere {
  device minor 70; disk /dev/fc/e; meta-disk internal;
  on hostx { address 10.9.6.1:7070; }
  on hosty { address 10.9.6.2:7070; }
}
resource fl {
  device minor 71; disk /dev/fc/fl; meta-disk internal;
  floating 10.9.6.5:7071;
  floating 10.9.6.6:7071;
}
resource here {
  startup { wfc-timeout 20; degr-wfc-timeout 10; }
  handlers { before-resync-target "/bin/true"; }
  device minor 72; disk /dev/fc/here; meta-disk internal;
  on @HOST@ { address 10.9.6.1:7072; }
  on away { address 10.9.6.2:7072; }
}
`,
    resources: ["elsewhere", "fl", "here", "old"],
    peers: { elsewhere: ["hosty"], fl: ["10.9.6.6"], here: ["away", "@HOST@"] },
    volumes: { elsewhere: [0], fl: [0], here: [0] },
    minors: [70, 71, 72],
  },
];

/** `drbdadm help`'s commands. */
const USAGE_COMMANDS = [
  "adjust",
  "adjust-with-progress",
  "apply-al",
  "attach",
  "connect",
  "create-md",
  "cstate",
  "del-path",
  "del-peer",
  "detach",
  "disconnect",
  "disk-options",
  "down",
  "dstate",
  "dump",
  "dump-md",
  "dump-xml",
  "forget-peer",
  "get-gi",
  "hidden-commands",
  "invalidate",
  "invalidate-remote",
  "net-options",
  "new-path",
  "new-peer",
  "outdate",
  "pause-sync",
  "peer-device-options",
  "primary",
  "resize",
  "resource-options",
  "resume-sync",
  "role",
  "secondary",
  "show-gi",
  "status",
  "up",
  "verify",
  "wait-con-int",
  "wait-connect",
  "wait-sync",
  "wipe-md",
];

/** `drbdadm hidden-commands`' commands (shell helpers, kernel helpers, expert commands). */
const HIDDEN_COMMANDS = [
  "new-resource",
  "proxy-down",
  "proxy-up",
  "sh-dev",
  "sh-ip",
  "sh-ll-dev",
  "sh-lr-of",
  "sh-md-dev",
  "sh-md-idx",
  "sh-minor",
  "sh-mod-parms",
  "sh-nop",
  "sh-resource",
  "sh-resources",
  "sh-udev",
  "after-resync-target",
  "before-resync-source",
  "before-resync-target",
  "disconnected",
  "fence-peer",
  "initial-split-brain",
  "local-io-error",
  "out-of-sync",
  "pri-lost",
  "pri-lost-after-sb",
  "pri-on-incon-degr",
  "quorum-lost",
  "split-brain",
  "unfence-peer",
  "check-resize",
  "del-minor",
  "new-current-uuid",
  "new-minor",
  "resume-io",
  "set-gi",
  "suspend-io",
];

/** Old names drbdadm still takes, and words it does not know. */
const ODD_COMMANDS = ["state", "outdate-peer", "frobnicate", "Up", "sh-", "dump-all"];

/** Commands that never run a step: no `-d` needed (it is still added sometimes). */
const QUIET = /^(sh-|dump$|dump-xml$|hidden-commands$)/;

/** Option values by option name; options not listed take no value or a number. */
const VALUES: Record<string, string[]> = {
  "on-io-error": ["detach", "pass_on", "bogus"],
  "resync-after": ["r1", "none", "nowhere"],
  "read-balancing": ["prefer-local", "round-robin"],
  protocol: ["A", "C", "Z"],
  "after-sb-0pri": ["disconnect", "discard-zero-changes", "nope"],
  "after-sb-1pri": ["consensus"],
  "after-sb-2pri": ["disconnect"],
  "rr-conflict": ["disconnect", "retry-connect"],
  "cram-hmac-alg": ["sha1"],
  "shared-secret": ["s3cr3t", "two words"],
  "data-integrity-alg": ["crc32c"],
  "csums-alg": ["md5"],
  "verify-alg": ["sha1"],
  "on-congestion": ["pull-ahead", "block"],
  fencing: ["resource-only", "dont-care"],
  "on-no-data-accessible": ["io-error", "suspend-io"],
  quorum: ["majority", "2", "all"],
  "on-no-quorum": ["io-error"],
  "on-suspended-primary-outdated": ["force-secondary"],
  "cpu-mask": ["3", "ff"],
  transport: ["tcp", "rdma"],
  _name: ["bob", "x y"],
  size: ["10G", "1M", "abc"],
  "c-max-rate": ["10M", "100M"],
  "resync-rate": ["40M", "1G"],
  "sync-from-peer-node-id": ["1", "9"],
  "max-peers": ["3", "40"],
  "al-stripe-size-kB": ["32"],
  start: ["0", "1024"],
  stop: ["2048"],
};

const YESNO_VALUES = ["yes", "no", "maybe"];

/** Per-command options, as `drbdadm <command> --help` lists them (`=` marks a required value). */
const DISK = [
  "size=",
  "on-io-error=",
  "disk-barrier",
  "disk-flushes",
  "disk-drain",
  "md-flushes",
  "resync-after=",
  "al-extents=",
  "al-updates",
  "discard-zeroes-if-aligned",
  "disable-write-same",
  "disk-timeout=",
  "read-balancing=",
  "rs-discard-granularity=",
];
const NET = [
  "protocol=",
  "timeout=",
  "max-epoch-size=",
  "connect-int=",
  "ping-int=",
  "sndbuf-size=",
  "rcvbuf-size=",
  "ko-count=",
  "allow-two-primaries",
  "cram-hmac-alg=",
  "shared-secret=",
  "after-sb-0pri=",
  "after-sb-1pri=",
  "after-sb-2pri=",
  "always-asbp",
  "rr-conflict=",
  "ping-timeout=",
  "data-integrity-alg=",
  "tcp-cork",
  "on-congestion=",
  "congestion-fill=",
  "congestion-extents=",
  "csums-alg=",
  "csums-after-crash-only",
  "verify-alg=",
  "use-rle",
  "socket-check-timeout=",
  "fencing=",
  "max-buffers=",
  "allow-remote-read",
  "_name=",
];
const RES = [
  "cpu-mask=",
  "on-no-data-accessible=",
  "auto-promote",
  "peer-ack-window=",
  "peer-ack-delay=",
  "twopc-timeout=",
  "twopc-retry-timeout=",
  "auto-promote-timeout=",
  "max-io-depth=",
  "quorum=",
  "on-no-quorum=",
  "quorum-minimum-redundancy=",
  "on-suspended-primary-outdated=",
];
const FORCE = ["force"];
const COMMAND_OPTIONS: Record<string, string[]> = {
  adjust: ["skip-disk", "skip-net", "tentative", "discard-my-data"],
  "apply-al": FORCE,
  attach: DISK,
  connect: ["tentative", "discard-my-data"],
  "create-md": ["max-peers=", "peer-max-bio-size=", "al-stripes=", "al-stripe-size-kB=", "force"],
  "del-peer": FORCE,
  detach: ["force", "diskless"],
  disconnect: FORCE,
  "disk-options": DISK,
  dstate: FORCE,
  "dump-md": FORCE,
  "forget-peer": FORCE,
  "get-gi": FORCE,
  invalidate: ["force", "sync-from-peer-node-id=", "reset-bitmap"],
  "invalidate-remote": ["reset-bitmap"],
  "net-options": NET,
  "new-current-uuid": ["clear-bitmap", "force-resync"],
  "new-minor": ["max-bio-size=", "diskless"],
  "new-peer": ["transport=", ...NET],
  "new-resource": RES,
  "peer-device-options": [
    "resync-rate=",
    "c-plan-ahead=",
    "c-delay-target=",
    "c-fill-target=",
    "c-max-rate=",
    "c-min-rate=",
    "bitmap",
  ],
  primary: FORCE,
  resize: ["size=", "assume-peer-has-space", "assume-clean", "al-stripes=", "al-stripe-size-kB="],
  "resource-options": RES,
  secondary: FORCE,
  "show-gi": FORCE,
  verify: ["start=", "stop="],
  "wipe-md": FORCE,
};

/** Every option any command takes, for foreign options. */
const ALL_OPTIONS = [...new Set(Object.values(COMMAND_OPTIONS).flat())];

/** Options no drbdadm command has (drbdsetup or drbdmeta ones, typos, nonsense). */
const UNKNOWN_OPTIONS = [
  "overwrite-data-of-peer",
  "discard-my-dat",
  "forc",
  "bogus",
  "wait-after-sb",
  "sk",
  "re",
  "al",
  "disk",
  "c-",
  "quorum-min",
  "peer",
  "max-file-size=",
];

/** One generated command line (without the leading program name). */
export interface FuzzCase {
  config: FuzzConfig;
  args: string[];
}

/** Where files of the work folder are: command lines name them by these placeholders. */
export const CONF_PLACEHOLDER = "@CONF@";
/** A second configuration (for `-t`). */
export const OTHER_PLACEHOLDER = "@OTHER@";
/** The work folder. */
export const DIR_PLACEHOLDER = "@DIR@";

function optionValue(rng: Rng, name: string): string {
  const values = VALUES[name];
  if (values && rng.chance(0.85)) return rng.pick(values);
  return rng.pick(["1", "100", "0", "-1", "7k", "yes", ""]);
}

/** One per-command option in one of its spellings. */
function commandOption(rng: Rng, spec: string): string[] {
  const required = spec.endsWith("=");
  let name = required ? spec.slice(0, -1) : spec;
  // an abbreviation, now and then (getopt accepts unambiguous prefixes)
  if (rng.chance(0.1) && name.length > 3) name = name.slice(0, 2 + rng.int(name.length - 2));
  if (required) {
    switch (rng.int(5)) {
      case 0:
        return [`--${name}`, optionValue(rng, name)];
      case 1:
        return [`--${name}`];
      default:
        return [`--${name}=${optionValue(rng, name)}`];
    }
  }
  if (rng.chance(0.3)) return [`--${name}=${rng.pick(YESNO_VALUES)}`];
  return [`--${name}`];
}

function someCommandOptions(rng: Rng, command: string): string[][] {
  const own = COMMAND_OPTIONS[command] ?? [];
  const out: string[][] = [];
  const n = rng.chance(0.5) ? 0 : 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    const spec = r < 0.65 && own.length
      ? rng.pick(own)
      : r < 0.85
      ? rng.pick(ALL_OPTIONS)
      : rng.pick(UNKNOWN_OPTIONS);
    out.push(commandOption(rng, spec));
  }
  return out;
}

/** One target word of a command line. */
function target(rng: Rng, cfg: FuzzConfig): string {
  const res = rng.pick(cfg.resources);
  const vols = cfg.volumes[res] ?? [0];
  const peers = cfg.peers[res] ?? [];
  const r = rng.next();
  if (r < 0.3) return res;
  if (r < 0.4) return "all";
  if (r < 0.5) return `${res}/${rng.chance(0.8) ? rng.pick(vols) : rng.pick([7, 99, "x", ""])}`;
  if (r < 0.62) {
    return `${res}:${rng.chance(0.8) && peers.length ? rng.pick(peers) : rng.pick(["nobody", ""])}`;
  }
  if (r < 0.7) return `${res}:${rng.pick(peers)}/${rng.pick(vols)}`;
  if (r < 0.78) return `minor-${rng.chance(0.8) ? rng.pick(cfg.minors) : rng.pick([999, "x"])}`;
  if (r < 0.86) return rng.pick(["nosuch", "r9", "ALL", "al", "r0x"]);
  if (r < 0.9) return rng.pick(["", "\x01bad", "@HOST@", "-", "res with space"]);
  // another configuration's resource: unknown here
  return rng.pick(rng.pick(CONFIGS).resources);
}

/** A `-c` option in one of its spellings (the file may be missing or unreadable). */
function configOption(rng: Rng): string[] {
  let file = CONF_PLACEHOLDER;
  if (rng.chance(0.04)) file = `${DIR_PLACEHOLDER}/missing.conf`;
  switch (rng.int(6)) {
    case 0:
      return [`-c${file}`];
    case 1:
      return [`--config-file=${file}`];
    case 2:
      return ["--config-file", file];
    case 3:
      return [`--config=${file}`];
    default:
      return ["-c", file];
  }
}

const DRY = [["-d"], ["--dry-run"], ["--dry"], ["-dv"], ["-vd"], ["-Sd"]];

/** The general options besides `-c` and `-d`, each as the words of one occurrence. */
function generalOption(rng: Rng): string[] {
  switch (rng.int(16)) {
    case 0:
    case 1:
      return [rng.pick(["-v", "--verbose", "--verb", "-vv"])];
    case 2:
    case 3:
      return [rng.pick(["-S", "--stacked", "--stack"])];
    case 4:
      return rng.pick([
        ["-t", OTHER_PLACEHOLDER],
        [`--config-to-test=${OTHER_PLACEHOLDER}`],
        ["-t", `${DIR_PLACEHOLDER}/missing.conf`],
      ]);
    case 5:
      return rng.pick([
        ["-E", OTHER_PLACEHOLDER],
        [`--config-to-exclude=${OTHER_PLACEHOLDER}`],
        ["-E", `${DIR_PLACEHOLDER}/missing.conf`],
      ]);
    case 6:
      return rng.pick([
        ["-s", "/usr/sbin/drbdsetup"],
        ["--drbdsetup=/nonexistent/drbdsetup"],
        ["-m", "/usr/sbin/drbdmeta"],
        ["--drbdmeta", "/nonexistent/drbdmeta"],
        ["-p", "/nonexistent/drbd-proxy-ctl"],
        ["--drbd-proxy-ctl=/usr/sbin/drbdsetup"],
        ["-s", CONF_PLACEHOLDER],
      ]);
    case 7:
      return rng.pick([["-n", "RES"], ["--sh-varname=my_var"], ["-n", "bad-name"], ["-n", ""]]);
    case 8:
      return rng.pick([["-V"], ["--version"], ["--vers"]]);
    case 9:
      return rng.pick([
        ["-W", "--force"],
        ["--setup-option=--discard-my-data"],
        ["-W--c-max-rate=10M"],
        ["-W", "--bogus"],
      ]);
    case 10:
      return rng.pick([["-h"], ["--help"], ["--he"]]);
    case 11:
      return rng.pick([["-x"], ["-q"], ["--nonsense"], ["--d"], ["--s"], ["--c"], ["--co"]]);
    default:
      return rng.pick([["-v"], ["-S"], ["--stacked"]]);
  }
}

/** A missing argument: a value-taking option as the last word. */
const DANGLING = [["-c"], ["-t"], ["--config-file"], ["-W"], ["-n"], ["--drbdsetup"], ["-E"]];

/** `list` in a random order. */
function shuffle<T>(rng: Rng, list: readonly T[]): T[] {
  const a = [...list];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** The words of `lists`, shuffled but keeping each list's words together. */
function shuffleGroups(rng: Rng, lists: string[][]): string[] {
  return shuffle(rng, lists).flat();
}

/**
 * The command lines of one seed: `count` of them, each over one of {@link CONFIGS}, with
 * `@CONF@`, `@OTHER@` and `@DIR@` to be replaced by the caller.
 */
export function generate(seed: number, count: number): FuzzCase[] {
  const rng = new Rng(seed);
  const commands = [...USAGE_COMMANDS, ...HIDDEN_COMMANDS];
  const out: FuzzCase[] = [];
  for (let n = 0; n < count; n++) {
    const config = rng.pick(CONFIGS);
    const r = rng.next();
    const command = r < 0.9
      ? rng.pick(commands)
      : r < 0.95
      ? rng.pick(ODD_COMMANDS)
      : rng.pick(["help", ""]);
    // options that may go anywhere (getopt permutes them)
    const floating: string[][] = [];
    if (!QUIET.test(command) || rng.chance(0.3)) floating.push(rng.pick(DRY));
    for (let i = rng.int(3); i > 0; i--) floating.push(generalOption(rng));
    if (rng.chance(0.97)) floating.push(configOption(rng));
    const cmdOptions = someCommandOptions(rng, command);
    if (rng.chance(0.05)) cmdOptions.push(["--help"]);
    const targets: string[] = [];
    if (command !== "" && rng.chance(0.9)) {
      for (let i = rng.chance(0.75) ? 1 : 1 + rng.int(3); i > 0; i--) {
        targets.push(target(rng, config));
      }
    }
    if (command === "help" && rng.chance(0.5)) targets.unshift(rng.pick(commands));
    const commandWords = command === "" ? [] : [command];
    // -d goes first where a value-less option could swallow the word after it, and before
    // any `--`: a line that lost its -d would make the real drbdadm run its steps
    const dry = floating.filter((w) => DRY.includes(w));
    const rest = floating.filter((w) => !DRY.includes(w));
    let args: string[];
    const form = rng.next();
    if (form < 0.12) {
      // `drbdadm [general] -- --opt CMD targets`: options before the command, as operands
      args = [...dry.flat(), ...shuffleGroups(rng, rest), "--", ...cmdOptions.flat()];
      args.push(...commandWords, ...targets);
    } else if (form < 0.18) {
      // after `--` everything is an operand: options after the command become names
      args = [...dry.flat(), ...shuffleGroups(rng, rest), ...commandWords, "--"];
      args.push(...cmdOptions.flat(), ...targets);
    } else if (form < 0.6) {
      // the usual order: general options, command, its options, targets
      args = [...shuffleGroups(rng, floating), ...commandWords, ...cmdOptions.flat(), ...targets];
    } else {
      // options anywhere (getopt permutes), each option with its value
      const groups = shuffle(rng, [...rest, ...cmdOptions]);
      const positional = [...commandWords, ...targets];
      args = [...dry.flat()];
      let g = 0;
      let p = 0;
      while (g < groups.length || p < positional.length) {
        if (p < positional.length && (g >= groups.length || rng.chance(0.4))) {
          args.push(positional[p++]);
        } else args.push(...groups[g++]);
      }
    }
    if (rng.chance(0.03)) args.push(...rng.pick(DANGLING));
    out.push({ config, args });
  }
  return out;
}
