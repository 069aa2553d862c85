/**
 * `drbdsetup show`: the running configuration in drbd.conf syntax, as drbdsetup 9.22 prints it
 * (and as drbdadm adjust reads it back): options that differ from their defaults, or all of
 * them with `--show-defaults`, with unit and `default` comments.
 *
 * @module
 */

import { ATTACH_FIELDS, NEW_PEER_FIELDS, PEER_DEVICE_FIELDS, RESOURCE_FIELDS } from "./commands.ts";
import { doubleQuote, fieldDef, fieldDefault, isDefault, showValue } from "./fields.ts";

/** One resource as the daemon reports its configuration. */
export interface ShowResource {
  name: string;
  nodeId: number;
  /** Resource options that are set, canonical values (see parseDrbdsetup). */
  options: Record<string, string>;
  connections: ShowConnection[];
  volumes: ShowVolume[];
}

/** A connection to a peer. */
export interface ShowConnection {
  peerNodeId: number;
  /** The peer's name (net option `_name`). */
  name?: string;
  /** Endpoints in drbdsetup's notation: `ipv4:10.0.0.1:7789`, `ipv6:[fe80::1]:7789`. */
  paths: { local: string; remote: string }[];
  /** Net options that are set, canonical values. */
  net: Record<string, string>;
  peerDevices: { volume: number; options: Record<string, string> }[];
  /** The connection is StandAlone (drbdsetup prints `_is_standalone;`). */
  standalone?: boolean;
}

/** A local volume. */
export interface ShowVolume {
  volume: number;
  minor: number;
  /** The backing disk; metaIdx is "internal", "flexible" or an index as text. */
  disk?: { backingDev: string; metaDev: string; metaIdx: string; options: Record<string, string> };
  /** Diskless on purpose (drbdsetup prints `disk none;`). */
  intentionalDiskless?: boolean;
}

/** Options for {@link formatShow}. */
export interface ShowOptions {
  /** `--show-defaults`: print every option, marking defaults. */
  showDefaults: boolean;
  /** Only this resource (drbdsetup's object argument); default every resource ("all"). */
  resource?: string;
}

const INDENT = "    ";

class Printer {
  out = "";
  #level = 0;
  line(text: string): void {
    this.out += INDENT.repeat(this.#level) + text + "\n";
  }
  open(text: string): void {
    this.line(text + " {");
    this.#level++;
  }
  close(suffix = ""): void {
    this.#level--;
    this.line("}" + suffix);
  }
}

function shown(
  fields: readonly string[],
  values: Record<string, string>,
  showDefaults: boolean,
): string[] {
  const lines: string[] = [];
  for (const name of fields) {
    const def = fieldDef(name);
    const value = values[name] ?? fieldDefault(def);
    const dflt = isDefault(def, value);
    if (dflt && !showDefaults) continue;
    let line = `${name.padEnd(16)}\t${showValue(def, value)};`;
    if (def.unit || dflt) {
      line += " # " + [def.unit, dflt ? "default" : undefined].filter(Boolean).join(", ");
    }
    lines.push(line);
  }
  return lines;
}

function section(p: Printer, name: string, lines: string[]): void {
  if (!lines.length) return;
  p.open(name);
  for (const l of lines) p.line(l);
  p.close();
}

/** drbdsetup prints an endpoint with a blank after the address family. */
function endpoint(address: string): string {
  return address.replace(":", " ");
}

function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The text of `drbdsetup show [--show-defaults] [resource]` for these resources; resources are
 * printed in name order, connections by peer name; with no resources at all, drbdsetup's
 * "# No currently configured DRBD found." line.
 */
export function formatShow(resources: readonly ShowResource[], options: ShowOptions): string {
  if (resources.length === 0) return "# No currently configured DRBD found.\n";
  const p = new Printer();
  const sd = options.showDefaults;
  const sorted = [...resources].sort((a, b) => byteCompare(a.name, b.name));
  for (const r of sorted) {
    if (
      options.resource !== undefined && options.resource !== "all" && options.resource !== r.name
    ) {
      continue;
    }
    p.open(`resource "${r.name}"`);
    section(p, "options", shown(RESOURCE_FIELDS, r.options, sd));
    p.open("_this_host");
    p.line(`node-id\t\t\t${r.nodeId};`);
    for (const v of [...r.volumes].sort((a, b) => a.volume - b.volume)) showVolume(p, v, sd);
    p.close();
    const conns = [...r.connections].sort((a, b) => {
      const an = a.name ?? a.net._name ?? "";
      const bn = b.name ?? b.net._name ?? "";
      if (!an !== !bn) return an ? 1 : -1;
      return byteCompare(an, bn);
    });
    // drbdsetup lists peer devices only for resources that have both volumes and connections
    const withPeerDevices = r.volumes.length > 0;
    for (const c of conns) showConnection(p, c, sd, withPeerDevices);
    p.close("\n");
  }
  return p.out;
}

function showVolume(p: Printer, v: ShowVolume, sd: boolean): void {
  p.open(`volume ${v.volume}`);
  p.line(`device\t\t\tminor ${v.minor};`);
  if (v.disk) {
    p.line(`disk\t\t\t"${v.disk.backingDev}";`);
    const idx = v.disk.metaIdx;
    const meta = idx === "internal"
      ? "internal"
      : idx === "flexible"
      ? doubleQuote(v.disk.metaDev)
      : `${doubleQuote(v.disk.metaDev)} [ ${idx} ]`;
    p.line(`meta-disk\t\t\t${meta};`);
    section(p, "disk", shown(ATTACH_FIELDS, v.disk.options, sd));
  } else if (v.intentionalDiskless) {
    p.line("disk\t\t\tnone;");
  }
  p.close();
}

function showConnection(p: Printer, c: ShowConnection, sd: boolean, peerDevices: boolean): void {
  p.open("connection");
  p.line(`_peer_node_id ${c.peerNodeId};`);
  for (const path of c.paths) {
    p.open("path");
    p.line(`_this_host ${endpoint(path.local)};`);
    p.line(`_remote_host ${endpoint(path.remote)};`);
    p.close();
  }
  if (c.standalone) p.line("_is_standalone;");
  const net = c.name !== undefined ? { ...c.net, _name: c.name } : c.net;
  section(p, "net", shown(NEW_PEER_FIELDS, net, sd));
  if (peerDevices) {
    for (const pd of [...c.peerDevices].sort((a, b) => a.volume - b.volume)) {
      const lines = shown(PEER_DEVICE_FIELDS, pd.options, sd);
      if (!lines.length) continue;
      p.open(`volume ${pd.volume}`);
      section(p, "disk", lines);
      p.close();
    }
  }
  p.close();
}
