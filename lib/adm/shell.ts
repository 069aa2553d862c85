/**
 * Shell quoting as drbdadm prints the steps of `-d`: every byte outside a small safe set gets a
 * backslash in front.
 *
 * @module
 */

import { utf8Length } from "../util/utf8.ts";

const SAFE = /[%+\-./0-9:=@A-Z_a-z]/;
/** drbd-utils escapes into a 1024-byte buffer and stops once 1022 bytes are written. */
const LIMIT = 1022;
const BACKSLASH = 0x5c;
const encoder = new TextEncoder();

/** Whether drbd-utils leaves this byte unescaped: letters, digits and `%+-./:=@_`. */
function safeByte(b: number): boolean {
  return b < 0x80 && SAFE.test(String.fromCharCode(b));
}

/**
 * Quotes `text` for a POSIX shell exactly as drbd-utils echoes a command: the UTF-8 bytes of
 * `text`, each byte other than letters, digits and `%+-./:=@_` preceded by a backslash. A
 * character outside ASCII thus becomes several escaped bytes (not valid UTF-8 any more, as in
 * drbd-utils' output), and the result is cut off once 1022 bytes are written.
 */
export function shellEscapeBytes(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(Math.min(bytes.length * 2, LIMIT + 1));
  let n = 0;
  for (const b of bytes) {
    if (n >= LIMIT) break;
    if (!safeByte(b)) out[n++] = BACKSLASH;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * The step line drbdadm prints for `argv` with `-d` or `-v`: each argument escaped by
 * {@link shellEscapeBytes}, separated by spaces, ending in a newline.
 */
export function shellLine(argv: string[]): Uint8Array {
  const parts = argv.map(shellEscapeBytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0) || 1);
  let n = 0;
  parts.forEach((p, i) => {
    if (i > 0) out[n++] = 0x20;
    out.set(p, n);
    n += p.length;
  });
  out[n] = 0x0a;
  return out;
}

/**
 * Quotes `text` for a POSIX shell where the result must stay text (a handler's environment):
 * characters other than letters, digits and `%+-./:=@_` are preceded by a backslash, so a shell
 * reading it gets `text` back. Like drbd-utils, it stops once 1022 bytes are written.
 */
export function shellEscape(text: string): string {
  let out = "";
  let bytes = 0;
  for (const ch of text) {
    if (bytes >= LIMIT) break;
    const safe = SAFE.test(ch);
    if (!safe) out += "\\";
    out += ch;
    bytes += (safe ? 0 : 1) + utf8Length(ch);
  }
  return out;
}
