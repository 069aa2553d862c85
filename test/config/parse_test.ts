import assert from "node:assert/strict";
import {
  ConfigError,
  dumpConfig,
  dumpXml,
  expandCommon,
  parseConfigFile,
  parseConfigText,
} from "../../lib/config/mod.ts";

const basic = `global { usage-count no; }
common { net { protocol C; } }
resource r0 {
  device /dev/drbd0;
  disk /dev/sdb1;
  meta-disk internal;
  on alpha { address 10.0.0.1:7788; }
  on beta { address 10.0.0.2:7788; }
}
`;

function parseErr(text: string, hostname = "alpha"): ConfigError {
  try {
    parseConfigText(text, { hostname, file: "t.conf" });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("no error");
}

Deno.test("the local host section is chosen by node name", () => {
  const c = parseConfigText(basic, { hostname: "alpha", file: "t.conf" });
  const r = c.resources[0];
  assert.equal(r.me?.names[0], "alpha");
  assert.equal(r.ignore, false);
  const other = parseConfigText(basic, { hostname: "gamma", file: "t.conf" });
  assert.equal(other.resources[0].ignore, true);
});

Deno.test("resource-level device, disk and meta-disk reach every host", () => {
  const c = parseConfigText(basic, { hostname: "alpha", file: "t.conf" });
  for (const h of c.resources[0].hosts) {
    assert.equal(h.volumes[0].device, "/dev/drbd0");
    assert.equal(h.volumes[0].minor, 0);
    assert.equal(h.volumes[0].disk, "/dev/sdb1");
    assert.equal(h.volumes[0].metaIndex, "internal");
  }
});

Deno.test("two-node resources get node-ids from their address hashes as drbdadm's", () => {
  const c = parseConfigText(
    basic.replace("10.0.0.1", "127.0.0.1").replace("10.0.0.2", "127.0.0.2"),
    { hostname: "alpha", file: "t.conf" },
  );
  assert.deepEqual(c.resources[0].hosts.map((h) => h.nodeId), ["1", "0"]);
});

Deno.test("a two-host resource gets one implicit connection with both addresses", () => {
  const c = parseConfigText(basic, { hostname: "alpha", file: "t.conf" });
  const conns = c.resources[0].connections;
  assert.equal(conns.length, 1);
  assert.equal(conns[0].implicit, true);
  assert.equal(conns[0].paths[0].hosts.map((h) => h.address?.addr).join(" "), "10.0.0.1 10.0.0.2");
  assert.equal(conns[0].paths[0].myAddress?.addr, "10.0.0.1");
});

Deno.test("a mesh creates a connection between every pair of hosts", () => {
  const c = parseConfigText(
    `resource m { device minor 1; disk /dev/x; meta-disk internal;
      on a { address 10.0.0.1:7000; node-id 0; }
      on b { address 10.0.0.2:7000; node-id 1; }
      on c { address 10.0.0.3:7000; node-id 2; }
      connection-mesh { hosts a b c; net { protocol A; } } }`,
    { hostname: "a", file: "t.conf" },
  );
  const r = c.resources[0];
  assert.equal(r.connections.length, 3);
  assert.equal(r.connections[2].ignore, true, "b-c does not involve this host");
  assert.equal(r.connections[0].netOptions[0].value, "A");
});

Deno.test("a typo in a disk option is reported at its line with a suggestion", () => {
  const e = parseErr(`resource r0 {
  device /dev/drbd0; disk /dev/sdb1; meta-disk internal;
  disk { on-io-eror detach; }
  on alpha { address 10.0.0.1:7788; }
  on beta { address 10.0.0.2:7788; }
}`);
  assert.equal(e.exitCode, 10);
  assert.equal(e.file, "t.conf");
  assert.equal(e.line, 3);
  assert.match(e.message, /but got 'on-io-eror'/);
  assert.match(e.message, /did you mean 'on-io-error'/);
});

Deno.test("a missing closing brace is reported where the parser notices it", () => {
  const e = parseErr(`resource r0 {
  device /dev/drbd0; disk /dev/sdb1; meta-disk internal;
  on alpha { address 10.0.0.1:7788;
  on beta { address 10.0.0.2:7788; }
}`);
  assert.equal(e.line, 4);
  assert.match(e.messages[0], /^t\.conf:4: Parse error: 'disk \| device \| address/);
});

Deno.test("a bad enum value names the allowed values", () => {
  const e = parseErr(`resource r0 { net { protocol D; }
  device /dev/drbd0; disk /dev/sdb1; meta-disk internal;
  on alpha { address 10.0.0.1:7788; } on beta { address 10.0.0.2:7788; } }`);
  assert.equal(e.line, 1);
  assert.match(e.message, /Value is not valid\.\nAllowed values are: A \| B \| C/);
});

Deno.test("a minor used twice on one host is a conflict naming both places", () => {
  const e = parseErr(`resource a { device /dev/drbd1; disk /dev/sda1; meta-disk internal;
  on alpha { address 10.0.0.1:7001; } on p { address 10.0.0.2:7001; } }
resource b { device /dev/drbd1; disk /dev/sda2; meta-disk internal;
  on alpha { address 10.0.0.1:7002; } on p { address 10.0.0.2:7002; } }`);
  assert.equal(e.line, 3);
  assert.match(e.message, /conflicting use of device-minor 'device-minor:alpha:1'/);
  assert.match(e.message, /t\.conf:1: device-minor 'device-minor:alpha:1' first used here/);
});

Deno.test("an out-of-range port is reported with its range", () => {
  const e = parseErr(`resource a { device /dev/drbd1; disk /dev/sda1; meta-disk internal;
  on alpha { address 10.0.0.1:70000; } on p { address 10.0.0.2:7001; } }`);
  assert.equal(e.line, 2);
  assert.match(e.message, /port 70000 => 70000 out of range \[1\.\.65535\]/);
});

Deno.test("legacy protocol and syncer sections map as drbdadm 9.22 does", () => {
  const c = parseConfigText(
    `common { protocol C; syncer { al-extents 257; verify-alg sha1; } }
    resource r { device /dev/drbd1; disk /dev/x; meta-disk internal;
      on alpha { address 10.0.0.1:1; } on b { address 10.0.0.2:1; } }`,
    { hostname: "alpha", file: "t.conf" },
  );
  const common = c.common!;
  assert.deepEqual(common.netOptions.map((o) => `${o.name}=${o.value}`), [
    "protocol=C",
    "verify-alg=sha1",
  ]);
  assert.deepEqual(common.diskOptions.map((o) => o.name), ["al-extents"]);
});

Deno.test("common options are inherited by resources and connections when expanded", () => {
  const c = parseConfigText(basic, { hostname: "alpha", file: "t.conf" });
  assert.equal(c.resources[0].netOptions.length, 0);
  expandCommon(c);
  const r = c.resources[0];
  assert.equal(r.netOptions[0].name, "protocol");
  assert.equal(r.netOptions[0].inherited, true);
  assert.equal(r.connections[0].netOptions.find((o) => o.name === "protocol")?.value, "C");
});

Deno.test("dump prints the resource as drbdadm does", () => {
  const c = parseConfigText(basic, { hostname: "alpha", file: "/etc/t.conf" });
  assert.equal(
    dumpConfig(c, c.resources),
    `# /etc/t.conf
global {
    usage-count no;
}

common {
    net {
        protocol           C;
    }
}

# resource r0 on alpha: not ignored, not stacked
# defined at /etc/t.conf:3
resource r0 {
    device               /dev/drbd0 minor 0;
    disk                 /dev/sdb1;
    meta-disk            internal;
    on alpha {
        node-id ${c.resources[0].hosts[0].nodeId};
        address          ipv4 10.0.0.1:7788;
    }
    on beta {
        node-id ${c.resources[0].hosts[1].nodeId};
        address          ipv4 10.0.0.2:7788;
    }
}

`,
  );
});

Deno.test("dump-xml of a named resource has no config wrapper", () => {
  const c = parseConfigText(basic, { hostname: "alpha", file: "/etc/t.conf" });
  const x = dumpXml(c, c.resources, { header: false });
  assert.match(x, /^<resource name="r0" conf-file-line="\/etc\/t\.conf:3">\n/);
  assert.match(x, /<address family="ipv4" port="7788">10\.0\.0\.1<\/address>/);
  assert.ok(!x.includes("<config"));
});

Deno.test("values with spaces are quoted again in the dump", () => {
  const c = parseConfigText(
    `resource r0 { handlers { split-brain "notify.sh root"; }
    device /dev/drbd0; disk /dev/sdb1; meta-disk internal;
    on alpha { address 10.0.0.1:7788; } on beta { address 10.0.0.2:7788; } }`,
    { hostname: "alpha", file: "t.conf" },
  );
  assert.match(dumpConfig(c, c.resources), /split-brain +"notify\.sh root";/);
});

Deno.test("IPv6 and floating addresses are kept with their family", () => {
  const c = parseConfigText(
    `resource r6 { device /dev/drbd7; disk /dev/sde; meta-disk internal;
      floating ipv6 [fd00::2]:7007 { node-id 0; }
      floating ipv4 10.0.0.9:7007 { node-id 1; } }`,
    { hostname: "fd00::2", file: "t.conf" },
  );
  const r = c.resources[0];
  assert.equal(r.hosts[0].address?.af, "ipv6");
  assert.equal(r.hosts[0].names[0], "ipv6 [fd00::2]:7007");
  assert.equal(r.me, r.hosts[0], "a floating host matches by address");
  assert.match(dumpConfig(c, r ? [r] : []), /floating {9}ipv6 \[fd00::2\]:7007 \{/);
});

Deno.test("include globs resolve relative to the including file and report their own lines", () => {
  const dir = Deno.makeTempDirSync({ prefix: "udrbd-inc-" });
  try {
    Deno.mkdirSync(`${dir}/etc/drbd.d`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/etc/drbd.conf`, 'include "drbd.d/*.res";\n');
    Deno.writeTextFileSync(
      `${dir}/etc/drbd.d/a.res`,
      `resource a { device /dev/drbd1; disk /dev/x; meta-disk internal;
  on alpha { address 10.0.0.1:7001; } on b { address 10.0.0.2:7001; } }\n`,
    );
    Deno.writeTextFileSync(`${dir}/etc/drbd.d/b.res`, "resource b {\n  bogus;\n}\n");
    let err: ConfigError | undefined;
    try {
      parseConfigFile(`${dir}/etc/drbd.conf`, { hostname: "alpha" });
    } catch (e) {
      if (e instanceof ConfigError) err = e;
      else throw e;
    }
    assert.ok(err);
    assert.equal(err.file, "drbd.d/b.res");
    assert.equal(err.line, 2);
    Deno.removeSync(`${dir}/etc/drbd.d/b.res`);
    const c = parseConfigFile(`${dir}/etc/drbd.conf`, { hostname: "alpha" });
    assert.equal(c.resources[0].name, "a");
    assert.match(c.resources[0].file, /\/etc\/drbd\.d\/a\.res$/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a section keyword inside a block suggests a missing closing brace", () => {
  const e = parseErr(`resource r0 {
  device /dev/drbd0; disk /dev/sdb1; meta-disk internal;
  on alpha { address 10.0.0.1:7788;
  on beta { address 10.0.0.2:7788; }
}`);
  assert.match(e.message, /is a '\}' missing before 'on'\?/);
});
