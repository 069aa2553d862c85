/**
 * Command-line option scanning with GNU `getopt_long` semantics, as drbd-utils' tools use it:
 * options may appear anywhere (operands are collected in order), `--` ends option scanning, long
 * options may be abbreviated to an unambiguous prefix, `--name=value` or `--name value` for
 * required arguments, `--name=value` only for optional ones, and short options may be clustered
 * (`-dv`, `-cFILE`). Error texts are glibc's.
 *
 * @module
 */

/** Whether an option takes an argument. */
export type ArgKind = "none" | "required" | "optional";

/** One long option; `key` identifies it to the caller (a short letter, or any other tag). */
export interface LongOption {
  name: string;
  arg: ArgKind;
  key: string;
}

/** One scanned option: the long option (or short letter) and its argument, if any. */
export interface ScannedOption {
  key: string;
  /** The long option's name, or undefined for a short option. */
  long?: string;
  value?: string;
}

/** The result of scanning: options in order, then operands; `error` stops at the bad option. */
export interface ScanResult {
  options: ScannedOption[];
  operands: string[];
  /** glibc's message (with program name and newline) for the first unusable option. */
  error?: string;
}

function sameKind(a: LongOption, b: LongOption): boolean {
  return a.arg === b.arg && a.key === b.key;
}

/**
 * Scans `args` with short options described by `shorts` (getopt's optstring: a letter, `:` for a
 * required argument) and the long options `longs` (in priority order: the first of several
 * equivalent prefix matches wins, as in glibc).
 */
export function scanOptions(
  args: string[],
  shorts: string,
  longs: readonly LongOption[],
  progname: string,
): ScanResult {
  const options: ScannedOption[] = [];
  const operands: string[] = [];
  const shortArg = new Map<string, ArgKind>();
  for (let i = 0; i < shorts.length; i++) {
    const c = shorts[i];
    if (c === ":") continue;
    const kind: ArgKind = shorts[i + 1] === ":"
      ? (shorts[i + 2] === ":" ? "optional" : "required")
      : "none";
    shortArg.set(c, kind);
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const text = a.slice(2);
      const eq = text.indexOf("=");
      const name = eq < 0 ? text : text.slice(0, eq);
      let found: LongOption | undefined;
      let ambiguous: LongOption[] | undefined;
      for (const o of longs) {
        if (!o.name.startsWith(name)) continue;
        if (o.name.length === name.length) {
          found = o;
          ambiguous = undefined;
          break;
        }
        if (!found) found = o;
        else if (!sameKind(found, o)) {
          ambiguous ??= [found];
          ambiguous.push(o);
        }
      }
      if (ambiguous) {
        const list = ambiguous.map((o) => ` '--${o.name}'`).join("");
        return {
          options,
          operands,
          error: `${progname}: option '--${text}' is ambiguous; possibilities:${list}\n`,
        };
      }
      if (!found) {
        return { options, operands, error: `${progname}: unrecognized option '--${text}'\n` };
      }
      if (eq >= 0) {
        if (found.arg === "none") {
          return {
            options,
            operands,
            error: `${progname}: option '--${found.name}' doesn't allow an argument\n`,
          };
        }
        options.push({ key: found.key, long: found.name, value: text.slice(eq + 1) });
      } else if (found.arg === "required") {
        if (i + 1 >= args.length) {
          return {
            options,
            operands,
            error: `${progname}: option '--${found.name}' requires an argument\n`,
          };
        }
        options.push({ key: found.key, long: found.name, value: args[++i] });
      } else {
        options.push({ key: found.key, long: found.name });
      }
      continue;
    }
    if (a.startsWith("-") && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const kind = shortArg.get(c);
        if (kind === undefined) {
          return { options, operands, error: `${progname}: invalid option -- '${c}'\n` };
        }
        if (kind === "none") {
          options.push({ key: c });
          continue;
        }
        if (j + 1 < a.length) options.push({ key: c, value: a.slice(j + 1) });
        else if (kind === "optional") options.push({ key: c });
        else if (i + 1 < args.length) options.push({ key: c, value: args[++i] });
        else {
          return {
            options,
            operands,
            error: `${progname}: option requires an argument -- '${c}'\n`,
          };
        }
        break;
      }
      continue;
    }
    operands.push(a);
  }
  return { options, operands };
}
