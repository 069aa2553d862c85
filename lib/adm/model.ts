/**
 * Small views of the configuration model that drbdadm's command layer needs, and the adapter to
 * lib/config's printers for dumps of single named resources.
 *
 * @module
 */

import type { Config, Connection, Resource, Volume } from "../config/types.ts";
import { dumpConfig, dumpXml } from "../config/mod.ts";

/**
 * Whether a volume has a local backing disk (`disk none` counts as none). `disk ""` counts as
 * one, as for drbdadm 9.22, which tests only that a disk was given.
 */
export function hasDisk(vol: Volume): boolean {
  return vol.disk !== undefined && vol.disk !== "none";
}

/** The device path of a volume (`/dev/drbdN` when only `device minor N` was written). */
export function deviceOf(vol: Volume): string {
  return vol.device ?? `/dev/drbd${vol.minor}`;
}

/** The peer's node-id of a connection, as text. */
export function peerNodeId(conn: Connection): string {
  return conn.peer?.nodeId ?? "";
}

/**
 * The `dump`/`dump-xml` text for one named resource, as drbdadm prints it when resources are
 * named on the command line: without the file header, `global` and `common`, and for XML without
 * the `<config>` wrapper and its indentation.
 */
export function dumpResources(
  config: Config,
  resources: Resource[],
  xml: boolean,
  verbose: boolean,
): string {
  if (!xml) {
    const text = dumpConfig(config, resources, { verbose });
    const at = text.startsWith("# resource ") ? 0 : text.indexOf("\n# resource ");
    return at < 0 ? text : text.slice(at === 0 ? 0 : at + 1);
  }
  const text = dumpXml(config, resources, { verbose });
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^\s*<resource /.test(l));
  const end = lines.lastIndexOf("</config>");
  if (start < 0) return text;
  return lines.slice(start, end < 0 ? undefined : end).map((l) => l.replace(/^ {4}/, "")).join(
    "\n",
  ) + (end < 0 ? "" : "\n");
}
