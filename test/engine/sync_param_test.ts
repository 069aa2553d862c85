/**
 * The digest algorithms two peers exchange in SyncParam (lib/engine/sync_param.ts): a difference
 * at connect ends the connection with DRBD's words, a change on an established connection is
 * taken over from the peer.
 */
import assert from "node:assert/strict";
import { ERR } from "../../lib/engine/errors.ts";
import {
  algChangeRefusal,
  checkSyncParam,
  syncParamPacketOf,
} from "../../lib/engine/sync_param.ts";

const packet = (net: Record<string, string>) => syncParamPacketOf(net, 0);

Deno.test("equal verify-alg and csums-alg connect, unset on both sides too", () => {
  const net = { "verify-alg": "sha1", "csums-alg": "crc32c" };
  assert.deepEqual(checkSyncParam(net, packet({ ...net }), true), { kind: "agree" });
  assert.deepEqual(checkSyncParam({}, packet({}), true), { kind: "agree" });
});

Deno.test("a verify-alg or csums-alg differing at connect is refused with DRBD's log line", () => {
  assert.deepEqual(
    checkSyncParam({ "verify-alg": "sha1" }, packet({ "verify-alg": "md5" }), true),
    {
      kind: "refuse",
      log: 'Different verify-alg settings. me="sha1" peer="md5"',
    },
  );
  assert.deepEqual(checkSyncParam({}, packet({ "verify-alg": "crc32c" }), true), {
    kind: "refuse",
    log: 'Different verify-alg settings. me="" peer="crc32c"',
  });
  assert.deepEqual(checkSyncParam({ "csums-alg": "md5" }, packet({}), true), {
    kind: "refuse",
    log: 'Different csums-alg settings. me="md5" peer=""',
  });
});

Deno.test("on an established connection the peer's new verify-alg is taken over", () => {
  assert.deepEqual(
    checkSyncParam({ "verify-alg": "sha1" }, packet({ "verify-alg": "sha256" }), false),
    { kind: "adopt", set: { "verify-alg": "sha256" }, logs: ['using verify-alg: "sha256"'] },
  );
  // The kernel allocates no digest for an empty name: ours stays.
  assert.deepEqual(checkSyncParam({ "csums-alg": "md5" }, packet({}), false), { kind: "agree" });
  assert.deepEqual(
    checkSyncParam({}, packet({ "verify-alg": "whirlpool" }), false),
    { kind: "refuse", log: 'Can not allocate "whirlpool" as verify-alg (reason: -2)' },
  );
});

Deno.test("net-options refuses a new csums-alg while a resync runs and a new verify-alg while a verify runs (148, 149)", () => {
  const old = { "verify-alg": "crc32c", "csums-alg": "md5" };
  const csums = { ...old, "csums-alg": "sha1" };
  const verify = { ...old, "verify-alg": "sha1" };
  for (const s of ["SyncSource", "SyncTarget", "PausedSyncS", "PausedSyncT"] as const) {
    assert.equal(algChangeRefusal(old, csums, ["Established", s]), ERR.CSUMS_RESYNC_RUNNING);
    // verify-alg may change during a resync
    assert.equal(algChangeRefusal(old, verify, [s]), undefined);
  }
  for (const s of ["VerifyS", "VerifyT"] as const) {
    assert.equal(algChangeRefusal(old, verify, [s]), ERR.VERIFY_RUNNING);
    assert.equal(algChangeRefusal(old, csums, [s]), undefined);
    // the same algorithm again, or another option, is no change
    assert.equal(algChangeRefusal(old, { ...old, "max-buffers": "8000" }, [s]), undefined);
  }
  // unset and empty are the same (no algorithm)
  assert.equal(algChangeRefusal({}, { "csums-alg": "" }, ["SyncSource"]), undefined);
  assert.equal(algChangeRefusal({}, { "csums-alg": "md5" }, ["SyncSource"]), 148);
  assert.equal(algChangeRefusal(old, csums, ["Established", "Off"]), undefined);
});
