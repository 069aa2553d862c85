/**
 * Progress for people at a terminal: one line on stderr, redrawn in place while a long
 * operation runs and erased when it ends. It is drawn only when stderr is a terminal, so
 * scripts, pipes and log files see exactly the plain output of the tools.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Whether standard error is a terminal (false when that cannot be known). */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}

/** Options of {@link ProgressLine}. */
export interface ProgressLineOptions {
  /** Where the line goes (default: standard error, written at once). */
  write?: (text: string) => void;
  /** The terminal's width; longer lines are cut (default: the terminal's, else 80). */
  columns?: number;
}

/**
 * One line of progress, redrawn in place: `\r`, the text cut to the terminal's width (a line
 * that wrapped could not be redrawn), then erase-to-end-of-line. The caller decides whether a
 * terminal is there (see {@link stderrIsTerminal}).
 */
export class ProgressLine {
  #write: (text: string) => void;
  #columns: number;
  #shown: string | undefined;

  constructor(options: ProgressLineOptions = {}) {
    this.#write = options.write ?? ((t) => {
      const bytes = encoder.encode(t);
      let off = 0;
      while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
    });
    this.#columns = options.columns ?? terminalColumns();
  }

  /** Shows `text` in place of the line shown before (nothing is written when it is the same). */
  update(text: string): void {
    // the last column stays free: writing into it makes some terminals wrap at once
    const line = [...text.replace(/[\r\n\t]/g, " ")].slice(0, this.#columns - 1).join("");
    if (line === this.#shown) return;
    this.#shown = line;
    this.#write(`\r${line}\x1b[K`);
  }

  /** Erases the line, leaving the cursor where the line began; it may be drawn again later. */
  clear(): void {
    if (this.#shown === undefined) return;
    this.#shown = undefined;
    this.#write("\r\x1b[K");
  }
}
