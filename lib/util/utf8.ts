/**
 * Text measured as C measures it: drbd-utils counts the UTF-8 bytes of a string (strlen), and
 * drbd.conf is ASCII almost always, so the count skips encoding when it can.
 *
 * @module
 */

/** Length of `s` in UTF-8 bytes. */
export function utf8Length(s: string): number {
  // deno-lint-ignore no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : new TextEncoder().encode(s).length;
}
