import assert from "node:assert/strict";
import {
  addrScopeLocal,
  hostnamesEqual,
  IPV4_PARTS,
  minorOfDevice,
  scanIpv4,
} from "../../lib/config/parser.ts";

// The allocation-free helpers must agree with the plain definitions they replaced.

function hostnamesEqualPlain(a: string, b: string): boolean {
  const da = a.indexOf(".");
  const db = b.indexOf(".");
  if (da >= 0 && db >= 0) return a.toLowerCase() === b.toLowerCase();
  const la = da < 0 ? a.length : da;
  const lb = db < 0 ? b.length : db;
  return la === lb && a.slice(0, la).toLowerCase() === b.slice(0, lb).toLowerCase();
}

function addrScopeLocalPlain(addr: string): boolean {
  if (addr.includes(":")) return /^(0{0,4}:){2,7}0{0,3}1$/.test(addr) || addr === "::1";
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  return !!m && Number(m[1]) === 127 && m.slice(1).every((x) => Number(x) <= 255);
}

function rnd(seed: number): (n: number) => number {
  return (n) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
}

Deno.test("host names match case-insensitively up to the first dot ('on' sections found)", () => {
  const pieces = [
    "a",
    "B",
    "x",
    ".",
    "alpha",
    "ALPHA",
    "\u00e9",
    "\u00c9",
    "\u0130",
    "i\u0307",
    "-",
  ];
  const r = rnd(3);
  for (let i = 0; i < 5000; i++) {
    const word = () => Array.from({ length: r(4) }, () => pieces[r(pieces.length)]).join("");
    const a = word();
    const b = r(4) === 0 ? a.toUpperCase() : word();
    assert.equal(hostnamesEqual(a, b), hostnamesEqualPlain(a, b), `${a} ${b}`);
  }
  assert.ok(hostnamesEqual("Alpha.example.com", "alpha"));
  assert.ok(!hostnamesEqual("alpha", "alphabet"));
});

Deno.test("IPv4 addresses are read as drbdadm reads them (loopback, leading zeros)", () => {
  const pieces = ["127", ".", "0", "1", "255", "256", "0127", "00", "9999", "x", ":", "::1"];
  const r = rnd(11);
  for (let i = 0; i < 5000; i++) {
    const groups = ["0", "1", "127", "255", "256", "0127", "00", "9999", "12345678901234567890"];
    // mostly four dotted numbers, sometimes random pieces
    const addr = r(3) === 0
      ? Array.from({ length: 1 + r(8) }, () => pieces[r(pieces.length)]).join("")
      : Array.from({ length: 4 }, () => groups[r(groups.length)]).join(".");
    assert.equal(addrScopeLocal(addr), addrScopeLocalPlain(addr), addr);
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(addr);
    const form = scanIpv4(addr);
    assert.equal(form !== undefined, !!m, addr);
    if (m) {
      const canonical = m.slice(1).map(Number).join(".");
      assert.deepEqual([...IPV4_PARTS].join("."), canonical, addr);
      assert.equal(form === "canonical", canonical === addr, addr);
    }
  }
});

Deno.test("minor numbers come from /dev/drbdN or plain numbers only", () => {
  assert.equal(minorOfDevice("/dev/drbd12"), 12);
  assert.equal(minorOfDevice("7"), 7);
  assert.equal(minorOfDevice("/dev/drbd"), -1);
  assert.equal(minorOfDevice("/dev/drbd_x"), -1);
  assert.equal(minorOfDevice("/dev/drbd1a"), -1);
  assert.equal(minorOfDevice(""), -1);
});
