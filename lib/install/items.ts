/**
 * What `udrbd install` puts under a prefix: the tools in `sbin` (links to the compiled binary,
 * or wrapper scripts when udrbd runs from source), shell completions and man pages from the
 * checkout's `completions/` and `man/` folders (whatever they hold), and the systemd units.
 *
 * @module
 */
import { daemonUnit, resourceTarget, resourceUnit } from "./units.ts";
import { compileV8Flags, v8FlagsArg } from "../cli/v8_flags.ts";
import { exists } from "../util/fs.ts";

/** The names installed in `<prefix>/sbin`: udrbd itself and the tools DRBD users know. */
export const TOOL_NAMES = ["udrbd", "drbdadm", "drbdsetup", "drbdmeta", "drbd-overview"] as const;

/** Where the installed tools come from. */
export type InstallSource =
  | {
    kind: "binary";
    /** The compiled udrbd binary the tool links point at. */
    binary: string;
    /** The folder holding `completions/` and `man/`, if there is one. */
    dataDir?: string;
  }
  | {
    kind: "source";
    /** The deno program the wrappers run. */
    deno: string;
    /** udrbd's `mod.ts`. */
    modTs: string;
    /** `deno.json` beside it, given to deno so the wrappers work from any directory. */
    denoConfig?: string;
    /** The V8 flags the compiled binary gets (deno.json's compile task), so wrappers match it. */
    v8Flags?: string[];
    dataDir?: string;
  };

/** One thing to install: a symlink or a file with its content and mode. */
export type InstallItem =
  | { kind: "link"; path: string; target: string }
  | { kind: "file"; path: string; content: Uint8Array; mode: number };

/**
 * Where this udrbd runs from: the compiled binary itself, or `deno run` of this checkout's
 * mod.ts (then the tools are installed as wrapper scripts).
 */
export function currentSource(): InstallSource {
  const root = decodeURIComponent(new URL("../../", import.meta.url).pathname).replace(/\/$/, "");
  const dataDir = exists(`${root}/completions`) || exists(`${root}/man`) ? root : undefined;
  if (Deno.build.standalone) return { kind: "binary", binary: Deno.execPath(), dataDir };
  const denoConfig = exists(`${root}/deno.json`) ? `${root}/deno.json` : undefined;
  return {
    kind: "source",
    deno: Deno.execPath(),
    modTs: `${root}/mod.ts`,
    denoConfig,
    v8Flags: denoConfig ? compileV8Flags(Deno.readTextFileSync(denoConfig)) : [],
    dataDir,
  };
}

/** `s` quoted for /bin/sh. */
function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The wrapper script that runs `tool` (or udrbd itself) from source. */
export function wrapperScript(
  source: Extract<InstallSource, { kind: "source" }>,
  tool: string,
): string {
  const argv = [shQuote(source.deno), "run", "-A"];
  if (source.denoConfig) argv.push("--config", shQuote(source.denoConfig));
  const v8 = v8FlagsArg(source.v8Flags ?? []);
  if (v8) argv.push(shQuote(v8));
  argv.push(shQuote(source.modTs));
  if (tool !== "udrbd") argv.push(tool);
  return `#!/bin/sh\n# udrbd's ${tool}, run from source; written by 'udrbd install'\n` +
    `exec ${argv.join(" ")} "$@"\n`;
}

const encoder = new TextEncoder();

/** Everything to install under `prefix` (an absolute path) from `source`. */
export function planItems(prefix: string, source: InstallSource): InstallItem[] {
  const items: InstallItem[] = [];
  const sbin = `${prefix}/sbin`;
  for (const tool of TOOL_NAMES) {
    const path = `${sbin}/${tool}`;
    if (source.kind === "binary") items.push({ kind: "link", path, target: source.binary });
    else {
      items.push({
        kind: "file",
        path,
        content: encoder.encode(wrapperScript(source, tool)),
        mode: 0o755,
      });
    }
  }
  if (source.dataDir) {
    items.push(...completionItems(prefix, `${source.dataDir}/completions`));
    items.push(...manItems(prefix, `${source.dataDir}/man`));
  }
  const units = `${prefix}/lib/systemd/system`;
  const unit = (name: string, text: string): InstallItem => ({
    kind: "file",
    path: `${units}/${name}`,
    content: encoder.encode(text),
    mode: 0o644,
  });
  items.push(
    unit("udrbd.service", daemonUnit(sbin)),
    unit("drbd@.service", resourceUnit(sbin)),
    unit("drbd@.target", resourceTarget()),
  );
  // the first of each path wins (a completion found both as x.bash and as bash/x)
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(i.path) && seen.add(i.path));
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (e.isFile) out.push(e.name);
    }
  } catch {
    // no such folder: nothing to install from it
  }
  return out.sort();
}

function fileItem(path: string, from: string): Extract<InstallItem, { kind: "file" }> {
  return { kind: "file", path, content: Deno.readFileSync(from), mode: 0o644 };
}

/**
 * Completion scripts, by the shells' conventions: bash's loader looks for a file named after
 * the command, zsh for `_command` in its function path (or a `#compdef` line naming several),
 * fish for `command.fish`. A script may sit in `completions/<shell>/` or carry its shell in its
 * name (`udrbd.bash`, `_udrbd`, `udrbd.zsh`, `udrbd.fish`). A bash or fish script that
 * completes several of our tools also gets a link by each tool's name, so that the lazy loaders
 * find it whichever tool is typed first.
 */
function completionItems(prefix: string, dir: string): InstallItem[] {
  const dest = {
    bash: (n: string) => `${prefix}/share/bash-completion/completions/${n}`,
    zsh: (n: string) => `${prefix}/share/zsh/site-functions/_${n}`,
    fish: (n: string) => `${prefix}/share/fish/vendor_completions.d/${n}.fish`,
  };
  const items: InstallItem[] = [];
  const add = (shell: keyof typeof dest, command: string, from: string) => {
    if (!command) return;
    const item = fileItem(dest[shell](command), from);
    items.push(item);
    if (shell === "zsh") return;
    const own = item.path.slice(item.path.lastIndexOf("/") + 1);
    for (const tool of completedTools(shell, new TextDecoder().decode(item.content))) {
      if (tool === command) continue;
      items.push({ kind: "link", path: dest[shell](tool), target: own });
    }
  };
  for (const name of listFiles(dir)) {
    const from = `${dir}/${name}`;
    if (name.endsWith(".bash")) add("bash", name.slice(0, -5), from);
    else if (name.endsWith(".zsh")) add("zsh", name.slice(0, -4).replace(/^_/, ""), from);
    else if (name.startsWith("_")) add("zsh", name.slice(1), from);
    else if (name.endsWith(".fish")) add("fish", name.slice(0, -5), from);
  }
  for (const shell of ["bash", "zsh", "fish"] as const) {
    for (const name of listFiles(`${dir}/${shell}`)) {
      const command = name.replace(/\.(bash|zsh|fish)$/, "").replace(/^_/, "");
      add(shell, command, `${dir}/${shell}/${name}`);
    }
  }
  return items;
}

/** Which of our tools a bash (`complete ... NAME...`) or fish (`complete -c NAME`) script completes. */
function completedTools(shell: "bash" | "fish", text: string): string[] {
  const found = new Set<string>();
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== "complete") continue;
    if (shell === "bash") {
      for (const w of words.slice(1)) {
        if ((TOOL_NAMES as readonly string[]).includes(w)) found.add(w);
      }
    } else {
      const c = words.findIndex((w) => w === "-c" || w === "--command");
      if (c > 0 && (TOOL_NAMES as readonly string[]).includes(words[c + 1])) {
        found.add(words[c + 1]);
      }
    }
  }
  return [...found];
}

/** Man pages `name.N` (section 1–9) into `share/man/manN/`. */
function manItems(prefix: string, dir: string): InstallItem[] {
  const items: InstallItem[] = [];
  for (const name of listFiles(dir)) {
    const m = /\.([1-9])$/.exec(name);
    if (m) items.push(fileItem(`${prefix}/share/man/man${m[1]}/${name}`, `${dir}/${name}`));
  }
  return items;
}
