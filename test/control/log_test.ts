/** The daemon's logger writing to a real file. */
import assert from "node:assert/strict";
import { Logger, parseLogLevel } from "../../lib/util/log.ts";

function withTempDir(f: (dir: string) => void): void {
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-log-" });
  try {
    f(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

function lines(path: string): string[] {
  return Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
}

Deno.test("daemon.log lines carry a UTC timestamp, the level and the resource prefix", () => {
  withTempDir((dir) => {
    const log = Logger.open(`${dir}/daemon.log`);
    log.info("daemon started");
    log.child("r0").warn("peer unreachable");
    log.child("r0").child("vol 0").error("disk failed");
    log.close();
    const got = lines(`${dir}/daemon.log`);
    assert.equal(got.length, 3);
    const stamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;
    for (const l of got) assert.match(l, stamp);
    assert.deepEqual(got.map((l) => l.slice(25)), [
      "info  daemon started",
      "warn  r0: peer unreachable",
      "error r0: vol 0: disk failed",
    ]);
    assert.equal(Deno.statSync(`${dir}/daemon.log`).mode! & 0o077, 0, "log is private");
  });
});

Deno.test("debug lines appear only at log level debug", () => {
  withTempDir((dir) => {
    const quiet = Logger.open(`${dir}/a.log`, { level: "info" });
    quiet.debug("hidden");
    quiet.info("shown");
    quiet.close();
    assert.deepEqual(lines(`${dir}/a.log`).map((l) => l.slice(25)), ["info  shown"]);
    const chatty = Logger.open(`${dir}/b.log`, { level: "debug" });
    assert.ok(chatty.enabled("debug"));
    chatty.debug("detail");
    chatty.close();
    assert.deepEqual(lines(`${dir}/b.log`).map((l) => l.slice(25)), ["debug detail"]);
    const errorsOnly = new Logger({ level: "error", write: () => assert.fail("written") });
    errorsOnly.warn("not this");
  });
});

Deno.test("a restarted daemon appends to its log instead of truncating it", () => {
  withTempDir((dir) => {
    const first = Logger.open(`${dir}/daemon.log`);
    first.info("first run");
    first.close();
    first.info("after close: dropped");
    const second = Logger.open(`${dir}/daemon.log`);
    second.info("second run");
    second.close();
    assert.deepEqual(lines(`${dir}/daemon.log`).map((l) => l.slice(31)), [
      "first run",
      "second run",
    ]);
  });
});

Deno.test("a condition logged with once appears only the first time, in any child", () => {
  const out: string[] = [];
  const log = new Logger({ write: (l) => out.push(l), now: () => new Date(0) });
  assert.equal(log.once("nbd", "warn", "no nbd kernel driver"), true);
  assert.equal(log.child("r0").once("nbd", "warn", "no nbd kernel driver"), false);
  assert.equal(log.child("r1").once("other", "info", "something else"), true);
  assert.deepEqual(out, [
    "1970-01-01T00:00:00.000Z warn  no nbd kernel driver\n",
    "1970-01-01T00:00:00.000Z info  r1: something else\n",
  ]);
});

Deno.test("each line of a multi-line message (a stack trace) gets its own stamp", () => {
  const out: string[] = [];
  const log = new Logger({ write: (l) => out.push(l), now: () => new Date(0) }).child("r0");
  log.error("first\n  second\n");
  assert.deepEqual(out, [
    "1970-01-01T00:00:00.000Z error r0: first\n1970-01-01T00:00:00.000Z error r0:   second\n",
  ]);
});

Deno.test("--log-level accepts exactly debug, info, warn and error", () => {
  assert.deepEqual(
    ["debug", "info", "warn", "error", "trace", "INFO"].map(parseLogLevel),
    ["debug", "info", "warn", "error", undefined, undefined],
  );
});
