/**
 * A connection with several `path` sections: every path listens and dials, the first to
 * complete wins, and a path whose peer address nobody listens on does not keep the others
 * from connecting. Status and `drbdsetup show` list every path.
 */
import assert from "node:assert/strict";
import { Cluster, type ClusterNode, peerDevice, untilLogged } from "./helpers.ts";

/**
 * Two paths. On the first, each node names for its peer an address (port + 8 / + 9) that the
 * peer does not listen on (the peer's own configuration puts itself elsewhere), so that path
 * can never connect; the second is an ordinary one.
 */
function twoPaths(n: ClusterNode, port: number): string {
  const dead = n.name === "alpha"
    ? `host alpha address 127.0.0.1:${port}; host beta address 127.0.0.1:${port + 9};`
    : `host alpha address 127.0.0.1:${port + 8}; host beta address 127.0.0.1:${port + 1};`;
  return `connection {
    path { ${dead} }
    path { host alpha address 127.0.0.1:${port + 2}; host beta address 127.0.0.1:${port + 3}; }
  }`;
}

Deno.test("a connection with two paths connects over the second when the first leads nowhere, and lists both", async () => {
  const c = await Cluster.create({ extra: twoPaths, explicitPaths: true });
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await untilLogged(c, async () => {
      const [a, b] = [await c.alpha.status(), await c.beta.status()];
      return peerDevice(a)["replication-state"] === "Established" &&
        peerDevice(b)["replication-state"] === "Established";
    }, "the connection over the second path");
    const paths = (await c.alpha.status()).connections[0].udrbd?.paths ?? [];
    assert.deepEqual(paths.map((p) => p.established), [false, true]);
    // The second path is alpha port + 2 to beta port + 3.
    assert.equal(portOf(paths[1].peer) - portOf(paths[1].local), 1);
    const show = await c.alpha.udrbd(["drbdsetup", "show", "r0"]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout.match(/\bpath\s*\{/g)?.length, 2, show.stdout);
    for (const p of paths) {
      assert.ok(show.stdout.includes(p.local.replace(/^ipv4:/, "")), show.stdout);
      assert.ok(show.stdout.includes(p.peer.replace(/^ipv4:/, "")), show.stdout);
    }
  } finally {
    await c.close();
  }
});

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}
