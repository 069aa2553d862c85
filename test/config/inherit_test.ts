import assert from "node:assert/strict";
import { ConfigError, expandCommon, parseConfigText } from "../../lib/config/mod.ts";
import type { Config, OptionList } from "../../lib/config/mod.ts";

/** A two-node resource whose resource-level `disk` and `volume 0` `disk` sections are given. */
function twoLevels(resDisk: string, volDisk: string, extra = ""): string {
  return `resource r0 {
  disk { ${resDisk} }
  volume 0 {
    device /dev/drbd0;
    disk /dev/sdb1;
    meta-disk internal;
    disk { ${volDisk} }
  }
  ${extra}
  on alpha { address 10.0.0.1:7788; node-id 0; }
  on beta { address 10.0.0.2:7788; node-id 1; }
}
`;
}

/** Parses and expands `text` as drbdadm does before `up`; the expansion's error, if any. */
function expand(text: string): { config: Config; error?: ConfigError } {
  const config = parseConfigText(text, { hostname: "alpha", file: "t.conf" });
  try {
    expandCommon(config);
    return { config };
  } catch (e) {
    if (e instanceof ConfigError) return { config, error: e };
    throw e;
  }
}

function value(list: OptionList, name: string): string | undefined {
  return list.find((o) => o.name === name)?.value;
}

Deno.test("a rate inherited as 1M and as 1024K is not ambiguous (drbdadm compares values)", () => {
  const { config, error } = expand(
    twoLevels(
      "resync-rate 1M; c-min-rate 8s; c-max-rate 100M;",
      "resync-rate 1024k; c-min-rate 4K; c-max-rate 102400;",
    ),
  );
  assert.equal(error, undefined);
  // the first inherited spelling stays, as drbdadm passes it on to drbdsetup
  const vol = config.resources[0].me!.volumes[0];
  assert.equal(value(vol.pdOptions, "resync-rate"), "1M");
  assert.equal(value(vol.pdOptions, "c-min-rate"), "8s");
  assert.equal(value(vol.pdOptions, "c-max-rate"), "100M");
});

Deno.test("yes and a bare boolean keyword inherited twice are the same value", () => {
  const { error } = expand(twoLevels("disk-flushes yes;", "disk-flushes;"));
  assert.equal(error, undefined);
});

Deno.test("different values inherited twice are still reported as ambiguous inheritance", () => {
  const { error } = expand(twoLevels("resync-rate 1M;", "resync-rate 1025K;"));
  assert.ok(error);
  assert.equal(error.exitCode, 10);
  assert.match(
    error.messages[0],
    /^t\.conf:1: in resource r0, ambiguous inheritance for option "resync-rate"\.\nshould be "1M" and "1025K" at the same time/,
  );
});

Deno.test("protocol inherited from a mesh and a resource ignores case, like drbdadm", () => {
  const text = `resource r0 {
  device /dev/drbd0;
  disk /dev/sdb1;
  meta-disk internal;
  net { protocol C; sndbuf-size 1024K; }
  on alpha { address 10.0.0.1:7788; node-id 0; }
  on beta { address 10.0.0.2:7788; node-id 1; }
  on gamma { address 10.0.0.3:7788; node-id 2; }
  connection-mesh { hosts alpha beta gamma; net { protocol c; sndbuf-size 1M; } }
}
`;
  const { config, error } = expand(text);
  assert.equal(error, undefined);
  assert.equal(value(config.resources[0].connections[0].netOptions, "protocol"), "c");
  // an enum other than protocol still compares its text
  const other = expand(
    text.replace("protocol C;", "protocol C; on-congestion block;").replace(
      "protocol c;",
      "protocol c; on-congestion pull-ahead;",
    ),
  );
  assert.ok(other.error);
  assert.match(other.error.messages[0], /ambiguous inheritance for option "on-congestion"/);
});

Deno.test("a bare number of a KiB option is KiB when checking its range (5000000 is too big)", () => {
  // drbdadm 9.22: "Parse error: while parsing value ('5000000') for c-max-rate. Value is too big."
  const text = twoLevels("c-max-rate 5000000;", "resync-rate 100;");
  assert.throws(
    () => parseConfigText(text, { hostname: "alpha", file: "t.conf" }),
    (e: unknown) => e instanceof ConfigError && /c-max-rate\. Value is too big/.test(e.messages[0]),
  );
  const ok = twoLevels("c-max-rate 4194304;", "resync-rate 100;");
  assert.doesNotThrow(() => parseConfigText(ok, { hostname: "alpha", file: "t.conf" }));
});
