/**
 * A daemon for the tests: {@link runDaemon} with the {@link TestHandler} in place of the engine.
 * Environment: UDRBD_RUN_DIR; UDRBD_TEST_START_MS (engine start-up time); UDRBD_TEST_SHUTDOWN_MS
 * (time shutdown() takes, as a metadata flush would); UDRBD_TEST_MARK (a file shutdown()
 * writes when it has finished). Arguments: --foreground, --detached (ignored), --log-level L,
 * --fail-start (the engine fails to start).
 *
 * @module
 */
import { runDaemon } from "../../lib/control/daemon.ts";
import { parseLogLevel } from "../../lib/util/log.ts";
import { TestHandler } from "./helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startMs = Number(Deno.env.get("UDRBD_TEST_START_MS") ?? 0);
const shutdownMs = Number(Deno.env.get("UDRBD_TEST_SHUTDOWN_MS") ?? 0);
const mark = Deno.env.get("UDRBD_TEST_MARK");
const levelAt = Deno.args.indexOf("--log-level");

const code = await runDaemon({
  foreground: Deno.args.includes("--foreground"),
  logLevel: levelAt >= 0 ? parseLogLevel(Deno.args[levelAt + 1]) : undefined,
  createHandler: async (log) => {
    if (startMs) await sleep(startMs);
    if (Deno.args.includes("--fail-start")) throw new Error("backing device /dev/nowhere missing");
    return new TestHandler({
      log,
      onShutdown: async () => {
        if (shutdownMs) await sleep(shutdownMs);
        if (mark) Deno.writeTextFileSync(mark, `shutdown done by ${Deno.pid}\n`);
      },
    });
  },
});
Deno.exit(code);
