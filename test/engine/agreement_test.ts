/**
 * The settings and sizes two peers agree on after connecting (lib/engine/agreement.ts) and the
 * manual split brain resolution (lib/engine/split_brain.ts): both sides' facts in, DRBD's
 * verdict and log text out.
 */
import assert from "node:assert/strict";
import { agreeSize, protocolMismatch, protocolPacketOf } from "../../lib/engine/agreement.ts";
import { resolveSplitBrain } from "../../lib/engine/split_brain.ts";
import type { SyncSide } from "../../lib/engine/sync.ts";

const p = protocolPacketOf;

Deno.test("equal net settings (defaults spelled out or not) connect", () => {
  assert.equal(protocolMismatch(p({}, false), p({ protocol: "C" }, false)), undefined);
  assert.equal(protocolMismatch(p({}, true), p({}, false)), undefined);
});

Deno.test("each differing net setting is named as DRBD names it", () => {
  const cases: [Record<string, string>, Record<string, string>, string][] = [
    [{ protocol: "A" }, { protocol: "C" }, "incompatible protocol settings"],
    [{ "after-sb-0pri": "discard-zero-changes" }, {}, "incompatible after-sb-0pri settings"],
    [{ "after-sb-1pri": "consensus" }, {}, "incompatible after-sb-1pri settings"],
    [{ "after-sb-2pri": "violently-as0p" }, {}, "incompatible after-sb-2pri settings"],
    [{ "allow-two-primaries": "yes" }, {}, "incompatible allow-two-primaries settings"],
    [{ "data-integrity-alg": "crc32c" }, {}, "incompatible data-integrity-alg settings"],
  ];
  for (const [a, b, why] of cases) {
    assert.equal(protocolMismatch(p(a, false), p(b, false)), why);
    assert.equal(protocolMismatch(p(b, false), p(a, false)), why);
  }
  assert.equal(protocolMismatch(p({}, true), p({}, true)), "incompatible discard-my-data settings");
});

Deno.test("discard-local on one side is discard-remote on the other", () => {
  const local = p({ "after-sb-0pri": "discard-local" }, false);
  assert.equal(protocolMismatch(local, p({ "after-sb-0pri": "discard-remote" }, false)), undefined);
  assert.equal(
    protocolMismatch(local, p({ "after-sb-0pri": "discard-local" }, false)),
    "incompatible after-sb-0pri settings",
  );
});

const ctx = { localHasData: false, handshake: true };

Deno.test("the device size is the smaller data area, capped by a size option on either side", () => {
  const big = { backing: 2000, user: 0, current: 2000 };
  const small = { backing: 1000, user: 0, current: 1000 };
  assert.deepEqual(agreeSize(big, small, ctx), { ok: true, size: 1000, userSize: 0 });
  assert.deepEqual(agreeSize(small, big, ctx), { ok: true, size: 1000, userSize: 0 });
  assert.deepEqual(agreeSize(big, { ...big, user: 800, current: 800 }, ctx), {
    ok: true,
    size: 800,
    userSize: 800,
  });
});

Deno.test("a device with usable data does not shrink for a smaller peer on connect", () => {
  const r = agreeSize(
    { backing: 2000, user: 0, current: 2000 },
    { backing: 1000, user: 0, current: 0 },
    { localHasData: true, handshake: true },
  );
  assert.deepEqual(r, {
    ok: false,
    reason: "The peer's disk size is too small! (1000 < 2000 sectors)",
  });
  // Connected already (an online resize of the peer): allowed.
  assert.equal(
    agreeSize(
      { backing: 2000, user: 0, current: 2000 },
      { backing: 1000, user: 0, current: 1000 },
      { localHasData: true, handshake: false },
    ).ok,
    true,
  );
});

Deno.test("a diskless node takes the peer's current size; a diskless peer changes nothing", () => {
  assert.deepEqual(
    agreeSize({ backing: 0, user: 0, current: 0 }, {
      backing: 1000,
      user: 0,
      current: 900,
    }, ctx),
    { ok: true, size: 900, userSize: 0 },
  );
  assert.deepEqual(
    agreeSize({ backing: 1000, user: 0, current: 1000 }, { backing: 0, user: 0, current: 0 }, ctx),
    { ok: true, size: 1000, userSize: 0 },
  );
});

const side = (current: bigint, bitmap: bigint): SyncSide => ({
  current,
  bitmap,
  history: [bitmap],
  usable: true,
});

Deno.test("split brain: the side with discard-my-data becomes SyncTarget of a bitmap resync", () => {
  const a = side(0xb0n, 0xa0n), b = side(0xc0n, 0xa0n);
  const victim = resolveSplitBrain(b, a, { local: true, peer: false });
  const survivor = resolveSplitBrain(a, b, { local: false, peer: true });
  assert.deepEqual(victim.resolved && victim.decision.role, "target");
  assert.deepEqual(survivor.resolved && survivor.decision.role, "source");
  assert.equal(victim.resolved && victim.decision.kind, "bitmap");
  assert.equal(victim.log, "Split-Brain detected, manually solved. Sync from peer node");
  assert.equal(survivor.log, "Split-Brain detected, manually solved. Sync from this node");
});

Deno.test("split brain without a common bitmap UUID needs a full sync; without a victim it stays", () => {
  const full = resolveSplitBrain(side(0xb0n, 0xa0n), side(0xc0n, 0xd0n), {
    local: true,
    peer: false,
  });
  assert.equal(full.resolved && full.decision.kind, "full");
  assert.equal(full.log, "Split-Brain detected, manually solved. Full sync from peer node");
  assert.deepEqual(
    resolveSplitBrain(side(0xb0n, 0xa0n), side(0xc0n, 0xa0n), {
      local: false,
      peer: false,
    }),
    { resolved: false, log: "Split-Brain detected but unresolved, dropping connection!" },
  );
});
