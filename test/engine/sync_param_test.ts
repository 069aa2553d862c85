/**
 * The digest algorithms two peers exchange in SyncParam (lib/engine/sync_param.ts): a difference
 * at connect ends the connection with DRBD's words, a change on an established connection is
 * taken over from the peer.
 */
import assert from "node:assert/strict";
import { checkSyncParam, syncParamPacketOf } from "../../lib/engine/sync_param.ts";

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
