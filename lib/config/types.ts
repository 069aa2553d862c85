/**
 * The data model of a parsed and resolved drbd.conf, shaped like drbdadm 9.22's own model so that
 * `dump`, `dump-xml`, `sh-*` and the `-d` step generation can be derived from it one to one.
 *
 * Everything here is plain data: the parser builds it, post-processing (inheritance, host
 * selection, node-id assignment, implicit connections) completes it, printers read it.
 *
 * @module
 */

/** A place in a configuration file: the (as-given) file name and 1-based line. */
export interface SourcePos {
  /** The file name as drbdadm prints it (the `-c` path or the include path as resolved). */
  file: string;
  /** 1-based line number. */
  line: number;
}

/**
 * One `keyword value;` (or a bare `keyword;` flag) inside an option section. `value` is the text
 * as drbdadm stores it: units are kept as written, quoted strings are unquoted (`quoted` tells).
 */
export interface ConfigOption {
  /** The keyword, e.g. `protocol`, `resync-rate`. */
  name: string;
  /** The value as written (unquoted); `undefined` for a bare flag such as `stacked-timeouts`. */
  value?: string;
  /** True when the value was a quoted string in the file (dump re-quotes it). */
  quoted: boolean;
  /** True when the option came from `common` or an enclosing section (inheritance). */
  inherited: boolean;
  /** Where the option was written. */
  pos: SourcePos;
}

/** An ordered option list, as in the file (later duplicates replace earlier ones in place). */
export type OptionList = ConfigOption[];

/** The option sections of a resource or of `common`. */
export type SectionName =
  | "options"
  | "net"
  | "disk"
  | "peer-device-options"
  | "startup"
  | "handlers"
  | "proxy";

/** Address families drbd.conf accepts in front of an address. */
export type AddressFamily = "ipv4" | "ipv6" | "ssocks" | "sdp" | "ib";

/** An endpoint: `address [af] addr:port`. `af` defaults to ipv4 as drbdadm does. */
export interface Address {
  /** Address family. */
  af: AddressFamily;
  /** Address without brackets, e.g. `10.0.0.1` or `fe80::1`. */
  addr: string;
  /** Port as written (decimal text). */
  port: string;
  /** Where it was written. */
  pos: SourcePos;
}

/** A DRBD proxy description (`proxy on HOST { inside ...; outside ...; options {...} }`). */
export interface ProxyInfo {
  /** Hosts the proxy runs on. */
  onHosts: string[];
  /** Address DRBD connects to on the proxy. */
  inside?: Address;
  /** Address the proxies talk to each other on. */
  outside?: Address;
  /** Options of this section. */
  options: OptionList;
  /** Proxy plugin lines, each kept as one option name. */
  plugins: OptionList;
  /** Where it was written. */
  pos: SourcePos;
}

/**
 * A volume: the resource-level one (template for every host) or a host's own copy after
 * inheritance. `metaIndex` is `"internal"`, `"flexible"` (flexible-meta-disk) or an index text.
 */
export interface Volume {
  /** Volume number. */
  vnr: number;
  /** Device path, e.g. `/dev/drbd0`; undefined when only `device minor N` was written. */
  device?: string;
  /** Minor number; -1 when unknown (a peer's volume without a device). */
  minor: number;
  /** Backing disk; `"none"` for a diskless volume. */
  disk?: string;
  /** Meta-data device (or `"internal"`). */
  metaDisk?: string;
  /** `"internal"`, `"flexible"` or the bracketed index for external meta data. */
  metaIndex?: string;
  /** Per-volume `disk { }` options (disk part). */
  diskOptions: OptionList;
  /** Per-volume peer-device options (written inside `disk { }`, e.g. `resync-rate`). */
  pdOptions: OptionList;
  /** True for the implicit volume 0 (keywords written outside a `volume N { }` block). */
  implicit: boolean;
  /** Which of device/disk/meta-disk were written at this level (dump prints only those). */
  parsedDevice: boolean;
  /** `disk` was written for this volume. */
  parsedDisk: boolean;
  /** `meta-disk` or `flexible-meta-disk` was written for this volume. */
  parsedMetaDisk: boolean;
  /** Where it was written. */
  pos: SourcePos;
  /** Where `device` was written. */
  devicePos?: SourcePos;
  /** Where `disk` was written. */
  diskPos?: SourcePos;
  /** Where `meta-disk` was written. */
  metaDiskPos?: SourcePos;
}

/**
 * An `on NAME [NAME...] { }`, `floating [af] ADDR:PORT { }` or `stacked-on-top-of RES { }`
 * section, or a host declared implicitly by a connection's `host NAME address ...`.
 */
export interface HostSection {
  /** Host names (several for `on a b { }`); for floating hosts the address text. */
  names: string[];
  /** Volumes, sorted by number. */
  volumes: Volume[];
  /** The address, when known. */
  address?: Address;
  /** node-id as written or as assigned (text, as drbdadm keeps it). */
  nodeId?: string;
  /** Per-host resource `options { }`. */
  options: OptionList;
  /** 8.4-style `proxy on ...` inside an `on` section. */
  proxy?: ProxyInfo;
  /** Name of the lower resource for `stacked-on-top-of`. */
  lowerName?: string;
  /** The lower resource (resolved). */
  lower?: Resource;
  /** True for `on` / `floating` sections (a device is required), false for `_this_host`. */
  requireMinor: boolean;
  /** True for `floating` (matched by address, not by name). */
  byAddress: boolean;
  /** True when declared implicitly (connection `host` statement); not dumped. */
  implicit: boolean;
  /** True when this section is the one selected for this node. */
  usedAsMe: boolean;
  /** Where it was written. */
  pos: SourcePos;
}

/** One `host NAME [address [af] ADDR:PORT | port N] [via proxy ...];` of a path/connection. */
export interface HostAddress {
  /** The name. */
  name: string;
  /** The address, when known. */
  address?: Address;
  /** `via proxy on ...` description. */
  proxy?: ProxyInfo;
  /** True when written with an explicit `address`. */
  parsedAddress: boolean;
  /** True when only `port N` was written. */
  parsedPort: boolean;
  /** Written as `address ...` (no host name) in a path: drbdadm names it after the address. */
  byAddress: boolean;
  /** Name made up by drbdadm for a stacked host (`a_b`). */
  fakedHostname: boolean;
  /** The host section this endpoint refers to (set during resolution). */
  hostInfo?: HostSection;
  /** True when this endpoint is this node's. */
  usedAsMe: boolean;
  /** Where it was written. */
  pos: SourcePos;
}

/** A `path { host ...; host ...; }` of a connection (or the implicit one). */
export interface Path {
  /** The hosts, in order. */
  hosts: HostAddress[];
  /** True when the path was not written (hosts given directly in `connection { }`). */
  implicit: boolean;
  /** This node's endpoint address (resolved; from the `host` statement or its `on` section). */
  myAddress?: Address;
  /** The peer's endpoint address (resolved). */
  peerAddress?: Address;
  /** Where to connect: the peer address, or the local proxy's inside address. */
  connectTo?: Address;
  /** This node's proxy on this path. */
  myProxy?: ProxyInfo;
  /** The peer's proxy on this path. */
  peerProxy?: ProxyInfo;
  /** Path of a stacked resource that belongs to the lower resource's other node. */
  ignore: boolean;
  /** Where it was written. */
  pos: SourcePos;
}

/** Per-connection per-volume options: `connection { volume N { disk { ... } } }`. */
export interface PeerDevice {
  /** Volume number. */
  vnr: number;
  /** Options of this section. */
  options: OptionList;
  /** Generated, not written (not dumped). */
  implicit: boolean;
  /** Where it was written. */
  pos: SourcePos;
}

/** A `connection [NAME] { }`, written or derived from two `on` sections or a mesh. */
export interface Connection {
  /** Name (ignored by drbdadm 9.22: deprecated). */
  name?: string;
  /** Paths, in order (one implicit path when hosts were given directly). */
  paths: Path[];
  /** `net { }` options. */
  netOptions: OptionList;
  /** Peer-device options given as `disk { }` inside the connection. */
  pdOptions: OptionList;
  /** Per-volume peer-device settings (implicit ones for every volume). */
  peerDevices: PeerDevice[];
  /** True when generated (not written): not dumped unless verbose. */
  implicit: boolean;
  /** True when this connection does not involve this host. */
  ignore: boolean;
  /** The peer's host section once this node is known (or from `_peer_node_id`). */
  peer?: HostSection;
  /** `_is_standalone;` (drbdsetup show output). */
  isStandalone: boolean;
  /** Where it was written. */
  pos: SourcePos;
}

/** `connection-mesh { hosts a b c; net { ... } }`. */
export interface Mesh {
  /** The hosts, in order. */
  hosts: string[];
  /** `net { }` options. */
  netOptions: OptionList;
  /** Where it was written. */
  pos: SourcePos;
}

/** The option sections shared by `common` and `resource`. */
export interface OptionSections {
  /** `options { }` (resource options). */
  resOptions: OptionList;
  /** `net { }` options. */
  netOptions: OptionList;
  /** Disk options (from `disk { }`). */
  diskOptions: OptionList;
  /** Peer-device options (from `disk { }` keywords that belong to peer devices). */
  pdOptions: OptionList;
  /** `startup { }` options. */
  startupOptions: OptionList;
  /** `handlers { }` commands. */
  handlers: OptionList;
  /** `proxy { }` options. */
  proxyOptions: OptionList;
  /** `proxy { plugin { } }` lines. */
  proxyPlugins: OptionList;
  /** `startup { stacked-timeouts; }` as drbdadm keeps it (a flag, dumped last). */
  stackedTimeouts: boolean;
  /**
   * True when the startup options came from a written `startup { }` section. drbdadm then loses
   * the `stacked-timeouts` flag in dumps while that list is empty (a quirk we reproduce).
   */
  startupFromSection?: boolean;
}

/** The `common { }` section. */
export interface Common extends OptionSections {
  /** Where it was written. */
  pos: SourcePos;
}

/** A resource after parsing and resolution. */
export interface Resource extends OptionSections {
  /** The name. */
  name: string;
  /** Resource-level volumes (templates for hosts), in vnr order. */
  volumes: Volume[];
  /** Every host section in file order (explicit first, then implicit ones). */
  hosts: HostSection[];
  /** Connections: written ones, or generated from meshes / two host sections. */
  connections: Connection[];
  /** `connection-mesh` sections as written. */
  meshes: Mesh[];
  /** The host section selected for this node, if any. */
  me?: HostSection;
  /** True when this node has no host section in the resource (`skip`ped resources are dropped). */
  ignore: boolean;
  /** True when this node's section is `stacked-on-top-of`. */
  stacked: boolean;
  /** True when some host section is `stacked-on-top-of`. */
  stackedOnOne: boolean;
  /** `template-file` resource (a `common`-like section), if given. */
  template?: Common & { file: string };
  /** File the resource is defined in and the line of the `resource` keyword. */
  file: string;
  /** Where it was written. */
  pos: SourcePos;
}

/** The `global { }` section as drbdadm interprets it. */
export interface GlobalOptions {
  /** `usage-count` (ask by default). */
  usageCount: "yes" | "no" | "ask";
  /** `minor-count` (0 when not given). */
  minorCount: number;
  /** `dialog-refresh` (1 by default). */
  dialogRefresh: number;
  /** `disable-ip-verification` was given. */
  disableIpVerification: boolean;
  /** `udev-always-use-vnr` was given. */
  udevAlwaysUseVnr: boolean;
  /** cmd-timeout-short/medium/long in seconds when given. */
  cmdTimeoutShort?: number;
  /** `cmd-timeout-medium` in seconds. */
  cmdTimeoutMedium?: number;
  /** `cmd-timeout-long` in seconds. */
  cmdTimeoutLong?: number;
  /** Where the section was written. */
  pos?: SourcePos;
}

/** A whole parsed configuration. */
export interface Config {
  /** The top-level file name as given (drbdadm prints it in `dump`). */
  file: string;
  /** The node name used for host selection. */
  hostname: string;
  /** The `global { }` section. */
  global: GlobalOptions;
  /** The `common { }` section, if any. */
  common?: Common;
  /** Resources in file order (`skip`ped ones are absent). */
  resources: Resource[];
}
