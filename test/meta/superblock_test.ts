import assert from "node:assert/strict";
import { decodeV08, decodeV09, encodeV08, encodeV09 } from "../../lib/meta/superblock.ts";
import { haveSamples, hexBlocks } from "./samples.ts";

const ignore = !haveSamples();

function block(prefix: string): Uint8Array {
  for (const [title, b] of hexBlocks()) if (title.startsWith(prefix)) return b;
  throw new Error(`no sample block ${prefix}`);
}

Deno.test({
  name:
    "a v09 superblock written by drbdmeta 9.22 decodes to its UUIDs and re-encodes to the same bytes",
  ignore,
  fn() {
    const raw = block("v09 128M 1 peer");
    const md = decodeV09(raw);
    assert.equal(md.currentUuid, 0x1a2b3c4d5e6f7081n);
    assert.equal(md.deviceUuid, 0x0123456789abcdefn);
    assert.equal(md.flags, 0x91);
    assert.equal(md.effectiveSize, 262064);
    assert.equal(md.maxPeers, 1);
    assert.equal(md.nodeId, 0);
    assert.equal(md.alOffset, -64);
    assert.equal(md.bmOffset, -72);
    assert.equal(md.laPeerMaxBioSize, 1048576);
    assert.equal(md.peers[1].bitmapIndex, 0);
    assert.equal(md.peers[1].bitmapUuid, 0x7081a2b3c4d5e6f6n);
    assert.deepEqual(encodeV09(md), raw);
  },
});

Deno.test({
  name: "a v08 superblock written by drbdmeta 9.22 re-encodes byte for byte",
  ignore,
  fn() {
    const raw = block("v08 128M");
    const md = decodeV08(raw);
    assert.equal(md.magic, 0x8374026b);
    assert.equal(md.maxPeers, 1);
    assert.deepEqual(encodeV08(md), raw);
  },
});

Deno.test({
  name: "a v09 superblock claiming more than 31 bitmap slots reads as 31, as drbdmeta clamps it",
  fn() {
    const b = encodeV09(decodeV09(new Uint8Array(4096)));
    new DataView(b.buffer).setUint32(0x58, 200);
    assert.equal(decodeV09(b).maxPeers, 31);
  },
});
