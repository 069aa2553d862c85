/**
 * drbdsetup's main flow once its command line is parsed: send the command to the node daemon
 * (starting the daemon when a command needs it, as drbdsetup loads the kernel module), and
 * print what drbdsetup 9.22 prints. Queries (status, show, role, cstate, dstate, events2,
 * wait-*) are answered from the daemon's state snapshot; with no daemon running they behave
 * as drbdsetup does with a loaded module and no resources.
 *
 * @module
 */

import type { Console } from "../cli/io.ts";
import { connectDaemon, type ControlClient } from "../control/client.ts";
import { ControlError } from "../control/protocol.ts";
import type { ResourceStatus } from "../status/types.ts";
import type { ShowResource } from "../engine/snapshot.ts";
import { deleteLastKnown, loadLastKnown, saveLastKnown } from "../meta/lkbd.ts";
import { deviceBytes } from "../util/device_size.ts";

/** A parsed drbdsetup command line. */
export interface SetupRequest {
  command: string;
  /** The first positional argument as typed (drbdsetup's "objname"). */
  objname: string;
  args: Record<string, string>;
  options: Record<string, string>;
}

/** Formatters the caller supplies (kept out of this module's start-up imports). */
export interface SetupFormatters {
  status(resources: ResourceStatus[], req: SetupRequest, io: Console): void;
  show(resources: ShowResource[], req: SetupRequest, io: Console): void;
  events(
    previous: ResourceStatus[] | undefined,
    next: ResourceStatus[],
    req: SetupRequest,
    io: Console,
  ): void;
}

/** Options of {@link runSetup}. */
export interface RunSetupOptions {
  runDir?: string;
  formatters: SetupFormatters;
  /** Stops events2 / wait-* (tests, Ctrl-C). */
  signal?: AbortSignal;
  /** Daemon program for on-demand start (tests). */
  daemonCommand?: string[];
}

/** Commands that only read state: no daemon means "no resources", never a start. */
const QUERIES = new Set([
  "status",
  "show",
  "role",
  "cstate",
  "dstate",
  "check-resize",
  "events2",
  "get-gi",
  "show-gi",
  "down",
  "wait-connect-volume",
  "wait-connect-connection",
  "wait-connect-resource",
  "wait-sync-volume",
  "wait-sync-connection",
  "wait-sync-resource",
]);

/** Runs one parsed drbdsetup command; returns its exit code. */
export async function runSetup(
  req: SetupRequest,
  io: Console,
  options: RunSetupOptions,
): Promise<number> {
  let client: ControlClient | undefined;
  try {
    client = await connectDaemon({
      runDir: options.runDir,
      start: !QUERIES.has(req.command),
      command: options.daemonCommand,
    });
    return await dispatch(client, req, io, options);
  } catch (e) {
    if (e instanceof ControlError) {
      // A DRBD return code's text may end in an empty line (the kernel's info), printed as is.
      const whole = e.retcode !== undefined || !e.message.endsWith("\n");
      io.err(whole ? e.message + "\n" : e.message);
      return e.exitCode;
    }
    throw e;
  } finally {
    await client?.close();
  }
}

async function snapshot(
  client: ControlClient | undefined,
  resource?: string,
): Promise<ResourceStatus[]> {
  if (!client) return [];
  return await client.call<ResourceStatus[]>("status", { args: { resource } });
}

async function dispatch(
  client: ControlClient | undefined,
  req: SetupRequest,
  io: Console,
  options: RunSetupOptions,
): Promise<number> {
  const { command, objname } = req;
  switch (command) {
    case "status": {
      const all = await snapshot(client, objname === "all" ? undefined : objname);
      if (objname !== "all" && objname !== "" && all.length === 0) {
        io.err(`${objname}: No such resource\n`);
        return 10;
      }
      options.formatters.status(all, req, io);
      return 0;
    }
    case "show": {
      const all = client
        ? await client.call<ShowResource[]>("show", {
          args: { resource: objname === "all" ? undefined : objname },
        })
        : [];
      if (objname !== "all" && objname !== "" && all.length === 0) {
        io.err(`${objname}: No such resource\n`);
        return 10;
      }
      options.formatters.show(all, req, io);
      return 0;
    }
    case "role": {
      const r = (await snapshot(client, objname))[0];
      if (!r) {
        io.err(`${objname}: Unknown resource\n`);
        return 10;
      }
      io.out(`${r.role}\n`);
      return 0;
    }
    case "cstate": {
      const r = (await snapshot(client, objname))[0];
      const peer = Number(req.args.peer_node_id);
      const c = r?.connections.find((c) => c["peer-node-id"] === peer);
      if (!c) {
        io.err(`${objname}: No such connection\n`);
        return 10;
      }
      io.out(`${c["connection-state"]}\n`);
      return 0;
    }
    case "dstate": {
      const minor = Number(req.args.minor ?? objname);
      for (const r of await snapshot(client)) {
        const d = r.devices.find((d) => d.minor === minor);
        if (!d) continue;
        let text = d["disk-state"];
        for (const c of r.connections) {
          const pd = c.peer_devices.find((p) => p.volume === d.volume);
          if (pd) text += `/${pd["peer-disk-state"]}`;
        }
        io.out(text + "\n");
        return 0;
      }
      io.err(`${objname}: No such device\n`);
      return 10;
    }
    case "check-resize":
      return checkResize(client, req, io);
    case "down":
      if (!client) return 0;
      if (objname !== "all" && (await snapshot(client, objname)).length === 0) return 0;
      break;
    case "events2":
      return await events(client, req, io, options);
    case "get-gi":
    case "show-gi":
      return await gi(client, req, io);
    default:
      if (command.startsWith("wait-")) return await wait(client, req, io, options);
  }
  if (!client) return 0;
  await client.call(command, { objname, args: req.args, options: req.options });
  return 0;
}

/** check-resize: remember the backing device's size for drbdmeta, as drbdsetup 9.22 does. */
async function checkResize(
  client: ControlClient | undefined,
  req: SetupRequest,
  io: Console,
): Promise<number> {
  const minor = Number(req.args.minor ?? req.objname);
  const all = client ? await client.call<ShowResource[]>("show", { args: {} }) : [];
  for (const r of all) {
    const v = r.volumes.find((v) => v.minor === minor);
    if (!v) continue;
    if (!v.disk) {
      io.err("Has no disk config, try with drbdmeta.\n");
      return 1;
    }
    const err = (t: string) => io.err(t);
    if (v.disk.metaIdx !== "internal") {
      deleteLastKnown(minor, err);
      return 0;
    }
    let size: number;
    try {
      size = deviceBytes(v.disk.backingDev);
    } catch (e) {
      io.err(`Could not open ${v.disk.backingDev}: ${e instanceof Error ? e.message : e}.\n`);
      return 1;
    }
    const lk = loadLastKnown(minor, err) ?? { size: 0, name: null, uuid: 0n };
    if (lk.size === size && lk.name === v.disk.backingDev) return 0;
    saveLastKnown(minor, { ...lk, size, name: v.disk.backingDev }, err);
    return 0;
  }
  io.err(`${req.objname}: No such device\n`);
  return 10;
}

async function gi(
  client: ControlClient | undefined,
  req: SetupRequest,
  io: Console,
): Promise<number> {
  const all = await snapshot(client, req.objname);
  const r = all[0];
  const vol = Number(req.args.volume);
  const d = r?.devices.find((d) => d.volume === vol);
  if (!client || !d) {
    io.err(`${req.objname}: No such device\n`);
    return 10;
  }
  const g = await client.call<
    { current: string; bitmap: string; history: string[]; flags: number }
  >(
    "gi",
    { objname: req.objname, args: { minor: String(d.minor), peer_node_id: req.args.peer_node_id } },
  );
  const hex = (s: string) => s.toUpperCase().padStart(16, "0");
  const bit = (m: number) => (g.flags & m ? 1 : 0);
  const line = `${hex(g.current)}:${hex(g.bitmap)}:${g.history.map(hex).join(":")}:` +
    `${bit(0x01)}:${bit(0x40)}:${bit(0x04)}:${bit(0x10)}:${bit(0x02)}`;
  io.out(line + "\n");
  return 0;
}

async function events(
  client: ControlClient | undefined,
  req: SetupRequest,
  io: Console,
  options: RunSetupOptions,
): Promise<number> {
  const now = req.options.now === "yes";
  const resource = req.objname === "all" || req.objname === "" ? undefined : req.objname;
  if (!client) {
    options.formatters.events(undefined, [], req, io);
    return 0;
  }
  if (now) {
    options.formatters.events(undefined, await snapshot(client, resource), req, io);
    return 0;
  }
  let previous: ResourceStatus[] | undefined;
  try {
    await client.call("watch", { args: { resource } }, {
      signal: options.signal,
      onEvent: (e) => {
        const next = e as ResourceStatus[];
        options.formatters.events(previous, next, req, io);
        io.flush();
        previous = next;
      },
    });
  } catch (e) {
    if (options.signal?.aborted) return 0;
    throw e;
  }
  return 0;
}

/** wait-connect-* / wait-sync-*: as drbdsetup's wait_for_family, from state snapshots. */
async function wait(
  client: ControlClient | undefined,
  req: SetupRequest,
  _io: Console,
  options: RunSetupOptions,
): Promise<number> {
  if (!client) return 0;
  const scope = req.command.slice(req.command.lastIndexOf("-") + 1);
  const waitConnect = req.command.startsWith("wait-connect");
  const peer = Number(req.args.peer_node_id);
  const vol = Number(req.args.volume);
  const first = await snapshot(client, req.objname);
  const selected = (all: ResourceStatus[]) =>
    all.flatMap((r) =>
      r.connections.flatMap((c) =>
        c.peer_devices
          .filter(() => scope === "resource" || c["peer-node-id"] === peer)
          .filter((pd) => scope !== "volume" || pd.volume === vol)
          .map((pd) => ({ c, pd }))
      )
    );
  if (selected(first).length === 0) return 0;
  const seconds = Number(req.options["wfc-timeout"] ?? 0);
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer = seconds > 0
    ? setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, seconds * 1000)
    : undefined;
  let done = false;
  try {
    await client.call("watch", { args: { resource: req.objname } }, {
      signal: controller.signal,
      onEvent: (e) => {
        const all = selected(e as ResourceStatus[]);
        const finished = all.every(({ c, pd }) => {
          const cs = c["connection-state"];
          if (cs === "StandAlone" || cs === "Disconnecting") return true;
          const rs = pd["replication-state"];
          return rs === "Established" || (waitConnect && rs !== "Off");
        });
        if (finished) {
          done = true;
          controller.abort();
        }
      },
    });
  } catch (e) {
    if (!controller.signal.aborted) throw e;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (done) return 0;
  return timedOut ? 5 : 0;
}
