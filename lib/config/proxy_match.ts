/**
 * Host selection for drbdadm's proxy commands (`proxy-up`, `proxy-down`). drbdadm 9.22 runs them
 * on the machine where a DRBD proxy runs, which need not be a DRBD node: a host section is this
 * node's when the proxy of its endpoint (`proxy on NAME { }`) names this machine, instead of the
 * section itself naming it.
 *
 * Name matching selects host sections while a configuration is resolved; this module redoes
 * that selection on the resolved configuration for the proxy commands.
 *
 * @module
 */

import type { Config, HostSection, Resource } from "./types.ts";
import { hostnameInList } from "./parser.ts";

/**
 * Selects each resource's own host section as drbdadm 9.22 does for proxy commands: the last
 * host section whose endpoint's proxy runs on `config.hostname`. Resources without one are
 * ignored; the endpoints, addresses and proxies of this node are bound again accordingly.
 */
export function matchOnProxy(config: Config): void {
  // the same two passes as name matching: stacked resources need their lower one's host
  for (const res of config.resources) if (!res.stackedOnOne) selectByProxy(res, config.hostname);
  for (const res of config.resources) if (res.stackedOnOne) selectByProxy(res, config.hostname);
}

/** drbdadm's test_proxy_on_host: the first proxied endpoint of `host` decides. */
function proxyRunsHere(res: Resource, host: HostSection, hostname: string): boolean {
  for (const conn of res.connections) {
    for (const path of conn.paths) {
      for (const ha of path.hosts) {
        if (!ha.proxy || ha.hostInfo !== host) continue;
        return hostnameInList(hostname, ha.proxy.onHosts);
      }
    }
  }
  return false;
}

function selectByProxy(res: Resource, hostname: string): void {
  // undo the selection by name
  res.me = undefined;
  res.ignore = false;
  res.stacked = false;
  for (const host of res.hosts) host.usedAsMe = false;
  for (const conn of res.connections) {
    conn.ignore = false;
    for (const path of conn.paths) {
      path.ignore = false;
      path.myProxy = undefined;
      // `_this_host` endpoints carry their address from parsing; the rest came from selection
      path.myAddress = path.hosts.find((h) => h.name === "_this_host")?.address;
      for (const ha of path.hosts) ha.usedAsMe = false;
    }
  }

  for (const host of res.hosts) {
    if (!proxyRunsHere(res, host, hostname)) continue;
    // unlike name matching, several matching sections are no error: the last one wins
    res.me = host;
    host.usedAsMe = true;
    if (host.lower) res.stacked = true;
  }
  if (!res.me) {
    res.ignore = true;
    return;
  }
  bindPaths(res, res.me);
}

/** drbdadm's end of set_me_in_resource: each path's own endpoint, address and proxy. */
function bindPaths(res: Resource, me: HostSection): void {
  for (const conn of res.connections) {
    for (const path of conn.paths) {
      const h = path.hosts.find((x) => x.hostInfo?.usedAsMe);
      if (!h) {
        if (!conn.peer) conn.ignore = true;
        continue;
      }
      const lowerMe = h.hostInfo!.lower?.me;
      if (!h.fakedHostname && lowerMe && !hostnameInList(h.name, lowerMe.names)) path.ignore = true;
      h.usedAsMe = true;
      path.myAddress ??= h.address?.addr ? h.address : me.address;
      path.myProxy = h.proxy;
    }
  }
}

/**
 * What drbdadm 9.22's adjust does before it compares: it selects this node's host section once
 * more, by proxy, on top of the selection by name. The last host section whose endpoint's proxy
 * runs on `hostname` becomes `res.me` (its volumes, node-id and disks are what adjust then
 * configures); sections selected before stay marked as this node's, and paths keep the
 * addresses they have. A resource with no proxy on this machine is left as it is.
 */
export function reselectMeByProxy(res: Resource, hostname: string): void {
  let me: HostSection | undefined;
  for (const host of res.hosts) {
    if (!proxyRunsHere(res, host, hostname)) continue;
    me = host;
    host.usedAsMe = true;
    if (host.lower) res.stacked = true;
  }
  if (!me) return;
  res.me = me;
  bindPaths(res, me);
}
