/**
 * udrbd: DRBD in userspace. One program supplies drbdadm, drbdsetup, drbdmeta and
 * drbd-overview; it picks the tool from the name it was invoked as (a `drbdmeta` symlink) or
 * from its first argument (`udrbd drbdmeta ...`).
 *
 * @module
 */
import { type Console, ExitError, ProcessConsole } from "./lib/cli/io.ts";
import { phase, reportPhases } from "./lib/config/timing.ts";

phase("runtime start + mod.ts");

/** A tool's entry point: arguments after the tool name, a console; resolves to the exit code. */
export type ToolMain = (args: string[], io: Console) => number | Promise<number>;

/**
 * The tools this binary supplies, by the name a user invokes them as. Each is loaded only when
 * it runs, so drbdmeta does not pay for drbdadm's configuration machinery at start-up.
 *
 * deno.json turns on Deno's lazy dynamic imports: `deno run` then no longer reads every tool's
 * module graph before starting (about 8 ms per command from a source checkout). `deno compile`
 * would then skip what is reached only through `import()`, so the compile task names cmd/ and
 * lib/ with `--include`; test/install/compile_test.ts checks the payload holds every module.
 */
export const TOOLS: Record<string, { load: () => Promise<{ main: ToolMain }>; summary: string }> = {
  drbdadm: {
    load: () => import("./cmd/drbdadm.ts"),
    summary: "administer DRBD resources from drbd.conf",
  },
  drbdsetup: {
    load: () => import("./cmd/drbdsetup.ts"),
    summary: "configure DRBD resources on the node daemon",
  },
  drbdmeta: {
    load: () => import("./cmd/drbdmeta.ts"),
    summary: "create, dump, restore and modify DRBD metadata",
  },
  "drbd-overview": {
    load: () => import("./cmd/drbd_overview.ts"),
    summary: "one line per DRBD minor in DRBD 8.4's layout, with what is mounted from it",
  },
  daemon: {
    load: () => import("./cmd/daemon.ts"),
    summary: "the node daemon that holds this host's resources (start, --foreground, --stop)",
  },
  completions: {
    load: () => import("./cmd/completions.ts"),
    summary: "print the shell completion script (bash, zsh or fish)",
  },
  install: {
    load: () => import("./cmd/install.ts"),
    summary: "install the tools, completions, man pages and systemd units (--uninstall)",
  },
};

/** The name this process was invoked as (argv[0]), e.g. a `drbdmeta` symlink to udrbd. */
export function invokedName(): string {
  try {
    // /proc keeps argv[0] as given; Deno.execPath() would resolve the symlink
    const cmdline = Deno.readTextFileSync("/proc/self/cmdline");
    return cmdline.slice(0, cmdline.indexOf("\0"));
  } catch {
    return Deno.execPath();
  }
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

async function usage(io: Console): Promise<void> {
  // the version module is loaded only where it is printed: every module costs start-up time
  const { VERSION } = await import("./lib/version.ts");
  io.out(`udrbd ${VERSION}: DRBD in userspace\n\nUSAGE: udrbd TOOL [ARGS...]\n\nTOOLS:\n`);
  for (const [name, tool] of Object.entries(TOOLS)) {
    io.out(`  ${name.padEnd(14)} ${tool.summary}\n`);
  }
  io.out(`\nA symlink named after a tool (e.g. drbdmeta -> udrbd) runs that tool directly.\n`);
}

/** Runs the tool chosen by `argv0` or the first argument; resolves to the exit code. */
export async function run(argv0: string, args: string[], io: Console): Promise<number> {
  let name = basename(argv0);
  if (!(name in TOOLS)) {
    const first = args[0];
    if (first === undefined || first === "--help" || first === "-h" || first === "help") {
      await usage(io);
      return first === undefined ? 1 : 0;
    }
    if (first === "--version" || first === "-V") {
      io.out(`udrbd ${(await import("./lib/version.ts")).VERSION}\n`);
      return 0;
    }
    if (!(first in TOOLS)) {
      io.err(`udrbd: unknown tool '${first}'; try 'udrbd --help'\n`);
      return 20;
    }
    name = first;
    args = args.slice(1);
  }
  try {
    const tool = await TOOLS[name].load();
    phase(`load ${name} modules`);
    return await tool.main(args, io);
  } catch (e) {
    if (e instanceof ExitError) return e.code;
    throw e;
  }
}

if (import.meta.main) {
  const io = new ProcessConsole();
  const code = await run(invokedName(), Deno.args, io);
  io.flush();
  phase("write output");
  reportPhases();
  Deno.exit(code);
}
