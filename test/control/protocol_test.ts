/** Parsing of control requests: what the daemon accepts, and what it answers broken lines with. */
import assert from "node:assert/strict";
import { ControlError, parseMessage, parseRequest } from "../../lib/control/protocol.ts";

Deno.test("a request with args is accepted as sent", () => {
  assert.deepEqual(parseRequest(`{"v":1,"id":3,"op":"primary","args":{"force":true}}`), {
    ok: true,
    request: { v: 1, id: 3, op: "primary", args: { force: true } },
  });
});

Deno.test("broken requests get an error naming the problem, with the id when known", () => {
  const cases: [string, number, string, boolean][] = [
    [`{"v":1,"id":1`, 0, "malformed control message (not JSON", true],
    [`[1,2]`, 0, "malformed control message (not an object)", true],
    [`{"v":1,"op":"x"}`, 0, "malformed control message (no numeric id)", true],
    [`{"v":1,"id":-1,"op":"x"}`, 0, "malformed control message (no numeric id)", true],
    [`{"v":1,"id":4}`, 4, "malformed control message (no op)", true],
    [`{"v":1,"id":4,"op":"x","args":[1]}`, 4, "args of x is not an object", true],
    [`{"v":3,"id":5,"op":"x"}`, 5, "unsupported control protocol version 3 (this", false],
    [`{"id":6,"op":"x"}`, 6, "unsupported control protocol version null", false],
  ];
  for (const [line, id, message, fatal] of cases) {
    const got = parseRequest(line);
    assert.equal(got.ok, false, line);
    if (got.ok) continue;
    assert.equal(got.id, id, line);
    assert.ok(got.error.message.includes(message), `${line}: ${got.error.message}`);
    assert.equal(got.error.exitCode, 20, line);
    assert.equal(got.fatal, fatal, line);
  }
});

Deno.test("an error response carries drbdsetup's exit code, message and retcode", () => {
  const e = new ControlError(11, "State change failed", -2);
  const msg = parseMessage(JSON.stringify({ v: 1, id: 2, ok: false, error: e }));
  assert.deepEqual(msg, {
    v: 1,
    id: 2,
    ok: false,
    error: { exitCode: 11, message: "State change failed", retcode: -2 },
  });
  assert.equal(parseMessage(`{"v":1,"id":2,"ok":false,"error":{"message":"x"}}`), undefined);
  assert.equal(parseMessage(`{"v":2,"id":2,"ok":true}`), undefined);
  assert.deepEqual(parseMessage(`{"v":1,"id":2,"event":null}`), { v: 1, id: 2, event: null });
});
