/**
 * Steps the fault scenarios share on a {@link NetnsCluster}: bring both hosts up and synced,
 * wait for a reconnect and its resync to settle, read counters, and compare both data areas.
 *
 * @module
 */
import assert from "node:assert/strict";
import { peerDevice, sha256Prefix, until } from "./helpers.ts";
import type { NetnsCluster, NetnsNode } from "./netns.ts";

const LOGS = "\n--- alpha:\n";

/**
 * Appends both daemons' logs to a failure, so a timed-out wait or a failed assertion says what
 * the nodes did (once: a failure that already carries them is passed on as it is).
 */
export function withLogs(c: NetnsCluster): (e: Error) => never {
  return (e) => {
    if (e instanceof Error && e.message.includes(LOGS)) throw e;
    throw new Error(`${e?.message ?? e}${LOGS}${c.alpha.log()}\n--- beta:\n${c.beta.log()}`, {
      cause: e,
    });
  };
}

/**
 * Up on both hosts, `primary --force` on `primary`, initial sync finished; resolves to the
 * size of the data area in bytes.
 */
export async function upSynced(c: NetnsCluster, primary: NetnsNode = c.alpha): Promise<number> {
  await Promise.all(c.nodes.map((n) => n.adm("up", "r0")));
  await primary.adm("primary", "--force", "r0");
  await settled(c);
  return (await primary.status()).devices[0].size * 1024;
}

/** Waits until both hosts are Connected, Established, UpToDate, with nothing out of sync. */
export async function settled(c: NetnsCluster, timeoutMs = 30_000): Promise<void> {
  await until(
    async () => {
      for (const n of c.nodes) {
        const s = await n.status();
        const pd = peerDevice(s);
        if (
          s.connections[0]["connection-state"] !== "Connected" ||
          pd["replication-state"] !== "Established" || pd["out-of-sync"] !== 0 ||
          s.devices[0]["disk-state"] !== "UpToDate" || pd["peer-disk-state"] !== "UpToDate"
        ) return false;
      }
      return true;
    },
    "both hosts Connected, Established and UpToDate",
    timeoutMs,
  ).catch(withLogs(c));
}

/** The connection state of `n` towards its peer. */
export async function connState(n: NetnsNode): Promise<string> {
  return (await n.status()).connections[0]["connection-state"];
}

/** KiB `n` has marked out of sync towards its peer. */
export async function outOfSync(n: NetnsNode): Promise<number> {
  return peerDevice(await n.status())["out-of-sync"];
}

/** KiB `n` received from its peer on the current connection (replicated writes and resync). */
export async function received(n: NetnsNode): Promise<number> {
  return peerDevice(await n.status()).received;
}

/** Takes both hosts down and asserts that their data areas (`bytes` long) are identical. */
export async function downAndCompare(c: NetnsCluster, bytes: number): Promise<void> {
  for (const n of c.nodes) {
    if ((await n.status()).role === "Primary") await n.adm("secondary", "r0");
  }
  await Promise.all(c.nodes.map((n) => n.adm("down", "r0")));
  assert.equal(
    await sha256Prefix(c.beta.disk, bytes),
    await sha256Prefix(c.alpha.disk, bytes),
    "the data areas of alpha and beta differ",
  );
}
