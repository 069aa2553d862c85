/**
 * Split brain made for real and recovered by hand, as the DRBD user's guide describes it: both
 * nodes write while apart, reconnecting finds split brain (both StandAlone, the `split-brain`
 * handler runs through drbdadm with DRBD's environment), and `connect --discard-my-data` on the
 * victim resyncs exactly the blocks either side changed, towards the survivor's data.
 */
import assert from "node:assert/strict";
import {
  Cluster,
  type ClusterNode,
  have,
  peerDevice,
  qemuIo,
  sha256Prefix,
  untilLogged,
  upAndSynced,
} from "./helpers.ts";
import { exists } from "../../lib/util/fs.ts";

const haveQemu = have("qemu-io");

/** The handlers section: each handler leaves its environment in the node's directory. */
function handlers(n: ClusterNode): string {
  return `handlers {
    split-brain "env > ${n.dir}/split-brain.env";
    initial-split-brain "echo called >> ${n.dir}/initial-split-brain.log";
  }`;
}

function readEnv(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

Deno.test(
  "split brain leaves both nodes StandAlone with the handler run, and discard-my-data on the victim resyncs only the blocks both sides changed",
  { ignore: !haveQemu },
  async () => {
    const c = await Cluster.create({ extra: handlers });
    const { alpha, beta } = c;
    try {
      const bytes = await upAndSynced(c);
      // Part, and let both sides be Primary and write: alpha 1 MiB at 0, beta 512 KiB inside
      // alpha's range and 256 KiB elsewhere. Union: 1 MiB + 256 KiB = 320 blocks of 4 KiB.
      await alpha.adm("disconnect", "r0");
      await beta.adm("disconnect", "r0");
      await beta.adm("primary", "--force", "r0");
      await qemuIo(alpha.socket, "write -P 0xaa 0 1M", "flush");
      await qemuIo(beta.socket, "write -P 0xbb 512k 512k", "write -P 0xcc 4M 256k", "flush");
      assert.equal(peerDevice(await alpha.status())["out-of-sync"], 1024);
      assert.equal(peerDevice(await beta.status())["out-of-sync"], 768);
      await alpha.adm("secondary", "r0");
      await beta.adm("secondary", "r0");

      await alpha.adm("connect", "r0");
      await beta.adm("connect", "r0");
      const unresolved = /Split-Brain detected but unresolved, dropping connection!/;
      await untilLogged(
        c,
        async () =>
          unresolved.test(alpha.log()) && unresolved.test(beta.log()) &&
          (await alpha.status()).connections[0]["connection-state"] === "StandAlone" &&
          (await beta.status()).connections[0]["connection-state"] === "StandAlone" &&
          /drbdadm split-brain exit code 0/.test(alpha.log()) &&
          /drbdadm split-brain exit code 0/.test(beta.log()),
        "both nodes to detect split brain, run the handler and go StandAlone",
      );
      for (const [n, peerId] of [[alpha, "1"], [beta, "0"]] as const) {
        const env = readEnv(`${n.dir}/split-brain.env`);
        assert.equal(env.DRBD_RESOURCE, "r0");
        assert.equal(env.DRBD_PEER_NODE_ID, peerId);
        assert.equal(env.DRBD_MINOR, "0");
        assert.equal(env.DRBD_VOLUME, "0");
        assert.equal(env.DRBD_BACKING_DEV, n.disk);
        assert.equal(env.DRBD_CONF, n.conf);
        assert.ok(exists(`${n.dir}/initial-split-brain.log`), `${n.name}: initial-split-brain`);
      }
      // Nothing was resynced or lost: each side still knows exactly what it changed.
      assert.equal(peerDevice(await alpha.status())["out-of-sync"], 1024);
      assert.equal(peerDevice(await beta.status())["out-of-sync"], 768);

      // A Primary cannot be the victim.
      await beta.adm("primary", "r0");
      const refused = await beta.udrbd([
        "drbdadm",
        "-c",
        beta.conf,
        "connect",
        "--discard-my-data",
        "r0",
      ]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /--discard-my-data not allowed when primary\./);
      await beta.adm("secondary", "r0");

      // Manual recovery: beta gives up its changes, alpha's data wins.
      await beta.adm("connect", "--discard-my-data", "r0");
      await alpha.adm("connect", "r0");
      await untilLogged(c, async () => {
        const [a, b] = [await alpha.status(), await beta.status()];
        return peerDevice(a)["replication-state"] === "Established" &&
          peerDevice(a)["out-of-sync"] === 0 && b.devices[0]["disk-state"] === "UpToDate" &&
          peerDevice(b)["replication-state"] === "Established" &&
          peerDevice(b)["out-of-sync"] === 0;
      }, "the resync after the manual split brain recovery");
      assert.match(beta.log(), /Split-Brain detected, manually solved\. Sync from peer node/);
      assert.match(alpha.log(), /Split-Brain detected, manually solved\. Sync from this node/);
      // Exactly the union of both sides' changed blocks moved to the victim.
      assert.equal(peerDevice(await beta.status()).received, 1280);
      // discard-my-data was used up: alpha may ask for it now without both sides asking.
      await alpha.adm("disconnect", "r0");
      await beta.adm("disconnect", "r0");
      await alpha.adm("connect", "--discard-my-data", "r0");
      await beta.adm("connect", "r0");
      await untilLogged(
        c,
        async () => peerDevice(await beta.status())["replication-state"] === "Established",
        "a plain reconnect",
      );
      assert.doesNotMatch(alpha.log() + beta.log(), /incompatible discard-my-data settings/);
      await alpha.adm("down", "r0");
      await beta.adm("down", "r0");
      assert.equal(await sha256Prefix(beta.disk, bytes), await sha256Prefix(alpha.disk, bytes));
      const data = await Deno.readFile(beta.disk);
      assert.ok(data.subarray(0, 1 << 20).every((x) => x === 0xaa), "alpha's 1 MiB on beta");
      assert.ok(
        data.subarray(4 << 20, (4 << 20) + (256 << 10)).every((x) => x === 0),
        "beta's own write is gone",
      );
    } finally {
      await c.close();
    }
  },
);
