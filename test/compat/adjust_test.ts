/**
 * drbdadm -d adjust compared with drbd-utils 9.22's drbdadm: both read the same running
 * configuration (drbdsetup show text, given as FAKE_DRBDSETUP_SHOW as drbdadm allows) and the
 * same drbd.conf; the steps they print must be equal.
 *
 * @module
 */
import assert from "node:assert/strict";
import { main } from "../../cmd/drbdadm.ts";
import { MemoryConsole } from "../../lib/cli/io.ts";

const HAVE_REAL = (() => {
  try {
    Deno.statSync("/usr/sbin/drbdadm");
    return true;
  } catch {
    return false;
  }
})();

const DISK = "/var/lib/udrbd/adj.img";

function conf(opts: { res?: string; net?: string; disk?: string; more?: string; minor?: number }) {
  return `resource r5 {
  device /dev/drbd${opts.minor ?? 5};
  disk ${DISK};
  meta-disk internal;
  options { auto-promote no; ${opts.res ?? ""} }
  net { max-buffers 4000; ${opts.net ?? ""} }
  disk { c-plan-ahead 10; ${opts.disk ?? ""} }
  on alpha { address 127.0.0.1:27001; node-id 0; }
  on beta { address 127.0.0.1:27002; node-id 1; }
  ${opts.more ?? ""}
}
`;
}

/** drbdsetup show of r5 as `up` of conf({}) leaves it, with optional extra pieces. */
function show(opts: { volumes?: string; connections?: string; standalone?: boolean } = {}) {
  return `resource "r5" {
    options {
        auto-promote    	no;
    }
    _this_host {
        node-id			0;
        volume 0 {
            device			minor 5;
            disk			"${DISK}";
            meta-disk			internal;
        }
${opts.volumes ?? ""}    }
    connection {
        _peer_node_id 1;
        path {
            _this_host ipv4 127.0.0.1:27001;
            _remote_host ipv4 127.0.0.1:27002;
        }
${opts.standalone ? "        _is_standalone;\n" : ""}        net {
            max-buffers     	4000;
            _name           	"beta";
        }
        volume 0 {
            disk {
                c-plan-ahead    	10; # 1/10 seconds
            }
        }
    }
${opts.connections ?? ""}}

`;
}

const CASES: [string, string, string][] = [
  ["nothing", conf({}), show()],
  ["a net option", conf({ net: "max-epoch-size 4000;" }), show()],
  ["a resource option", conf({ res: "quorum majority;" }), show()],
  ["disk options and size", conf({ disk: "al-extents 3000; size 1G;" }), show()],
  ["the peer's port", conf({}).replace("27002", "27003"), show()],
  ["the transport", conf({ net: "transport tcp;" }), show()],
  [
    "a third node",
    conf({
      more: "on gamma { address 127.0.0.1:27009; node-id 2; }\n" +
        "  connection-mesh { hosts alpha beta gamma; }",
    }),
    show(),
  ],
  ["the backing disk", conf({}).replace(DISK, "/var/lib/udrbd/other.img"), show()],
  ["the minor", conf({ minor: 6 }), show()],
  ["a standalone peer", conf({}), show({ standalone: true })],
  [
    "a running volume not configured",
    conf({}),
    show({
      volumes: "        volume 1 {\n            device\t\t\tminor 9;\n" +
        '            disk\t\t\t"/var/lib/udrbd/v1.img";\n            meta-disk\t\t\tinternal;\n' +
        "        }\n",
    }),
  ],
  [
    "a running peer not configured",
    conf({}),
    show({
      connections: "    connection {\n        _peer_node_id 3;\n        path {\n" +
        "            _this_host ipv4 127.0.0.1:27001;\n" +
        "            _remote_host ipv4 127.0.0.1:27020;\n        }\n    }\n",
    }),
  ],
  ["everything (nothing runs)", conf({}), "# No currently configured DRBD found.\n"],
];

for (const [what, confText, showText] of CASES) {
  Deno.test({
    name: `drbdadm -d adjust issues the same steps as drbd-utils 9.22 when ${what} differs`,
    ignore: !HAVE_REAL,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "udrbd-adjust-" });
      try {
        await Deno.writeTextFile(`${dir}/drbd.conf`, confText);
        await Deno.writeTextFile(`${dir}/show`, showText);
        const args = ["-c", `${dir}/drbd.conf`, "-d", "adjust", "r5"];
        // through sh, so that argv[0] is the bare name (drbdadm names drbdsetup after it)
        const real = await new Deno.Command("/bin/sh", {
          args: ["-c", 'exec drbdadm "$@"', "drbdadm", ...args],
          env: { LC_ALL: "C", FAKE_DRBDSETUP_SHOW: `${dir}/show`, __DRBD_NODE__: "alpha" },
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).output();
        const io = new MemoryConsole();
        Deno.env.set("FAKE_DRBDSETUP_SHOW", `${dir}/show`);
        let code: number;
        try {
          code = await main(args, io, { hostname: "alpha", tty: false });
        } finally {
          Deno.env.delete("FAKE_DRBDSETUP_SHOW");
        }
        assert.equal(io.stdout, new TextDecoder().decode(real.stdout));
        assert.equal(code, real.code);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
