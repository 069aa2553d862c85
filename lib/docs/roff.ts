/**
 * A small writer of man(7) roff: sections, paragraphs, tagged paragraphs and examples, with
 * text escaped so that groff prints it as written and warns about nothing.
 *
 * @module
 */

/**
 * Escapes plain text for roff: backslashes, and a leading `.` or `'` that would start a request.
 */
export function escapeText(text: string): string {
  const t = text.replaceAll("\\", "\\e");
  return /^[.']/.test(t) ? `\\&${t}` : t;
}

/** A name typed as written (option, command, keyword): bold, with minus signs for dashes. */
export function bold(name: string): string {
  return `\\fB${escapeText(name).replaceAll("-", "\\-")}\\fR`;
}

/** A placeholder the user replaces: italic. */
export function italic(name: string): string {
  return `\\fI${escapeText(name).replaceAll("-", "\\-")}\\fR`;
}

/**
 * Prose with light markup: `` `name` `` is typed as written (bold), `{word}` is a placeholder
 * (italic); everything else is escaped text.
 */
export function prose(text: string): string {
  let out = "";
  const re = /`([^`]+)`|\{([^}\s]+)\}/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    out += escapePart(text.slice(last, m.index));
    out += m[1] !== undefined ? bold(m[1]) : italic(m[2]);
    last = m.index! + m[0].length;
  }
  out += escapePart(text.slice(last));
  return /^[.']/.test(out) ? `\\&${out}` : out;
}

function escapePart(text: string): string {
  return text.replaceAll("\\", "\\e");
}

/** Builds one man page. */
export class ManPage {
  #lines: string[] = [];

  /** Starts the page: `.TH` with title, section, source and manual. */
  constructor(title: string, section: number, source: string, manual: string) {
    this.#lines.push(`.TH ${title.toUpperCase()} ${section} "" "${source}" "${manual}"`);
    // ragged right and no hyphenation: option names must stay whole and searchable
    this.#lines.push(".ad l", ".nh");
  }

  /** A section heading. */
  section(name: string): this {
    this.#lines.push(`.SH ${name.toUpperCase()}`);
    return this;
  }

  /** A subsection heading (roff text). */
  subsection(roffText: string): this {
    this.#lines.push(`.SS ${roffText}`);
    return this;
  }

  /** A paragraph of {@link prose}. */
  para(text: string): this {
    this.#lines.push(".PP", prose(text));
    return this;
  }

  /** Text lines of already escaped roff, filled into the current paragraph. */
  roff(...lines: string[]): this {
    this.#lines.push(...lines);
    return this;
  }

  /** A tagged paragraph: `tag` (roff text) on its own line, then `body` paragraphs of prose. */
  item(tag: string, ...body: string[]): this {
    this.#lines.push(".TP", tag);
    body.forEach((b, i) => {
      if (i > 0) this.#lines.push(".IP");
      this.#lines.push(prose(b));
    });
    return this;
  }

  /** An example shown as typed, without filling (each line escaped). */
  example(...lines: string[]): this {
    this.#lines.push(".PP", ".RS 4", ".nf");
    for (const l of lines) this.#lines.push(l === "" ? "" : escapeText(l).replaceAll("-", "\\-"));
    this.#lines.push(".fi", ".RE");
    return this;
  }

  /** The page's roff text. */
  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}
