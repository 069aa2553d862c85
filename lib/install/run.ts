/**
 * Installing and uninstalling under a prefix, with the manifest as the record of what is
 * ours: install never overwrites a file it did not put there (or that was changed since), and
 * uninstall removes exactly the manifest's files, links and the folders it created.
 *
 * @module
 */
import { currentSource, type InstallItem, type InstallSource, planItems } from "./items.ts";
import {
  entryState,
  formatManifest,
  type ManifestEntry,
  manifestPath,
  parseManifest,
  sha256,
} from "./manifest.ts";

/** Options of {@link install} and {@link uninstall}. */
export interface InstallOptions {
  /** Where to install (default /usr/local); made absolute against the current directory. */
  prefix?: string;
  /** Only report what would be done. */
  dryRun?: boolean;
  /** Where the tools come from (default: this udrbd, see `currentSource`). */
  source?: InstallSource;
}

/** What {@link install} or {@link uninstall} did (or, in a dry run, would do). */
export interface InstallResult {
  /** Whether everything asked for was done. */
  ok: boolean;
  /** One line per change, e.g. `link /usr/local/sbin/drbdadm -> /opt/udrbd/udrbd`. */
  actions: string[];
  /** Why something was refused or left in place. */
  problems: string[];
}

/** The default prefix. */
export const DEFAULT_PREFIX = "/usr/local";

function absolute(prefix: string): string {
  const abs = prefix.startsWith("/") ? prefix : `${Deno.cwd()}/${prefix}`;
  const parts: string[] = [];
  for (const p of abs.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return "/" + parts.join("/");
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function readManifest(path: string): ManifestEntry[] | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return parseManifest(text);
}

/** The manifest entry that records `item` as installed. */
async function entryOf(item: InstallItem): Promise<ManifestEntry> {
  return item.kind === "link"
    ? { kind: "link", path: item.path, target: item.target }
    : { kind: "file", path: item.path, sha256: await sha256(item.content) };
}

/** Writes `item` atomically: a new file or link renamed over whatever is at its path. */
function put(item: InstallItem): void {
  const temp = `${dirname(item.path)}/.${item.path.slice(dirname(item.path).length + 1)}.udrbd-new`;
  try {
    Deno.removeSync(temp);
  } catch {
    // no leftover of an interrupted install
  }
  if (item.kind === "link") Deno.symlinkSync(item.target, temp);
  else {
    Deno.writeFileSync(temp, item.content, { mode: item.mode });
    Deno.chmodSync(temp, item.mode); // the umask filters the mode given to open()
  }
  Deno.renameSync(temp, item.path);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Installs the tools, completions, man pages and systemd units under the prefix and records
 * them in `<prefix>/share/udrbd/manifest`. A path already taken by something udrbd did not
 * install (or that was changed since) stops the install before anything is written. Things a
 * previous install put there and this one no longer does are removed.
 */
export async function install(options: InstallOptions = {}): Promise<InstallResult> {
  const prefix = absolute(options.prefix ?? DEFAULT_PREFIX);
  const items = planItems(prefix, options.source ?? currentSource());
  const mpath = manifestPath(prefix);
  const result: InstallResult = { ok: true, actions: [], problems: [] };
  let old: ManifestEntry[];
  try {
    old = readManifest(mpath) ?? [];
  } catch (e) {
    return refuse(result, `cannot read ${mpath}: ${message(e)}`);
  }
  const oldByPath = new Map(old.map((e) => [e.path, e]));

  // decide everything before changing anything
  const entries: ManifestEntry[] = [];
  const writes: InstallItem[] = [];
  for (const item of items) {
    const entry = await entryOf(item);
    entries.push(entry);
    const now = await entryState(entry);
    if (now === "unchanged") continue; // already there as it would be written
    if (now === "changed") {
      const mine = oldByPath.get(item.path);
      if (!mine || mine.kind === "dir" || await entryState(mine) !== "unchanged") {
        result.problems.push(
          mine
            ? `${item.path} was changed since udrbd installed it; not overwriting it`
            : `${item.path} exists and was not installed by udrbd; not overwriting it`,
        );
        continue;
      }
    }
    writes.push(item);
  }
  if (result.problems.length > 0) {
    result.problems.push("nothing installed: move those files away (or uninstall them) first");
    result.ok = false;
    return result;
  }

  const dirs: ManifestEntry[] = old.filter((e) => e.kind === "dir" && lstat(e.path)?.isDirectory);
  const newDirs: string[] = [];
  for (const path of [...items.map((i) => i.path), mpath]) {
    for (let d = dirname(path); d !== "/" && !lstat(d); d = dirname(d)) {
      if (!newDirs.includes(d)) newDirs.push(d);
    }
  }
  newDirs.sort((a, b) => a.length - b.length);
  for (const d of newDirs) {
    dirs.push({ kind: "dir", path: d });
    result.actions.push(`mkdir ${d}`);
  }

  const newPaths = new Set(items.map((i) => i.path));
  const kept: ManifestEntry[] = [];
  const stale: ManifestEntry[] = [];
  for (const e of old) {
    if (e.kind === "dir" || newPaths.has(e.path)) continue;
    const state = await entryState(e);
    if (state === "unchanged") stale.push(e);
    else if (state === "changed") {
      kept.push(e);
      result.problems.push(`${e.path} was changed since udrbd installed it; leaving it`);
    }
  }

  for (const item of writes) {
    result.actions.push(
      item.kind === "link" ? `link ${item.path} -> ${item.target}` : `write ${item.path}`,
    );
  }
  for (const e of stale) result.actions.push(`remove ${e.path} (no longer installed)`);
  result.actions.push(`write ${mpath}`);
  if (options.dryRun) return result;

  // paths not (yet) written; what is there is still the previous install's
  const failed = new Set(writes.map((i) => i.path));
  try {
    for (const d of newDirs) Deno.mkdirSync(d, { mode: 0o755 });
    for (const item of writes) {
      put(item);
      failed.delete(item.path);
    }
    for (const e of stale) Deno.removeSync(e.path);
  } catch (e) {
    result.ok = false;
    result.problems.push(`install failed: ${message(e)}`);
  }
  // record even a partial install, so that --uninstall can take it away again: what was
  // written, and what a previous install left where this one failed
  const record = [
    ...dirs.filter((d) => lstat(d.path)),
    ...entries.filter((e) => !failed.has(e.path) && lstat(e.path)),
    ...old.filter((e) => e.kind !== "dir" && failed.has(e.path)),
    ...kept,
  ];
  try {
    put({
      kind: "file",
      path: mpath,
      content: new TextEncoder().encode(formatManifest(record)),
      mode: 0o644,
    });
  } catch (e) {
    result.ok = false;
    result.problems.push(`cannot write ${mpath}: ${message(e)}`);
  }
  return result;
}

/**
 * Removes what the manifest under the prefix lists: files and links that are as installed,
 * then the folders install created, once empty. A file changed since install stays (and stays
 * in the manifest); so does a folder that holds something else.
 */
export async function uninstall(options: InstallOptions = {}): Promise<InstallResult> {
  const prefix = absolute(options.prefix ?? DEFAULT_PREFIX);
  const mpath = manifestPath(prefix);
  const result: InstallResult = { ok: true, actions: [], problems: [] };
  let entries: ManifestEntry[] | undefined;
  try {
    entries = readManifest(mpath);
  } catch (e) {
    return refuse(result, `cannot read ${mpath}: ${message(e)}`);
  }
  if (!entries) return refuse(result, `udrbd is not installed under ${prefix} (no ${mpath})`);

  const kept: ManifestEntry[] = [];
  const remove: string[] = [];
  for (const e of entries) {
    if (e.kind === "dir") continue;
    const state = await entryState(e);
    if (state === "unchanged") {
      remove.push(e.path);
      result.actions.push(`remove ${e.path}`);
    } else if (state === "changed") {
      kept.push(e);
      result.problems.push(`${e.path} was changed since udrbd installed it; not removing it`);
    }
  }
  const dirs = entries.filter((e) => e.kind === "dir").map((e) => e.path)
    .sort((a, b) => b.length - a.length);
  if (kept.length === 0) result.actions.push(`remove ${mpath}`);
  for (const d of dirs) result.actions.push(`rmdir ${d} (if empty)`);
  if (options.dryRun) {
    result.ok = kept.length === 0;
    return result;
  }
  for (const path of remove) {
    try {
      Deno.removeSync(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        kept.push(entries.find((x) => x.path === path)!);
        result.problems.push(`cannot remove ${path}: ${message(e)}`);
      }
    }
  }
  if (kept.length === 0) Deno.removeSync(mpath);
  const left: ManifestEntry[] = [];
  for (const d of dirs) {
    try {
      Deno.removeSync(d); // only succeeds when empty: anything else in it is not ours
    } catch {
      if (lstat(d)) left.push({ kind: "dir", path: d });
    }
  }
  if (kept.length > 0) {
    result.ok = false;
    put({
      kind: "file",
      path: mpath,
      content: new TextEncoder().encode(formatManifest([...left.reverse(), ...kept])),
      mode: 0o644,
    });
    result.problems.push(`${mpath} still lists what was left`);
  }
  return result;
}

function refuse(result: InstallResult, why: string): InstallResult {
  result.ok = false;
  result.problems.push(why);
  return result;
}
