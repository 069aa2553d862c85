/**
 * The daemon's logger: timestamped, levelled lines such as
 * `2026-11-21T10:00:00.123Z info  r0: message`, appended to the log file and, when the daemon
 * runs in the foreground, to stderr as well.
 *
 * @module
 */

/** How important a log line is; lines below the logger's level are dropped. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every level, least important first. */
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/** The level named `name`, or undefined when there is no such level. */
export function parseLogLevel(name: string): LogLevel | undefined {
  return (LOG_LEVELS as readonly string[]).includes(name) ? name as LogLevel : undefined;
}

/** Options of the {@link Logger} constructor. */
export interface LoggerOptions {
  /** Lines below this level are dropped (default "info"). */
  level?: LogLevel;
  /** Where each finished line goes (with its newline); default: nowhere. */
  write?: (line: string) => void;
  /** The clock that stamps lines (tests inject a fixed one). */
  now?: () => Date;
}

/** Options of {@link Logger.open}. */
export interface LogFileOptions {
  /** Lines below this level are dropped (default "info"). */
  level?: LogLevel;
  /** Write every line to stderr as well (the daemon in the foreground). */
  stderr?: boolean;
}

const encoder = new TextEncoder();

function writeAll(w: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += w.writeSync(bytes.subarray(off));
}

/** What a logger and all its children share. */
class Core {
  level: LogLevel;
  write: ((line: string) => void) | undefined;
  now: () => Date;
  onceKeys = new Set<string>();
  closers: (() => void)[] = [];

  constructor(options: LoggerOptions) {
    this.level = options.level ?? "info";
    this.write = options.write;
    this.now = options.now ?? (() => new Date());
  }
}

/** Set by {@link Logger.child} for the constructor call it makes. */
let adopt: { core: Core; prefix: string } | undefined;

/**
 * A levelled logger. {@link Logger.child} gives a logger whose lines carry a prefix (a
 * resource name, say) and share everything else: level, destination, `once` keys.
 */
export class Logger {
  #core: Core;
  #prefix: string;

  /** A logger that passes each line to `options.write`. */
  constructor(options: LoggerOptions = {}) {
    if (adopt) {
      this.#core = adopt.core;
      this.#prefix = adopt.prefix;
      adopt = undefined;
    } else {
      this.#core = new Core(options);
      this.#prefix = "";
    }
  }

  /**
   * A logger appending to the file at `path` (created 0600 if missing, opened once), and also
   * to stderr when `options.stderr` is set. Close it with {@link Logger.close}.
   */
  static open(path: string, options: LogFileOptions = {}): Logger {
    const file = Deno.openSync(path, { append: true, create: true, mode: 0o600 });
    const toStderr = options.stderr ?? false;
    let closed = false;
    const log = new Logger({
      level: options.level,
      write: (line) => {
        const bytes = encoder.encode(line);
        if (!closed) {
          try {
            writeAll(file, bytes);
          } catch {
            // a full or vanished disk must not take the daemon down with it
          }
        }
        if (toStderr) {
          try {
            writeAll(Deno.stderr, bytes);
          } catch {
            // stderr closed
          }
        }
      },
    });
    log.#core.closers.push(() => {
      closed = true;
      file.close();
    });
    return log;
  }

  /** A logger that writes nothing (for code that needs one and callers that do not care). */
  static silent(): Logger {
    return new Logger({ level: "error", write: undefined });
  }

  /** The least important level written; changing it affects every child as well. */
  get level(): LogLevel {
    return this.#core.level;
  }

  set level(level: LogLevel) {
    this.#core.level = level;
  }

  /** Whether lines of `level` are written (to skip building expensive debug messages). */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(this.#core.level);
  }

  /** A logger whose lines carry `prefix` (after this logger's own), e.g. `r0: vol 0: ...`. */
  child(prefix: string): Logger {
    adopt = { core: this.#core, prefix: this.#prefix + prefix + ": " };
    return new Logger();
  }

  /** Logs a detail that helps debugging. */
  debug(msg: string): void {
    this.log("debug", msg);
  }

  /** Logs a normal event (a resource created, a peer connected). */
  info(msg: string): void {
    this.log("info", msg);
  }

  /** Logs something that needs attention but did not fail. */
  warn(msg: string): void {
    this.log("warn", msg);
  }

  /** Logs a failure. */
  error(msg: string): void {
    this.log("error", msg);
  }

  /**
   * Logs `msg` only the first time `key` is seen by this logger or any logger of its family,
   * for conditions worth saying once (e.g. "no nbd kernel driver"). Returns whether it logged.
   */
  once(key: string, level: LogLevel, msg: string): boolean {
    if (this.#core.onceKeys.has(key)) return false;
    this.#core.onceKeys.add(key);
    this.log(level, msg);
    return true;
  }

  /** Logs `msg` at `level`; each line of a multi-line message gets its own stamp. */
  log(level: LogLevel, msg: string): void {
    const core = this.#core;
    if (!core.write || !this.enabled(level)) return;
    const head = `${core.now().toISOString()} ${level.padEnd(5)} ${this.#prefix}`;
    const lines = msg.split("\n");
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    core.write(lines.map((l) => head + l + "\n").join(""));
  }

  /** Closes the log file; later lines still reach stderr when that was asked for. */
  close(): void {
    const closers = this.#core.closers;
    this.#core.closers = [];
    for (const c of closers) c();
  }
}
