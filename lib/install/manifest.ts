/**
 * The install manifest, `<prefix>/share/udrbd/manifest`: every file, symlink and folder that
 * `udrbd install` created, with what it was (a file's SHA-256, a link's target), so that
 * `--uninstall` removes exactly those and recognizes one that was changed since.
 *
 * One entry a line, fields separated by tabs: `file <sha256> <path>`, `link <target> <path>`,
 * `dir - <path>`. Lines starting with `#` are comments.
 *
 * @module
 */

/** What an entry is, and what it was when installed. */
export type ManifestEntry =
  | { kind: "file"; path: string; sha256: string }
  | { kind: "link"; path: string; target: string }
  | { kind: "dir"; path: string };

/** The manifest's path under `prefix`. */
export function manifestPath(prefix: string): string {
  return `${prefix}/share/udrbd/manifest`;
}

/** The manifest's text for `entries`. */
export function formatManifest(entries: readonly ManifestEntry[]): string {
  let out = "# udrbd install manifest: what `udrbd install` created here; " +
    "`udrbd install --uninstall` removes it\n";
  for (const e of entries) {
    const detail = e.kind === "file" ? e.sha256 : e.kind === "link" ? e.target : "-";
    out += `${e.kind}\t${detail}\t${e.path}\n`;
  }
  return out;
}

/** The entries of a manifest text; throws a `SyntaxError` naming the line of a bad entry. */
export function parseManifest(text: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  text.split("\n").forEach((line, i) => {
    if (line === "" || line.startsWith("#")) return;
    const f = line.split("\t");
    const bad = () => new SyntaxError(`manifest line ${i + 1} is not an entry: ${line}`);
    if (f.length !== 3 || !f[2].startsWith("/")) throw bad();
    const [kind, detail, path] = f;
    if (kind === "file" && /^[0-9a-f]{64}$/.test(detail)) {
      out.push({ kind, path, sha256: detail });
    } else if (kind === "link" && detail !== "") out.push({ kind, path, target: detail });
    else if (kind === "dir") out.push({ kind, path });
    else throw bad();
  });
  return out;
}

/** The hex SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** How the thing at an entry's path compares with the entry. */
export type EntryState = "unchanged" | "changed" | "missing";

/** Whether the file, link or folder at `e.path` is still what was installed. */
export async function entryState(e: ManifestEntry): Promise<EntryState> {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(e.path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "missing";
    throw err;
  }
  switch (e.kind) {
    case "dir":
      return st.isDirectory ? "unchanged" : "changed";
    case "link":
      return st.isSymlink && Deno.readLinkSync(e.path) === e.target ? "unchanged" : "changed";
    case "file":
      if (!st.isFile) return "changed";
      return await sha256(Deno.readFileSync(e.path)) === e.sha256 ? "unchanged" : "changed";
  }
}
