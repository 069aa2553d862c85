/**
 * Generator of rejected and borderline drbd.conf files for differential testing against
 * drbd-utils 9.22's drbdadm: valid base configurations, mutated by a seeded PRNG (tokens and
 * lines dropped, duplicated, swapped; keywords misspelt; options and sections put in the wrong
 * place; out-of-range values, wrong units, bad addresses; duplicated hosts, minors, node-ids;
 * includes of missing files; skip blocks; unterminated strings, long tokens, stray UTF-8).
 * The same seed gives the same file, byte for byte, on every run.
 *
 * `@HOST@` stands for this machine's node name and `@DIR@` for the folder the files are
 * written to, as in the compat corpus.
 *
 * @module
 */

/** A deterministic PRNG (mulberry32): numbers in [0, 1) from a 32-bit seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid configurations the mutations start from; each one drbdadm 9.22 accepts. */
export const BASES: string[] = [
  `global { usage-count no; }
common { net { protocol C; } }
resource r0 {
  on @HOST@ {
    device /dev/drbd1;
    disk /dev/sda7;
    address 127.0.0.1:7789;
    meta-disk internal;
  }
  on bob {
    device /dev/drbd1;
    disk /dev/sda7;
    address 10.1.1.32:7789;
    meta-disk internal;
  }
}
`,
  `resource r0 {
  device /dev/drbd1;
  disk /dev/vg/r0;
  meta-disk internal;
  on @HOST@ { address 10.1.1.31:7000; node-id 0; }
  on bob { address 10.1.1.32:7000; node-id 1; }
  on charlie { address 10.1.1.33:7000; node-id 2; }
  connection-mesh { hosts @HOST@ bob charlie; }
}
`,
  `resource vols {
  volume 0 { device /dev/drbd50; disk /dev/vg/v0; meta-disk internal; }
  volume 1 { device /dev/drbd51; disk /dev/vg/v1; meta-disk internal; disk { resync-rate 10M; } }
  volume 2 { device /dev/drbd52; disk /dev/vg/v2; meta-disk /dev/vg/md [0]; }
  on @HOST@ { address 127.0.0.1:7050; }
  on vp { address 10.50.0.2:7050; }
}
`,
  `resource r0 {
  device /dev/drbd11;
  disk /dev/vg/p;
  meta-disk internal;
  on @HOST@ { node-id 0; }
  on peer { node-id 1; }
  connection {
    path { host @HOST@ address 10.0.0.1:7011; host peer address 10.0.0.2:7011; }
    path { host @HOST@ address 10.1.0.1:7011; host peer address 10.1.0.2:7011; }
    net { protocol A; }
  }
}
`,
  `resource r0 {
  protocol C;
  device /dev/drbd0;
  disk /dev/sda6;
  meta-disk internal;
  on @HOST@ { address 10.0.0.1:7788; }
  on bob { address 10.0.0.2:7788; }
}
resource r0-U {
  protocol A;
  stacked-on-top-of r0 {
    device /dev/drbd10;
    address 192.168.42.1:7789;
  }
  on charlie {
    device /dev/drbd10;
    disk /dev/hda6;
    address 192.168.42.2:7789;
    meta-disk internal;
  }
}
`,
  `resource fl {
  device /dev/drbd23;
  disk /dev/sdg;
  meta-disk internal;
  floating 127.0.0.1:7023 { node-id 0; }
  floating 10.23.0.2:7023 { node-id 1; }
}
`,
  `global { usage-count no; dialog-refresh 5; minor-count 64; }
common {
  disk { on-io-error detach; resync-rate 40M; al-extents 1237; c-plan-ahead 20; }
  net { protocol C; max-buffers 8000; ping-timeout 10; after-sb-0pri discard-zero-changes; }
  options { auto-promote yes; quorum majority; }
  startup { wfc-timeout 20; degr-wfc-timeout 10; }
}
resource opt {
  handlers { fence-peer "/usr/lib/drbd/crm-fence-peer.9.sh"; split-brain "echo sb"; }
  net { fencing resource-only; cram-hmac-alg sha1; shared-secret "s3cr3t"; }
  device minor 40;
  disk /dev/vg/opt;
  meta-disk /dev/vg/meta;
  on @HOST@ { address 127.0.0.1:7040; }
  on op { address 10.40.0.2:7040; }
}
`,
  `resource six {
  device /dev/drbd60; disk /dev/vg/six; meta-disk internal;
  on @HOST@ { address ipv6 [fd00::1]:7060; }
  on sp { address ipv6 [fd00::2]:7060; }
}
resource four {
  device /dev/drbd61 minor 61; disk /dev/vg/four; meta-disk /dev/vg/md [3];
  on @HOST@ { address ipv4 10.61.0.1:7061; }
  on fp { address ipv4 10.61.0.2:7061; }
}
`,
  `skip resource old { this is ignored }
include "@DIR@/inc/*.res";
resource kept {
  device /dev/drbd75; disk /dev/vg/k; meta-disk internal;
  on @HOST@ { address 10.75.0.1:7075; }
  on kp { address 10.75.0.2:7075; }
}
`,
  `resource m4 {
  volume 0 { device /dev/drbd80; disk /dev/vg/m0; meta-disk internal; }
  volume 1 { device /dev/drbd81; disk none; }
  on @HOST@ { address 10.8.0.1:7080; node-id 1; }
  on b { address 10.8.0.2:7080; node-id 2; }
  on c { address 10.8.0.3:7080; node-id 3; }
  on d { address 10.8.0.4:7080; node-id 4; }
  connection-mesh { hosts @HOST@ b c d; net { protocol B; } }
  options { quorum 2; on-no-quorum io-error; }
}
`,
  `resource a {
  device /dev/drbd90; disk /dev/vg/a; meta-disk internal;
  on @HOST@ { address 10.9.0.1:7090; }
  on ap { address 10.9.0.2:7090; }
}
resource b {
  device /dev/drbd91; disk /dev/vg/b; meta-disk internal;
  disk { resync-after a; }
  on @HOST@ { address 10.9.0.1:7091; }
  on ap { address 10.9.0.2:7091; }
}
`,
  `resource dl {
  device /dev/drbd95; meta-disk internal;
  on @HOST@ { disk none; address 10.95.0.1:7095; node-id 0; }
  on s1 { disk /dev/vg/s1; address 10.95.0.2:7095; node-id 1; }
  on s2 { disk /dev/vg/s2; address 10.95.0.3:7095; node-id 2; }
  connection-mesh { hosts @HOST@ s1 s2; }
}
`,
];

/** Files placed beside the generated configurations, for the `include` mutations. */
export const INCLUDED: Record<string, string> = {
  "inc/one.res": `resource inc1 {
  device /dev/drbd96; disk /dev/vg/i1; meta-disk internal;
  on @HOST@ { address 10.96.0.1:7096; }
  on ip { address 10.96.0.2:7096; }
}
`,
  "inc/two.res": `resource inc2 {
  device /dev/drbd97; disk /dev/vg/i2; meta-disk internal;
  on @HOST@ { address 10.97.0.1:7097; }
  on ip { address 10.97.0.2:7097; }
}
`,
  "inc/common.inc": `common { net { protocol B; } }
`,
  "inc/bad.inc": `resource broken {
  device /dev/drbd98; disk /dev/vg/x; meta-disk internal
  on @HOST@ { address 10.98.0.1:7098; }
}
`,
};

type Node =
  | { kind: "stmt"; words: string[] }
  | { kind: "sec"; head: string[]; body: Node[] };

/** Splits configuration text into words, strings and the `{ } ;` punctuation. */
function tokens(text: string): string[] {
  const out: string[] = [];
  const re = /#[^\n]*|"(?:[^"\\\n]|\\.)*"|[{};]|[^\s{};"#]+/g;
  for (const m of text.matchAll(re)) if (!m[0].startsWith("#")) out.push(m[0]);
  return out;
}

function parse(text: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let words: string[] = [];
  for (const t of tokens(text)) {
    const top = stack[stack.length - 1];
    if (t === ";") {
      top.push({ kind: "stmt", words });
      words = [];
    } else if (t === "{") {
      const sec: Node = { kind: "sec", head: words, body: [] };
      top.push(sec);
      stack.push(sec.body);
      words = [];
    } else if (t === "}") {
      // `skip resource old { this is ignored }`: words left open become a statement
      if (words.length) top.push({ kind: "stmt", words });
      words = [];
      stack.pop();
    } else words.push(t);
  }
  return root;
}

function serialize(nodes: Node[], depth = 0): string[] {
  const pad = "  ".repeat(depth);
  const lines: string[] = [];
  for (const n of nodes) {
    if (n.kind === "stmt") lines.push(`${pad}${n.words.join(" ")};`);
    else {
      lines.push(`${pad}${[...n.head, "{"].join(" ")}`);
      lines.push(...serialize(n.body, depth + 1));
      lines.push(`${pad}}`);
    }
  }
  return lines;
}

/** Every section list of the tree (the top level included), with its owning section head. */
function bodies(nodes: Node[], head: string[] = []): { head: string[]; body: Node[] }[] {
  const out = [{ head, body: nodes }];
  for (const n of nodes) if (n.kind === "sec") out.push(...bodies(n.body, n.head));
  return out;
}

function statements(nodes: Node[]): { stmt: { words: string[] }; parent: Node[] }[] {
  const out: { stmt: { words: string[] }; parent: Node[] }[] = [];
  for (const n of nodes) {
    if (n.kind === "stmt") out.push({ stmt: n, parent: nodes });
    else out.push(...statements(n.body));
  }
  return out;
}

function sections(nodes: Node[]): { sec: Node & { kind: "sec" }; parent: Node[] }[] {
  const out: { sec: Node & { kind: "sec" }; parent: Node[] }[] = [];
  for (const n of nodes) {
    if (n.kind === "sec") out.push({ sec: n, parent: nodes }, ...sections(n.body));
  }
  return out;
}

const clone = (nodes: Node[]): Node[] => structuredClone(nodes);

const BAD_NUMBERS = [
  "10X",
  "-1",
  "0x10",
  "1.5M",
  "99999999999999999999",
  "4294967296",
  "0",
  "1G",
  "1k",
  "1K",
  "1s",
  "010",
  "+5",
  "1e3",
  "2T",
  "12b",
  "18446744073709551616",
  '"10"',
  '""',
  "M",
];
const BAD_WORDS = ["maybe", "yes", "no", "C", "D", "detach", "pass_on", "none", "-", "0", '""'];
const BAD_ADDRESSES = [
  "10.0.0.1",
  "10.0.0.1:",
  ":7788",
  "10.0.0.1:99999",
  "10.0.0.1:0",
  "10.0.0.1:65536",
  "ipv6 10.0.0.1:7788",
  "ipv4 [fe80::1]:7788",
  "sci 10.0.0.9:7788",
  "ssocks 10.0.0.9:7788",
  "sdp 10.0.0.9:7788",
  "ipv9 10.0.0.9:7788",
  "256.1.1.1:7788",
  "host.example:7788",
  "[::1]:7788",
  "ipv6 [::1]:7788",
  "ipv6 ::1:7788",
  "1.2.3:7788",
  "10.0.0.1:-5",
  "10.0.0.1:7788x",
  "10.0.0.1 7788",
  "ipv4",
  "10.0.0.2:7788",
  "127.0.0.1:7789",
];
const BAD_DEVICES = [
  "/dev/drbd",
  "/dev/drbdX",
  "/dev/drbd1048576",
  "/dev/drbd-1",
  "drbd3",
  "minor 1",
  "minor -1",
  "minor 0x3",
  "minor 1048576",
  "/dev/drbd1 minor 2",
  "/dev/drbd1 minor 1",
  "/dev/drbd0",
  "/dev/drbd90",
  "/dev/mapper/x minor 4",
  "minor",
];
const BAD_META = [
  "internal [0]",
  "/dev/md",
  "/dev/md [-1]",
  "/dev/md [x]",
  "/dev/md [0",
  "/dev/md 0",
  "flexible",
  "flexible /dev/md",
  "none",
  "/dev/sda7",
  "internal internal",
];
/** Option statements that belong somewhere; the mutations put them anywhere. */
const STRAY_OPTIONS = [
  "protocol C",
  "protocol Z",
  "resync-rate 10M",
  "on-io-error detach",
  "usage-count no",
  "node-id 1",
  "node-id 32",
  "device /dev/drbd3",
  "disk /dev/vg/x",
  "meta-disk internal",
  "address 10.3.3.3:7003",
  "auto-promote yes",
  "quorum majority",
  'fence-peer "/bin/true"',
  "minor-count 5",
  "dialog-refresh 1",
  "c-plan-ahead 20",
  "wfc-timeout 10",
  "sndbuf-size 0",
  "after-sb-0pri disconnect",
  "cpu-mask 1",
  "hosts a b",
  "host x",
  "flexible-meta-disk /dev/md",
  "disable-ip-verification",
  "udev-always-use-vnr",
  "syncer-rate 10M",
  "rate 10M",
  "on-no-data-accessible suspend-io",
  "al-updates no",
  "connect-int 10",
  "memlimit 10M",
  "inside 127.0.0.1:7000",
  "skip",
  "volume 0",
  'template-file "/x"',
  "become-primary-on both",
  "allow-two-primaries",
  "size 100M",
  "peer-device-options",
  "discard-zeroes-if-aligned yes",
  "rs-discard-granularity 4096",
  "verify-alg sha1",
  "csums-alg md5",
  "transport tcp",
  "load-balance-paths yes",
];
const STRAY_SECTIONS = [
  "net { protocol A; }",
  "disk { on-io-error pass_on; }",
  "options { cpu-mask 1; }",
  'handlers { split-brain "x"; }',
  "startup { wfc-timeout 5; }",
  "volume 3 { device /dev/drbd33; disk /dev/vg/v3; meta-disk internal; }",
  "volume 0 { device /dev/drbd34; disk /dev/vg/v4; meta-disk internal; }",
  "on x { address 10.4.4.4:7004; }",
  "on @HOST@ { address 10.4.4.5:7004; }",
  "connection { host @HOST@; host bob; }",
  "path { host @HOST@ address 10.5.5.1:7005; host bob address 10.5.5.2:7005; }",
  "connection-mesh { hosts @HOST@ bob; }",
  "global { usage-count yes; }",
  "common { disk { on-io-error detach; } }",
  "resource z { device /dev/drbd77; disk /dev/z; meta-disk internal; on @HOST@ { address 10.7.7.1:7077; } on zp { address 10.7.7.2:7077; } }",
  "floating 10.6.6.6:7006 { node-id 5; }",
  "stacked-on-top-of r0 { device /dev/drbd44; address 10.4.4.4:7044; }",
  "proxy { memlimit 10M; }",
  "skip { anything; }",
  "peer-device-options { c-max-rate 10M; }",
  "disk { }",
  "net { }",
  "on bob { }",
  "volume 1 { }",
  "connection { }",
  "resource { }",
  "on { address 10.1.1.1:7001; }",
  "plugin { lz4; }",
];
/**
 * drbd.conf options as "name sections kind" (kind: `min..max` with an optional unit, enum values
 * joined by `|`, or boolean, flag, string), frozen here so that a new row in lib/options does not
 * change what a seed generates.
 */
const OPTION_ROWS = `
usage-count global yes|no|ask
minor-count global 1..255
dialog-refresh global 0..600
disable-ip-verification global flag
udev-always-use-vnr global flag
cmd-timeout-short global 0..900
cmd-timeout-medium global 0..900
cmd-timeout-long global 0..900
cpu-mask options string
on-no-data-accessible options io-error|suspend-io
auto-promote options boolean
peer-ack-window options 2048..204800s
peer-ack-delay options 1..10000
twopc-timeout options 50..600
twopc-retry-timeout options 1..50
auto-promote-timeout options 0..600
max-io-depth options 4..4294967295
quorum options 1..32|off|majority|all
on-no-quorum options io-error|suspend-io
quorum-minimum-redundancy options 1..32|off|majority|all
on-suspended-primary-outdated options disconnect|force-secondary
transport net string
protocol net A|B|C
timeout net 1..600
max-epoch-size net 1..20000
connect-int net 1..120
ping-int net 1..120
sndbuf-size net,proxy 0..10485760
rcvbuf-size net,proxy 0..10485760
ko-count net 0..200
allow-two-primaries net boolean
cram-hmac-alg net string
shared-secret net string
after-sb-0pri net disconnect|discard-younger-primary|discard-older-primary|discard-zero-changes|discard-least-changes|discard-local|discard-remote
after-sb-1pri net disconnect|consensus|discard-secondary|call-pri-lost-after-sb|violently-as0p
after-sb-2pri net disconnect|call-pri-lost-after-sb|violently-as0p
always-asbp net boolean
rr-conflict net disconnect|call-pri-lost|violently|retry-connect|auto-discard
ping-timeout net,proxy 1..300
data-integrity-alg net string
tcp-cork net boolean
on-congestion net block|pull-ahead|disconnect
congestion-fill net 0..20971520s
congestion-extents net 67..65534
csums-alg net string
csums-after-crash-only net boolean
verify-alg net string
use-rle net boolean
socket-check-timeout net 0..300
fencing net dont-care|resource-only|resource-and-stonith
max-buffers net 32..131072
allow-remote-read net boolean
_name net string
size disk 0..2199023255552s
on-io-error disk pass_on|call-local-io-error|detach
disk-barrier disk boolean
disk-flushes disk boolean
disk-drain disk boolean
md-flushes disk boolean
resync-after disk -1..1048575
al-extents disk 67..65534
al-updates disk boolean
discard-zeroes-if-aligned disk boolean
disable-write-same disk boolean
disk-timeout disk 0..6000
read-balancing disk prefer-local|prefer-remote|round-robin|least-pending|when-congested-remote|32K-striping|64K-striping|128K-striping|256K-striping|512K-striping|1M-striping
rs-discard-granularity disk 0..1048576
resync-rate peer-device 1..8388608k
c-plan-ahead peer-device 0..300
c-delay-target peer-device 1..100
c-fill-target peer-device 0..1048576s
c-max-rate peer-device 0..4194304k
c-min-rate peer-device 0..4194304k
bitmap peer-device boolean
wfc-timeout startup 0..300000
degr-wfc-timeout startup 0..300000
outdated-wfc-timeout startup 0..300000
wait-after-sb startup boolean
stacked-timeouts startup flag
become-primary-on startup string
pri-on-incon-degr handlers string
pri-lost-after-sb handlers string
pri-lost handlers string
initial-split-brain handlers string
split-brain handlers string
outdate-peer handlers string
fence-peer handlers string
unfence-peer handlers string
local-io-error handlers string
before-resync-target handlers string
after-resync-target handlers string
before-resync-source handlers string
out-of-sync handlers string
quorum-lost handlers string
disconnected handlers string
memlimit proxy 0..
read-loops proxy 0..
compression proxy 0..
bwlimit proxy 0..
`.trim().split("\n").map((l) => l.split(" "));
const KEYWORD = /^[a-z][a-z0-9-]*$/;

/** The result of one generation: the text and the mutations applied, for the report. */
export interface Generated {
  /** Configuration text with `@HOST@` / `@DIR@` still in it. */
  text: string;
  /** What was done to which base, in words. */
  how: string[];
}

/** The configuration of `seed`: a base, then one to three mutations. */
export function generate(seed: number): Generated {
  const rnd = prng(seed * 2654435761);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const baseIndex = Math.floor(rnd() * BASES.length);
  const how = [`base ${baseIndex}`];
  // a few whole-file oddities that no mutation of a base produces
  if (rnd() < 0.03) {
    const odd = pick([
      "",
      "\n\n",
      "# only a comment\n# and another\n",
      ";\n",
      "}\n",
      "{\n",
      "\uFEFFresource r { }\n",
      "resource\n",
      'include "@DIR@/inc/*.res";\n',
      'include "@DIR@/nothing-*.conf";\n',
      'include "@DIR@/missing.conf";\n',
      'include "inc/one.res";\n',
      "skip { }\n",
      "skip resource x { { } }\n",
      "global { }\n",
      "common { }\n",
      "global { usage-count no; }\n",
    ]);
    return { text: odd, how: [`whole file ${JSON.stringify(odd)}`] };
  }
  let tree = parse(BASES[baseIndex]);
  let lines: string[] | undefined;
  const count = 1 + Math.floor(rnd() * rnd() * 4);
  for (let k = 0; k < count; k++) {
    const treeOps = [
      "badValue",
      "badValue",
      "strayOption",
      "straySection",
      "dupSection",
      "dupStatement",
      "copyValue",
      "dropNodeIds",
      "dropStatement",
      "dropSection",
      "include",
      "skip",
      "misspell",
      "longToken",
      "unterminated",
      "utf8",
      "tableOption",
      "tableOption",
      "tableOption",
    ];
    const lineOps = [
      "dropToken",
      "dupToken",
      "swapTokens",
      "dropLine",
      "dupLine",
      "semicolons",
      "joinLines",
    ];
    const op = lines ? pick(lineOps) : pick([...treeOps, ...treeOps, ...lineOps]);
    if (!lines && lineOps.includes(op)) lines = serialize(tree);
    if (lines) {
      how.push(lineOp(op, lines, rnd));
    } else {
      tree = clone(tree);
      how.push(treeOp(op, tree, rnd, pick));
    }
  }
  const text = (lines ?? serialize(tree)).join("\n") + "\n";
  return { text, how };
}

function treeOp(
  op: string,
  tree: Node[],
  rnd: () => number,
  pick: <T>(xs: readonly T[]) => T,
): string {
  const stmts = statements(tree);
  const secs = sections(tree);
  if (!stmts.length) return "no statement left";
  switch (op) {
    case "tableOption": {
      const [name, where, kind] = pick(OPTION_ROWS);
      const right = where.split(",")[0].replace("peer-device", "disk");
      const section = rnd() < 0.8 ? right : pick(["net", "disk", "options", "startup", "global"]);
      const value = optionValue(kind, rnd, pick);
      const stmt: Node = { kind: "stmt", words: value === "" ? [name] : [name, value] };
      // the section goes where such sections live: common, a resource, a volume, a host, a
      // connection (or, for global, the top level)
      const owners = [
        { head: [] as string[], body: tree },
        ...bodies(tree).filter((b) =>
          /^(common|resource|volume|on|connection|global)$/.test(b.head[0])
        ),
      ];
      const owner = section === "global"
        ? owners[0]
        : pick(owners.slice(1).length ? owners.slice(1) : owners);
      let sec = owner.body.find((n) =>
        n.kind === "sec" && n.head[0] === section && n.head.length === 1
      );
      if (!sec || rnd() < 0.1) {
        sec = { kind: "sec", head: [section], body: [] };
        owner.body.splice(Math.floor(rnd() * (owner.body.length + 1)), 0, sec);
      }
      if (sec.kind === "sec") sec.body.splice(Math.floor(rnd() * (sec.body.length + 1)), 0, stmt);
      return `option '${[name, value].join(" ")}' in ${section} of '${owner.head.join(" ")}'`;
    }
    case "badValue": {
      const s = pick(stmts).stmt;
      const kw = s.words[0];
      let pool: string[];
      if (kw === "address" || kw === "outside" || kw === "inside") pool = BAD_ADDRESSES;
      else if (kw === "device") pool = BAD_DEVICES;
      else if (kw === "meta-disk" || kw === "flexible-meta-disk") pool = BAD_META;
      else if (/^[0-9"]/.test(s.words[s.words.length - 1] ?? "")) pool = BAD_NUMBERS;
      else pool = rnd() < 0.5 ? BAD_WORDS : BAD_NUMBERS;
      const v = pick(pool);
      const before = s.words.join(" ");
      // `host NAME address ADDR` of a path: replace what follows `address`
      const at = s.words.indexOf("address");
      s.words = at > 0
        ? [...s.words.slice(0, at + 1), ...pick(BAD_ADDRESSES).split(" ")]
        : [kw, ...v.split(" ")];
      return `value: ${before} -> ${s.words.join(" ")}`;
    }
    case "strayOption": {
      const b = pick(bodies(tree));
      const o = pick(STRAY_OPTIONS);
      b.body.splice(Math.floor(rnd() * (b.body.length + 1)), 0, {
        kind: "stmt",
        words: o.split(" "),
      });
      return `option '${o}' into '${b.head.join(" ")}'`;
    }
    case "straySection": {
      const b = pick(bodies(tree));
      const s = pick(STRAY_SECTIONS);
      b.body.splice(Math.floor(rnd() * (b.body.length + 1)), 0, ...parse(s));
      return `section '${s}' into '${b.head.join(" ")}'`;
    }
    case "dupSection": {
      if (!secs.length) return "no section";
      const { sec, parent } = pick(secs);
      parent.splice(parent.indexOf(sec) + 1, 0, structuredClone(sec));
      return `duplicate section '${sec.head.join(" ")}'`;
    }
    case "dupStatement": {
      const { stmt, parent } = pick(stmts);
      parent.splice(parent.indexOf(stmt as Node) + 1, 0, structuredClone(stmt as Node));
      return `duplicate '${stmt.words.join(" ")}'`;
    }
    case "copyValue": {
      // make two statements of the same keyword equal: duplicate minors, addresses, node-ids
      const kw = pick(["device", "address", "node-id", "disk", "meta-disk", "volume"]);
      const same = stmts.filter((s) => s.stmt.words[0] === kw);
      const heads = secs.filter((s) => s.sec.head[0] === kw);
      if (same.length >= 2) {
        const [a, b] = [pick(same), pick(same)];
        b.stmt.words = [...a.stmt.words];
        return `copy '${a.stmt.words.join(" ")}'`;
      }
      if (heads.length >= 2) {
        const [a, b] = [pick(heads), pick(heads)];
        b.sec.head = [...a.sec.head];
        return `copy head '${a.sec.head.join(" ")}'`;
      }
      const ons = secs.filter((s) => s.sec.head[0] === "on" || s.sec.head[0] === "resource");
      if (ons.length >= 2) {
        const [a, b] = [pick(ons), pick(ons)];
        b.sec.head = [...a.sec.head];
        return `copy head '${a.sec.head.join(" ")}'`;
      }
      return "nothing to copy";
    }
    case "dropNodeIds": {
      for (const { stmt, parent } of stmts) {
        if (stmt.words[0] === "node-id" && rnd() < 0.7) {
          parent.splice(parent.indexOf(stmt as Node), 1);
        }
      }
      return "drop node-ids";
    }
    case "dropStatement": {
      const { stmt, parent } = pick(stmts);
      parent.splice(parent.indexOf(stmt as Node), 1);
      return `drop '${stmt.words.join(" ")}'`;
    }
    case "dropSection": {
      if (!secs.length) return "no section";
      const { sec, parent } = pick(secs);
      parent.splice(parent.indexOf(sec), 1);
      return `drop section '${sec.head.join(" ")}'`;
    }
    case "include": {
      const b = rnd() < 0.7 ? tree : pick(bodies(tree)).body;
      const what = pick([
        '"@DIR@/inc/*.res"',
        '"@DIR@/inc/one.res"',
        '"@DIR@/inc/none-*.res"',
        '"@DIR@/missing.conf"',
        '"@DIR@/inc/bad.inc"',
        '"@DIR@/inc/common.inc"',
        '"inc/one.res"',
        '"@DIR@/inc/"',
        '"@DIR@/inc/[o]ne.res"',
        "@DIR@/inc/one.res",
        '""',
      ]);
      b.splice(Math.floor(rnd() * (b.length + 1)), 0, { kind: "stmt", words: ["include", what] });
      return `include ${what}`;
    }
    case "skip": {
      if (!secs.length) return "no section";
      const { sec } = pick(secs);
      sec.head = ["skip", ...sec.head];
      return `skip '${sec.head.join(" ")}'`;
    }
    case "misspell": {
      const all: string[][] = [...stmts.map((s) => s.stmt.words), ...secs.map((s) => s.sec.head)];
      const ws = pick(all);
      const idxs = ws.map((w, i) => (KEYWORD.test(w) ? i : -1)).filter((i) => i >= 0);
      if (!idxs.length) return "nothing to misspell";
      const i = pick(idxs);
      const w = ws[i];
      const j = Math.floor(rnd() * w.length);
      const variants = [
        w.slice(0, j) + w.slice(j + 1),
        w.slice(0, j) + w[j] + w.slice(j),
        w.toUpperCase(),
        w + "-",
        w.replaceAll("-", "_"),
        w + "s",
      ];
      const before = w;
      ws[i] = pick(variants) || "x";
      return `misspell ${before} -> ${ws[i]}`;
    }
    case "longToken": {
      const s = pick(stmts).stmt;
      const n = pick([64, 128, 255, 256, 1024, 5000]);
      const quoted = rnd() < 0.5;
      const v = quoted ? `"${"x".repeat(n)}"` : `/dev/${"a".repeat(n)}`;
      s.words = [s.words[0], v];
      return `long token (${n}${quoted ? ", quoted" : ""}) in ${s.words[0]}`;
    }
    case "unterminated": {
      const s = pick(stmts).stmt;
      const v = pick(['"abc', '"a\nb"', '"a\\"', '"', '"tab\there"', "'single'", '"a"b']);
      s.words = [s.words[0], v];
      return `string ${JSON.stringify(v)} in ${s.words[0]}`;
    }
    case "utf8": {
      const all: string[][] = [...stmts.map((s) => s.stmt.words), ...secs.map((s) => s.sec.head)];
      const ws = pick(all);
      const i = Math.floor(rnd() * ws.length);
      const ch = pick(["é", "\u00a0", "\ufeff", "\u2028", "€", "\u0000", "\u00ff", "ß"]);
      ws[i] = rnd() < 0.5 ? ws[i] + ch : ch + ws[i];
      return `utf8 ${JSON.stringify(ch)} at ${ws.join(" ")}`;
    }
  }
  throw new Error(`unknown mutation ${op}`);
}

function lineOp(op: string, lines: string[], rnd: () => number): string {
  if (!lines.length) return "no line left";
  const n = Math.floor(rnd() * lines.length);
  const toks = lines[n].trim().match(/"(?:[^"\\\n]|\\.)*"|[{};]|[^\s{};"]+/g) ?? [];
  const pad = /^\s*/.exec(lines[n])![0];
  const put = (ts: string[]) => (lines[n] = pad + ts.join(" "));
  switch (op) {
    case "dropToken": {
      if (!toks.length) return "empty line";
      const i = Math.floor(rnd() * toks.length);
      const t = toks.splice(i, 1);
      put(toks);
      return `line ${n + 1}: drop token ${t}`;
    }
    case "dupToken": {
      if (!toks.length) return "empty line";
      const i = Math.floor(rnd() * toks.length);
      toks.splice(i, 0, toks[i]);
      put(toks);
      return `line ${n + 1}: duplicate token ${toks[i]}`;
    }
    case "swapTokens": {
      if (toks.length < 2) return "short line";
      const i = Math.floor(rnd() * (toks.length - 1));
      [toks[i], toks[i + 1]] = [toks[i + 1], toks[i]];
      put(toks);
      return `line ${n + 1}: swap ${toks[i + 1]} ${toks[i]}`;
    }
    case "dropLine": {
      const l = lines.splice(n, 1);
      return `drop line ${n + 1}: ${l[0].trim()}`;
    }
    case "dupLine": {
      lines.splice(n, 0, lines[n]);
      return `duplicate line ${n + 1}: ${lines[n].trim()}`;
    }
    case "semicolons": {
      if (rnd() < 0.5) put(toks.filter((t) => t !== ";"));
      else put(toks.map((t) => (t === ";" ? ";;" : t)));
      return `line ${n + 1}: semicolons -> ${lines[n].trim()}`;
    }
    case "joinLines": {
      if (n + 1 >= lines.length) return "last line";
      lines.splice(n, 2, lines[n] + " " + lines[n + 1].trim());
      return `join lines ${n + 1}-${n + 2}`;
    }
  }
  throw new Error(`unknown mutation ${op}`);
}

/** A value for an option of `kind` (see OPTION_ROWS): in range, at the edges, beyond, odd. */
function optionValue(kind: string, rnd: () => number, pick: <T>(xs: readonly T[]) => T): string {
  const range = /^(-?[0-9]*)\.\.([0-9]*)([sk]?)(\|.*)?$/.exec(kind);
  if (range && (!range[4] || rnd() < 0.5)) {
    const min = Number(range[1] || 0), max = range[2] ? Number(range[2]) : 2 ** 32;
    const n = pick([min, max, min - 1, max + 1, Math.floor((min + max) / 2), max * 2, 0, 1]);
    const suffix = pick(["", "", "", "s", "k", "K", "M", "G", "m", "g", "T", "x", "KB", "b"]);
    return pick([
      `${n}${suffix}`,
      `${n}${suffix}`,
      `${n}${suffix}`,
      `0x${n.toString(16)}`,
      `${n}.5`,
      `"${n}"`,
      `${Math.floor(max / 1024) + 1}K`,
      `${Math.floor(max / 1024 / 1024) + 1}M`,
      `${Math.floor(max / 512) + 1}s`,
    ]);
  }
  if (range) kind = range[4].slice(1);
  if (kind === "boolean") {
    return pick(["yes", "no", "", "maybe", "on", "off", "true", '"yes"', "1"]);
  }
  if (kind === "flag") return pick(["", "", "yes", "no"]);
  if (kind === "string") {
    return pick([
      '"x"',
      "sha1",
      '""',
      "crc32c",
      `"${"s".repeat(pick([63, 64, 65, 300]))}"`,
      "0",
      "a b",
    ]);
  }
  const values = kind.split("|");
  const v = pick(values);
  return pick([v, v, v, v.toUpperCase(), v + "x", v.slice(1), "1", '"' + v + '"']);
}
