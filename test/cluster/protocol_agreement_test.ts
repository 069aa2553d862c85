/**
 * What two nodes must agree on after connecting, seen from the CLI: the net settings of the
 * Protocol packet (a mismatch leaves both StandAlone, each log saying what differs, without
 * retrying) and the device size (the smaller disk decides; a Primary does not shrink for a
 * peer whose disk is too small).
 */
import assert from "node:assert/strict";
import {
  Cluster,
  type ClusterNode,
  have,
  nbdUri,
  peerDevice,
  run,
  untilLogged,
} from "./helpers.ts";

async function state(n: ClusterNode): Promise<string> {
  return (await n.status()).connections[0]["connection-state"];
}

async function bothStandAloneSaying(c: Cluster, why: RegExp): Promise<void> {
  await untilLogged(
    c,
    async () =>
      why.test(c.alpha.log()) && why.test(c.beta.log()) &&
      await state(c.alpha) === "StandAlone" && await state(c.beta) === "StandAlone",
    `both nodes StandAlone, logging ${why}`,
  );
}

function count(text: string, re: RegExp): number {
  return text.match(new RegExp(re.source, "g"))?.length ?? 0;
}

Deno.test("nodes configured with different replication protocols stay StandAlone and both logs name the protocol", async () => {
  const c = await Cluster.create({ net: { alpha: "protocol A;", beta: "protocol C;" } });
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await bothStandAloneSaying(c, /incompatible protocol settings/);
    // Once: StandAlone does not reconnect on its own.
    for (const n of [c.alpha, c.beta]) {
      assert.equal(count(n.log(), /conn\( \w+ -> Connected \)/), 1);
    }
  } finally {
    await c.close();
  }
});

Deno.test("different after-sb-0pri policies are refused, mirrored discard-local/discard-remote accepted", async () => {
  const c = await Cluster.create({
    net: { alpha: "after-sb-0pri discard-local;", beta: "after-sb-0pri discard-local;" },
  });
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await bothStandAloneSaying(c, /incompatible after-sb-0pri settings/);
  } finally {
    await c.close();
  }
  const ok = await Cluster.create({
    net: { alpha: "after-sb-0pri discard-local;", beta: "after-sb-0pri discard-remote;" },
  });
  try {
    await Promise.all([ok.alpha.adm("up", "r0"), ok.beta.adm("up", "r0")]);
    await untilLogged(
      ok,
      async () => peerDevice(await ok.alpha.status())["replication-state"] === "Established",
      "the connection to be established",
    );
  } finally {
    await ok.close();
  }
});

Deno.test("both sides asking to discard their data are refused with incompatible discard-my-data settings", async () => {
  const c = await Cluster.create();
  try {
    await Promise.all([c.alpha.adm("up", "r0"), c.beta.adm("up", "r0")]);
    await untilLogged(
      c,
      async () => await state(c.alpha) === "Connected",
      "the first connection",
    );
    await c.alpha.adm("disconnect", "r0");
    await c.beta.adm("disconnect", "r0");
    await c.alpha.adm("connect", "--discard-my-data", "r0");
    await c.beta.adm("connect", "--discard-my-data", "r0");
    await bothStandAloneSaying(c, /incompatible discard-my-data settings/);
  } finally {
    await c.close();
  }
});

const MiB = 1 << 20;

Deno.test("two nodes with different disks agree on the smaller one: status and the NBD export say so", async () => {
  const c = await Cluster.create({ sizes: { alpha: 16 * MiB, beta: 12 * MiB } });
  try {
    await c.beta.adm("up", "r0");
    const small = (await c.beta.status()).devices[0].size;
    // beta alone exposes its own data area: less than its 12 MiB file (metadata), far less
    // than alpha's 16 MiB.
    assert.ok(small < 12 * 1024, `beta's size ${small} KiB`);
    await c.alpha.adm("up", "r0");
    await c.alpha.adm("primary", "--force", "r0");
    await untilLogged(c, async () => {
      const [a, b] = [await c.alpha.status(), await c.beta.status()];
      return peerDevice(a)["replication-state"] === "Established" &&
        b.devices[0]["disk-state"] === "UpToDate";
    }, "the initial sync");
    assert.equal((await c.alpha.status()).devices[0].size, small);
    assert.equal((await c.beta.status()).devices[0].size, small);
    if (have("nbdinfo")) {
      const info = await run("nbdinfo", [
        "--size",
        nbdUri(c.alpha.socket),
      ]);
      assert.equal(Number(info.stdout.trim()), small * 1024);
    }
  } finally {
    await c.close();
  }
});

Deno.test("a primary refuses a peer whose disk is too small for its data, and both stay StandAlone", async () => {
  const c = await Cluster.create({ sizes: { alpha: 16 * MiB, beta: 12 * MiB } });
  try {
    await c.alpha.adm("up", "r0");
    await c.alpha.adm("primary", "--force", "r0");
    const size = (await c.alpha.status()).devices[0].size;
    await c.beta.adm("up", "r0");
    await bothStandAloneSaying(c, /The peer's disk size is too small! \(\d+ < \d+ sectors\)/);
    assert.equal((await c.alpha.status()).devices[0].size, size);
  } finally {
    await c.close();
  }
});
