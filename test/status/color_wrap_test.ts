/**
 * `drbdsetup status --color=always` against the same status without color. drbdsetup 9.22's
 * wrap_printf measures each piece with vsnprintf, escape sequences included, so colored output
 * shows the same words but may break a line earlier than plain output; udrbd does the same.
 */
import assert from "node:assert/strict";
import { formatStatus, type ResourceStatus } from "../../lib/status/mod.ts";
import type { StatusTextOptions } from "../../lib/status/text.ts";
import {
  disklessClient,
  primaryConnected,
  standalone,
  syncing,
  twoVolumesTwoPeers,
} from "./fixtures.ts";

// deno-lint-ignore no-control-regex -- the escape byte is what is stripped
const ESCAPE = /\x1b\[[0-9;]*m/g;
const strip = (s: string) => s.replace(ESCAPE, "");
const words = (s: string) => s.split(/\s+/).filter((w) => w !== "");
const bytes = (s: string) => new TextEncoder().encode(s).length;

const FIXTURES: [string, () => ResourceStatus][] = [
  ["primary connected", primaryConnected],
  ["syncing", syncing],
  ["two volumes two peers", twoVolumesTwoPeers],
  ["diskless client", disklessClient],
  ["standalone", standalone],
];
const FLAGS: StatusTextOptions[] = [
  {},
  { verbose: true },
  { statistics: true },
  { verbose: true, statistics: true },
  { verbose: 2, statistics: true },
];

Deno.test("status --color=always shows the same words, in the same order, as status without color", () => {
  for (const [name, make] of FIXTURES) {
    for (const flags of FLAGS) {
      const plain = formatStatus([make()], { ...flags, color: "never" });
      const colored = formatStatus([make()], { ...flags, color: "always" });
      assert.notEqual(colored, plain, `${name} ${JSON.stringify(flags)}: no color at all`);
      assert.deepEqual(words(strip(colored)), words(plain), `${name} ${JSON.stringify(flags)}`);
    }
  }
});

Deno.test("status --color=always breaks lines as drbdsetup 9.22 does: never past 80 bytes, escapes counted", () => {
  for (const [name, make] of FIXTURES) {
    for (const flags of FLAGS) {
      const plain = formatStatus([make()], { ...flags, color: "never" });
      const colored = formatStatus([make()], { ...flags, color: "always" });
      for (const line of colored.split("\n")) {
        assert.ok(bytes(line) <= 80, `${name} ${JSON.stringify(flags)}: ${JSON.stringify(line)}`);
      }
      // where no colored line comes near the width, the breaks are the plain ones
      if (!flags.verbose) assert.equal(strip(colored), plain, `${name} ${JSON.stringify(flags)}`);
    }
  }
  // a verbose line that fits in 80 columns plainly but not with its escapes goes on early
  assert.equal(
    strip(formatStatus([primaryConnected()], { verbose: true, color: "always" })),
    "r0 node-id:0 role:Primary suspended:no\n" +
      "    force-io-failures:no\n" +
      "  volume:0 minor:0 disk:UpToDate backing_dev:/dev/vg/r0\n" +
      "      quorum:yes blocked:no\n" +
      "  bob node-id:1 connection:Connected role:Secondary congested:no ap-in-flight:0\n" +
      "      rs-in-flight:0\n" +
      "    volume:0 replication:Established peer-disk:UpToDate\n" +
      "        resync-suspended:no\n\n",
  );
});
