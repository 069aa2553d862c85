/**
 * drbd.conf's `sndbuf-size` and `rcvbuf-size` reach the kernel: once two nodes are connected,
 * iproute2's `ss -tmnp` shows each node's peer sockets (data and meta, dialed or accepted) with
 * exactly the configured send (`tb`) and receive (`rb`) buffers, as a kernel DRBD's would; a
 * node without them keeps Linux's autotuning.
 */
import assert from "node:assert/strict";
import { runFiles } from "../../lib/control/paths.ts";
import { Cluster, type ClusterNode, have, untilLogged } from "./helpers.ts";
import { type SsSocket, ssSockets } from "../wire/ss.ts";

const SIZE = 512 * 1024;

function daemonPid(n: ClusterNode): number {
  return Number(Deno.readTextFileSync(runFiles(n.runDir).pid).trim());
}

/** The cluster's TCP sockets (either node's port at one end), by the daemon that owns them. */
async function peerSockets(c: Cluster, ports: number[]) {
  const filter = `( ${ports.map((p) => `sport = :${p} or dport = :${p}`).join(" or ")} )`;
  const all = await ssSockets({ filter });
  const of = (n: ClusterNode): SsSocket[] => {
    const pid = daemonPid(n);
    return all.filter((s) => s.owners.some((o) => o.pid === pid));
  };
  return { alpha: of(c.alpha), beta: of(c.beta) };
}

/**
 * Both nodes Connected (after `up` of those in `up`), each holding just its data and meta
 * socket (race losers gone).
 */
async function connected(c: Cluster, ports: number[], up = [c.alpha, c.beta]) {
  await Promise.all(up.map((n) => n.adm("up", "r0")));
  let socks = { alpha: [] as SsSocket[], beta: [] as SsSocket[] };
  await untilLogged(c, async () => {
    for (const n of [c.alpha, c.beta]) {
      if ((await n.status()).connections[0]["connection-state"] !== "Connected") return false;
    }
    socks = await peerSockets(c, ports);
    return socks.alpha.length === 2 && socks.beta.length === 2;
  }, "both nodes Connected over one data and one meta socket each");
  return socks;
}

/** The two nodes' listening ports: the `address` lines of the generated configuration. */
function portsOf(c: Cluster): number[] {
  const conf = Deno.readTextFileSync(c.alpha.conf);
  return [...conf.matchAll(/address 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
}

Deno.test({
  name: "sndbuf-size 512k and rcvbuf-size 512k give both nodes' peer sockets 512 KiB buffers",
  ignore: !have("ss"),
  async fn() {
    const net = "sndbuf-size 512k; rcvbuf-size 512k;";
    const c = await Cluster.create({ net: { alpha: net, beta: net } });
    try {
      const ports = portsOf(c);
      const socks = await connected(c, ports);
      for (const [node, list] of Object.entries(socks)) {
        for (const s of list) {
          assert.equal(s.tb, SIZE, `${node} ${s.local} -> ${s.peer}: send buffer`);
          assert.equal(s.rb, SIZE, `${node} ${s.local} -> ${s.peer}: receive buffer`);
        }
      }
      for (const n of [c.alpha, c.beta]) assert.doesNotMatch(n.log(), /not applied|limited to/);
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  name: "a node without sndbuf-size/rcvbuf-size keeps autotuned buffers while its peer's are fixed",
  ignore: !have("ss"),
  async fn() {
    const c = await Cluster.create({
      net: { alpha: "", beta: "sndbuf-size 512k; rcvbuf-size 512k;" },
    });
    try {
      const socks = await connected(c, portsOf(c));
      for (const s of socks.beta) {
        assert.equal(s.tb, SIZE, `beta ${s.local} -> ${s.peer}: send buffer`);
        assert.equal(s.rb, SIZE, `beta ${s.local} -> ${s.peer}: receive buffer`);
      }
      for (const s of socks.alpha) {
        assert.notEqual(s.tb, SIZE, `alpha ${s.local} -> ${s.peer}: send buffer`);
        assert.notEqual(s.rb, SIZE, `alpha ${s.local} -> ${s.peer}: receive buffer`);
      }
    } finally {
      await c.close();
    }
  },
});

const CHANGED = 256 * 1024;

Deno.test({
  name:
    "drbdsetup net-options --sndbuf-size=256k on a connected pair resizes the live sockets at once",
  ignore: !have("ss"),
  async fn() {
    const c = await Cluster.create({ net: { alpha: "", beta: "" } });
    try {
      const ports = portsOf(c);
      const before = await connected(c, ports);
      for (const s of before.alpha) assert.notEqual(s.tb, CHANGED, `alpha ${s.local}: autotuned`);
      const r = await c.alpha.udrbd(["drbdsetup", "net-options", "r0", "1", "--sndbuf-size=256k"]);
      assert.equal(r.code, 0, r.stderr);
      // No reconnect: the same two sockets, now with the new send buffer; the peer's stay.
      const after = await peerSockets(c, ports);
      const key = (s: SsSocket) => `${s.local} ${s.peer}`;
      assert.deepEqual(after.alpha.map(key).sort(), before.alpha.map(key).sort());
      for (const s of after.alpha) {
        assert.equal(s.tb, CHANGED, `alpha ${s.local} -> ${s.peer}: send buffer`);
        assert.notEqual(s.rb, CHANGED, `alpha ${s.local} -> ${s.peer}: receive buffer untouched`);
      }
      for (const s of after.beta) assert.notEqual(s.tb, CHANGED, `beta ${s.local}: peer untouched`);
      assert.equal((await c.alpha.status()).connections[0]["connection-state"], "Connected");
      assert.doesNotMatch(c.alpha.log(), /not applied|limited to/);
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  name:
    "net-options changing sndbuf-size and rcvbuf-size while connecting reaches the listener and the connection made afterwards",
  ignore: !have("ss"),
  async fn() {
    const c = await Cluster.create({ net: { alpha: "", beta: "" } });
    try {
      const ports = portsOf(c);
      const alphaPort = ports[0];
      await c.alpha.adm("up", "r0");
      const listening = async () =>
        (await ssSockets({ listening: true, filter: `sport = :${alphaPort}` }))
          .filter((s) => s.owners.some((o) => o.pid === daemonPid(c.alpha)));
      await untilLogged(c, async () => (await listening()).length === 1, "alpha listening");
      const r = await c.alpha.udrbd([
        "drbdsetup",
        "net-options",
        "r0",
        "1",
        "--sndbuf-size=256k",
        "--rcvbuf-size=256k",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const [l] = await listening();
      assert.equal(l.tb, CHANGED, "alpha's listener: send buffer");
      assert.equal(l.rb, CHANGED, "alpha's listener: receive buffer");
      // Whichever side's dial wins, alpha's data and meta sockets carry the new sizes.
      const socks = await connected(c, ports, [c.beta]);
      for (const s of socks.alpha) {
        assert.equal(s.tb, CHANGED, `alpha ${s.local} -> ${s.peer}: send buffer`);
        assert.equal(s.rb, CHANGED, `alpha ${s.local} -> ${s.peer}: receive buffer`);
      }
    } finally {
      await c.close();
    }
  },
});
