import assert from "node:assert/strict";
import { main } from "../../cmd/drbdadm.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";
import { setEnv } from "../util/env.ts";
import { scanOptions } from "../../lib/adm/getopt.ts";
import { shellEscape } from "../../lib/adm/shell.ts";
import { allLongOptions, COMMANDS, CONTEXTS, SHORT_OPTIONS } from "../../lib/adm/commands.ts";
import { lookupOption } from "../../lib/options/mod.ts";

const HOST = "alice";

async function withConfig(
  text: string,
  fn: (path: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-adm-test-" });
  // drbdmeta steps remember devices in DRBD_LIB_DIR: keep that in the test's folder
  const restore = setEnv({ DRBD_LIB_DIR: `${dir}/lib` });
  try {
    const path = `${dir}/drbd.conf`;
    Deno.writeTextFileSync(path, text.replaceAll("@DIR@", dir));
    await fn(path, dir);
  } finally {
    restore();
    Deno.removeSync(dir, { recursive: true });
  }
}

async function adm(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = new MemoryConsole();
  const code = await main(args, io, { hostname: HOST, tty: false });
  return { code, out: io.stdout, err: io.stderr };
}

const R0 = `
resource r0 {
  net { protocol C; after-sb-0pri discard-zero-changes; }
  disk { resync-rate 40M; on-io-error detach; }
  device /dev/drbd0; disk @DIR@/disk.img; meta-disk internal;
  on alice { address 127.0.0.1:7788; }
  on bob { address 10.0.0.2:7788; }
}
`;

Deno.test("drbdadm -d up prints the drbdsetup and drbdmeta steps in drbdadm's order", async () => {
  await withConfig(R0, async (conf, dir) => {
    const r = await adm(["-c", conf, "-d", "up", "r0"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      [
        "drbdsetup new-resource r0 1",
        "drbdsetup new-minor r0 0 0",
        "drbdsetup new-peer r0 0 --_name=bob --after-sb-0pri=discard-zero-changes --protocol=C",
        "drbdsetup new-path r0 0 ipv4:127.0.0.1:7788 ipv4:10.0.0.2:7788",
        "drbdsetup peer-device-options r0 0 0 --resync-rate=40M",
        `drbdmeta 0 v09 ${dir}/disk.img internal apply-al`,
        `drbdsetup attach 0 ${dir}/disk.img ${dir}/disk.img internal --on-io-error=detach`,
        "drbdsetup connect r0 0",
        "",
      ].join("\n"),
    );
  });
});

Deno.test("the 8.4-era 'drbdadm -- --overwrite-data-of-peer primary' forces the promotion", async () => {
  await withConfig(R0, async (conf) => {
    const r = await adm(["-c", conf, "-d", "--", "--overwrite-data-of-peer", "primary", "r0"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "drbdsetup primary r0 --force\n");
  });
});

Deno.test("options after the command reach drbdsetup, foreign ones are refused", async () => {
  await withConfig(R0, async (conf) => {
    assert.equal(
      (await adm(["-c", conf, "-d", "connect", "--discard-my-data", "r0"])).out,
      "drbdsetup connect r0 0 --discard-my-data\n",
    );
    const bad = await adm(["-c", conf, "-d", "attach", "--force", "r0"]);
    assert.equal(bad.code, 1);
    assert.equal(bad.err, "drbdadm: unrecognized option '--force'\ntry 'drbdadm help attach'\n");
  });
});

Deno.test("res/vol, res:peer and minor-N name what a command works on", async () => {
  await withConfig(R0, async (conf) => {
    assert.equal(
      (await adm(["-c", conf, "-d", "wait-connect", "r0:bob/0"])).out,
      "drbdsetup wait-connect-volume r0 0 0\n",
    );
    assert.equal((await adm(["-c", conf, "-d", "detach", "minor-0"])).out, "drbdsetup detach 0\n");
    const me = await adm(["-c", conf, "-d", "connect", "r0:alice"]);
    assert.equal(me.code, 1);
    assert.match(me.err, /Host name 'alice' \(from 'r0:alice'\) is not a peer/);
    const none = await adm(["-c", conf, "-d", "up", "r7"]);
    assert.equal(none.code, 1);
    assert.equal(none.err, "'r7' not defined in your config (for this host).\n");
  });
});

Deno.test("without -d, create-md and dump-md run drbdmeta in-process on the backing disk", async () => {
  await withConfig(R0, async (conf, dir) => {
    const img = `${dir}/disk.img`;
    using f = Deno.openSync(img, { create: true, write: true });
    f.truncateSync(64 << 20);
    const created = await adm(["-c", conf, "create-md", "r0"]);
    assert.equal(created.code, 0, created.err);
    assert.match(created.out + created.err, /New drbd meta data block successfully created/);
    const dumped = await adm(["-c", conf, "dump-md", "r0"]);
    assert.equal(dumped.code, 0, dumped.err);
    assert.match(dumped.out, /^version "v09";$/m);
  });
});

Deno.test("without -d, drbdadm starts the node daemon and reports drbdsetup's refusal", async () => {
  await withConfig(R0, async (conf, dir) => {
    // the daemon started on demand lives in this test's run directory, and is stopped here
    const runDir = Deno.env.get("UDRBD_RUN_DIR");
    Deno.env.set("UDRBD_RUN_DIR", `${dir}/run`);
    try {
      const r = await adm(["-c", conf, "primary", "r0"]);
      assert.equal(r.code, 10, r.err);
      assert.match(r.err, /^r0: Failure: \(158\) Unknown resource$/m);
      assert.match(r.err, /Command 'drbdsetup primary r0' terminated with exit code 10/);
    } finally {
      const mod = new URL("../../mod.ts", import.meta.url).pathname;
      await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", mod, "daemon", "--stop"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (runDir === undefined) Deno.env.delete("UDRBD_RUN_DIR");
      else Deno.env.set("UDRBD_RUN_DIR", runDir);
    }
  });
});

Deno.test("drbdadm without a command prints its usage and exits 1", async () => {
  const r = await adm([]);
  assert.equal(r.code, 1);
  assert.match(r.out, /^\nUSAGE: drbdadm COMMAND \[OPTION\.\.\.\] \{all\|RESOURCE\.\.\.\}\n/);
  assert.match(r.out, /\nNo command specified\n$/);
  assert.equal((await adm(["frobnicate"])).err, "drbdadm: Unknown command 'frobnicate'\n");
});

Deno.test("abbreviated long options work unless they are ambiguous", () => {
  const longs = allLongOptions();
  const ok = scanOptions(["--dry", "--config-f=x", "up"], SHORT_OPTIONS, longs, "drbdadm");
  assert.deepEqual(ok.options.map((o) => [o.key, o.value]), [["d", undefined], ["c", "x"]]);
  assert.deepEqual(ok.operands, ["up"]);
  const amb = scanOptions(["--s"], SHORT_OPTIONS, longs, "drbdadm");
  assert.match(amb.error!, /^drbdadm: option '--s' is ambiguous; possibilities: '--stacked'/);
  const clustered = scanOptions(["-dvcfile"], SHORT_OPTIONS, longs, "drbdadm");
  assert.deepEqual(clustered.options.map((o) => o.key), ["d", "v", "c"]);
  assert.equal(clustered.options[2].value, "file");
});

Deno.test("steps are echoed with shell quoting, like drbd-utils", () => {
  assert.equal(shellEscape("--shared-secret=a b'c"), "--shared-secret=a\\ b\\'c");
  assert.equal(shellEscape("ipv6:[fd00::1]:7788"), "ipv6:\\[fd00::1\\]:7788");
});

Deno.test("every option drbdadm passes to drbdsetup is a row of the option table", () => {
  const admOnly = new Set([
    "force",
    "skip-disk",
    "skip-net",
    "max-peers",
    "peer-max-bio-size",
    "al-stripes",
    "al-stripe-size-kB",
  ]);
  for (const c of COMMANDS) {
    if (!c.context) continue;
    for (const f of CONTEXTS[c.context]) {
      if (admOnly.has(f.name)) continue;
      assert.ok(lookupOption(f.name), `${c.name} --${f.name} is missing from lib/options`);
    }
  }
});

Deno.test("a handler runs through /bin/sh with DRBD_RESOURCE, DRBD_MINOR and the node ids", async () => {
  const conf = `
resource h {
  handlers { split-brain "echo $DRBD_RESOURCE $DRBD_MINOR $DRBD_MY_NODE_ID $DRBD_NODE_ID_0"; }
  device /dev/drbd40; disk /dev/vg/h; meta-disk internal;
  on alice { address 127.0.0.1:7040; }
  on bob { address 10.0.0.2:7040; }
}
`;
  await withConfig(conf, async (path) => {
    const r = await adm(["-c", path, "split-brain", "h"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "h 40 1 bob\n");
  });
});

Deno.test("an unknown resource after a known one ends drbdadm with 1 and no message, like 9.22", async () => {
  await withConfig(R0, async (conf) => {
    const r = await adm(["-c", conf, "-d", "primary", "r0", "nope"]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "drbdsetup primary r0\n");
    assert.equal(r.err, "");
  });
});

Deno.test("a handler called with a malformed minor-N stops before looking for its configuration, as drbdadm 9.22 does", async () => {
  // without -c, handlers look up the configuration registered for their first name
  const bad = await adm(["-d", "fence-peer", "minor-x"]);
  assert.equal(bad.code, 20);
  assert.equal(bad.err, "x is not a valid number\n");
  const empty = await adm(["-d", "fence-peer", "minor-"]);
  assert.equal(empty.code, 100);
  assert.equal(empty.err, "missing number argument\n");
});
