/**
 * The connection states two real nodes log when one of them disconnects, in DRBD 9's order and
 * words: the side that disconnects passes Disconnecting to StandAlone, the other sees TearDown
 * and goes back to Connecting through Unconnected.
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
