/**
 * The generated documentation files (completion scripts, man pages) by path, and a script that
 * writes them: `deno task completions`, `deno task man`.
 *
 * @module
 */

import { COMPLETION_FILES, completionScript, SHELLS } from "./completions.ts";

/** What a generator writes: repository-relative path to file text. */
export type GeneratedFiles = Map<string, string>;

/** The completion scripts, by the path they are committed at. */
export function completionFiles(): GeneratedFiles {
  return new Map(SHELLS.map((s) => [COMPLETION_FILES[s], completionScript(s)]));
}

/** The man pages, by the path they are committed at. */
export async function manFiles(): Promise<GeneratedFiles> {
  const { MAN_PAGES, manPage } = await import("./man.ts");
  return new Map(MAN_PAGES.map((p) => [`man/${p}`, manPage(p)]));
}

if (import.meta.main) {
  const root = new URL("../../", import.meta.url);
  const what = Deno.args[0];
  const files = what === "completions"
    ? completionFiles()
    : what === "man"
    ? await manFiles()
    : undefined;
  if (!files) {
    console.error("usage: generate.ts completions|man");
    Deno.exit(2);
  }
  for (const [path, text] of files) {
    Deno.writeTextFileSync(new URL(path, root), text);
    console.log(`wrote ${path}`);
  }
}
