/**
 * DRBD's congestion policy `on-congestion pull-ahead` between two hosts (network + UTS
 * namespaces over veth): alpha's link is throttled with a token bucket, a protocol A writer
 * fills it, alpha goes Ahead and beta Behind (Outdated) while the writes complete locally;
 * once the link drains alpha resyncs what it announced with OutOfSync, and both end UpToDate
 * with identical disks. And the refusal DRBD gives a congestion policy without protocol A.
 */
import assert from "node:assert/strict";
import { ControlClient } from "../../lib/control/client.ts";
import { runFiles } from "../../lib/control/paths.ts";
import type { ResourceStatus } from "../../lib/status/types.ts";
import { Cluster, peerDevice, until } from "./helpers.ts";
import { netnsAvailable, NetnsCluster, type NetnsNode } from "./netns.ts";
import { connState, downAndCompare, outOfSync, settled, upSynced, withLogs } from "./steps.ts";
import { BlockWriter, readBlocks } from "./writer.ts";

const CAN = await netnsAvailable();

/**
 * Every distinct `replication/disk/peer-disk` a node reports, in order, from its daemon's
 * watch stream (a snapshot after each change: a state held for a moment is seen too).
 */
class StateLog {
  readonly seen: string[] = [];
  #client: ControlClient;
  #abort = new AbortController();
  #done: Promise<unknown>;

  private constructor(client: ControlClient) {
    this.#client = client;
    this.#done = client.call("watch", { args: { resource: "r0" } }, {
      signal: this.#abort.signal,
      onEvent: (e) => {
        const s = (e as ResourceStatus[])[0];
        const pd = peerDevice(s);
        const entry = `${pd["replication-state"]}/${s.devices[0]["disk-state"]}/` +
          pd["peer-disk-state"];
        if (this.seen.at(-1) !== entry) this.seen.push(entry);
      },
    }).catch(() => {});
  }

  static async start(n: NetnsNode): Promise<StateLog> {
    const log = new StateLog(await ControlClient.connect(runFiles(n.runDir).socket));
    await until(() => log.seen.length > 0, `${n.name}'s first state snapshot`);
    return log;
  }

  /** Whether some snapshot had replication state `repl` (and disk state `disk`, if given). */
  had(repl: string, disk?: string): boolean {
    return this.seen.some((e) => {
      const [r, d] = e.split("/");
      return r === repl && (disk === undefined || d === disk);
    });
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
    await this.#client.close();
  }
}

/** Throttles what `n` sends (its end of the veth) to 2 Mbit/s, as a slow WAN link would. */
async function throttle(n: NetnsNode): Promise<void> {
  const r = await n.exec("tc", [
    "qdisc",
    "add",
    "dev",
    n.veth,
    "root",
    "tbf",
    "rate",
    "2mbit",
    "burst",
    "32k",
    "latency",
    "400ms",
  ]);
  assert.equal(r.code, 0, r.stderr);
}

async function unthrottle(n: NetnsNode): Promise<void> {
  const r = await n.exec("tc", ["qdisc", "del", "dev", n.veth, "root"]);
  assert.equal(r.code, 0, r.stderr);
}

Deno.test({
  name:
    "a protocol A Primary on a congested link pulls ahead: writes go on locally, alpha shows Ahead and beta Behind, and once the link recovers a resync leaves both UpToDate with identical disks",
  ignore: !CAN,
  async fn() {
    const c = await NetnsCluster.create({
      size: 32 << 20,
      // ping-timeout 3 s: pings queue behind data in the throttled link for up to 400 ms
      net: "protocol A; connect-int 1; ping-int 2; ping-timeout 30; " +
        "on-congestion pull-ahead; congestion-fill 256k;",
    });
    try {
      const bytes = await upSynced(c);
      const [alpha, beta] = [await StateLog.start(c.alpha), await StateLog.start(c.beta)];
      try {
        await throttle(c.alpha);
        // 6 MiB in 4 KiB writes: 24 s of the throttled link, more than congestion-fill.
        const blocks = 1536;
        const w = BlockWriter.start(c.alpha.socket);
        try {
          await w.write(0, blocks);
          // Rewritten while Ahead: announced once, resynced with the newest data.
          await w.write(0, 256);
          assert.equal(w.acks.length, blocks + 256);
        } finally {
          await w.close();
        }
        await until(
          () => alpha.had("Ahead", "UpToDate") && beta.had("Behind", "Outdated"),
          "alpha Ahead and beta Behind (Outdated)",
          60_000,
        ).catch(withLogs(c));
        assert.match(c.alpha.log(), /Congestion-fill threshold reached \(\d+ >= 512\)/);
        // The writes alpha did not send are counted out of sync for beta until the resync.
        const written = /repl\( Ahead -> SyncSource \), (\d+) KiB written while Ahead/;
        await unthrottle(c.alpha);
        await settled(c, 60_000);

        // Ahead → SyncSource → Established on alpha; Behind → SyncTarget → Established on beta.
        const [aSeen, bSeen] = [alpha.seen.join(" "), beta.seen.join(" ")];
        assert.match(aSeen, /Established\/UpToDate\/UpToDate .*Ahead\/UpToDate\/.*SyncSource\//);
        // DRBD's Ahead caps the peer's disk at Consistent; Behind, the peer says Outdated.
        assert.ok(alpha.seen.includes("Ahead/UpToDate/Consistent"), aSeen);
        assert.ok(alpha.seen.includes("Ahead/UpToDate/Outdated"), aSeen);
        assert.match(aSeen, /SyncSource\/UpToDate\/\w+ .*Established\/UpToDate\/UpToDate$/);
        assert.match(bSeen, /Behind\/Outdated\/UpToDate .*SyncTarget\/Inconsistent\//);
        assert.match(bSeen, /Established\/UpToDate\/UpToDate$/);
        const kib = Number(written.exec(c.alpha.log())?.[1]);
        assert.ok(kib > 0, `alpha announced no out-of-sync writes:\n${c.alpha.log()}`);
        assert.match(c.beta.log(), /repl\( Established -> Behind \)/);
        assert.match(c.beta.log(), /repl\( Behind -> SyncTarget \)/);
        assert.match(c.beta.log(), /Resync done/);

        // Every block holds its write on both hosts.
        const all = [...Array(blocks).keys()];
        const onAlpha = await readBlocks(c.alpha.socket, all);
        assert.deepEqual([...onAlpha.values()], all.map((b) => b < 256 ? blocks + b + 1 : b + 1));
        assert.deepEqual(await readBlocks(c.beta.socket, all), onAlpha);
      } finally {
        await alpha.stop();
        await beta.stop();
      }
      await downAndCompare(c, bytes);
    } finally {
      await c.close();
    }
  },
});

Deno.test({
  name:
    "on-congestion disconnect on a congested link drops the connection (StandAlone, as DRBD) while writes go on locally; a later connect resyncs them",
  ignore: !CAN,
  async fn() {
    const c = await NetnsCluster.create({
      net: "protocol A; connect-int 1; ping-int 2; ping-timeout 30; " +
        "on-congestion disconnect; congestion-fill 256k;",
    });
    try {
      const bytes = await upSynced(c);
      await throttle(c.alpha);
      const blocks = 1024;
      const w = BlockWriter.start(c.alpha.socket);
      try {
        await w.write(0, blocks);
      } finally {
        await w.close();
      }
      await until(
        async () => (await connState(c.alpha)) === "StandAlone",
        "alpha to give up the congested connection",
      ).catch(withLogs(c));
      assert.match(c.alpha.log(), /Congestion-fill threshold reached \(\d+ >= 512\)/);
      assert.match(c.alpha.log(), /conn\( Connected -> Disconnecting \)/);
      assert.match(c.alpha.log(), /conn\( Disconnecting -> StandAlone \)/);
      assert.ok(await outOfSync(c.alpha) > 0, "the writes after the drop are out of sync");
      await unthrottle(c.alpha);
      await c.alpha.adm("connect", "r0");
      await settled(c, 60_000);
      const all = [...Array(blocks).keys()];
      const onAlpha = await readBlocks(c.alpha.socket, all);
      assert.deepEqual([...onAlpha.values()], all.map((b) => b + 1));
      assert.deepEqual(await readBlocks(c.beta.socket, all), onAlpha);
      await downAndCompare(c, bytes);
    } finally {
      await c.close();
    }
  },
});

Deno.test("on-congestion pull-ahead with protocol C is refused as DRBD refuses it: new-peer and net-options fail with (155)", async () => {
  const c = await Cluster.create({
    net: { alpha: "protocol C; on-congestion pull-ahead;", beta: "protocol A;" },
  });
  try {
    const up = await c.alpha.udrbd(["drbdadm", "-c", c.alpha.conf, "up", "r0"]);
    assert.notEqual(up.code, 0, up.stdout);
    assert.match(
      up.stderr,
      /r0: Failure: \(155\) on-congestion policy pull-ahead only with prot A allowed\n/,
    );
    assert.match(up.stderr, /Command 'drbdsetup new-peer r0 1 .*' terminated with exit code 10/);
    const s = await c.alpha.status();
    assert.equal(s.connections.length, 0, "no connection was made");

    // On a protocol A connection, the policy may be set; the protocol may then not leave A.
    await c.beta.adm("up", "r0");
    const set = (args: string[]) => c.beta.udrbd(["drbdsetup", "net-options", "r0", "0", ...args]);
    const ok = await set(["--on-congestion=pull-ahead", "--congestion-fill=1M"]);
    assert.equal(ok.code, 0, ok.stderr);
    const toC = await set(["--protocol=C"]);
    assert.equal(toC.code, 10);
    assert.equal(
      toC.stderr,
      "r0: Failure: (155) on-congestion policy pull-ahead only with prot A allowed\n",
    );
    const disconnect = await set(["--on-congestion=disconnect", "--protocol=B"]);
    assert.equal(disconnect.code, 10, "disconnect needs protocol A too");
    const block = await set(["--on-congestion=block", "--protocol=C"]);
    assert.equal(block.code, 0, block.stderr);
  } finally {
    await c.close();
  }
});
