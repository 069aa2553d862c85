/**
 * drbdadm's `-d` step lines escape bytes, as drbd-utils 9.22's shell_escape does: a character
 * outside ASCII becomes one escaped byte per UTF-8 byte, and the 1022-byte limit counts bytes.
 */
import assert from "node:assert/strict";
import { shellEscape, shellEscapeBytes, shellLine } from "../../lib/adm/shell.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("a step argument with an umlaut is escaped byte by byte, as drbd-utils prints it", () => {
  assert.deepEqual(
    shellEscapeBytes("--shared-secret=ü b"),
    Uint8Array.of(...bytes("--shared-secret="), 0x5c, 0xc3, 0x5c, 0xbc, 0x5c, 0x20, 0x62),
  );
  assert.deepEqual(shellLine(["drbdsetup", "a b"]), bytes("drbdsetup a\\ b\n"));
  assert.deepEqual(shellLine([]), bytes("\n"));
});

Deno.test("a long escaped step argument is cut at 1022 bytes, not characters", () => {
  // 600 two-byte characters: 2400 bytes escaped, cut after 511 whole escaped pairs
  const out = shellEscapeBytes("é".repeat(600));
  assert.equal(out.length, 1022);
  // the last escape may push the output to 1023 bytes, as in drbd-utils' buffer
  assert.equal(shellEscapeBytes("x" + "é".repeat(600)).length, 1023);
  assert.equal(shellEscapeBytes("a".repeat(2000)).length, 1022);
});

Deno.test("handler environment values stay text: an umlaut gets one backslash", () => {
  assert.equal(shellEscape("/dev/vg/rü"), "/dev/vg/r\\ü");
  assert.equal(shellEscape("é".repeat(600)).length, 2 * 341);
});

Deno.test("drbdadm -d writes the escaped bytes of a non-ASCII secret to its stdout unchanged", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-step-escape-" });
  try {
    const conf = `${dir}/drbd.conf`;
    Deno.writeTextFileSync(
      conf,
      `resource r0 {
  net { cram-hmac-alg sha1; shared-secret "ümlaut"; }
  device /dev/drbd1; disk /dev/vg/r0; meta-disk internal;
  on alice { address 127.0.0.1:7001; }
  on bob { address 10.0.0.2:7001; }
}
`,
    );
    const mod = new URL("../../mod.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", mod, "drbdadm", "-c", conf, "-d", "net-options", "r0"],
      env: { UDRBD_HOSTNAME: "alice", UDRBD_RUN_DIR: `${dir}/run` },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.deepEqual(
      out.stdout,
      Uint8Array.of(
        ...bytes("drbdsetup net-options r0 0 --_name=bob --shared-secret="),
        0x5c,
        0xc3,
        0x5c,
        0xbc,
        ...bytes("mlaut --cram-hmac-alg=sha1\n"),
      ),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
