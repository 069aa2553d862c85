/**
 * Inheritance of options: common (or a template) → resource → volume / connection / peer
 * device, as drbdadm's expand_common.
 *
 * @module
 */

import type { Config } from "./types.ts";
import { expandOpts, type ResolveContext } from "./resolve.ts";
import { Problems } from "./problems.ts";
import { ConfigError, EXIT } from "./errors.ts";

/**
 * Copies `common` options into every resource and resource-level options into volumes,
 * connections and peer devices, as drbdadm's `expand_common` does for every command except a
 * plain `dump` (and for `dump` with `-d`/`-v`). Inherited options are marked `inherited: true`
 * and placed before the section's own options. `disk none` becomes no disk, and every volume gets
 * a device name (`/dev/drbd<minor>`). Mutates `config`; throws {@link ConfigError} on ambiguous
 * inheritance.
 */
export function expandCommon(config: Config): void {
  const problems = new Problems();
  const ctx = { problems } as unknown as ResolveContext;
  for (let resIdx = 0; resIdx < config.resources.length; resIdx++) {
    const res = config.resources[resIdx];
    for (let hIdx = 0; hIdx < res.hosts.length; hIdx++) {
      const h = res.hosts[hIdx];
      for (let volIdx = 0; volIdx < h.volumes.length; volIdx++) {
        const vol = h.volumes[volIdx];
        if (vol.disk === "none") {
          vol.disk = undefined;
          vol.metaDisk = undefined;
          vol.metaIndex = undefined;
        }
        vol.device ??= `/dev/drbd${vol.minor}`;
      }
    }
    const tpl = res.template ?? config.common;
    if (tpl) {
      expandOpts(ctx, res, tpl.netOptions, res.netOptions);
      expandOpts(ctx, res, tpl.diskOptions, res.diskOptions);
      expandOpts(ctx, res, tpl.pdOptions, res.pdOptions);
      expandOpts(ctx, res, tpl.startupOptions, res.startupOptions);
      expandOpts(ctx, res, tpl.proxyOptions, res.proxyOptions);
      expandOpts(ctx, res, tpl.handlers, res.handlers);
      expandOpts(ctx, res, tpl.resOptions, res.resOptions);
      if (tpl.stackedTimeouts) res.stackedTimeouts = true;
      expandOpts(ctx, res, tpl.proxyPlugins, res.proxyPlugins, false);
    }
    for (let hIdx = 0; hIdx < res.hosts.length; hIdx++) {
      const h = res.hosts[hIdx];
      for (let volIdx = 0; volIdx < h.volumes.length; volIdx++) {
        const vol = h.volumes[volIdx];
        expandOpts(ctx, res, res.diskOptions, vol.diskOptions);
        expandOpts(ctx, res, res.pdOptions, vol.pdOptions);
      }
    }
    for (let volIdx = 0; volIdx < res.volumes.length; volIdx++) {
      const vol = res.volumes[volIdx];
      for (let hIdx = 0; hIdx < res.hosts.length; hIdx++) {
        const h = res.hosts[hIdx];
        const hv = h.volumes.find((v) => v.vnr === vol.vnr);
        if (!hv) continue;
        expandOpts(ctx, res, vol.diskOptions, hv.diskOptions);
        expandOpts(ctx, res, vol.pdOptions, hv.pdOptions);
      }
    }
    for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
      const conn = res.connections[connIdx];
      expandOpts(ctx, res, res.netOptions, conn.netOptions);
    }
    for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
      const conn = res.connections[connIdx];
      for (let pathIdx = 0; pathIdx < conn.paths.length; pathIdx++) {
        const path = conn.paths[pathIdx];
        for (let haIdx = 0; haIdx < path.hosts.length; haIdx++) {
          const ha = path.hosts[haIdx];
          if (!ha.proxy) continue;
          expandOpts(ctx, res, res.proxyOptions, ha.proxy.options);
          expandOpts(ctx, res, res.proxyPlugins, ha.proxy.plugins, false);
        }
      }
    }
    for (let connIdx = 0; connIdx < res.connections.length; connIdx++) {
      const conn = res.connections[connIdx];
      for (let pdIdx = 0; pdIdx < conn.peerDevices.length; pdIdx++) {
        const pd = conn.peerDevices[pdIdx];
        expandOpts(ctx, res, conn.pdOptions, pd.options);
      }
      const somePath = conn.paths[0];
      if (!somePath) continue;
      for (let haIdx = 0; haIdx < somePath.hosts.length; haIdx++) {
        const ha = somePath.hosts[haIdx];
        const h = ha.hostInfo;
        if (!h) continue;
        for (let volIdx = 0; volIdx < h.volumes.length; volIdx++) {
          const vol = h.volumes[volIdx];
          const pd = conn.peerDevices.find((p) => p.vnr === vol.vnr);
          if (pd) expandOpts(ctx, res, vol.pdOptions, pd.options);
        }
      }
    }
  }
  if (!problems.valid) {
    const first = problems.firstError!;
    throw new ConfigError(first.message, {
      pos: first.pos,
      exitCode: EXIT.CONFIG_INVALID,
      diagnostics: problems.list,
    });
  }
}
