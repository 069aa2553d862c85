/**
 * Split brain in a resource with two volumes on two loopback daemons: DRBD decides each volume
 * on its own, so each logs its split brain and runs the `split-brain` handler once, on both
 * nodes, before the connection ends (StandAlone). The kernel calls `drbdadm split-brain <res>`
 * with the volume's DRBD_VOLUME, DRBD_MINOR and DRBD_BACKING_DEV; drbdadm 9.22, given no
 * volume, replaces DRBD_VOLUME and DRBD_MINOR with the lists of all volumes before it runs the
 * handler (adm_khelper), so the handler tells the calls apart by DRBD_BACKING_DEV.
 */
import assert from "node:assert/strict";
import { Cluster, type ClusterNode, untilLogged } from "./helpers.ts";

const VOLUME_SIZE = 4 << 20;

/** r1: volumes 0 and 1 (minors 10, 11), each on its own backing file; the handler script. */
function r1(n: ClusterNode, port: number): string {
  const host = (name: string, p: number) => {
    const dir = `${n.dir.slice(0, n.dir.lastIndexOf("/"))}/${name}`;
    const volume = (v: number) =>
      `volume ${v} { device /dev/drbd1${v} minor 1${v}; disk ${dir}/v${v}.img; meta-disk internal; }`;
    return `on ${name} { node-id ${name === "alpha" ? 0 : 1}; address 127.0.0.1:${p};
    ${volume(0)}
    ${volume(1)}
  }`;
  };
  return `resource r1 {
  net { protocol C; connect-int 1; }
  handlers { split-brain "${n.dir}/split-brain.sh"; }
  ${host("alpha", port + 2)}
  ${host("beta", port + 3)}
}
`;
}

/** The split-brain calls a node's handler recorded, sorted. */
function calls(n: ClusterNode): string[] {
  return [...Deno.readDirSync(n.dir)]
    .filter((e) => e.name.startsWith("split-brain.call."))
    .map((e) => Deno.readTextFileSync(`${n.dir}/${e.name}`).trim())
    .sort();
}

Deno.test("split brain in a two-volume resource runs the split-brain handler once per volume (each call with its volume's backing device) on both nodes", async () => {
  const c = await Cluster.create({ resources: r1 });
  const nodes = [c.alpha, c.beta];
  try {
    for (const n of nodes) {
      for (const v of [0, 1]) {
        const f = await Deno.open(`${n.dir}/v${v}.img`, { write: true, create: true });
        await f.truncate(VOLUME_SIZE);
        f.close();
      }
      // One file per call: the shell's pid names it.
      await Deno.writeTextFile(
        `${n.dir}/split-brain.sh`,
        "#!/bin/sh\n" +
          `echo "$DRBD_RESOURCE|$DRBD_VOLUME|$DRBD_MINOR|$DRBD_BACKING_DEV|$DRBD_PEER_NODE_ID" ` +
          `> ${n.dir}/split-brain.call.$$\n`,
        { mode: 0o755 },
      );
      await n.adm("create-md", "--force", "r1");
      await n.adm("up", "r1");
    }
    await c.alpha.adm("primary", "--force", "r1");
    const all = async (ok: (s: Awaited<ReturnType<ClusterNode["status"]>>) => boolean) =>
      ok(await c.alpha.status("r1")) && ok(await c.beta.status("r1"));
    await untilLogged(
      c,
      () =>
        all((s) =>
          s.devices.length === 2 && s.devices.every((d) => d["disk-state"] === "UpToDate") &&
          s.connections[0].peer_devices.every((pd) =>
            pd["replication-state"] === "Established" && pd["peer-disk-state"] === "UpToDate"
          )
        ),
      "the initial sync of both volumes",
    );
    await c.alpha.adm("secondary", "r1");

    // Apart, both nodes start a new data generation on both volumes: split brain on each.
    for (const n of nodes) await n.adm("disconnect", "r1");
    for (const n of nodes) {
      for (const minor of ["10", "11"]) {
        const r = await n.udrbd(["drbdsetup", "new-current-uuid", minor]);
        assert.equal(r.code, 0, r.stderr);
      }
    }
    for (const n of nodes) await n.adm("connect", "r1");
    await untilLogged(
      c,
      async () =>
        await all((s) => s.connections[0]["connection-state"] === "StandAlone") &&
        nodes.every((n) => calls(n).length >= 2),
      "both nodes to go StandAlone after running the handler for both volumes",
    );
    for (const [n, peer] of [[c.alpha, 1], [c.beta, 0]] as const) {
      assert.deepEqual(calls(n), [
        `r1|0 1|10 11|${n.dir}/v0.img|${peer}`,
        `r1|0 1|10 11|${n.dir}/v1.img|${peer}`,
      ]);
    }
    for (const n of nodes) {
      for (const v of [0, 1]) {
        assert.match(
          n.log(),
          new RegExp(`r1 \\S+/${v}: Split-Brain detected but unresolved, dropping connection!`),
        );
      }
    }
  } finally {
    await c.close();
  }
});
