import assert from "node:assert/strict";
import { mStrtoll, SetupError, strtoull } from "../../lib/setup/mod.ts";
import { convertField, fieldDef } from "../../lib/setup/fields.ts";

const conv = (name: string, value?: string) => convertField(fieldDef(name), value);

Deno.test("numbers scale by suffix into the option's unit as drbdsetup does", () => {
  assert.equal(conv("resync-rate", "10M"), "10240"); // KiB/s
  assert.equal(conv("resync-rate", "100"), "100"); // bare number: already KiB/s
  assert.equal(conv("resync-rate", "1s"), "1"); // one sector rounds up to 1 KiB
  assert.equal(conv("al-extents", "1237"), "1237");
  assert.equal(conv("c-plan-ahead", "20"), "20");
  assert.equal(conv("disk-timeout", "0"), "0");
  assert.equal(conv("size", "1G"), "2097152"); // sectors
  assert.equal(conv("size", "1K"), "2");
  assert.equal(conv("size", "100"), "100");
  assert.equal(conv("congestion-fill", "512K"), "1024");
  assert.equal(conv("resync-after", "-1"), "-1");
});

Deno.test("bad numbers fail with drbd-utils' messages and exit codes", () => {
  const fails = (text: string, code: number, msg: string) => {
    assert.throws(() => mStrtoll(text), (e: unknown) => {
      assert.ok(e instanceof SetupError);
      assert.equal(e.exitCode, code);
      assert.equal(e.stderr, msg);
      return true;
    });
  };
  fails("", 100, "missing number argument\n");
  fails("12x", 20, "12x is not a valid number\n");
  fails("1KB", 20, "1KB is not a valid number\n");
  fails("abc", 20, "abc is not a valid number\n");
  fails("99999999999999999G", 20, "99999999999999999G: out of range\n");
  assert.equal(strtoull(" 7"), 7n);
  assert.equal(strtoull("-1"), (1n << 64n) - 1n);
});

Deno.test("enums, booleans and flags take drbdsetup's spellings", () => {
  assert.equal(conv("protocol", "c"), "C");
  assert.equal(conv("protocol", "D"), undefined);
  assert.equal(conv("fencing", "resource-only"), "resource-only");
  assert.equal(conv("fencing", "Resource-Only"), undefined);
  assert.equal(conv("allow-two-primaries"), "yes");
  assert.equal(conv("allow-two-primaries", "no"), "no");
  assert.equal(conv("allow-two-primaries", "off"), undefined);
  assert.equal(conv("force", ""), undefined);
  assert.equal(conv("quorum", "majority"), "majority");
  assert.equal(conv("quorum", "1025"), "all");
  assert.equal(conv("quorum", "3"), "3");
  assert.equal(conv("quorum", "many"), undefined);
});
