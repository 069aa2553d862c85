import assert from "node:assert/strict";
import { formatShow, type ShowResource } from "../../lib/setup/mod.ts";
import { parseConfigText } from "../../lib/config/mod.ts";

const R0: ShowResource = {
  name: "r0",
  nodeId: 0,
  options: { "auto-promote": "no", quorum: "majority" },
  volumes: [
    {
      volume: 0,
      minor: 1,
      disk: {
        backingDev: "/dev/vg/d0",
        metaDev: "internal",
        metaIdx: "internal",
        options: { "al-extents": "3389", "disk-flushes": "no", "on-io-error": "detach" },
      },
    },
    { volume: 1, minor: 2, intentionalDiskless: true },
  ],
  connections: [{
    peerNodeId: 1,
    name: "bob",
    paths: [{ local: "ipv4:10.0.0.1:7789", remote: "ipv4:10.0.0.2:7789" }],
    net: { protocol: "A", "shared-secret": 'se"cr\\et', "ping-timeout": "10" },
    peerDevices: [
      { volume: 0, options: { "resync-rate": "10240", "c-fill-target": "2048" } },
      { volume: 1, options: { "c-plan-ahead": "20" } },
    ],
  }],
};

Deno.test("drbdsetup show prints set options in drbdsetup 9.22's layout, units as comments", () => {
  const want = [
    'resource "r0" {',
    "    options {",
    "        auto-promote    \tno;",
    "        quorum          \tmajority;",
    "    }",
    "    _this_host {",
    "        node-id\t\t\t0;",
    "        volume 0 {",
    "            device\t\t\tminor 1;",
    '            disk\t\t\t"/dev/vg/d0";',
    "            meta-disk\t\t\tinternal;",
    "            disk {",
    "                disk-flushes    \tno;",
    "                al-extents      \t3389;",
    "            }",
    "        }",
    "        volume 1 {",
    "            device\t\t\tminor 2;",
    "            disk\t\t\tnone;",
    "        }",
    "    }",
    "    connection {",
    "        _peer_node_id 1;",
    "        path {",
    "            _this_host ipv4 10.0.0.1:7789;",
    "            _remote_host ipv4 10.0.0.2:7789;",
    "        }",
    "        net {",
    "            protocol        \tA;",
    '            shared-secret   \t"se\\"cr\\\\et";',
    "            ping-timeout    \t10; # 1/10 seconds",
    '            _name           \t"bob";',
    "        }",
    "        volume 0 {",
    "            disk {",
    "                resync-rate     \t10240k; # bytes/second",
    "                c-fill-target   \t2048s; # bytes",
    "            }",
    "        }",
    "    }",
    "}",
    "",
    "",
  ].join("\n");
  assert.equal(formatShow([R0], { showDefaults: false }), want);
});

Deno.test("drbdsetup show --show-defaults prints every option and marks the defaults", () => {
  const text = formatShow([R0], { showDefaults: true });
  const lines = text.split("\n");
  assert.ok(lines.includes('        cpu-mask        \t""; # default'));
  assert.ok(lines.includes("        peer-ack-window \t4096s; # bytes, default"));
  assert.ok(lines.includes("                size            \t0s; # bytes, default"));
  assert.ok(lines.includes("                resync-after    \t-1; # default"));
  assert.ok(lines.includes('            transport       \t""; # default'));
  assert.ok(lines.includes("                c-plan-ahead    \t20; # 1/10 seconds, default"));
  // options 13 + disk 14 + net 32 + two peer devices of 7
  const header = /^\s*(node-id|device|disk|meta-disk)\t|^\s*_(peer_node_id|this_host|remote_host) /;
  const optionLines = lines.filter((l) => /;( #.*)?$/.test(l) && !header.test(l));
  assert.equal(optionLines.length, 73);
  // a peer device with only defaults appears only with --show-defaults
  assert.ok(/volume 1 \{\n\s+disk \{/.test(text));
  assert.ok(!/volume 1 \{\n\s+disk \{/.test(formatShow([R0], { showDefaults: false })));
});

Deno.test("drbdsetup show sorts resources by name and filters by resource", () => {
  const a = { ...R0, name: "a", connections: [], volumes: [] };
  const b = { ...R0, name: "b", connections: [], volumes: [] };
  const both = formatShow([b, a], { showDefaults: false });
  assert.ok(both.indexOf('resource "a"') < both.indexOf('resource "b"'));
  assert.ok(!formatShow([b, a], { showDefaults: false, resource: "b" }).includes('"a"'));
  assert.equal(formatShow([], { showDefaults: false }), "# No currently configured DRBD found.\n");
});

Deno.test("drbdsetup show prints external meta data with its index or as flexible", () => {
  const ext = (metaIdx: string) =>
    formatShow([{
      ...R0,
      connections: [],
      volumes: [{
        volume: 0,
        minor: 0,
        disk: { backingDev: "/dev/a", metaDev: "/dev/m", metaIdx, options: {} },
      }],
    }], { showDefaults: false });
  assert.ok(ext("3").includes('meta-disk\t\t\t"/dev/m" [ 3 ];'));
  assert.ok(ext("flexible").includes('meta-disk\t\t\t"/dev/m";'));
});

Deno.test("drbdadm adjust can read what drbdsetup show prints (our drbd.conf parser accepts it)", () => {
  for (const showDefaults of [false, true]) {
    const config = parseConfigText(formatShow([R0], { showDefaults }), { hostname: "alice" });
    const res = config.resources[0];
    assert.equal(res.name, "r0");
    const opt = (list: readonly { name: string; value?: string }[], name: string) =>
      list.find((o) => o.name === name)?.value;
    assert.equal(opt(res.resOptions, "auto-promote"), "no");
    assert.equal(opt(res.resOptions, "quorum"), "majority");
    const conn = res.connections[0];
    assert.equal(opt(conn.netOptions, "protocol"), "A");
    assert.equal(opt(conn.netOptions, "_name"), "bob");
    assert.equal(opt(conn.netOptions, "shared-secret"), 'se"cr\\et');
    assert.equal(opt(conn.peerDevices[0].options, "resync-rate"), "10240k");
    const me = conn.paths[0].hosts[0].hostInfo!;
    assert.equal(me.volumes[0].disk, "/dev/vg/d0");
    assert.equal(opt(me.volumes[0].diskOptions, "al-extents"), "3389");
    assert.equal(conn.paths[0].hosts[1].address?.addr, "10.0.0.2");
  }
});
