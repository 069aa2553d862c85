/**
 * Number formatting exactly as the C tools print it: glibc's `%.Nf` (ties round to even on the
 * exact binary value, "nan", "-0.00") and DRBD 8.4's thousands grouping for speeds.
 *
 * @module
 */

/** Format like C's `printf("%.<digits>f", x)` with glibc's rounding. */
export function fixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  const a = Math.abs(x);
  if (a >= 1e21) {
    // every double this large is an integer; toFixed would switch to exponent notation
    return sign + BigInt(a).toString() + (digits > 0 ? "." + "0".repeat(digits) : "");
  }
  const rounded = a.toFixed(digits);
  // JS breaks exact ties upwards, glibc to even: look at the exact expansion for a tie
  const long = a.toFixed(Math.min(100, digits + 30));
  const cut = long.indexOf(".") + (digits > 0 ? 1 + digits : 0);
  const tail = long.slice(digits > 0 ? cut : cut + 1);
  if (/^50*$/.test(tail)) {
    const kept = long.slice(0, cut);
    if (Number(kept[kept.length - 1]) % 2 === 0) return sign + kept;
  }
  return sign + rounded;
}

/** DRBD 8.4's /proc/drbd speed grouping: 71936 → "71,936", 1234567 → "1,234,567". */
export function groupThousands(v: number): string {
  v = Math.trunc(v);
  if (v >= 1000000) {
    const rest = v % 1000000;
    return `${Math.trunc(v / 1000000)},${pad3(Math.trunc(rest / 1000))},${pad3(rest % 1000)}`;
  }
  if (v >= 1000) return `${Math.trunc(v / 1000)},${pad3(v % 1000)}`;
  return String(v);
}

function pad3(n: number): string {
  return String(n).padStart(3, "0");
}

const encoder = new TextEncoder();

/** Length in bytes as C's printf counts it (UTF-8). */
export function byteLength(s: string): number {
  // ASCII fast path: status text is almost always ASCII
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return encoder.encode(s).length;
  }
  return s.length;
}
