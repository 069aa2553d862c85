/**
 * drbdsetup's queries and refusals against a daemon holding a resource that drbdadm brought
 * up: the texts and exit codes a DRBD user's scripts read.
 */
import assert from "node:assert/strict";
import { TestNode } from "./helpers.ts";

Deno.test("drbdsetup status, role, cstate, dstate, show and events2 --now describe a resource after up", async () => {
  const node = await TestNode.create();
  try {
    await node.ok("create-md", node.resource);
    await node.ok("up", node.resource);
    const q = async (...args: string[]) => {
      const r = await node.setup(...args);
      assert.equal(r.code, 0, `drbdsetup ${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, "");
      return r.stdout;
    };
    assert.equal(
      await q("status", "r5"),
      "r5 role:Secondary\n  disk:Inconsistent\n  beta connection:Connecting\n\n",
    );
    assert.equal(await q("role", "r5"), "Secondary\n");
    assert.equal(await q("cstate", "r5", "1"), "Connecting\n");
    assert.equal(await q("dstate", "5"), "Inconsistent/DUnknown\n");
    const events = await q("events2", "--now", "r5");
    const lines = events.trimEnd().split("\n");
    assert.match(lines[0], /^exists resource name:r5 role:Secondary suspended:no /);
    assert.match(
      events,
      /^exists connection name:r5 peer-node-id:1 conn-name:beta connection:Connecting role:Unknown$/m,
    );
    assert.match(
      events,
      /^exists device name:r5 volume:0 minor:5 backing_dev:\S+\/disk\.img disk:Inconsistent client:no/m,
    );
    assert.match(
      events,
      /^exists peer-device name:r5 peer-node-id:1 conn-name:beta volume:0 replication:Off peer-disk:DUnknown/m,
    );
    assert.match(
      events,
      /^exists path name:r5 peer-node-id:1 conn-name:beta local:ipv4:127\.0\.0\.1:\d+ peer:ipv4:127\.0\.0\.1:\d+ established:no$/m,
    );
    assert.equal(lines.at(-1), "exists -");

    const show = await q("show", "r5");
    assert.match(show, /^resource "?r5"? \{$/m);
    assert.match(show, /^\s+node-id\s+0;$/m);
    assert.match(show, /^\s+device\s+minor 5;$/m);
    assert.match(show, new RegExp(`^\\s+disk\\s+"${node.disk}";$`, "m"));
    assert.match(show, /^\s+meta-disk\s+internal;$/m);
    assert.match(show, /^\s+_peer_node_id 1;$/m);

    // primary --force makes the data UpToDate; every query follows
    await node.ok("primary", "--force", node.resource);
    assert.equal(
      await q("status", "r5"),
      "r5 role:Primary\n  disk:UpToDate\n  beta connection:Connecting\n\n",
    );
    assert.equal(await q("role", "r5"), "Primary\n");
    assert.equal(await q("dstate", "5"), "UpToDate/DUnknown\n");
    assert.match(await q("events2", "--now", "r5"), /^exists device name:r5 .* disk:UpToDate /m);
    // drbdadm status is drbdsetup status
    assert.equal((await node.ok("status", "r5")).stdout, await q("status", "r5"));
  } finally {
    await node.close();
  }
});

Deno.test("drbdsetup and drbdadm refuse what DRBD refuses, with its messages and exit codes", async () => {
  const node = await TestNode.create();
  try {
    let r = await node.setup("status", "nosuch");
    assert.equal(r.code, 10);
    assert.equal(r.stderr, "nosuch: No such resource\n");

    // taking down what is not up is not an error
    r = await node.adm("down", node.resource);
    assert.equal(r.code, 0, r.stderr);

    // a disk without metadata cannot be attached
    r = await node.setup("new-resource", "r6", "0");
    assert.equal(r.code, 0, r.stderr);
    r = await node.setup("new-minor", "r6", "6", "0");
    assert.equal(r.code, 0, r.stderr);
    r = await node.setup("attach", "6", node.disk, node.disk, "internal");
    assert.equal(r.code, 10);
    // drbdsetup 9.22's text for the code, then the kernel's reason (drbd_md_decode)
    assert.equal(
      r.stderr,
      "6: Failure: (119) No valid meta-data signature found.\n\n" +
        "\t==> Use 'drbdadm create-md res' to initialize meta-data area. <==\n\n" +
        "additional info from kernel:\n" +
        'Meta data magic not found. Did you "drbdadm create-md"?\n\n',
    );
    // no peers: nothing after the slash
    assert.equal((await node.setup("dstate", "6")).stdout, "Diskless\n");
    // the kernel's reasons for a volume or path that does not exist
    r = await node.setup("new-peer", "r6", "1");
    assert.equal(r.code, 0, r.stderr);
    r = await node.setup("pause-sync", "r6", "1", "3");
    assert.equal(r.code, 10);
    assert.equal(
      r.stderr,
      "r6: Failure: (162) Invalid configuration request\n" +
        "additional info from kernel:\nunknown volume\n",
    );
    r = await node.setup("del-path", "r6", "1", "ipv4:127.0.0.1:7788", "ipv4:127.0.0.1:7789");
    assert.equal(r.code, 10);
    assert.equal(
      r.stderr,
      "r6: Failure: (162) Invalid configuration request\n" +
        "additional info from kernel:\nno such path\n",
    );
    r = await node.setup("down", "r6");
    assert.equal(r.code, 0, r.stderr);

    // a fresh disk is Inconsistent: no primary without --force
    await node.ok("create-md", node.resource);
    await node.ok("up", node.resource);
    r = await node.setup("primary", "r5");
    assert.equal(r.code, 17);
    assert.equal(r.stderr, "r5: State change failed: (-2) Need access to UpToDate data\n");
    r = await node.adm("primary", node.resource);
    assert.equal(r.code, 17);
    assert.equal(
      r.stderr,
      "r5: State change failed: (-2) Need access to UpToDate data\n" +
        "Command 'drbdsetup primary r5' terminated with exit code 17\n",
    );
    assert.equal((await node.setup("role", "r5")).stdout, "Secondary\n");
    await node.ok("primary", "--force", node.resource);
    assert.equal((await node.setup("role", "r5")).stdout, "Primary\n");

    await node.ok("down", node.resource);
    r = await node.setup("status", "r5");
    assert.equal(r.code, 10);
    assert.equal(r.stderr, "r5: No such resource\n");
  } finally {
    await node.close();
  }
});

Deno.test("drbdsetup check-resize records the backing size for drbdmeta and keeps the remembered device UUID", async () => {
  const node = await TestNode.create();
  try {
    await node.upPrimary();
    const lkbd = `${node.dir}/lib/drbd-minor-${node.minor}.lkbd`;
    await Deno.mkdir(`${node.dir}/lib`, { recursive: true });
    await Deno.writeTextFile(lkbd, "5\t/old\nuuid:\t00000000000000AB\n");
    const r = await node.setup("check-resize", String(node.minor));
    assert.equal(r.code, 0, r.stderr);
    const size = (await Deno.stat(node.disk)).size;
    assert.equal(await Deno.readTextFile(lkbd), `${size}\t${node.disk}\nuuid:\t00000000000000AB\n`);
  } finally {
    await node.close();
  }
});
