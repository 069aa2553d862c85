/**
 * File-system helpers for configuration reading: canonical paths and `include` globs, resolved
 * the way drbdadm does (relative to the including file's folder).
 *
 * @module
 */

/** The folder part of a path (`/` for top-level files). */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return path.slice(0, i);
}

/**
 * An absolute path for `path` with its folder resolved through symlinks (drbdadm's
 * canonify_path: the folder is resolved, the file name kept as given).
 */
export function canonifyPath(path: string): string {
  const i = path.lastIndexOf("/");
  if (i === 0) return path;
  const dir = i < 0 ? "." : path.slice(0, i);
  const name = i < 0 ? path : path.slice(i + 1);
  let absDir: string;
  try {
    absDir = Deno.realPathSync(dir);
  } catch {
    absDir = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  }
  return absDir === "/" ? `/${name}` : `${absDir}/${name}`;
}

/** The real path of a file, or the path itself when it cannot be resolved. */
export function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/** True when a pattern contains glob characters (`?`, `*`, `[`), as drbdadm tests. */
export function hasGlobMagic(pattern: string): boolean {
  return /[?*[]/.test(pattern);
}

function segmentRegExp(seg: string): RegExp {
  let re = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = seg.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = seg.slice(i + 1, end);
        if (body[0] === "!") body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/**
 * Expands a glob(3) pattern relative to `base`, returning paths spelled as glob would (relative
 * patterns give relative results), sorted. Files starting with a dot match only explicit dots.
 * A pattern without glob characters is returned as is when the file exists.
 */
export function expandGlob(pattern: string, base: string): string[] {
  const abs = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p, i) => p !== "" || i === 0);
  let results: string[] = [abs ? "" : "."];
  for (let i = abs ? 1 : 0; i < parts.length; i++) {
    const seg = parts[i];
    const last = i === parts.length - 1;
    const next: string[] = [];
    for (const r of results) {
      const dirAbs = abs ? (r === "" ? "/" : r) : (r === "." ? base : `${base}/${r}`);
      const join = (name: string) => abs ? `${r}/${name}` : (r === "." ? name : `${r}/${name}`);
      if (!hasGlobMagic(seg)) {
        const p = join(seg);
        try {
          const st = Deno.statSync(abs ? p : `${base}/${p}`);
          if (last || st.isDirectory) next.push(p);
        } catch {
          // no such entry
        }
        continue;
      }
      const re = segmentRegExp(seg);
      let entries: Deno.DirEntry[];
      try {
        entries = [...Deno.readDirSync(dirAbs)];
      } catch {
        continue;
      }
      for (const e of entries) {
        if (e.name.startsWith(".") && !seg.startsWith(".")) continue;
        if (!re.test(e.name)) continue;
        const p = join(e.name);
        if (!last) {
          try {
            if (!Deno.statSync(abs ? p : `${base}/${p}`).isDirectory) continue;
          } catch {
            continue;
          }
        }
        next.push(p);
      }
    }
    results = next.sort();
  }
  return results;
}
