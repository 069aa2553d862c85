/**
 * drbdadm adjust against a real node daemon: it reads what runs (`drbdsetup show`) and issues
 * only the steps that differ from drbd.conf.
 */
import assert from "node:assert/strict";
import { TestNode } from "../daemon/helpers.ts";

Deno.test("drbdadm -d adjust prints nothing for a resource that runs as configured, and only the changed option's step after an edit", async () => {
  const node = await TestNode.create({
    extra: "options { auto-promote no; }\n  net { max-buffers 4000; }",
  });
  try {
    await node.ok("create-md", node.resource);
    await node.ok("up", node.resource);
    let r = await node.ok("-d", "adjust", node.resource);
    assert.equal(r.stdout, "");

    const conf = await Deno.readTextFile(node.conf);
    await Deno.writeTextFile(node.conf, conf.replace("max-buffers 4000", "max-buffers 5000"));
    r = await node.ok("-d", "adjust", node.resource);
    assert.equal(
      r.stdout,
      `drbdsetup net-options ${node.resource} 1 --set-defaults --_name=beta --max-buffers=5000\n`,
    );

    // adjust applies it: afterwards nothing differs any more
    await node.ok("adjust", node.resource);
    r = await node.ok("-d", "adjust", node.resource);
    assert.equal(r.stdout, "");

    await Deno.writeTextFile(
      node.conf,
      conf.replace("max-buffers 4000", "max-buffers 5000").replace(
        "auto-promote no;",
        "auto-promote no; quorum majority;",
      ),
    );
    r = await node.ok("-d", "adjust", node.resource);
    assert.equal(
      r.stdout,
      `drbdsetup resource-options ${node.resource} --set-defaults --auto-promote=no --quorum=majority\n`,
    );
  } finally {
    await node.close();
  }
});

Deno.test("drbdadm -d adjust without a running daemon creates, attaches and connects everything", async () => {
  const node = await TestNode.create();
  try {
    const r = await node.ok("-d", "adjust", node.resource);
    const steps = r.stdout.trimEnd().split("\n").map((l) => l.split(" ").slice(0, 2).join(" "));
    assert.deepEqual(steps, [
      "drbdsetup new-resource",
      "drbdsetup new-minor",
      "drbdsetup new-peer",
      "drbdsetup new-path",
      "drbdmeta 5",
      "drbdsetup attach",
      "drbdsetup connect",
    ]);
    assert.equal(node.daemonPid(), undefined, "a dry run must not start the daemon");
  } finally {
    await node.close();
  }
});
