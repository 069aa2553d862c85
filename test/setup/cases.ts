/**
 * Command lines for drbdsetup, good and bad, compared against the real drbdsetup 9.22. `expect`
 * lists canonical values our parser must produce for accepted lines (checked even without the
 * oracle).
 *
 * @module
 */

/** One command line. */
export interface SetupCase {
  /** What a user would notice if it broke. */
  name: string;
  argv: string[];
  /** Canonical args/options our parser must produce (accepted lines only). */
  expect?: { args?: Record<string, string>; options?: Record<string, string> };
  /** The line must be refused with this exit code (checked even without the oracle). */
  refused?: number;
}

/** A block device node the oracle's namespace provides (see oracle/run_drbdsetup.sh). */
export const BLK = "/run/udrbd-blk";

export const CASES: SetupCase[] = [
  // --- commands and help ---
  { name: "no arguments print the command list", argv: [], refused: 20 },
  { name: "an unknown command prints the list and 'invalid command'", argv: ["frob"], refused: 20 },
  { name: "a command name is not abbreviated", argv: ["prim", "r0"], refused: 20 },
  {
    name: "old order 'object command' still works",
    argv: ["r0", "primary"],
    expect: { args: { resource: "r0" } },
  },
  // --- object arguments ---
  {
    name: "primary takes a resource",
    argv: ["primary", "r0"],
    expect: { args: { resource: "r0" } },
  },
  { name: "primary without a resource is refused", argv: ["primary"], refused: 20 },
  { name: "missing argument counts options before it", argv: ["primary", "--force"], refused: 20 },
  { name: "primary with an extra word is refused", argv: ["primary", "r0", "x"], refused: 20 },
  { name: "two extra words are listed", argv: ["secondary", "r0", "x", "y"], refused: 20 },
  { name: "an empty resource name is refused", argv: ["primary", ""], refused: 1 },
  {
    name: "control characters in a resource name are refused",
    argv: ["primary", "r\x01"],
    refused: 1,
  },
  { name: "'all' is refused where not accepted", argv: ["primary", "all"], refused: 20 },
  { name: "down without object means all", argv: ["down"], expect: { args: { resource: "all" } } },
  { name: "down all", argv: ["down", "all"], expect: { args: { resource: "all" } } },
  { name: "down r0", argv: ["down", "r0"], expect: { args: { resource: "r0" } } },
  { name: "down ignores one extra word", argv: ["down", "r0", "x"] },
  { name: "down refuses two extra words", argv: ["down", "r0", "x", "y"], refused: 132 },
  { name: "minor as a number", argv: ["suspend-io", "7"], expect: { args: { minor: "7" } } },
  {
    name: "minor as /dev/drbdN",
    argv: ["resume-io", "/dev/drbd12"],
    expect: { args: { minor: "12" } },
  },
  { name: "minor that is not a number is refused", argv: ["outdate", "r0"], refused: 20 },
  { name: "minor /dev/drbdX is refused", argv: ["outdate", "/dev/drbdX"], refused: 20 },
  { name: "del-minor with minor", argv: ["del-minor", "3"], expect: { args: { minor: "3" } } },
  { name: "del-resource", argv: ["del-resource", "r0"] },
  {
    name: "connect takes resource and peer node id",
    argv: ["connect", "r0", "1"],
    expect: { args: { resource: "r0", peer_node_id: "1" } },
  },
  { name: "connect without peer node id", argv: ["connect", "r0"], refused: 20 },
  { name: "peer node id must be a number", argv: ["connect", "r0", "one"], refused: 20 },
  { name: "peer node id may carry a unit", argv: ["disconnect", "r0", "1K"] },
  { name: "empty peer node id is 'missing number'", argv: ["disconnect", "r0", ""], refused: 100 },
  {
    name: "peer-device commands take a volume",
    argv: ["pause-sync", "r0", "1", "0"],
    expect: { args: { resource: "r0", peer_node_id: "1", volume: "0" } },
  },
  { name: "pause-sync without volume", argv: ["pause-sync", "r0", "1"], refused: 20 },
  { name: "resume-sync extra word", argv: ["resume-sync", "r0", "1", "0", "x"], refused: 20 },
  {
    name: "new-minor takes resource, minor, volume",
    argv: ["new-minor", "r0", "5", "0"],
    expect: { args: { resource: "r0", minor: "5", volume: "0" } },
  },
  { name: "new-minor with a bad minor", argv: ["new-minor", "r0", "five", "0"], refused: 20 },
  { name: "new-minor refuses 'all' as minor", argv: ["new-minor", "r0", "all", "0"], refused: 20 },
  {
    name: "new-resource takes a node id",
    argv: ["new-resource", "r0", "2"],
    expect: { args: { resource: "r0", node_id: "2" } },
  },
  { name: "new-resource without node id", argv: ["new-resource", "r0"], refused: 20 },
  { name: "new-resource bad node id", argv: ["new-resource", "r0", "x"], refused: 20 },
  { name: "forget-peer takes a peer node id", argv: ["forget-peer", "r0", "3"] },
  { name: "forget-peer without peer", argv: ["forget-peer", "r0"], refused: 20 },
  {
    name: "rename-resource takes a new name",
    argv: ["rename-resource", "r0", "r1"],
    expect: { args: { new_name: "r1" } },
  },
  { name: "role, cstate, dstate read state", argv: ["role", "r0"] },
  { name: "cstate ignores extra words", argv: ["cstate", "r0", "1", "extra"] },
  { name: "dstate minor", argv: ["dstate", "0"] },
  { name: "show-gi", argv: ["show-gi", "r0", "1", "0"] },
  { name: "get-gi without volume", argv: ["get-gi", "r0", "1"], refused: 20 },
  { name: "check-resize", argv: ["check-resize", "0"] },
  // --- attach and paths ---
  {
    name: "attach with internal meta data",
    argv: ["attach", "0", BLK, BLK, "internal"],
    expect: { args: { lower_dev: BLK, meta_data_index: "internal" } },
  },
  { name: "attach with flexible meta data", argv: ["attach", "0", BLK, BLK, "flexible"] },
  {
    name: "attach with an indexed meta data device",
    argv: ["attach", "0", BLK, BLK, "3"],
    expect: { args: { meta_data_index: "3" } },
  },
  { name: "attach with a bad meta data index", argv: ["attach", "0", BLK, BLK, "x"], refused: 20 },
  { name: "attach without meta data index", argv: ["attach", "0", BLK, BLK], refused: 20 },
  { name: "attach without devices", argv: ["attach", "0"], refused: 20 },
  {
    name: "attach with disk options",
    argv: ["attach", "0", BLK, BLK, "internal", "--al-extents=3389", "--disk-flushes=no"],
    expect: { options: { "al-extents": "3389", "disk-flushes": "no" } },
  },
  {
    name: "attach with an extra word",
    argv: ["attach", "0", BLK, BLK, "internal", "x"],
    refused: 20,
  },
  {
    name: "new-path with ipv4 addresses",
    argv: ["new-path", "r0", "1", "ipv4:10.0.0.1:7789", "ipv4:10.0.0.2:7789"],
    expect: { args: { "local-addr": "ipv4:10.0.0.1:7789", "remote-addr": "ipv4:10.0.0.2:7789" } },
  },
  {
    name: "new-path with bare addresses and default port",
    argv: ["new-path", "r0", "1", "10.0.0.1", "10.0.0.2:7000"],
    expect: { args: { "local-addr": "ipv4:10.0.0.1:7788", "remote-addr": "ipv4:10.0.0.2:7000" } },
  },
  {
    name: "new-path with ipv6 and local:/peer: prefixes",
    argv: ["new-path", "r0", "1", "local:ipv6:[::1]:7789", "peer:ipv6:[fe80::1]:7790"],
    expect: { args: { "local-addr": "ipv6:[::1]:7789", "remote-addr": "ipv6:[fe80::1]:7790" } },
  },
  {
    name: "an unbracketed ipv6 address is read the old way, with a notice",
    argv: ["new-path", "r0", "1", "ipv6:::1:7789", "ipv6:[::1]:7790"],
    expect: { args: { "local-addr": "ipv6:[::1]:7789" } },
  },
  {
    name: "a malformed ipv6 address is refused",
    argv: ["new-path", "r0", "1", "ipv6:[::1", "ipv4:10.0.0.2:7789"],
    refused: 20,
  },
  {
    name: "a bad port is refused",
    argv: ["del-path", "r0", "1", "10.0.0.1:http", "10.0.0.2:1"],
    refused: 20,
  },
  {
    name: "new-path with one address",
    argv: ["new-path", "r0", "1", "10.0.0.1:7789"],
    refused: 20,
  },
  {
    name: "new-path takes no options",
    argv: ["new-path", "r0", "1", "10.0.0.1:1", "10.0.0.2:1", "--protocol=C"],
    refused: 20,
  },
  // --- option syntax ---
  { name: "unknown option", argv: ["primary", "r0", "--frob"], refused: 20 },
  {
    name: "option of another command",
    argv: ["attach", "0", BLK, BLK, "internal", "--protocol=C"],
    refused: 20,
  },
  {
    name: "ambiguous abbreviation lists candidates",
    argv: ["disk-options", "0", "--disk-=no"],
    refused: 20,
  },
  {
    name: "unambiguous abbreviation is accepted",
    argv: ["disk-options", "0", "--disk-ti=50"],
    expect: { options: { "disk-timeout": "50" } },
  },
  {
    name: "abbreviation shared by options of one kind takes the first",
    argv: ["net-options", "r0", "1", "--after-sb-=disconnect"],
    expect: { options: { "after-sb-0pri": "disconnect" } },
  },
  {
    name: "numeric option without value",
    argv: ["disk-options", "0", "--al-extents"],
    refused: 20,
  },
  {
    name: "numeric option value as next word",
    argv: ["disk-options", "0", "--al-extents", "1237"],
    expect: { options: { "al-extents": "1237" } },
  },
  {
    name: "flag with value 'no'",
    argv: ["primary", "r0", "--force=no"],
    expect: { options: { force: "no" } },
  },
  {
    name: "bare flag means yes",
    argv: ["primary", "r0", "--force"],
    expect: { options: { force: "yes" } },
  },
  { name: "flag with a bad value", argv: ["primary", "r0", "--force=maybe"], refused: 20 },
  { name: "flag with an empty value", argv: ["primary", "r0", "--force="], refused: 20 },
  {
    name: "primary --overwrite-data-of-peer is --force",
    argv: ["primary", "r0", "--overwrite-data-of-peer"],
    expect: { options: { force: "yes" } },
  },
  {
    name: "connect --dry-run is --tentative",
    argv: ["connect", "r0", "1", "--dry-run", "--discard-my-data"],
    expect: { options: { tentative: "yes", "discard-my-data": "yes" } },
  },
  { name: "connect --tentative=yes", argv: ["connect", "r0", "1", "--tentative=yes"] },
  { name: "options may come first", argv: ["--force", "primary", "r0"] },
  { name: "-- ends options", argv: ["primary", "--", "r0"] },
  { name: "a short option drbdsetup lacks", argv: ["primary", "-f", "r0"], refused: 20 },
  {
    name: "set-defaults is kept",
    argv: ["resource-options", "r0", "--set-defaults", "--auto-promote=no"],
    expect: { options: { "set-defaults": "yes", "auto-promote": "no" } },
  },
  {
    name: "set-defaults does not take a value",
    argv: ["disk-options", "0", "--set-defaults=yes"],
    refused: 20,
  },
  {
    name: "set-defaults is not for attach",
    argv: ["attach", "0", BLK, BLK, "internal", "--set-defaults"],
    refused: 20,
  },
  { name: "detach --force --diskless", argv: ["detach", "0", "--force", "--diskless"] },
  { name: "del-peer --force", argv: ["del-peer", "r0", "1", "--force"] },
  // --- option values ---
  {
    name: "resync-rate 10M is 10240 KiB/s",
    argv: ["peer-device-options", "r0", "1", "0", "--resync-rate=10M"],
    expect: { options: { "resync-rate": "10240" } },
  },
  {
    name: "resync-rate in sectors rounds up to KiB",
    argv: ["peer-device-options", "r0", "1", "0", "--resync-rate=3s"],
    expect: { options: { "resync-rate": "2" } },
  },
  {
    name: "c-plan-ahead 20 and c-fill-target 1M in sectors",
    argv: ["peer-device-options", "r0", "1", "0", "--c-plan-ahead=20", "--c-fill-target=1M"],
    expect: { options: { "c-plan-ahead": "20", "c-fill-target": "2048" } },
  },
  {
    name: "c-max-rate 1G in KiB/s",
    argv: ["peer-device-options", "r0", "1", "0", "--c-max-rate=1G"],
    expect: { options: { "c-max-rate": "1048576" } },
  },
  {
    name: "a number with two suffix letters is refused",
    argv: ["peer-device-options", "r0", "1", "0", "--resync-rate=10MB"],
    refused: 20,
  },
  {
    name: "an unknown unit is refused",
    argv: ["peer-device-options", "r0", "1", "0", "--resync-rate=10T"],
    refused: 20,
  },
  {
    name: "an empty number",
    argv: ["peer-device-options", "r0", "1", "0", "--resync-rate="],
    refused: 100,
  },
  {
    name: "a number too big for 64 bits with a unit",
    argv: ["peer-device-options", "r0", "1", "0", "--c-min-rate=99999999999999999G"],
    refused: 20,
  },
  {
    name: "out-of-range values are left to the kernel",
    argv: ["net-options", "r0", "1", "--max-buffers=1"],
    expect: { options: { "max-buffers": "1" } },
  },
  {
    name: "disk-timeout in 1/10 seconds",
    argv: ["disk-options", "0", "--disk-timeout=300"],
    expect: { options: { "disk-timeout": "300" } },
  },
  {
    name: "resync-after -1",
    argv: ["disk-options", "0", "--resync-after=-1"],
    expect: { options: { "resync-after": "-1" } },
  },
  {
    name: "size in sectors from G",
    argv: ["resize", "0", "--size=10G", "--assume-clean"],
    expect: { options: { size: "20971520", "assume-clean": "yes" } },
  },
  {
    name: "size with a blank before the number",
    argv: ["resize", "0", "--size= 8"],
    expect: { options: { size: "8" } },
  },
  {
    name: "al-stripe-size-kB in KiB",
    argv: ["resize", "0", "--al-stripes=2", "--al-stripe-size-kB=1M"],
    expect: { options: { "al-stripes": "2", "al-stripe-size-kB": "1024" } },
  },
  {
    name: "verify start and stop in sectors",
    argv: ["verify", "r0", "1", "0", "--start=1M", "--stop=2048"],
    expect: { options: { start: "2048", stop: "2048" } },
  },
  {
    name: "protocol ignores case",
    argv: ["net-options", "r0", "1", "--protocol=a"],
    expect: { options: { protocol: "A" } },
  },
  { name: "protocol D is refused", argv: ["net-options", "r0", "1", "--protocol=D"], refused: 20 },
  {
    name: "enums are case sensitive",
    argv: ["net-options", "r0", "1", "--fencing=Resource-Only"],
    refused: 20,
  },
  {
    name: "enum values",
    argv: [
      "new-peer",
      "r0",
      "1",
      "--fencing=resource-only",
      "--after-sb-1pri=consensus",
      "--_name=bob",
    ],
    expect: { options: { fencing: "resource-only", "after-sb-1pri": "consensus", _name: "bob" } },
  },
  {
    name: "booleans need yes or no",
    argv: ["net-options", "r0", "1", "--tcp-cork=off"],
    refused: 20,
  },
  {
    name: "bare boolean is yes",
    argv: ["net-options", "r0", "1", "--allow-two-primaries"],
    expect: { options: { "allow-two-primaries": "yes" } },
  },
  {
    name: "boolean value as next word is not taken",
    argv: ["net-options", "r0", "1", "--tcp-cork", "no"],
    refused: 20,
  },
  {
    name: "transport only for new-peer",
    argv: ["net-options", "r0", "1", "--transport=tcp"],
    refused: 20,
  },
  {
    name: "quorum majority",
    argv: ["new-resource", "r0", "1", "--quorum=majority", "--on-no-quorum=io-error"],
    expect: { options: { quorum: "majority", "on-no-quorum": "io-error" } },
  },
  {
    name: "quorum as a number",
    argv: ["resource-options", "r0", "--quorum=2"],
    expect: { options: { quorum: "2" } },
  },
  {
    name: "quorum with a bad word",
    argv: ["resource-options", "r0", "--quorum=most"],
    refused: 20,
  },
  {
    name: "quorum 0 is off",
    argv: ["resource-options", "r0", "--quorum-minimum-redundancy=0"],
    expect: { options: { "quorum-minimum-redundancy": "off" } },
  },
  {
    name: "peer-ack-window in sectors",
    argv: ["resource-options", "r0", "--peer-ack-window=2M", "--cpu-mask=ff"],
    expect: { options: { "peer-ack-window": "4096", "cpu-mask": "ff" } },
  },
  {
    name: "first bad option value wins",
    argv: ["net-options", "r0", "1", "--protocol=X", "--timeout=abc"],
    refused: 20,
  },
  {
    name: "bad option value before missing argument",
    argv: ["attach", "0", "--size=x"],
    refused: 20,
  },
  {
    name: "missing object before bad option value",
    argv: ["disk-options", "--al-extents=x"],
    refused: 20,
  },
  {
    name: "new-current-uuid flags",
    argv: ["new-current-uuid", "0", "--clear-bitmap", "--force-resync=no"],
    expect: { options: { "clear-bitmap": "yes", "force-resync": "no" } },
  },
  {
    name: "invalidate options",
    argv: ["invalidate", "0", "--sync-from-peer-node-id=2", "--reset-bitmap=no"],
    expect: { options: { "sync-from-peer-node-id": "2", "reset-bitmap": "no" } },
  },
  {
    name: "invalidate-remote --reset-bitmap",
    argv: ["invalidate-remote", "r0", "1", "0", "--reset-bitmap"],
  },
  {
    name: "new-minor --diskless --max-bio-size",
    argv: ["new-minor", "r0", "0", "0", "--diskless", "--max-bio-size=64K"],
    expect: { options: { diskless: "yes", "max-bio-size": "65536" } },
  },
  // --- show, status, events2, wait ---
  {
    name: "show with defaults and json",
    argv: ["show", "--show-defaults", "--json"],
    expect: { args: { resource: "all" }, options: { "show-defaults": "yes", json: "yes" } },
  },
  { name: "show -D short option", argv: ["show", "-D", "r0"] },
  { name: "show ignores extra words", argv: ["show", "r0", "x", "y"] },
  { name: "show with unknown option", argv: ["show", "--verbose"], refused: 20 },
  {
    name: "status options",
    argv: ["status", "r0", "--verbose", "--statistics", "--color=never"],
    expect: { options: { verbose: "yes", statistics: "yes", color: "never" } },
  },
  { name: "status with a bad color", argv: ["status", "--color=pink"], refused: 20 },
  { name: "status -vs", argv: ["status", "-vs"] },
  {
    name: "events2 options",
    argv: ["events2", "--now", "--timestamps", "--full", "all"],
    expect: { options: { now: "yes", timestamps: "yes", full: "yes" } },
  },
  { name: "events2 with one extra word", argv: ["events2", "r0", "x"], refused: 20 },
  { name: "events2 with two extra words", argv: ["events2", "r0", "x", "y"], refused: 20 },
  { name: "events2 --diff=whatever", argv: ["events2", "--diff=whatever"] },
  {
    name: "wait-connect-resource with a timeout",
    argv: ["wait-connect-resource", "r0", "--wfc-timeout=5", "--wait-after-sb"],
    expect: { options: { "wfc-timeout": "5", "wait-after-sb": "yes" } },
  },
  {
    name: "wait timeout out of range",
    argv: ["wait-sync-resource", "r0", "--degr-wfc-timeout=300001"],
    refused: 20,
  },
  {
    name: "wait timeout not a number",
    argv: ["wait-sync-volume", "r0", "1", "0", "-t", "x"],
    refused: 20,
  },
  {
    name: "wait timeout negative",
    argv: ["wait-connect-volume", "r0", "1", "0", "--outdated-wfc-timeout=-1"],
    refused: 20,
  },
  {
    name: "wait-connect-connection with abbreviated option",
    argv: ["wait-connect-connection", "r0", "1", "--wfc=3"],
  },
  {
    name: "wait with extra words",
    argv: ["wait-sync-connection", "r0", "1", "x", "y"],
    refused: 20,
  },
];
