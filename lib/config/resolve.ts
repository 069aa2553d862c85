/**
 * Resolution after parsing (drbdadm's post_parse): volumes inherited into host sections,
 * completeness checks, stacked resources, connections from meshes and implicit connections,
 * endpoints bound to host sections, node-ids assigned, address conflicts found, this node's
 * host section selected and implicit peer devices created.
 *
 * @module
 */

import type {
  Address,
  Connection,
  HostAddress,
  HostSection,
  Mesh,
  OptionList,
  Path,
  Resource,
  Volume,
} from "./types.ts";
import {
  addrScopeLocal,
  hostnameInList,
  insertVolume,
  IPV4_PARTS,
  newVolume,
  type Parser,
  scanIpv4,
} from "./parser.ts";
import type { Problems } from "./problems.ts";
import { hostHasIp } from "./host.ts";
import { crc32cText } from "../util/crc32c.ts";
import { lookupOption, parseNumeric, valuesEqual } from "../options/lookup.ts";
import { ConfigError, EXIT } from "./errors.ts";

/** What resolution needs besides the resources. */
export interface ResolveContext {
  hostname: string;
  problems: Problems;
  parser: Parser;
  /** The top-level file name as given (drbdadm's config_file at the end of parsing). */
  file: string;
  /** Line drbdadm's lexer ended on (some messages print it). */
  lastLine: number;
  /** Match host sections by proxy (`proxy` commands); not used by the tools yet. */
  matchOnProxy?: boolean;
}

function namesToStr(names: string[], sep = " "): string {
  return names.length === 0 ? "UNKNOWN" : names.join(sep);
}

function derror(ctx: ResolveContext, host: HostSection, res: Resource, what: string): void {
  ctx.problems.error(
    `${res.file}:${host.pos.line}: in resource ${res.name}, on ${
      namesToStr(host.names)
    } { ... }: '${what}' keyword missing.`,
    { file: res.file, line: host.pos.line },
  );
}

function findVolume(list: Volume[], vnr: number): Volume | undefined {
  for (let i = 0; i < list.length; i++) if (list[i].vnr === vnr) return list[i];
  return undefined;
}

// Loops over arrays below index instead of `for...of`: drbdadm runs this code once, cold, and
// unoptimized `for...of` allocates an iterator result per element (measured: ~2 MB of garbage
// per 500 resources).

function inheritVolumes(ctx: ResolveContext, from: Volume[], host: HostSection): void {
  const names = host.names;
  for (let i = 0; i < from.length; i++) {
    const s = from[i];
    let t = findVolume(host.volumes, s.vnr);
    if (!t) {
      t = newVolume(s.vnr, s.pos);
      t.implicit = s.implicit;
      t.devicePos = s.devicePos;
      t.diskPos = s.diskPos;
      t.metaDiskPos = s.metaDiskPos;
      insertVolume(host.volumes, t);
    }
    // unset is undefined; "" (disk "") counts as given, as drbdadm's non-NULL pointer does
    if (t.disk === undefined && s.disk !== undefined) {
      t.disk = s.disk;
      for (let hIdx = 0; hIdx < names.length; hIdx++) {
        const h = names[hIdx];
        ctx.parser.checkUniq("disk", `disk:${h}:${t.disk}`, {
          file: t.pos.file,
          line: t.diskPos?.line ?? 0,
        });
      }
    }
    if (!t.device && s.device) t.device = s.device;
    if (t.minor === -1 && s.minor !== -1) {
      t.minor = s.minor;
      for (let hIdx = 0; hIdx < names.length; hIdx++) {
        const h = names[hIdx];
        const p = { file: t.pos.file, line: t.devicePos?.line ?? 0 };
        ctx.parser.checkUniq("device-minor", `device-minor:${h}:${t.minor}`, p);
        if (t.device) ctx.parser.checkUniq("device", `device:${h}:${t.device}`, p);
      }
    }
    if (!t.metaDisk && s.metaDisk) {
      t.metaDisk = s.metaDisk;
      if (s.metaIndex) t.metaIndex = s.metaIndex;
    }
  }
}

function checkVolumeComplete(
  ctx: ResolveContext,
  res: Resource,
  host: HostSection,
  vol: Volume,
): void {
  if (!vol.device && vol.minor === -1) derror(ctx, host, res, "device");
  if (vol.disk !== undefined || vol.metaDisk || vol.metaIndex) {
    if (vol.disk !== "none") {
      if (vol.disk === undefined) derror(ctx, host, res, "disk");
      if (!vol.metaDisk && !vol.metaIndex) {
        vol.metaDisk = "internal";
        vol.metaIndex = "internal";
      } else if (!vol.metaDisk) derror(ctx, host, res, "meta-disk");
      else if (!vol.metaIndex) derror(ctx, host, res, "meta-index");
    }
  }
}

function checkMetaDisk(ctx: ResolveContext, vol: Volume, host: HostSection): void {
  if (vol.metaDisk === undefined || vol.metaDisk === "internal") return;
  for (let hIdx = 0; hIdx < host.names.length; hIdx++) {
    const h = host.names[hIdx];
    ctx.parser.checkUniq("meta-disk", `${h}:${vol.metaDisk}[${vol.metaIndex}]`, {
      file: vol.pos.file,
      line: vol.metaDiskPos?.line ?? 0,
    });
  }
}

function checkVolumeSetsEqual(
  ctx: ResolveContext,
  res: Resource,
  host1: HostSection,
  host2: HostSection,
): void {
  const compareStacked = !!host1.lower && host1.lower.me === host2;
  if (host1 === host2) return;
  let i = 0;
  let j = 0;
  const a = host1.volumes;
  const b = host2.volumes;
  // the common case, equal volume sets, needs none of the message texts below
  if (a.length === b.length) {
    while (i < a.length && a[i].vnr === b[i].vnr && a[i].implicit === b[i].implicit) i++;
    if (i === a.length) return;
    i = 0;
  }
  const other = compareStacked ? host1.lower!.name : namesToStr(host2.names);
  const where = `${ctx.file}:${ctx.lastLine}`;
  while (i < a.length || j < b.length) {
    while (i < a.length && (j >= b.length || a[i].vnr < b[j].vnr)) {
      ctx.problems.error(
        `${where}: in resource ${res.name}, on ${namesToStr(host1.names)} { ... }: volume ${
          a[i].vnr
        } not defined on ${other}`,
        { file: ctx.file, line: ctx.lastLine },
      );
      i++;
    }
    while (j < b.length && (i >= a.length || a[i].vnr > b[j].vnr)) {
      const msg = `${where}: in resource ${res.name}, on ${
        namesToStr(host1.names)
      } { ... }: volume ${b[j].vnr} missing (present on ${other})`;
      // drbdadm only warns on a terminal for stacked resources; we never have one here
      if (!compareStacked) ctx.problems.error(msg, { file: ctx.file, line: ctx.lastLine });
      j++;
    }
    if (i < a.length && j < b.length && a[i].vnr === b[j].vnr) {
      if (a[i].implicit !== b[j].implicit) {
        ctx.problems.error(
          `${where}: in resource ${res.name}, on ${namesToStr(host1.names)} resp. ${other}: ` +
            `volume ${a[i].vnr} must not be implicit on one but not the other`,
          { file: ctx.file, line: ctx.lastLine },
        );
      }
      i++;
      j++;
    }
  }
}

function newConnection(implicit: boolean, pos = { file: "", line: 0 }): Connection {
  return {
    paths: [],
    netOptions: [],
    pdOptions: [],
    peerDevices: [],
    implicit,
    ignore: false,
    isStandalone: false,
    pos,
  };
}

function newHostAddress(name: string, host: HostSection): HostAddress {
  return {
    name,
    parsedAddress: false,
    parsedPort: false,
    byAddress: false,
    fakedHostname: false,
    usedAsMe: false,
    hostInfo: host,
    pos: { file: host.pos.file, line: 0 },
  };
}

function createImplicitConnections(ctx: ResolveContext, res: Resource): void {
  if (res.connections.length > 0) return;
  // drbdadm's generated connections and paths have no source line (0)
  const nowhere = { file: res.file, line: 0 };
  const conn = newConnection(true, nowhere);
  const path: Path = { hosts: [], implicit: true, ignore: false, pos: nowhere };
  conn.paths.push(path);
  let hosts = 0;
  for (let hostIdx = 0; hostIdx < res.hosts.length; hostIdx++) {
    const host = res.hosts[hostIdx];
    if (++hosts === 3) {
      ctx.problems.warn(
        `Resource ${res.name}:\n\tUse explicit 'connection' sections (or a 'connection-mesh' section) with more than two 'on' sections.`,
      );
      break;
    }
    const a = host.address;
    if (a && a.af && a.addr && a.port) {
      let ha: HostAddress;
      if (!host.lower) {
        ha = newHostAddress(host.names[0], host);
      } else {
        ha = newHostAddress(namesToStr(host.names, "_"), host);
        ha.address = a;
        ha.fakedHostname = true;
        ha.parsedAddress = true;
      }
      ha.proxy = host.proxy;
      path.hosts.push(ha);
    }
  }
  if (hosts === 2) res.connections.push(conn);
}

function findHostByName(res: Resource, name: string): HostSection | undefined {
  return res.hosts.find((h) => hostnameInList(name, h.names));
}

function findHostOrInvalid(
  ctx: ResolveContext,
  res: Resource,
  name: string,
): HostSection | undefined {
  const host = findHostByName(res, name);
  if (!host) {
    ctx.problems.error(
      `${res.file}:${res.pos.line}: in resource ${res.name}:\n\t` +
        `There is no 'on' section for hostname '${name}' named in the connection-mesh`,
      res.pos,
    );
  } else if (host.proxy && ctx.problems.valid) {
    ctx.problems.error(
      `${res.file}:${host.pos.line}: in resource ${res.name}:\n\t` +
        "There is a drbd-8.x proxy config syntax within an 'on' section and you are using\n\t" +
        "the 'mesh' keyword from drbd-9.x syntax. That does not work together.\n\n\t" +
        "Use an explicit connection to configure a proxy and omit that pair of hosts\n\t" +
        "from the mesh.",
      { file: res.file, line: host.pos.line },
    );
  }
  return host;
}

function createConnectionsFromMesh(ctx: ResolveContext, res: Resource, mesh: Mesh): void {
  for (let i = 0; i < mesh.hosts.length; i++) {
    const hi1 = findHostOrInvalid(ctx, res, mesh.hosts[i]);
    if (!hi1) return;
    for (let j = i + 1; j < mesh.hosts.length; j++) {
      const hi2 = findHostOrInvalid(ctx, res, mesh.hosts[j]);
      if (!hi2) return;
      if (hi1 === hi2) continue;
      const nowhere = { file: res.file, line: 0 };
      const conn = newConnection(true, nowhere);
      const path: Path = { hosts: [], implicit: true, ignore: false, pos: nowhere };
      conn.paths.push(path);
      expandOpts(ctx, res, mesh.netOptions, conn.netOptions, true);
      path.hosts.push(newHostAddress(hi1.names[0], hi1));
      path.hosts.push(newHostAddress(hi2.names[0], hi2));
      res.connections.push(conn);
    }
  }
}

function findHostByHa(res: Resource, ha: HostAddress): HostSection | undefined {
  if (!ha.fakedHostname) return findHostByName(res, ha.name);
  return res.hosts.find((h) => ha.name === namesToStr(h.names, "_"));
}

function findHostByAddress(res: Resource, a: Address): HostSection | undefined {
  return res.hosts.find((h) =>
    h.address && h.address.addr === a.addr && h.address.af === a.af && h.address.port === a.port
  );
}

function toInt32(n: number): number {
  return n | 0;
}

function setHostInfoInPath(ctx: ResolveContext, res: Resource, conn: Connection, path: Path) {
  const hashes: number[] = [];
  const infos: HostSection[] = [];
  for (let i = 0; i < path.hosts.length; i++) {
    const ha = path.hosts[i];
    let host: HostSection | undefined;
    if (ha.hostInfo) {
      host = ha.hostInfo;
      if (!host.address?.addr) {
        ctx.problems.error(
          `"connection-mesh" (for "${res.name}") with a host ("${ha.name}") that has no "address" defined`,
        );
        return;
      }
      hashes.push(toInt32(crc32cText(0x1a656f21, host.address.addr)));
      infos.push(host);
    } else if (ha.byAddress) {
      host = findHostByAddress(res, ha.address!);
      ha.name = host ? namesToStr(host.names, "_") : "UNKNOWN";
    } else {
      host = findHostByHa(res, ha);
    }
    if (!host && ha.name === "_remote_host") {
      if (conn.peer) host = conn.peer;
      else continue;
    }
    if (!host) {
      ctx.problems.error(
        `${ctx.file}:${ha.pos.line}: in resource ${res.name} a hostname ("${ha.name}") is given\n` +
          `with a "host" keyword, has no "address" keyword, and no matching\n` +
          `host section ("on" keyword)`,
        { file: ctx.file, line: ha.pos.line },
      );
      return;
    }
    ha.hostInfo = host;
    const a = ha.address;
    if (!(a && a.addr && a.af && a.port)) {
      let haveAddress = true;
      let havePort = true;
      const resolved: Address = a ? { ...a } : { af: "ipv4", addr: "", port: "", pos: ha.pos };
      if (!(a && a.addr)) {
        if (host.address?.addr) {
          resolved.addr = host.address.addr;
          resolved.af = host.address.af;
        } else haveAddress = false;
      }
      if (!(a && a.port)) {
        if (host.address?.port) resolved.port = host.address.port;
        else havePort = false;
      }
      if (haveAddress || havePort) ha.address = resolved;
      if (!(haveAddress && havePort)) {
        ctx.problems.error(
          `${ctx.file}:${ha.pos.line}: Resource ${res.name}, host ${ha.name}: cannot determine which ` +
            `${haveAddress ? "" : "address"}${haveAddress !== havePort ? "" : " and "}${
              havePort ? "" : "port"
            } to use`,
          { file: ctx.file, line: ha.pos.line },
        );
      }
    }
  }
  if (conn.implicit && infos.length === 2 && !infos[0].nodeId && !infos[1].nodeId) {
    let ok = assignIds(hashes, infos);
    if (!ok) {
      const proxyHashes: number[] = [];
      for (let haIdx = 0; haIdx < conn.paths[0].hosts.length; haIdx++) {
        const ha = conn.paths[0].hosts[haIdx];
        if (!ha.hostInfo) continue;
        if (!ha.proxy) break;
        proxyHashes.push(
          toInt32(crc32cText(0x1a656f21, ha.proxy.outside?.addr ?? "")),
        );
      }
      ok = proxyHashes.length === 2 && assignIds(proxyHashes, infos);
    }
    if (!ok) throw new ResolveAbort("BAD LUCK, equal hashes", 20);
  }
}

function assignIds(hashes: number[], infos: HostSection[]): boolean {
  if (hashes[0] > hashes[1]) {
    infos[0].nodeId = "0";
    infos[1].nodeId = "1";
  } else if (hashes[0] < hashes[1]) {
    infos[0].nodeId = "1";
    infos[1].nodeId = "0";
  } else return false;
  return true;
}

/** Thrown where drbdadm exits in the middle of resolution. */
export class ResolveAbort extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

function setOnHostsInRes(ctx: ResolveContext, res: Resource, all: Resource[]): void {
  for (let hostIdx = 0; hostIdx < res.hosts.length; hostIdx++) {
    const host = res.hosts[hostIdx];
    if (!host.lowerName) continue;
    const lower = all.find((r) => r.name === host.lowerName);
    if (!lower) {
      ctx.problems.error(
        `${res.file}:${res.pos.line}: in resource ${res.name}, referenced resource '${host.lowerName}' not defined.`,
        res.pos,
      );
      continue;
    }
    for (let h2Idx = 0; h2Idx < lower.hosts.length; h2Idx++) {
      const h2 = lower.hosts[h2Idx];
      if (h2.lowerName) continue;
      host.names.push(...h2.names);
      for (let hIdx = 0; hIdx < h2.names.length; hIdx++) {
        const h = h2.names[hIdx];
        for (let volIdx = 0; volIdx < host.volumes.length; volIdx++) {
          const vol = host.volumes[volIdx];
          const p = { file: vol.pos.file, line: vol.devicePos?.line ?? 0 };
          ctx.parser.checkUniq("device-minor", `device-minor:${h}:${vol.minor}`, p);
          if (vol.device) ctx.parser.checkUniq("device", `device:${h}:${vol.device}`, p);
        }
      }
    }
    host.lower = lower;
    if (host.address?.addr && addrScopeLocal(host.address.addr)) {
      for (let hIdx = 0; hIdx < host.names.length; hIdx++) {
        const h = host.names[hIdx];
        // checked after parsing, where drbdadm's check_uniq names the line the scanner ended on
        ctx.parser.checkUniq("IP", `${h}:${host.address.addr}:${host.address.port}`, {
          file: ctx.file,
          line: ctx.lastLine,
        });
      }
    }
  }
}

function setMeInResource(ctx: ResolveContext, res: Resource): void {
  for (let hostIdx = 0; hostIdx < res.hosts.length; hostIdx++) {
    const host = res.hosts[hostIdx];
    if (host.byAddress) {
      if (!hostHasIp(host.address!.af, host.address!.addr) && ctx.hostname !== host.address!.addr) {
        continue;
      }
    } else if (host.lower) {
      if (!host.lower.me) continue;
    } else if (host.names.length === 0) {
      continue;
    } else if (!hostnameInList(ctx.hostname, host.names) && host.names[0] !== "_this_host") {
      continue;
    }
    const describe = (h: HostSection) =>
      h.lower ? `stacked-on-top-of ${h.lower.name}` : `on ${namesToStr(h.names)}`;
    if (res.me && res.me !== host) {
      ctx.problems.error(
        `${res.file}:${host.pos.line}: in resource ${res.name}, ${describe(res.me)} { ... } ... ${
          describe(host)
        } { ... }:\n\tThere are multiple host sections for this node.`,
        { file: res.file, line: host.pos.line },
      );
    }
    res.me = host;
    host.usedAsMe = true;
    if (host.lower) res.stacked = true;
  }
  if (!res.me) {
    res.ignore = true;
    return;
  }
  for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
    const conn = res.connections[connIdx];
    for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
      const path = conn.paths[pathIdx];
      const h = path.hosts.find((x) => x.hostInfo && x.hostInfo.usedAsMe);
      if (h) {
        if (
          !h.fakedHostname && h.hostInfo!.lower && h.hostInfo!.lower.me &&
          !hostnameInList(h.name, h.hostInfo!.lower.me.names)
        ) path.ignore = true;
        h.usedAsMe = true;
        if (!path.myAddress) path.myAddress = h.address?.addr ? h.address : res.me.address;
        path.myProxy = h.proxy;
      } else if (!conn.peer) {
        conn.ignore = true;
      }
    }
  }
}

function setPeerInConnection(ctx: ResolveContext, res: Resource, conn: Connection): void {
  if (res.ignore || conn.ignore) return;
  for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
    const path = conn.paths[pathIdx];
    const candidates = path.hosts.filter((h) => !h.usedAsMe);
    if (path.hosts.length < 2) return;
    if (candidates.length === 1 && path.hosts.length === 2) {
      const candidate = candidates[0];
      let host = conn.peer;
      if (!host) {
        host = findHostByHa(res, candidate);
        if (!host) {
          ctx.problems.error(
            `${res.file}:${conn.pos.line}: in connection in resource ${res.name}:\n` +
              `\tCan not find host_info for ${candidate.name}`,
            { file: res.file, line: conn.pos.line },
          );
          return;
        }
        conn.peer = host;
      }
      path.peerAddress = candidate.address?.addr ? candidate.address : host.address;
      path.peerProxy = candidate.proxy;
      path.connectTo = path.myProxy ? path.myProxy.inside : path.peerAddress;
      continue;
    }
    ctx.problems.error(
      `${res.file}:${conn.pos.line}: in connection in resource ${res.name}:\n` +
        `\tBug in set_peer_in_connection()`,
      { file: res.file, line: conn.pos.line },
    );
    return;
  }
}

function setStackedDisk(ctx: ResolveContext, res: Resource): void {
  if (res.ignore) return;
  for (let hostIdx = 0; hostIdx < res.hosts.length; hostIdx++) {
    const host = res.hosts[hostIdx];
    if (!host.lower) continue;
    for (let lowerHostIdx = 0; lowerHostIdx < host.lower.hosts.length; lowerHostIdx++) {
      const lowerHost = host.lower.hosts[lowerHostIdx];
      checkVolumeSetsEqual(ctx, res, host, lowerHost);
      if (!ctx.problems.valid) continue;
      let j = 0;
      for (let aIdx = 0; aIdx < host.volumes.length; aIdx++) {
        const a = host.volumes[aIdx];
        while (j < lowerHost.volumes.length && a.vnr > lowerHost.volumes[j].vnr) j++;
        const b = lowerHost.volumes[j];
        if (b && a.vnr === b.vnr) {
          a.disk = b.device ?? `/dev/drbd${b.minor}`;
          a.metaDisk ??= "internal";
          a.metaIndex ??= "internal";
          j++;
        }
      }
    }
  }
}

function addressesEqual(a: Address, b: Address): boolean {
  return normAddr(a) === normAddr(b) && a.port === b.port && a.af === b.af;
}

function normAddr(a: Address): string {
  if (a.af === "ipv4") {
    const form = scanIpv4(a.addr);
    // the usual spelling is canonical already: no new string
    if (form === "canonical") return a.addr;
    const p = IPV4_PARTS;
    if (form) return `${p[0]}.${p[1]}.${p[2]}.${p[3]}`;
  }
  if (a.af === "ipv6") return expandIpv6(a.addr) ?? a.addr;
  return a.addr;
}

/** Full 8-group lower-case form of an IPv6 address (for comparisons), or undefined. */
export function expandIpv6(addr: string): string | undefined {
  let s = addr.split("%")[0].toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const n = v4.slice(1).map(Number);
    s = s.slice(0, v4.index) + ((n[0] << 8) | n[1]).toString(16) + ":" +
      ((n[2] << 8) | n[3]).toString(16);
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array(Math.max(0, fill)).fill("0"), ...tail];
  if (groups.length !== 8) return undefined;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(":");
}

function endpointAddress(ha: HostAddress): Address | undefined {
  return ha.address?.addr ? ha.address : ha.hostInfo?.address;
}

function addrKey(a: Address): string {
  return `${a.af}|${normAddr(a)}|${a.port}`;
}

function checkAddrConflict(ctx: ResolveContext, resources: Resource[]): void {
  const seen = new Map<string, Resource>();
  const conflicts = new Set<HostAddress>();
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
      const conn = res.connections[connIdx];
      for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
        const path = conn.paths[pathIdx];
        const addrs: Address[] = [];
        for (let haIdx = 0; haIdx < path.hosts.length; haIdx++) {
          const ha = path.hosts[haIdx];
          const a = endpointAddress(ha);
          if (!a) continue;
          addrs.push(a);
          if (addrScopeLocal(a.addr)) continue;
          const key = addrKey(a);
          const found = seen.get(key);
          if (found) {
            if (found !== res) {
              if (conflicts.has(ha)) continue;
              const ha2 = findHaInRes(found, a);
              if (!ha2 || conflicts.has(ha2)) continue;
              ctx.problems.error(
                `${res.file}:${ha.pos.line}: in resource ${res.name}\n` +
                  `    ${a.af}:${a.addr}:${a.port} is also used ${found.file}:${ha2.pos.line} (resource ${found.name})`,
                { file: res.file, line: ha.pos.line },
              );
              conflicts.add(ha);
              conflicts.add(ha2);
            }
          } else seen.set(key, res);
        }
        if (
          addrs.length === 2 && addressesEqual(addrs[0], addrs[1]) && !addrScopeLocal(addrs[0].addr)
        ) {
          const a = addrs[0];
          ctx.problems.error(
            `${res.file}:${conn.pos.line}: in resource ${res.name} ${a.af}:${a.addr}:${a.port} is used for both endpoints`,
            { file: res.file, line: conn.pos.line },
          );
        }
      }
    }
  }
}

function findHaInRes(res: Resource, a: Address): HostAddress | undefined {
  for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
    const conn = res.connections[connIdx];
    for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
      const path = conn.paths[pathIdx];
      for (let haIdx = 0; haIdx < path.hosts.length; haIdx++) {
        const ha = path.hosts[haIdx];
        const b = endpointAddress(ha);
        if (b && addressesEqual(a, b)) return ha;
      }
    }
  }
  return undefined;
}

function fixupPeerDevices(ctx: ResolveContext, res: Resource): void {
  for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
    const conn = res.connections[connIdx];
    const somePath = conn.paths[0];
    if (!somePath) continue;
    for (let pdIdx = 0; pdIdx < conn.peerDevices.length; pdIdx++) {
      const pd = conn.peerDevices[pdIdx];
      for (let haIdx = 0; haIdx < somePath.hosts.length; haIdx++) {
        const ha = somePath.hosts[haIdx];
        if (ha.name === "_remote_host") continue;
        if (!ha.hostInfo) continue;
        if (!findVolume(ha.hostInfo.volumes, pd.vnr)) {
          ctx.problems.error(
            `${res.file}:${pd.pos.line}: Resource ${res.name}: There is a reference to a volume ${pd.vnr} that ` +
              `is not known in this resource on host ${ha.name}`,
            { file: res.file, line: pd.pos.line },
          );
        }
      }
    }
    const someHost = somePath.hosts[0]?.hostInfo;
    if (!someHost) continue;
    for (let volIdx = 0; volIdx < someHost.volumes.length; volIdx++) {
      const vol = someHost.volumes[volIdx];
      if (conn.peerDevices.some((p) => p.vnr === vol.vnr)) continue;
      conn.peerDevices.push({ vnr: vol.vnr, options: [], implicit: true, pos: conn.pos });
    }
  }
}

function createImplicitNetOptions(conn: Connection): void {
  if (conn.netOptions.some((o) => o.name === "_name")) return;
  let value: string | undefined;
  if (conn.name) value = conn.name;
  else if (conn.peer) value = namesToStr(conn.peer.names, "_");
  if (value === undefined) return;
  conn.netOptions.unshift({
    name: "_name",
    value,
    quoted: false,
    inherited: false,
    pos: conn.pos,
  });
}

/**
 * drbdadm's set_peer_in_resource (peer host per connection, `_name` net option, `bitmap no` for
 * diskless peers). drbdadm runs it lazily for commands that need peers; idempotent.
 */
export function setPeerInResource(ctx: ResolveContext, res: Resource): void {
  if (peerDone.has(res)) return;
  peerDone.add(res);
  for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
    const conn = res.connections[connIdx];
    setPeerInConnection(ctx, res, conn);
    createImplicitNetOptions(conn);
  }
  for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
    const conn = res.connections[connIdx];
    if (conn.ignore) continue;
    for (let pdIdx = 0; pdIdx < conn.peerDevices.length; pdIdx++) {
      const pd = conn.peerDevices[pdIdx];
      const vol = conn.peer ? findVolume(conn.peer.volumes, pd.vnr) : undefined;
      if (conn.peer && vol && vol.disk === undefined) {
        pd.options.push({
          name: "bitmap",
          value: "no",
          quoted: false,
          inherited: false,
          pos: pd.pos,
        });
      }
    }
  }
}
const peerDone = new WeakSet<Resource>();

/** Runs drbdadm's post_parse over all resources, recording problems in `ctx.problems`. */
export function postParse(ctx: ResolveContext, resources: Resource[]): void {
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    let anyImplicit = false;
    let anyNonZero = false;
    for (let hostIdx = 0; hostIdx < res.hosts.length; hostIdx++) {
      const host = res.hosts[hostIdx];
      inheritVolumes(ctx, res.volumes, host);
      for (let volIdx = 0; volIdx < host.volumes.length; volIdx++) {
        const vol = host.volumes[volIdx];
        anyImplicit ||= vol.implicit;
        anyNonZero ||= vol.vnr !== 0;
        checkMetaDisk(ctx, vol, host);
      }
      if (host.requireMinor) {
        let last = -1;
        for (let volIdx = 0; volIdx < host.volumes.length; volIdx++) {
          const vol = host.volumes[volIdx];
          if (last === -1 || last < vol.vnr) last = vol.vnr;
          else ctx.problems.warn(`internal error: in ${res.name}: unsorted volumes list`);
          checkVolumeComplete(ctx, res, host, vol);
        }
      }
    }
    const first = res.hosts[0];
    if (first) {
      for (let h2Idx = 0; h2Idx < res.hosts.length; h2Idx++) {
        const h2 = res.hosts[h2Idx];
        checkVolumeSetsEqual(ctx, res, first, h2);
      }
    }
    if (anyImplicit && anyNonZero) {
      ctx.problems.error(
        `${ctx.file}:${ctx.lastLine}: in resource ${res.name}: you must not mix implicit and explicit volumes`,
        { file: ctx.file, line: ctx.lastLine },
      );
    }
  }
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    if (res.stackedOnOne) setOnHostsInRes(ctx, res, resources);
  }
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
      const conn = res.connections[connIdx];
      for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
        const path = conn.paths[pathIdx];
        if (path.hosts.length !== 2) {
          ctx.problems.error(
            `${res.file}:${path.pos.line}: Resource ${res.name}: ${
              path.implicit ? "connection" : "path"
            } needs to have two endpoints`,
            { file: res.file, line: path.pos.line },
          );
        }
      }
    }
    if (!ctx.problems.valid) continue;
    for (let meshIdx = 0; meshIdx < res.meshes.length; meshIdx++) {
      const mesh = res.meshes[meshIdx];
      createConnectionsFromMesh(ctx, res, mesh);
    }
    createImplicitConnections(ctx, res);
    for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
      const conn = res.connections[connIdx];
      for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
        const path = conn.paths[pathIdx];
        setHostInfoInPath(ctx, res, conn, path);
      }
    }
    for (let hostIdx = 0; hostIdx < res.hosts.length; hostIdx++) {
      const host = res.hosts[hostIdx];
      if (!host.nodeId) derror(ctx, host, res, "node-id");
    }
  }
  if (ctx.problems.valid) checkAddrConflict(ctx, resources);
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    if (!res.stackedOnOne) setMeInResource(ctx, res);
  }
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    if (res.stackedOnOne) setMeInResource(ctx, res);
  }
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    if (res.stackedOnOne) setStackedDisk(ctx, res);
  }
  for (let resIdx = 0; resIdx < resources.length; resIdx++) {
    const res = resources[resIdx];
    fixupPeerDevices(ctx, res);
  }
}

/** Whether two values of option `name` mean the same (`1M` and `1024K`), as drbdadm decides. */
function sameValue(name: string, a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  const def = lookupOption(name);
  return def !== undefined && valuesEqual(def, a, b);
}

/**
 * drbdadm compares two values of a numeric option by reading both as numbers (m_strtoll), and
 * that ends the run (exit 20, "X is not a valid number") when one is not: a resource name given
 * twice to `resync-after` (a disk section and a syncer `after`, or twice in one section) reaches
 * this comparison when it is inherited to the volumes. The run ends there, after what drbdadm
 * printed before.
 */
function unreadableNumber(
  ctx: ResolveContext,
  name: string,
  a: string | undefined,
  b: string | undefined,
): void {
  const def = lookupOption(name);
  if (def?.type !== "numeric") return;
  for (const v of [a, b]) {
    if (v === undefined || parseNumeric(v, def.unitPrefix ?? "1") !== undefined) continue;
    const message = `${v} is not a valid number`;
    throw new ConfigError(message, {
      exitCode: EXIT.EXEC_ERROR,
      diagnostics: [...ctx.problems.list, { message, warning: false }],
    });
  }
}

/**
 * drbdadm's expand_opts: copies options missing from `to` (at its head, marked inherited);
 * values inherited twice must mean the same (compared by meaning, not text: `1M` = `1024K`),
 * else it is an error unless `check` is off (drbdadm's wildcard context, proxy plugins).
 */
export function expandOpts(
  ctx: ResolveContext,
  res: Resource,
  from: OptionList,
  to: OptionList,
  check = true,
): void {
  for (let oIdx = 0; oIdx < from.length; oIdx++) {
    const o = from[oIdx];
    const existing = to.find((x) => x.name === o.name);
    if (!existing) {
      to.unshift({ ...o, inherited: true });
    } else if (existing.inherited && check) {
      unreadableNumber(ctx, o.name, existing.value, o.value);
      if (sameValue(o.name, existing.value, o.value)) continue;
      ctx.problems.error(
        `${res.file}:${res.pos.line}: in resource ${res.name}, ambiguous inheritance for option "${o.name}".\n` +
          `should be "${existing.value}" and "${o.value}" at the same time\n.`,
        res.pos,
      );
    }
  }
}
