/**
 * connectPeer with several paths (DRBD's `path` sections): both nodes listen and dial on every
 * path, a dead path does not stop the others, and both sides learn which path won.
 */
import assert from "node:assert/strict";
import { connectPeer, listenPeer } from "../../lib/wire/mod.ts";

const HOST = "127.0.0.1";

/** A port that nothing listens on (bound once, then released). */
function deadPort(): number {
  const l = Deno.listen({ hostname: HOST, port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("two nodes connect over their second path when the first path's peer address is dead", async () => {
  // Each node's own listener on path 0 is real, but each dials a port nobody listens on there.
  const l0 = [listenPeer({ hostname: HOST, port: 0 }), listenPeer({ hostname: HOST, port: 0 })];
  const l1 = [listenPeer({ hostname: HOST, port: 0 }), listenPeer({ hostname: HOST, port: 0 })];
  try {
    const [a, b] = await Promise.all([0, 1].map((me) =>
      connectPeer({
        resource: "r0",
        nodeId: me,
        peerNodeId: 1 - me,
        connectIntMs: 100,
        paths: [
          { local: l0[me], remote: { hostname: HOST, port: deadPort() } },
          { local: l1[me], remote: { hostname: HOST, port: l1[1 - me].addr.port } },
        ],
      })
    ));
    assert.equal(a.info.path, 1);
    assert.equal(b.info.path, 1);
    await a.send({ type: "SyncUuid", volume: 0, uuid: 42n });
    for await (const p of b.packets("data")) {
      assert.deepEqual(p, { type: "SyncUuid", volume: 0, uuid: 42n });
      break;
    }
    await Promise.all([a.close(), b.closed]);
  } finally {
    await Promise.all([...l0, ...l1].map((l) => l.close()));
  }
});
