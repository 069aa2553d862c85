/**
 * Shell quoting as drbdadm prints the steps of `-d`: every character outside a small safe set
 * gets a backslash in front.
 *
 * @module
 */

const SAFE = /[%+\-./0-9:=@A-Z_a-z]/;

/**
 * Quotes `text` for a POSIX shell the way drbd-utils does when it echoes a command: characters
 * other than letters, digits and `%+-./:=@_` are preceded by a backslash. Like drbd-utils, the
 * result is cut off at 1022 characters of output.
 */
export function shellEscape(text: string): string {
  let out = "";
  for (const ch of text) {
    if (out.length >= 1022) break;
    if (!SAFE.test(ch)) out += "\\";
    out += ch;
  }
  return out;
}
