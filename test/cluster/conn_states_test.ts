/**
 * The connection states two real nodes log when one of them disconnects, in DRBD 9's order and
 * words: the side that disconnects passes Disconnecting to StandAlone, the other sees TearDown
 * and goes back to Connecting through Unconnected. A connection without a path cannot connect at
 * all: drbdsetup connect is refused as DRBD refuses it.
 */
import assert from "node:assert/strict";
import { Cluster, untilLogged } from "./helpers.ts";

/** The `conn( A -> B )` changes in a node's log, in order. */
function connChanges(log: string): string[] {
  return [...log.matchAll(/conn\( (\w+ -> \w+) \)/g)].map((m) => m[1]);
}

Deno.test("a disconnect shows Disconnecting → StandAlone on one node and TearDown → Unconnected → Connecting on the other, as in DRBD", async () => {
  const c = await Cluster.create();
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await untilLogged(c, () => /Connecting -> Connected/.test(c.alpha.log()), "connected");
    await c.beta.adm("disconnect", "r0");
    await untilLogged(
      c,
      () => /TearDown -> Unconnected \)[^]*Unconnected -> Connecting/.test(c.alpha.log()),
      "alpha connecting again",
    );
    assert.deepEqual(connChanges(c.beta.log()), [
      "StandAlone -> Unconnected",
      "Unconnected -> Connecting",
      "Connecting -> Connected",
      "Connected -> Disconnecting",
      "Disconnecting -> StandAlone",
    ]);
    assert.deepEqual(connChanges(c.alpha.log()), [
      "StandAlone -> Unconnected",
      "Unconnected -> Connecting",
      "Connecting -> Connected",
      "Connected -> TearDown",
      "TearDown -> Unconnected",
      "Unconnected -> Connecting",
    ]);
    assert.equal((await c.alpha.status()).connections[0]["connection-state"], "Connecting");
    assert.equal((await c.beta.status()).connections[0]["connection-state"], "StandAlone");
    for (const n of [c.alpha, c.beta]) assert.doesNotMatch(n.log(), /refuses/);
  } finally {
    await c.close();
  }
});

Deno.test("connect on a connection without any path is refused with DRBD's code 162 and the kernel's reason", async () => {
  const c = await Cluster.create();
  try {
    const n = c.alpha;
    for (const args of [["new-resource", "r0", "0"], ["new-peer", "r0", "1"]]) {
      const r = await n.udrbd(["drbdsetup", ...args]);
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await n.udrbd(["drbdsetup", "connect", "r0", "1"]);
    assert.equal(r.code, 10, r.stderr);
    assert.equal(
      r.stderr,
      "r0: Failure: (162) Invalid configuration request\n" +
        "additional info from kernel:\nconnection endpoint(s) missing\n",
    );
    assert.equal((await n.status()).connections[0]["connection-state"], "StandAlone");
  } finally {
    await c.close();
  }
});
