import assert from "node:assert/strict";
import {
  lookupOption,
  nearestKeyword,
  OPTIONS,
  optionsForCommand,
  optionsInSection,
  parseNumeric,
  validateValue,
} from "../../lib/options/mod.ts";

Deno.test("every option name appears once in the table", () => {
  const names = OPTIONS.map((o) => o.name);
  assert.equal(new Set(names).size, names.length);
});

Deno.test("net section knows protocol with values A B C and default C", () => {
  const p = lookupOption("protocol", "net");
  assert.ok(p);
  assert.deepEqual(p.values, ["A", "B", "C"]);
  assert.equal(p.default, "C");
  assert.ok(p.commands.includes("net-options"));
});

Deno.test("legacy keyword 'rate' resolves to resync-rate", () => {
  assert.equal(lookupOption("rate")?.name, "resync-rate");
});

Deno.test("disk section lists size first, as drbdadm's error message does", () => {
  assert.equal(optionsInSection("disk")[0].name, "size");
  assert.deepEqual(optionsInSection("peer-device").map((o) => o.name), [
    "resync-rate",
    "c-plan-ahead",
    "c-delay-target",
    "c-fill-target",
    "c-max-rate",
    "c-min-rate",
    "bitmap",
  ]);
});

Deno.test("attach takes the disk options, connect takes discard-my-data", () => {
  const attach = optionsForCommand("attach").map((o) => o.name);
  assert.ok(attach.includes("al-extents") && attach.includes("on-io-error"));
  assert.ok(optionsForCommand("connect").some((o) => o.name === "discard-my-data"));
});

Deno.test("numbers with K/M/G suffixes convert into the option's unit", () => {
  assert.equal(parseNumeric("40M", "k"), 40960n);
  assert.equal(parseNumeric("1", "s"), 1n);
  assert.equal(parseNumeric("1K", "s"), 2n);
  assert.equal(parseNumeric("1s", "k"), 1n);
  assert.equal(parseNumeric("100"), 100n);
  assert.equal(parseNumeric("12x"), undefined);
  assert.equal(parseNumeric("lots"), undefined);
});

Deno.test("signed and oversized numbers in drbd.conf wrap and saturate as drbdadm reads them", () => {
  assert.equal(parseNumeric("-1"), (1n << 64n) - 1n);
  assert.equal(parseNumeric("-18446744073709551000"), 616n);
  assert.equal(parseNumeric("+70"), 70n);
  assert.equal(parseNumeric("99999999999999999999999"), (1n << 64n) - 1n);
  assert.equal(parseNumeric("-1k"), undefined);
  assert.equal(validateValue(lookupOption("al-extents")!, "-1"), undefined);
  assert.equal(validateValue(lookupOption("max-buffers")!, "-1"), "too big");
  assert.equal(validateValue(lookupOption("max-buffers")!, "-18446744073709551000"), undefined);
});

Deno.test("values are validated as drbdadm does", () => {
  const d = (n: string) => lookupOption(n)!;
  assert.equal(validateValue(d("protocol"), "c"), undefined);
  assert.equal(validateValue(d("protocol"), "D"), "not valid");
  assert.equal(validateValue(d("allow-two-primaries"), "maybe"), "not 'yes' or 'no'");
  assert.equal(validateValue(d("max-buffers"), "10"), "too small");
  assert.equal(validateValue(d("max-buffers"), "36k"), undefined);
  assert.equal(validateValue(d("al-extents"), "1"), undefined, "al-extents is clamped");
  assert.equal(validateValue(d("al-extents"), "lots"), "not a number");
  assert.equal(validateValue(d("quorum"), "majority"), undefined);
  assert.equal(validateValue(d("quorum"), "40"), "too big");
  assert.equal(validateValue(d("shared-secret"), "x".repeat(64)), "too long");
});

Deno.test("a misspelt keyword suggests the nearest one", () => {
  assert.equal(nearestKeyword("on-io-eror", ["on-io-error", "disk-flushes"]), "on-io-error");
  assert.equal(nearestKeyword("zzzzzz", ["on-io-error", "disk-flushes"]), undefined);
});

Deno.test("every option has a one-line summary for completions and man pages", () => {
  for (const o of OPTIONS) {
    assert.ok(o.summary.length > 10 && !o.summary.includes("\n"), o.name);
  }
});

Deno.test("enum options list their values and numeric options their range", () => {
  for (const o of OPTIONS) {
    if (o.type === "enum") assert.ok(o.values && o.values.length > 1, o.name);
    if (
      o.type === "numeric" && !["memlimit", "read-loops", "compression", "bwlimit"].includes(o.name)
    ) {
      assert.ok(o.min !== undefined && o.max !== undefined, o.name);
    }
  }
});
