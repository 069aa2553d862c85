/**
 * drbdsetup's line wrapping for status text: pieces are appended with an indent, and a piece that
 * would cross the terminal width starts a new, indented line. Widths count bytes including color
 * escapes, as the C code does; output that is not a terminal wraps at 80 columns.
 *
 * @module
 */
import { byteLength } from "./printf.ts";

/** Accumulates status text with drbdsetup's wrapping rules. */
export class WrapWriter {
  #out = "";
  #col = 0;
  #columns: number;

  /** `columns`: the terminal width (80 when not a terminal). */
  constructor(columns = 80) {
    this.#columns = columns > 0 ? columns : 80;
  }

  /** Append one piece; `indent` applies when it starts a line. */
  print(indent: number, piece: string): void {
    let text = piece;
    if (this.#col + byteLength(text) > this.#columns) {
      this.#out += "\n";
      if (text.startsWith("\n")) text = text.slice(1);
      this.#col = 0;
    }
    if (this.#col === 0) {
      text = text.replace(/^ +/, "");
      this.#col += indent;
      this.#out += " ".repeat(indent);
    }
    this.#out += text;
    this.#col += byteLength(text);
    if (text.endsWith("\n")) this.#col = 0;
  }

  /** Everything written so far. */
  get text(): string {
    return this.#out;
  }
}
