import assert from "node:assert/strict";
import { fixed, groupThousands } from "../../lib/status/printf.ts";
import { WrapWriter } from "../../lib/status/wrap.ts";

Deno.test("percentages round like C's printf: exact ties to even, everything else to nearest", () => {
  // expected values are what glibc's printf("%.2f") / ("%.0f") prints
  const cases: [number, number, string][] = [
    [0.125, 2, "0.12"],
    [0.375, 2, "0.38"],
    [2.5, 0, "2"],
    [3.5, 0, "4"],
    [0.5, 0, "0"],
    [1.005, 2, "1.00"],
    [2.675, 2, "2.67"],
    [99.995, 2, "100.00"],
    [27.065, 2, "27.07"],
    [100, 2, "100.00"],
    [-0.001, 2, "-0.00"],
    [987654321, 0, "987654321"],
    [NaN, 0, "nan"],
  ];
  for (const [x, digits, want] of cases) assert.equal(fixed(x, digits), want, `${x} %.${digits}f`);
});

Deno.test("/proc/drbd speeds group thousands with commas", () => {
  assert.equal(groupThousands(0), "0");
  assert.equal(groupThousands(999), "999");
  assert.equal(groupThousands(71936), "71,936");
  assert.equal(groupThousands(1000), "1,000");
  assert.equal(groupThousands(1250000), "1,250,000");
  assert.equal(groupThousands(1002003), "1,002,003");
});

Deno.test("status wrapping counts color escapes and drops the leading space of a wrapped field", () => {
  const w = new WrapWriter(20);
  w.print(0, "r0");
  w.print(4, " role:\x1b[1;36mPrimary\x1b[0m");
  w.print(4, " suspended:no\n");
  assert.equal(w.text, "r0\n    role:\x1b[1;36mPrimary\x1b[0m\n    suspended:no\n");
});
