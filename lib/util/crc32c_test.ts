import assert from "node:assert/strict";
import CRC32C from "crc-32/crc32c";
import { crc32cRaw, crc32cText } from "./crc32c.ts";

const ASCII = new TextEncoder();

Deno.test("CRC-32C of '123456789' is the standard check value (AL blocks would fail to verify)", () => {
  // the standard checksum inverts the register before and after
  assert.equal(~crc32cRaw(~0, ASCII.encode("123456789")) >>> 0, 0xe3069283);
});

Deno.test("CRC-32C continues any seed over any length like the crc-32 package (node-ids, AL)", () => {
  let x = 0x12345678;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 4096, 4099]) {
    const data = new Uint8Array(len);
    for (let i = 0; i < len; i++) data[i] = rnd();
    for (const seed of [0, 0x1a656f21, 0xffffffff, 0x80000001]) {
      const want = ~CRC32C.buf(data, ~seed) >>> 0;
      assert.equal(crc32cRaw(seed, data), want, `len ${len} seed ${seed.toString(16)}`);
    }
  }
});

Deno.test("node-id hash of an address matches drbdadm's (which host becomes node 0)", () => {
  // drbdadm 9.22 (`-v dump`) gives 10.0.0.1 node-id 0 and 10.0.0.2 node-id 1: the larger
  // signed hash becomes node 0
  const h = (s: string) => crc32cRaw(0x1a656f21, ASCII.encode(s)) | 0;
  assert.ok(h("10.0.0.1") > h("10.0.0.2"));
});

Deno.test("CRC-32C of a text is that of its UTF-8 bytes (node-ids of non-ASCII addresses)", () => {
  for (const s of ["", "10.0.0.1", "fe80::1%eth0", "h\u00f6st", "\u{1f600}x"]) {
    assert.equal(crc32cText(0x1a656f21, s), crc32cRaw(0x1a656f21, ASCII.encode(s)), s);
  }
});
