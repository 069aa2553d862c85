import assert from "node:assert/strict";
import { main } from "../../cmd/drbdadm.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";

function haveDrbdadm(): boolean {
  try {
    return new Deno.Command("drbdadm", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().code !== 127;
  } catch {
    return false;
  }
}

Deno.test({
  name: "drbdadm -E FILE leaves that file out of include globs, as drbdadm 9.22 does",
  ignore: !haveDrbdadm(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "udrbd-adm-exclude-" });
    try {
      const host = "alice";
      await Deno.writeTextFile(
        `${dir}/main.conf`,
        `global { usage-count no; }\ninclude "${dir}/*.res";\n`,
      );
      for (const [name, n] of [["a", 1], ["b", 2]] as const) {
        await Deno.writeTextFile(
          `${dir}/${name}.res`,
          `resource ${name} {\n device /dev/drbd${n}; disk ${dir}/x; meta-disk internal;\n` +
            ` on ${host} { address 127.0.0.1:77${n}0; }\n on other { address 127.0.0.2:77${n}0; }\n}\n`,
        );
      }
      for (
        const extra of [
          ["-E", `${dir}/a.res`],
          ["-E", `${dir}/../${dir.split("/").pop()}/b.res`],
          ["-E", `${dir}/a.res`, "-E", `${dir}/b.res`],
          [],
        ]
      ) {
        const args = ["-c", `${dir}/main.conf`, ...extra, "sh-resources"];
        const real = await new Deno.Command("drbdadm", {
          args,
          env: { __DRBD_NODE__: host },
          stdout: "piped",
          stderr: "null",
        }).output();
        const io = new MemoryConsole();
        const code = await main(args, io, { hostname: host, tty: false });
        assert.equal(code, real.code, `exit code for ${extra.join(" ")}`);
        assert.equal(
          io.stdout,
          new TextDecoder().decode(real.stdout),
          `stdout for ${extra.join(" ")}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
