/**
 * The floor of bench/cli.ts: the least a `dump all` can do in a fresh Deno process. It reads a
 * drbd.conf, splits it into words, `;` and braces with a charCode loop, builds the section tree
 * and prints it back indented, with none of drbdadm's semantics (no includes, no option table,
 * no inheritance, no checks, no node-ids). bench/cli.ts times it beside udrbd's drbdadm so that
 * the cost of a cold V8 walking 500 resources at all is measured in the same run, not guessed.
 *
 *     deno run -A bench/cli_floor.ts drbd.conf > /dev/null
 *
 * @module
 */

/** A section (`kids` set) or a statement (`kids` null): the words before its `{` or `;`. */
interface Item {
  words: string[];
  kids: Item[] | null;
}

const SPACE = 32, TAB = 9, LF = 10, CR = 13, HASH = 35, QUOTE = 34;
const OPEN = 123, CLOSE = 125, SEMI = 59;

/** Splits `text` into the section tree. */
export function tree(text: string): Item {
  const root: Item = { words: [], kids: [] };
  const open: Item[] = [root];
  let words: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === SPACE || c === LF || c === TAB || c === CR) {
      i++;
    } else if (c === HASH) {
      while (i < n && text.charCodeAt(i) !== LF) i++;
    } else if (c === OPEN || c === SEMI) {
      const item: Item = { words, kids: c === OPEN ? [] : null };
      open[open.length - 1].kids!.push(item);
      if (item.kids) open.push(item);
      words = [];
      i++;
    } else if (c === CLOSE) {
      if (open.length > 1) open.pop();
      i++;
    } else if (c === QUOTE) {
      const start = ++i;
      while (i < n && text.charCodeAt(i) !== QUOTE) i++;
      words.push(text.slice(start, i++));
    } else {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === SPACE || d === LF || d === TAB || d === CR || d === SEMI || d === OPEN) break;
        if (d === CLOSE) break;
        i++;
      }
      words.push(text.slice(start, i));
    }
  }
  return root;
}

/** Prints `section`'s items indented by `indent`, into `out`. */
export function print(section: Item, indent: string, out: string[]): void {
  for (const item of section.kids!) {
    if (item.kids === null) {
      out.push(`${indent}${item.words.join(" ")};\n`);
    } else {
      out.push(`${indent}${item.words.join(" ")} {\n`);
      print(item, `${indent}    `, out);
      out.push(`${indent}}\n`);
    }
  }
}

if (import.meta.main) {
  const out: string[] = [];
  print(tree(Deno.readTextFileSync(Deno.args[0])), "", out);
  const bytes = new TextEncoder().encode(out.join(""));
  for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
}
