/**
 * `disk ""` on this host: drbdadm 9.22 takes it for a given disk (sh-ll-dev prints the empty
 * path, detach and resize work) and fails an assertion (exit 134) where the empty path would
 * become a step's device; there we refuse with a configuration error at the disk keyword.
 */
import assert from "node:assert/strict";
import { main } from "../../cmd/drbdadm.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { setEnv } from "../util/env.ts";

async function withConfig(text: string, fn: (conf: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-empty-disk-" });
  // adjust asks the node what runs: an empty run folder, not a daemon someone else started
  const restore = setEnv({ UDRBD_RUN_DIR: `${dir}/run` });
  try {
    const conf = `${dir}/drbd.conf`;
    Deno.writeTextFileSync(conf, text);
    await fn(conf);
  } finally {
    restore();
    Deno.removeSync(dir, { recursive: true });
  }
}

async function adm(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = new MemoryConsole();
  const code = await main(args, io, { hostname: "alice", tty: false });
  return { code, out: io.stdout, err: io.stderr };
}

const conf = (meta: string) =>
  `resource r0 {
  device /dev/drbd1; ${meta}
  on alice {
    disk "";
    address 127.0.0.1:7001;
  }
  on bob { disk /dev/vg/r0; address 10.0.0.2:7001; }
}
`;

Deno.test('disk "" on this host: the sh-* queries print an empty disk, detach still works', async () => {
  await withConfig(conf("meta-disk internal;"), async (c) => {
    assert.deepEqual(await adm(["-c", c, "sh-ll-dev", "r0"]), { code: 0, out: "\n", err: "" });
    assert.deepEqual(await adm(["-c", c, "sh-md-dev", "r0"]), { code: 0, out: "\n", err: "" });
    assert.deepEqual(await adm(["-c", c, "-d", "detach", "r0"]), {
      code: 0,
      out: "drbdsetup detach 1\n",
      err: "",
    });
  });
});

Deno.test('disk "" on this host: up, attach and adjust refuse at the disk line and run nothing', async () => {
  for (const meta of ["meta-disk internal;", "meta-disk /dev/vg/meta [0];"]) {
    await withConfig(conf(meta), async (c) => {
      for (const cmd of ["up", "attach", "adjust"]) {
        const r = await adm(["-c", c, "-d", cmd, "r0"]);
        assert.equal(r.code, 10, `${cmd}: ${r.err}`);
        assert.equal(r.out, "", cmd);
        assert.match(r.err, /^\S*drbd\.conf:4: in resource r0, volume 0: 'disk ""' names no /);
        assert.match(r.err, /which attach needs/);
      }
    });
  }
});

Deno.test('disk "" with internal metadata: drbdmeta commands refuse, with external ones they run', async () => {
  await withConfig(conf("meta-disk internal;"), async (c) => {
    for (const cmd of ["create-md", "apply-al", "dump-md", "wipe-md"]) {
      const r = await adm(["-c", c, "-d", cmd, "r0"]);
      assert.equal(r.code, 10, `${cmd}: ${r.err}`);
      assert.equal(r.out, "", cmd);
      assert.match(r.err, new RegExp(`drbd\\.conf:4: .*which ${cmd} needs\\.\\n$`));
    }
  });
  await withConfig(conf("meta-disk /dev/vg/meta [0];"), async (c) => {
    assert.deepEqual(await adm(["-c", c, "-d", "create-md", "r0"]), {
      code: 0,
      out: "drbdmeta 1 v09 /dev/vg/meta 0 create-md 1\n",
      err: "",
    });
  });
});
