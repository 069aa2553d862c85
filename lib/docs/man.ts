/**
 * Man pages generated from the command and option tables plus our own prose.
 *
 * @module
 */

/** The man pages udrbd ships, by file name. */
export const MAN_PAGES: readonly string[] = [];

/** The roff text of the man page `name` (one of {@link MAN_PAGES}). */
export function manPage(name: string): string {
  throw new Error(`no man page ${name}`);
}
