/**
 * Two hosts (network + UTS namespaces over veth) whose configurations disagree on the shared
 * secret: they never connect, both logs say why, and nothing alpha writes reaches beta's disk.
 */
import assert from "node:assert/strict";
import { sha256Prefix, until } from "./helpers.ts";
import { netnsAvailable, NetnsCluster } from "./netns.ts";
import { connState, received } from "./steps.ts";
import { BlockWriter } from "./writer.ts";

const CAN = await netnsAvailable();

Deno.test({
  name:
    "hosts with different shared secrets never connect, both logs say why, and beta gets no data",
  ignore: !CAN,
  async fn() {
    const c = await NetnsCluster.create({
      net: 'protocol C; connect-int 1; cram-hmac-alg sha256; shared-secret "alpha-secret";',
    });
    try {
      // The administrator made a typo in beta's copy of the file.
      const conf = await Deno.readTextFile(c.beta.conf);
      await Deno.writeTextFile(c.beta.conf, conf.replace('"alpha-secret"', '"beta-secret"'));
      await Promise.all(c.nodes.map((n) => n.adm("up", "r0")));
      const bytes = (await c.beta.status()).devices[0].size * 1024;
      const before = await sha256Prefix(c.beta.disk, bytes);

      await c.alpha.adm("primary", "--force", "r0");
      const w = BlockWriter.start(c.alpha.socket);
      try {
        await w.write(0, 256);
      } finally {
        await w.close();
      }
      const why = /peer authentication failed: wrong shared secret/;
      await until(
        () => why.test(c.alpha.log()) && why.test(c.beta.log()),
        "both logs to report the failed authentication",
      );
      for (const n of c.nodes) {
        assert.equal(await connState(n), "Connecting");
        assert.doesNotMatch(n.log(), /conn\( \w+ -> Connected \)/);
        assert.equal(await received(n), 0);
      }
      await c.beta.adm("down", "r0");
      assert.equal(await sha256Prefix(c.beta.disk, bytes), before, "beta's data changed");
      assert.notEqual(await sha256Prefix(c.alpha.disk, bytes), before, "alpha wrote nothing");
    } finally {
      await c.close();
    }
  },
});
