/**
 * The running configuration: `drbdsetup show` output read back into the configuration model,
 * as drbdadm's adjust does before it compares it with drbd.conf. The text is drbd.conf syntax
 * with `_this_host`, `_peer_node_id`, `_remote_host` and `_is_standalone` in place of host
 * sections; the resources it describes are this node's only.
 *
 * @module
 */

import { Lexer } from "./lexer.ts";
import { newVolume } from "./parser.ts";
import type {
  Address,
  AddressFamily,
  Connection,
  HostSection,
  OptionList,
  Path,
  SourcePos,
  Volume,
} from "./types.ts";

/** One resource as `drbdsetup show` describes it. */
export interface RunningResource {
  name: string;
  /** This node's node-id. */
  nodeId?: string;
  /** Resource options (`options { }`). */
  resOptions: OptionList;
  /** Local volumes in vnr order, with their minor, disk, meta-disk and disk options. */
  volumes: Volume[];
  /** Connections: `peer.nodeId`, paths (`myAddress`, `connectTo`), net options, peer devices. */
  connections: Connection[];
}

/** A statement: its words up to `;`, or up to `{` with the statements of the block. */
interface Node {
  words: string[];
  children?: Node[];
}

const SHOW: SourcePos = { file: "drbdsetup show", line: 0 };

function readBlock(lexer: Lexer, top: boolean): Node[] {
  const nodes: Node[] = [];
  let words: string[] = [];
  for (;;) {
    const t = lexer.next();
    if (t.kind === "eof") {
      if (words.length) nodes.push({ words });
      return nodes;
    }
    if (t.kind === "}") {
      if (words.length) nodes.push({ words });
      if (!top) return nodes;
      words = [];
    } else if (t.kind === ";") {
      nodes.push({ words });
      words = [];
    } else if (t.kind === "{") {
      nodes.push({ words, children: readBlock(lexer, false) });
      words = [];
    } else words.push(t.text);
  }
}

function options(node: Node | undefined): OptionList {
  const list: OptionList = [];
  for (const n of node?.children ?? []) {
    if (n.children || n.words.length === 0) continue;
    const [name, value] = n.words;
    list.push({ name, value, quoted: false, inherited: false, pos: SHOW });
  }
  return list;
}

function child(node: Node, keyword: string): Node | undefined {
  return node.children?.find((n) => n.words[0] === keyword && n.children);
}

/** `AF ADDR:PORT` as drbdsetup prints an endpoint (`ipv6 [fe80::1]:7789` for IPv6). */
function address(words: string[]): Address | undefined {
  if (words.length < 2) return undefined;
  const af = words[0] as AddressFamily;
  const text = words.slice(1).join("");
  const colon = text.lastIndexOf(":");
  if (colon < 0) return undefined;
  const addr = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { af, addr, port: text.slice(colon + 1), pos: SHOW };
}

function peerHost(nodeId: string): HostSection {
  return {
    names: [],
    volumes: [],
    nodeId,
    options: [],
    requireMinor: false,
    byAddress: false,
    implicit: true,
    usedAsMe: false,
    pos: SHOW,
  };
}

function volume(node: Node): Volume {
  const vol = newVolume(Number(node.words[1]), SHOW);
  for (const n of node.children ?? []) {
    const [key, ...rest] = n.words;
    if (key === "device" && !n.children) vol.minor = Number(rest[rest.length - 1]);
    else if (key === "disk" && n.children) vol.diskOptions = options(n);
    else if (key === "disk") vol.disk = rest[0];
    else if (key === "meta-disk") {
      vol.metaDisk = rest[0];
      // `"DEV" [ IDX ]` is an indexed external area, `"DEV"` alone a flexible one
      vol.metaIndex = rest[0] === "internal" ? "internal" : rest.length >= 4 ? rest[2] : "flexible";
    }
  }
  return vol;
}

function connection(node: Node): Connection {
  const conn: Connection = {
    paths: [],
    netOptions: options(child(node, "net")),
    pdOptions: [],
    peerDevices: [],
    implicit: false,
    ignore: false,
    isStandalone: false,
    pos: SHOW,
  };
  for (const n of node.children ?? []) {
    const key = n.words[0];
    if (key === "_peer_node_id") conn.peer = peerHost(n.words[1]);
    else if (key === "_is_standalone") conn.isStandalone = true;
    else if (key === "path" && n.children) {
      const path: Path = { hosts: [], implicit: false, ignore: false, pos: SHOW };
      for (const e of n.children) {
        if (e.words[0] === "_this_host") path.myAddress = address(e.words.slice(1));
        if (e.words[0] === "_remote_host") {
          path.peerAddress = address(e.words.slice(1));
          path.connectTo = path.peerAddress;
        }
      }
      conn.paths.push(path);
    } else if (key === "volume" && n.children) {
      conn.peerDevices.push({
        vnr: Number(n.words[1]),
        options: options(child(n, "disk")),
        implicit: false,
        pos: SHOW,
      });
    }
  }
  return conn;
}

/**
 * Reads `drbdsetup show` output (several resources, or "# No currently configured DRBD found.")
 * into one {@link RunningResource} per resource, in order. Anything it does not understand is
 * skipped: what cannot be read counts as not running, so adjust configures it.
 */
export function parseRunningConfig(text: string): RunningResource[] {
  const out: RunningResource[] = [];
  for (const node of readBlock(new Lexer(text), true)) {
    if (node.words[0] !== "resource" || !node.children || node.words.length < 2) continue;
    const res: RunningResource = {
      name: node.words[1],
      resOptions: options(child(node, "options")),
      volumes: [],
      connections: [],
    };
    for (const n of node.children) {
      if (n.words[0] === "_this_host" && n.children) {
        for (const h of n.children) {
          if (h.words[0] === "node-id") res.nodeId = h.words[1];
          if (h.words[0] === "volume" && h.children) res.volumes.push(volume(h));
        }
      } else if (n.words[0] === "connection" && n.children) {
        res.connections.push(connection(n));
      }
    }
    res.volumes.sort((a, b) => a.vnr - b.vnr);
    // drbdsetup omits peer devices without options; every volume has one on every connection
    for (const conn of res.connections) {
      for (const vol of res.volumes) {
        if (conn.peerDevices.some((p) => p.vnr === vol.vnr)) continue;
        conn.peerDevices.push({ vnr: vol.vnr, options: [], implicit: true, pos: SHOW });
      }
      conn.peerDevices.sort((a, b) => a.vnr - b.vnr);
    }
    out.push(res);
  }
  return out;
}
