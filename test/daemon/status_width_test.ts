/**
 * `drbdsetup status --verbose --statistics` wraps its long lines at the terminal's width, as
 * drbdsetup does (TIOCGWINSZ on stdout), and at 80 columns into a pipe. Run on a real
 * pseudo-terminal (`script` from util-linux) narrowed with `stty cols`.
 */
import assert from "node:assert/strict";
import { have, HOST, MOD_TS, TestNode } from "./helpers.ts";

const PATH = "/usr/bin:/usr/sbin:/bin:/sbin:" + (Deno.env.get("PATH") ?? "");

Deno.test({
  name: "status on a narrow terminal wraps at its width, and at 80 columns into a pipe",
  ignore: !have("script") || !have("stty"),
  async fn() {
    const node = await TestNode.create();
    try {
      await node.upPrimary();
      const status = [Deno.execPath(), "run", "-A", "--quiet", MOD_TS, "drbdsetup", "status"];
      status.push("--verbose", "--statistics", "--color=never", node.resource);
      const env = {
        PATH,
        LC_ALL: "C",
        UDRBD_RUN_DIR: node.runDir,
        UDRBD_HOSTNAME: HOST,
        DRBD_LIB_DIR: `${node.dir}/lib`,
      };
      const onTerminal = await new Deno.Command("script", {
        args: ["-qfec", `stty cols 50; ${status.map((a) => `'${a}'`).join(" ")}`, "/dev/null"],
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
      }).output();
      assert.equal(onTerminal.code, 0);
      const lines = new TextDecoder().decode(onTerminal.stdout).replaceAll("\r", "").split("\n");
      assert.ok(lines.some((l) => l.includes("written:")), lines.join("\n"));
      // a single field longer than the line (a long backing_dev path) stands alone, as in C
      for (const l of lines) {
        assert.ok(l.length <= 50 || !l.trim().includes(" "), `${l.length} columns: ${l}`);
      }

      const piped = await node.setup("status", "--verbose", "--statistics", node.resource);
      assert.equal(piped.code, 0);
      const wide = piped.stdout.split("\n");
      assert.ok(wide.some((l) => l.length > 50), piped.stdout);
      for (const l of wide) {
        assert.ok(l.length <= 80 || !l.trim().includes(" "), `${l.length} columns: ${l}`);
      }
      assert.ok(wide.length < lines.length, "the narrow terminal needed more lines");
    } finally {
      await node.close();
    }
  },
});
