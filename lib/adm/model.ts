/**
 * Small views of the configuration model that drbdadm's command layer needs, and the adapter to
 * lib/config's printers for dumps of single named resources.
 *
 * @module
 */

import type { Config, Connection, Resource, Volume } from "../config/types.ts";
import { dumpConfig, dumpXml } from "../config/mod.ts";

/** Whether a volume has a local backing disk (`disk none` counts as none). */
export function hasDisk(vol: Volume): boolean {
  return vol.disk !== undefined && vol.disk !== "" && vol.disk !== "none";
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

/**
 * Replaces `resync-after RES[/VOL]` by the minor number of that volume, as drbdadm does before
 * running a command. An unknown reference is reported; off a terminal the option is dropped
 * (scripts must keep working when a resource was deleted), on a terminal it makes the
 * configuration invalid. Returns false when the configuration became invalid.
 */
export function convertResyncAfter(
  config: Config,
  tty: boolean,
  err: (t: string) => void,
): boolean {
  let valid = true;
  for (const res of config.resources) {
    for (const host of res.hosts) {
      for (const vol of host.volumes) {
        const kept = [];
        for (const opt of vol.diskOptions) {
          if (opt.name !== "resync-after" || opt.value === undefined) {
            kept.push(opt);
            continue;
          }
          const ref = opt.value;
          const slash = ref.lastIndexOf("/");
          const name = (slash >= 0 ? ref.slice(0, slash) : ref).replace(/:.*$/, "");
          const target = config.resources.find((r) => r.name === name);
          const vols = target?.me?.volumes ?? [];
          let dep: Volume | undefined;
          if (slash >= 0) dep = vols.find((v) => v.vnr === Number(ref.slice(slash + 1)));
          else if (vols.length === 1) dep = vols[0];
          else if (vols.length > 1 && target && !target.ignore) {
            err(
              `${res.file}:${res.pos.line}: in resource ${res.name}:\n\tresync-after contains ` +
                `'${ref}', which is ambiguous, since it contains ${vols.length} volumes\n`,
            );
            return false;
          }
          if (!target || target.ignore || !dep) {
            err(
              `${res.file}:${res.pos.line}: in resource ${res.name}:\n\tresource '${ref}' ` +
                `mentioned in 'resync-after' option is not known${
                  target && !target.ignore ? " on this host" : ""
                }.\n`,
            );
            if (tty) valid = false;
            continue;
          }
          kept.push({ ...opt, value: String(dep.minor) });
        }
        vol.diskOptions = kept;
      }
    }
  }
  return valid;
}
