import assert from "node:assert/strict";
import { listenPeer, LiveBufferSizes, type PeerConnection } from "../../lib/wire/mod.ts";
import { findSocketFd, ipBytes, sockaddrAddress } from "../../lib/wire/socket_fd.ts";
import { applyBufferSizes, getSocketBuffer, setSocketBuffer } from "../../lib/wire/sockopt.ts";
import { have, run } from "../util/process.ts";
import { type SsSocket, ssSockets } from "./ss.ts";
import { connectPair } from "./helpers.ts";

const HAVE_SS = have("ss");
const KIB = 1024;

/**
 * A listener and both ends of one TCP connection to it, on `hostname`. The connection's
 * sockets get lower descriptors than the listener (it is opened while two files hold them),
 * so a search in descriptor order meets the accepted socket, on the listener's address, first.
 */
async function tcpPair(hostname: string) {
  const holders = [Deno.openSync("/dev/null"), Deno.openSync("/dev/null")];
  const listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
  for (const h of holders) h.close();
  const [client, server] = await Promise.all([
    Deno.connect({ hostname, port: listener.addr.port }),
    listener.accept(),
  ]);
  return {
    listener,
    client,
    server,
    close() {
      client.close();
      server.close();
      listener.close();
    },
  };
}

function addr(a: Deno.NetAddr): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** This process's socket between `local` and `peer` as ss sees it. */
function ours(list: SsSocket[], local: Deno.NetAddr, peer?: Deno.NetAddr): SsSocket {
  const hit = list.find((s) =>
    s.local === addr(local) && (peer ? s.peer === addr(peer) : true) &&
    s.owners.some((o) => o.pid === Deno.pid)
  );
  assert.ok(hit, `ss does not list ${addr(local)} ${peer ? addr(peer) : "(listening)"}`);
  return hit;
}

Deno.test("raw IPv4 and IPv6 socket addresses read as address and port", () => {
  const v4 = new Uint8Array(16);
  v4.set([2, 0, 0x1e, 0x61, 127, 0, 0, 1]); // AF_INET, port 7777 (network order), 127.0.0.1
  assert.deepEqual(sockaddrAddress(v4), { ip: ipBytes("127.0.0.1"), port: 7777 });
  const v6 = new Uint8Array(28);
  v6.set([10, 0, 0x1e, 0x6d]); // AF_INET6, port 7789
  v6[23] = 1; // ::1
  assert.deepEqual(sockaddrAddress(v6), { ip: ipBytes("::1"), port: 7789 });
  const unix = new Uint8Array(16);
  unix[0] = 1; // AF_UNIX
  assert.equal(sockaddrAddress(unix), undefined);
  assert.equal(sockaddrAddress(v4.subarray(0, 4)), undefined);
});

Deno.test("IPv4, IPv6 and IPv4-mapped addresses compare as the same 16 bytes", () => {
  assert.deepEqual(ipBytes("127.0.0.1"), ipBytes("::ffff:127.0.0.1"));
  assert.deepEqual(ipBytes("::ffff:7f00:1"), ipBytes("127.0.0.1"));
  assert.deepEqual(ipBytes("::1"), Uint8Array.from({ length: 16 }, (_, i) => i === 15 ? 1 : 0));
  assert.deepEqual(ipBytes("::"), new Uint8Array(16));
  assert.deepEqual(ipBytes("fe80::1%lo"), ipBytes("fe80:0:0:0:0:0:0:1"));
  assert.deepEqual(ipBytes("[2001:db8::2]"), ipBytes("2001:db8:0::2"));
  for (const bad of ["", "1.2.3", "256.1.1.1", "1::2::3", "1:2:3:4:5:6:7:8:9", "g::1", "host"]) {
    assert.equal(ipBytes(bad), undefined, bad);
  }
});

Deno.test({
  name:
    "the descriptors of a listener and of both ends of a connection are found (as ss sees them)",
  ignore: !HAVE_SS,
  async fn() {
    for (const hostname of ["127.0.0.1", "::1"]) {
      const p = await tcpPair(hostname);
      try {
        const listenerFd = findSocketFd({ local: p.listener.addr });
        const clientFd = findSocketFd({ local: p.client.localAddr, remote: p.client.remoteAddr });
        const serverFd = findSocketFd({ local: p.server.localAddr, remote: p.server.remoteAddr });
        const fds = [listenerFd, clientFd, serverFd];
        assert.ok(fds.every((fd) => fd !== undefined), `${hostname}: ${fds}`);
        assert.equal(new Set(fds).size, 3, `${hostname}: three sockets, three descriptors`);
        const open = await ssSockets();
        const listening = await ssSockets({ listening: true });
        const fdsOf = (s: SsSocket) => s.owners.filter((o) => o.pid === Deno.pid).map((o) => o.fd);
        assert.ok(fdsOf(ours(listening, p.listener.addr)).includes(listenerFd!));
        assert.ok(fdsOf(ours(open, p.client.localAddr, p.client.remoteAddr)).includes(clientFd!));
        assert.ok(fdsOf(ours(open, p.server.localAddr, p.server.remoteAddr)).includes(serverFd!));
      } finally {
        p.close();
      }
    }
  },
});

Deno.test({
  name:
    "setsockopt of 256 KiB on the found descriptor gives the socket a 512 KiB buffer (Linux doubles it)",
  ignore: !HAVE_SS,
  async fn() {
    const p = await tcpPair("127.0.0.1");
    try {
      const fd = findSocketFd({ local: p.client.localAddr, remote: p.client.remoteAddr })!;
      setSocketBuffer(fd, "sndbuf", 256 * KIB);
      setSocketBuffer(fd, "rcvbuf", 256 * KIB);
      assert.equal(getSocketBuffer(fd, "sndbuf"), 512 * KIB);
      assert.equal(getSocketBuffer(fd, "rcvbuf"), 512 * KIB);
      const s = ours(await ssSockets(), p.client.localAddr, p.client.remoteAddr);
      assert.equal(s.tb, 512 * KIB);
      assert.equal(s.rb, 512 * KIB);
      // The other end kept its own autotuned buffers.
      const other = ours(await ssSockets(), p.server.localAddr, p.server.remoteAddr);
      assert.notEqual(other.tb, 512 * KIB);
    } finally {
      p.close();
    }
  },
});

Deno.test("a socket option on a closed descriptor fails with its errno, not silently", () => {
  assert.throws(() => setSocketBuffer(1_000_000, "sndbuf", 4096), /EBADF/);
  assert.throws(() => getSocketBuffer(1_000_000, "rcvbuf"), /EBADF/);
});

Deno.test("sndbuf-size and rcvbuf-size give a socket exactly the configured sizes, as DRBD", async () => {
  const p = await tcpPair("127.0.0.1");
  try {
    const warnings: string[] = [];
    const got = applyBufferSizes(
      { local: p.server.localAddr, remote: p.server.remoteAddr },
      { sndbuf: 512 * KIB, rcvbuf: 1024 * KIB },
      { onWarning: (m) => warnings.push(m), warned: new Set() },
    );
    assert.deepEqual(warnings, []);
    assert.ok(got);
    assert.equal(got.sndbuf, 512 * KIB);
    assert.equal(got.rcvbuf, 1024 * KIB);
    assert.equal(getSocketBuffer(got.fd, "sndbuf"), 512 * KIB);
    // Size 0 is autotuning: nothing is touched.
    assert.equal(
      applyBufferSizes({ local: p.client.localAddr, remote: p.client.remoteAddr }, {
        sndbuf: 0,
        rcvbuf: 0,
      }),
      undefined,
    );
  } finally {
    p.close();
  }
});

Deno.test("a socket that cannot be found is warned about once and left alone", () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const gone = l.addr;
  l.close();
  const warnings: string[] = [];
  const warned = new Set<string>();
  for (let i = 0; i < 2; i++) {
    const got = applyBufferSizes({ local: gone }, { sndbuf: 65536, rcvbuf: 0 }, {
      onWarning: (m) => warnings.push(m),
      warned,
    });
    assert.equal(got, undefined);
  }
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /sndbuf-size not applied: .*descriptor was not found in \/proc\/self\/fd.*autotuning/,
  );
});

/**
 * Runs a script that opens a loopback connection, applies `sizes` to the dialed end twice and
 * sends a byte across; prints each warning, the dialed socket's buffers and what was read.
 * `prefix` runs deno under another program (setpriv); `flags` are deno's permission flags.
 */
async function applyInChild(
  sizes: { sndbuf: number; rcvbuf: number },
  flags: string[],
  prefix: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await Deno.makeTempDir({ prefix: "udrbd-sockopt-" });
  try {
    const script = `${dir}/child.ts`;
    const sockopt = new URL("../../lib/wire/sockopt.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { applyBufferSizes } from ${JSON.stringify(sockopt)};
const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const [c, s] = await Promise.all([Deno.connect({ hostname: "127.0.0.1", port: l.addr.port }), l.accept()]);
let got;
for (let i = 0; i < 2; i++) {
  got = applyBufferSizes({ local: c.localAddr, remote: c.remoteAddr }, ${JSON.stringify(sizes)},
    { onWarning: (m) => console.log("warning: " + m) });
}
console.log("buffers " + (got ? got.sndbuf + " " + got.rcvbuf : "untouched"));
await c.write(new TextEncoder().encode("x"));
console.log("read " + await s.read(new Uint8Array(1)));
c.close(); s.close(); l.close();
`,
    );
    const args = [...prefix, Deno.execPath(), "run", "--quiet", "--no-prompt", ...flags, script];
    return await run(args[0], args.slice(1));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("without FFI permission the buffer sizes are skipped with one warning and the connection works", async () => {
  const r = await applyInChild({ sndbuf: 1 << 20, rcvbuf: 1 << 20 }, [
    "--allow-net=127.0.0.1",
    "--allow-read",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    "warning: sndbuf-size and rcvbuf-size not applied: udrbd runs without FFI permission " +
      "(--allow-ffi, or -A); the kernel's autotuning stays in effect\nbuffers untouched\nread 1\n",
  );
});

Deno.test({
  name:
    "without CAP_NET_ADMIN a size above net.core.wmem_max/rmem_max is capped there, with one warning",
  ignore: Deno.uid() !== 0 || !have("setpriv"),
  async fn() {
    const max = (name: string) => Number(Deno.readTextFileSync(`/proc/sys/net/core/${name}`));
    const [wmem, rmem] = [max("wmem_max"), max("rmem_max")];
    const sizes = { sndbuf: wmem * 4, rcvbuf: rmem * 4 };
    const r = await applyInChild(sizes, ["-A"], [
      "setpriv",
      "--bounding-set=-net_admin",
      "--inh-caps=-net_admin",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `warning: sndbuf-size ${sizes.sndbuf} is limited to ${2 * wmem} bytes by ` +
        `net.core.wmem_max (udrbd lacks CAP_NET_ADMIN to exceed it)\n` +
        `warning: rcvbuf-size ${sizes.rcvbuf} is limited to ${2 * rmem} bytes by ` +
        `net.core.rmem_max (udrbd lacks CAP_NET_ADMIN to exceed it)\n` +
        `buffers ${2 * wmem} ${2 * rmem}\nread 1\n`,
    );
  },
});

Deno.test({
  name: "peer connections get sndbuf-size and rcvbuf-size on all four sockets, accepted and dialed",
  ignore: !HAVE_SS,
  async fn() {
    const sizes = { sndbufSize: 512 * KIB, rcvbufSize: 384 * KIB };
    const warnings: string[] = [];
    const listener = listenPeer({ hostname: "127.0.0.1", port: 0, ...sizes });
    let conns: PeerConnection[] = [];
    try {
      conns = await connectPair(listener, sizes, { onWarning: (m) => warnings.push(m), ...sizes });
      const port = listener.addr.port;
      const socks = await ssSockets({ filter: `( sport = :${port} or dport = :${port} )` });
      assert.equal(socks.length, 4, "data and meta sockets on both ends");
      for (const s of socks) {
        assert.equal(s.tb, 512 * KIB, `${s.local} -> ${s.peer} send buffer`);
        assert.equal(s.rb, 384 * KIB, `${s.local} -> ${s.peer} receive buffer`);
      }
      const [l] = await ssSockets({ listening: true, filter: `( sport = :${port} )` });
      assert.equal(l.rb, 384 * KIB, "the listener hands its receive buffer to accepted sockets");
      assert.deepEqual(warnings, []);
    } finally {
      await Promise.all(conns.map((c) => c.close("test over")));
      await listener.close();
    }
  },
});

Deno.test({
  name: "a shared listener without buffer sizes still gives a connection its own sizes",
  ignore: !HAVE_SS,
  async fn() {
    const sizes = { sndbufSize: 256 * KIB, rcvbufSize: 256 * KIB };
    const listener = listenPeer({ hostname: "127.0.0.1", port: 0 });
    let conns: PeerConnection[] = [];
    try {
      conns = await connectPair(listener, sizes);
      const port = listener.addr.port;
      const accepted = await ssSockets({ filter: `( sport = :${port} )` });
      assert.equal(accepted.length, 2);
      for (const s of accepted) assert.equal(s.tb, 256 * KIB, `${s.local} -> ${s.peer}`);
      const dialed = await ssSockets({ filter: `( dport = :${port} )` });
      assert.equal(dialed.length, 2);
      for (const s of dialed) assert.notEqual(s.tb, 256 * KIB, "the dialer asked for no sizes");
    } finally {
      await Promise.all(conns.map((c) => c.close("test over")));
      await listener.close();
    }
  },
});

Deno.test("a buffer size change is heard once by each watcher until it stops watching", () => {
  const live = new LiveBufferSizes({ sndbuf: 0, rcvbuf: 0 });
  const heard: string[] = [];
  const unwatch = live.watch((now, before) =>
    heard.push(`${before.sndbuf}/${before.rcvbuf} -> ${now.sndbuf}/${now.rcvbuf}`)
  );
  live.set({ sndbuf: 256 * KIB, rcvbuf: 0 });
  live.set({ sndbuf: 256 * KIB, rcvbuf: 0 }); // no change: nobody hears it
  live.set({ sndbuf: 256 * KIB, rcvbuf: 128 * KIB });
  unwatch();
  live.set({ sndbuf: 0, rcvbuf: 0 });
  assert.deepEqual(heard, ["0/0 -> 262144/0", "262144/0 -> 262144/131072"]);
  assert.deepEqual(live.sizes, { sndbuf: 0, rcvbuf: 0 });
});

Deno.test({
  name:
    "net-options' new buffer sizes reach a connected pair's sockets at once; back to 0 is warned about and waits for the next connection",
  ignore: !HAVE_SS,
  async fn() {
    const live = new LiveBufferSizes({ sndbuf: 0, rcvbuf: 0 });
    const warnings: string[] = [];
    const listener = listenPeer({ hostname: "127.0.0.1", port: 0 });
    let conns: PeerConnection[] = [];
    try {
      conns = await connectPair(listener, {}, {
        bufferSizes: live,
        onWarning: (m) => warnings.push(m),
      });
      const port = listener.addr.port;
      const dialed = () => ssSockets({ filter: `( dport = :${port} )` });
      for (const s of await dialed()) assert.notEqual(s.tb, 320 * KIB, "autotuned at first");
      live.set({ sndbuf: 320 * KIB, rcvbuf: 192 * KIB });
      const after = await dialed();
      assert.equal(after.length, 2, "the dialer's data and meta sockets");
      for (const s of after) {
        assert.equal(s.tb, 320 * KIB, `${s.local} -> ${s.peer} send buffer`);
        assert.equal(s.rb, 192 * KIB, `${s.local} -> ${s.peer} receive buffer`);
      }
      for (const s of await ssSockets({ filter: `( sport = :${port} )` })) {
        assert.notEqual(s.tb, 320 * KIB, "the other side's sockets are its own business");
      }
      assert.deepEqual(warnings, []);
      live.set({ sndbuf: 0, rcvbuf: 192 * KIB });
      for (const s of await dialed()) assert.equal(s.tb, 320 * KIB, "Linux cannot unfix it");
      assert.deepEqual(warnings, [
        "sndbuf-size 0 (autotuning) takes effect at the next connection: a socket whose " +
        "buffer is fixed cannot autotune again; it keeps 327680 bytes",
      ]);
    } finally {
      await Promise.all(conns.map((c) => c.close("test over")));
      await listener.close();
    }
  },
});
