/**
 * Calling a handler the way the DRBD kernel module does (drbd_khelper): it runs the usermode
 * helper, `drbdadm <handler> <resource>`, with the facts in the environment (DRBD_RESOURCE,
 * DRBD_MINOR, DRBD_VOLUME, DRBD_BACKING_DEV, DRBD_PEER_NODE_ID, DRBD_CSTATE, the first path's
 * addresses), and drbdadm runs the command the configuration's `handlers` section names. The
 * helper is our own program: the compiled binary itself, or `deno run -A mod.ts` from source.
 *
 * `$UDRBD_USERMODE_HELPER` replaces the helper program (as DRBD's usermode_helper module
 * parameter does); `disabled` turns helpers off.
 *
 * @module
 */

import { parsePathAddress } from "./peer.ts";

/** What a handler call is about. */
export interface HelperCall {
  /** The handler's name: split-brain, initial-split-brain, ... */
  handler: string;
  resource: string;
  /** The volume, when the call concerns one device. */
  device?: { minor: number; volume: number; backingDev?: string };
  /** The connection, when the call concerns one peer. */
  connection?: {
    peerNodeId: number;
    cstate: string;
    /** The first path (local and peer address as drbdsetup names them). */
    path?: { local: string; remote: string };
  };
}

/** The outcome of a helper call. */
export interface HelperResult {
  /** The helper's exit code (0 when helpers are disabled). */
  code: number;
  /** The program line as logged ("drbdadm split-brain"). */
  command: string;
}

/** The program (and leading arguments) that plays /sbin/drbdadm for handler calls. */
export function helperProgram(): string[] | undefined {
  const override = Deno.env.get("UDRBD_USERMODE_HELPER");
  if (override === "disabled") return undefined;
  if (override) return [override];
  const exec = Deno.execPath();
  if (/(^|\/)deno(\.exe)?$/.test(exec)) {
    const mod = new URL("../../mod.ts", import.meta.url);
    return [exec, "run", "-A", "--quiet", decodeURIComponent(mod.pathname), "drbdadm"];
  }
  return [exec, "drbdadm"];
}

function addressVars(prefix: string, text: string): Record<string, string> {
  try {
    const { hostname } = parsePathAddress(text);
    const af = /^ipv6:/.test(text) || hostname.includes(":") ? "ipv6" : "ipv4";
    return { [`${prefix}ADDRESS`]: hostname, [`${prefix}AF`]: af };
  } catch {
    return {};
  }
}

/** The environment drbd_khelper gives the helper, plus what udrbd's own tools need. */
export function helperEnv(call: HelperCall): Record<string, string> {
  const env: Record<string, string> = {
    HOME: "/",
    TERM: "linux",
    PATH: "/sbin:/usr/sbin:/bin:/usr/bin",
    DRBD_RESOURCE: call.resource,
  };
  const d = call.device;
  if (d) {
    env.DRBD_MINOR = String(d.minor);
    env.DRBD_VOLUME = String(d.volume);
    if (d.backingDev) env.DRBD_BACKING_DEV = d.backingDev;
  }
  const c = call.connection;
  if (c) {
    if (c.path) {
      Object.assign(env, addressVars("DRBD_MY_", c.path.local));
      Object.assign(env, addressVars("DRBD_PEER_", c.path.remote));
    }
    env.DRBD_PEER_NODE_ID = String(c.peerNodeId);
    env.DRBD_CSTATE = c.cstate;
  }
  // Not in the kernel's environment: where this node's daemon, registry and metadata live,
  // which node it is, and where deno keeps its cache when running from source.
  for (
    const name of ["UDRBD_RUN_DIR", "UDRBD_HOSTNAME", "DRBD_LIB_DIR", "DENO_DIR", "XDG_CACHE_HOME"]
  ) {
    const v = Deno.env.get(name);
    if (v !== undefined) env[name] = v;
  }
  const home = Deno.env.get("HOME");
  if (home && !env.DENO_DIR && /(^|\/)deno$/.test(Deno.execPath())) env.DENO_DIR = denoDir(home);
  return env;
}

function denoDir(home: string): string {
  return `${home}/.cache/deno`;
}

/**
 * Runs the helper for `call` and resolves with its exit code; it never rejects (a helper that
 * cannot start counts as exit code 127, as a shell reports a missing program).
 */
export async function runHelper(call: HelperCall): Promise<HelperResult> {
  const program = helperProgram();
  const command = `drbdadm ${call.handler}`;
  if (!program) return { code: 0, command };
  try {
    const out = await new Deno.Command(program[0], {
      args: [...program.slice(1), call.handler, call.resource],
      env: helperEnv(call),
      clearEnv: true,
      cwd: "/",
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return { code: out.code, command };
  } catch {
    return { code: 127, command };
  }
}
