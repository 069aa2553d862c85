/**
 * Test helpers: a small engine stand-in ({@link TestHandler}) with ops that exercise the
 * control channel (echo, streams, gates, failures), and temporary run directories.
 *
 * @module
 */
import {
  ControlError,
  type ControlHandler,
  type HandlerContext,
} from "../../lib/control/protocol.ts";
import type { Logger } from "../../lib/util/log.ts";
import { until as untilFor } from "../util/process.ts";

/** The ops of {@link TestHandler}, for tests that drive it over a socket. */
export class TestHandler implements ControlHandler {
  /** Ops seen, in order. */
  readonly seen: string[] = [];
  /** Calls whose signal fired, by op and the `tag` argument. */
  readonly aborted: string[] = [];
  /** Whether shutdown() ran to its end. */
  shutdownDone = false;
  #gates = new Map<string, () => void>();
  #waiters = new Map<string, (() => void)[]>();
  #log?: Logger;
  #onShutdown?: () => Promise<void>;

  constructor(options: { log?: Logger; onShutdown?: () => Promise<void> } = {}) {
    this.#log = options.log;
    this.#onShutdown = options.onShutdown;
  }

  /** Resolves once a call with this op and `tag` argument has had its signal fire. */
  whenAborted(tag: string): Promise<void> {
    if (this.aborted.includes(tag)) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.#waiters.get(tag) ?? [];
      list.push(resolve);
      this.#waiters.set(tag, list);
    });
  }

  #noteAbort(tag: string): void {
    this.aborted.push(tag);
    for (const w of this.#waiters.get(tag) ?? []) w();
    this.#waiters.delete(tag);
  }

  async handle(op: string, args: Record<string, unknown>, ctx: HandlerContext): Promise<unknown> {
    this.seen.push(op);
    this.#log?.info(`test handler: ${op}`);
    switch (op) {
      case "echo":
        return args;
      case "gate": {
        // waits until a `release` op names the same key, or until cancelled
        const key = String(args.key);
        await new Promise<void>((resolve, reject) => {
          this.#gates.set(key, resolve);
          ctx.signal.addEventListener("abort", () => {
            this.#noteAbort(key);
            reject(new ControlError(20, `gate ${key} cancelled`));
          }, { once: true });
        });
        return { released: key };
      }
      case "release": {
        const key = String(args.key);
        const open = this.#gates.get(key);
        this.#gates.delete(key);
        open?.();
        return { found: open !== undefined };
      }
      case "stream": {
        // emits `count` events, then, with `follow`, waits until cancelled (like events2)
        const count = Number(args.count ?? 0);
        for (let i = 0; i < count; i++) ctx.emit({ n: i, payload: args.payload });
        if (args.follow) {
          const tag = String(args.tag ?? "stream");
          await new Promise<void>((resolve) => {
            ctx.signal.addEventListener("abort", () => {
              this.#noteAbort(tag);
              resolve();
            }, { once: true });
          });
          return { ended: "cancelled" };
        }
        return { ended: "done", count };
      }
      case "fail":
        throw new ControlError(
          Number(args.exitCode ?? 10),
          String(args.message ?? "failed"),
          typeof args.retcode === "number" ? args.retcode : undefined,
        );
      case "crash":
        throw new TypeError(String(args.message ?? "boom"));
      case "cycle": {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      }
      default:
        throw new ControlError(20, `unknown op ${op}`);
    }
  }

  async shutdown(): Promise<void> {
    this.#log?.info("test handler: shutting down");
    for (const open of this.#gates.values()) open();
    this.#gates.clear();
    await this.#onShutdown?.();
    this.shutdownDone = true;
    this.#log?.info("test handler: shutdown done");
  }
}

/** A fresh temporary run directory; remove it with `Deno.removeSync(dir, { recursive: true })`. */
export function tempRunDir(): string {
  return Deno.makeTempDirSync({ prefix: "udrbd-control-" });
}

/** The test daemon script's command line (without the `--detached` that startDaemon adds). */
export function testDaemonCommand(): string[] {
  const script = decodeURIComponent(new URL("./test_daemon.ts", import.meta.url).pathname);
  return [Deno.execPath(), "run", "-A", script];
}

export { alive } from "../util/process.ts";

/** Waits until `cond()` holds; fails after `timeoutMs` (a hung test, not a timing assertion). */
export function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  return untilFor(cond, what, timeoutMs, 20);
}

export { exists } from "../../lib/util/fs.ts";

/** The error `fn` rejects with; fails unless it is an instance of `cls` (whose message has `includes`). */
export async function rejects<E extends Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  cls: abstract new (...args: any[]) => E,
  includes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`expected a ${cls.name}, got ${e}`, { cause: e });
    if (includes !== undefined && !e.message.includes(includes)) {
      throw new Error(`expected "${includes}" in the message, got "${e.message}"`);
    }
    return e;
  }
  throw new Error(`expected a ${cls.name}, but it succeeded`);
}
