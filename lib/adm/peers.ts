/**
 * drbdadm's late resolution of peers (set_peer_in_resource): the implicit `_name` net option of
 * each connection and `bitmap no` for peer devices whose peer has no disk. drbdadm does this only
 * for resources named on the command line or for commands that talk to peers, which is visible
 * in `dump-xml` and in the generated `new-peer` lines; so it is done here, on demand, once per
 * resource.
 *
 * @module
 */

import type { ConfigOption, Connection, Resource } from "../config/types.ts";

const done = new WeakSet<Resource>();

function implicitOption(name: string, value: string, like: ConfigOption["pos"]): ConfigOption {
  return { name, value, quoted: false, inherited: false, pos: like };
}

function peerIsDiskless(conn: Connection, vnr: number): boolean {
  const vol = conn.peer?.volumes.find((v) => v.vnr === vnr);
  return vol !== undefined && (vol.disk === undefined || vol.disk === "" || vol.disk === "none");
}

/** Adds the implicit per-connection options drbdadm adds once it knows the peers. Idempotent. */
export function setPeerInResource(res: Resource): void {
  if (done.has(res)) return;
  done.add(res);
  for (const conn of res.connections) {
    if (!conn.netOptions.some((o) => o.name === "_name")) {
      const value = conn.name ?? conn.peer?.names.join("_");
      if (value !== undefined) conn.netOptions.unshift(implicitOption("_name", value, conn.pos));
    }
  }
  for (const conn of res.connections) {
    if (conn.ignore || !conn.peer) continue;
    for (const pd of conn.peerDevices) {
      if (!peerIsDiskless(conn, pd.vnr)) continue;
      if (pd.options.some((o) => o.name === "bitmap" && o.value === "no")) continue;
      pd.options.push(implicitOption("bitmap", "no", pd.pos));
    }
  }
}
