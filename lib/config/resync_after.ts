/**
 * drbdadm's conversion of `resync-after RES[/VOL]` into the minor number of that volume, done
 * per resource right after the resource is validated (so its messages interleave with those of
 * the validation, resource by resource, as drbd-utils prints them).
 *
 * @module
 */

import type { Config, Resource, Volume } from "./types.ts";
import type { Problems } from "./problems.ts";

/**
 * Replaces every volume's `resync-after RES[/VOL]` of `res` by the minor number of that volume.
 * An unknown reference is reported; off a terminal the option is dropped (scripts must keep
 * working when a resource was deleted), on a terminal it makes the configuration invalid, as
 * does a reference to a resource of several volumes without a volume number.
 */
export function convertResyncAfter(
  config: Config,
  res: Resource,
  noTty: boolean,
  problems: Problems,
): void {
  const at = `${res.file}:${res.pos.line}: in resource ${res.name}:\n\t`;
  for (const host of res.hosts) {
    for (const vol of host.volumes) {
      if (!vol.diskOptions.some((o) => o.name === "resync-after")) continue;
      const kept = [];
      let i = 0;
      for (; i < vol.diskOptions.length; i++) {
        const opt = vol.diskOptions[i];
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
          // drbdadm gives up on this volume's options only: the rest stay as they are
          problems.error(
            `${at}resync-after contains '${ref}', which is ambiguous, since it contains ` +
              `${vols.length} volumes`,
            res.pos,
          );
          break;
        }
        if (!target || target.ignore || !dep) {
          const msg = `${at}resource '${ref}' mentioned in 'resync-after' option is not known${
            target && !target.ignore ? " on this host" : ""
          }.`;
          if (noTty) {
            problems.warn(msg, res.pos);
          } else {
            problems.error(msg, res.pos);
            kept.push(opt);
          }
          continue;
        }
        kept.push({ ...opt, value: String(dep.minor) });
      }
      vol.diskOptions = [...kept, ...vol.diskOptions.slice(i)];
    }
  }
}
