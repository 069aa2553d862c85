/**
 * invalidate and invalidate-remote on a connected pair (two nodes on loopback): the invalidated
 * side resyncs every block from its peer while the Primary stays in service, DRBD's refusals
 * carry its codes and texts, and both disks are equal afterwards. Also `connect` on a
 * connection that is already up.
 */
import assert from "node:assert/strict";
import {
  Cluster,
  type ClusterNode,
  peerDevice,
  qemuIo,
  sha256Prefix,
  untilLogged,
  upAndSynced,
} from "./helpers.ts";

/** Waits until both nodes are Established and UpToDate with nothing out of sync. */
async function inSync(c: Cluster): Promise<void> {
  await untilLogged(c, async () => {
    for (const n of [c.alpha, c.beta]) {
      const s = await n.status();
      const pd = peerDevice(s);
      if (
        pd["replication-state"] !== "Established" || pd["out-of-sync"] !== 0 ||
        s.devices[0]["disk-state"] !== "UpToDate" || pd["peer-disk-state"] !== "UpToDate"
      ) return false;
    }
    return true;
  }, "both nodes Established and UpToDate");
}

async function received(n: ClusterNode): Promise<number> {
  return peerDevice(await n.status()).received;
}

/** drbdsetup on `n`; returns exit code and stderr. */
async function setup(n: ClusterNode, ...args: string[]): Promise<{ code: number; err: string }> {
  const r = await n.udrbd(["drbdsetup", ...args]);
  return { code: r.code, err: r.stderr };
}

Deno.test("invalidate on a connected Secondary resyncs all its blocks from the Primary; invalidate-remote does the same from the other side; both disks end equal", async () => {
  const c = await Cluster.create();
  try {
    const bytes = await upAndSynced(c);
    const kib = bytes / 1024;
    await qemuIo(c.alpha.socket, "write -P 0x5a 0 1M", "write -P 0xa5 3M 64k");

    // invalidate on beta: StartingSyncT, then a full resync with beta as SyncTarget.
    const before = await received(c.beta);
    await c.beta.adm("invalidate", "r0");
    await inSync(c);
    assert.equal(await received(c.beta) - before, kib, "beta received every block once");
    assert.match(c.beta.log(), /invalidate: repl\( Established -> StartingSyncT \), full resync/);
    assert.match(c.beta.log(), /Resync done/);

    // The Primary cannot be the target here.
    const primary = await setup(c.alpha, "invalidate", "0");
    assert.equal(primary.code, 17, primary.err);
    assert.match(primary.err, /^0: State change failed: \(-2\) Need access to UpToDate data/);

    // invalidate-remote on the Primary: beta becomes SyncTarget of a full resync again, while
    // the Primary keeps writing.
    const again = await received(c.beta);
    await c.alpha.adm("invalidate-remote", "r0");
    await qemuIo(c.alpha.socket, "write -P 0x33 8M 256k");
    await inSync(c);
    assert.ok(await received(c.beta) - again >= kib, "a full resync (plus the new writes)");
    assert.match(c.alpha.log(), /invalidate-remote: repl\( Established -> StartingSyncS \)/);

    // --reset-bitmap=no with nothing out of sync: a bitmap based resync that moves nothing.
    const quiet = await received(c.beta);
    const r = await setup(c.beta, "invalidate", "0", "--reset-bitmap=no");
    assert.equal(r.code, 0, r.err);
    await inSync(c);
    assert.equal(await received(c.beta) - quiet, 0);

    // connect on a connection that is up is DRBD's ERR_NET_CONFIGURED.
    const dup = await setup(c.alpha, "connect", "r0", "1");
    assert.equal(dup.code, 10, dup.err);
    assert.match(dup.err, /^r0: Failure: \(125\) Device has a net-config \(use disconnect first\)/);

    // Without a connection a Secondary cannot invalidate its peer.
    await c.beta.adm("disconnect", "r0");
    const alone = await setup(c.beta, "invalidate-remote", "r0", "0", "0");
    assert.equal(alone.code, 11, alone.err);
    assert.match(
      alone.err,
      /State change failed: \(-15\) Need a connection to start verify or resync/,
    );

    await c.alpha.adm("secondary", "r0");
    await Promise.all([c.alpha.adm("down", "r0"), c.beta.adm("down", "r0")]);
    assert.equal(await sha256Prefix(c.beta.disk, bytes), await sha256Prefix(c.alpha.disk, bytes));
  } finally {
    await c.close();
  }
});
