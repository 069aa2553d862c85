import assert from "node:assert/strict";
import {
  type AuthConfig,
  connectPeer,
  HandshakeError,
  listenPeer,
  MAX_PAYLOAD,
  PacketReader,
  type PeerOptions,
} from "../../lib/wire/mod.ts";
import { rawHello, readPacket, writePacket } from "./helpers.ts";

const HOST = "127.0.0.1";

/** Runs node 1 accepting and node 0 dialing; returns each side's outcome. */
async function attempt(auth1?: AuthConfig, auth0?: AuthConfig) {
  const listener = listenPeer({ hostname: HOST, port: 0 });
  const base: PeerOptions = { resource: "r0", nodeId: 1, peerNodeId: 0 };
  try {
    const [accepted, dialed] = await Promise.allSettled([
      listener.accept({ ...base, auth: auth1 }),
      connectPeer({
        resource: "r0",
        nodeId: 0,
        peerNodeId: 1,
        auth: auth0,
        remote: { hostname: HOST, port: listener.addr.port },
      }),
    ]);
    for (const r of [accepted, dialed]) {
      if (r.status === "fulfilled") await r.value.close();
    }
    return { accepted, dialed };
  } finally {
    await listener.close();
  }
}

function reason(r: PromiseSettledResult<unknown>): string {
  assert.equal(r.status, "rejected", "the connection should have been refused");
  const e = (r as PromiseRejectedResult).reason;
  assert.ok(e instanceof HandshakeError, `not a HandshakeError: ${e}`);
  assert.ok(e.fatal);
  return e.message;
}

for (const alg of ["sha1", "sha256", "hmac(sha512)"]) {
  Deno.test(`peers sharing a secret connect (cram-hmac-alg ${alg})`, async () => {
    const auth = { alg, secret: "Riesling" };
    const { accepted, dialed } = await attempt(auth, auth);
    assert.equal(accepted.status, "fulfilled");
    assert.equal(dialed.status, "fulfilled");
  });
}

Deno.test("a wrong shared secret is refused on both sides with a clear reason", async () => {
  const { accepted, dialed } = await attempt(
    { alg: "sha256", secret: "Riesling" },
    { alg: "sha256", secret: "Rieslinf" },
  );
  assert.equal(reason(accepted), "peer authentication failed: wrong shared secret");
  assert.equal(reason(dialed), "peer authentication failed: wrong shared secret");
});

Deno.test("a missing shared secret is refused on both sides with a clear reason", async () => {
  const { accepted, dialed } = await attempt({ alg: "sha1", secret: "x" }, undefined);
  assert.equal(
    reason(accepted),
    "peer authentication failed: the peer has no shared-secret configured",
  );
  assert.equal(reason(dialed), "peer requires authentication but no shared-secret is configured");
  const other = await attempt(undefined, { alg: "sha1", secret: "x" });
  assert.equal(
    reason(other.accepted),
    "peer requires authentication but no shared-secret is configured",
  );
});

Deno.test("different cram-hmac-alg on the two sides is refused with both names", async () => {
  const { accepted, dialed } = await attempt(
    { alg: "sha1", secret: "x" },
    { alg: "sha256", secret: "x" },
  );
  assert.match(reason(accepted), /cram-hmac-alg differs \(here sha1, peer sha256\)/);
  assert.match(reason(dialed), /cram-hmac-alg differs \(here sha256, peer sha1\)/);
});

Deno.test("an unsupported cram-hmac-alg is refused before connecting", async () => {
  await assert.rejects(
    connectPeer({
      resource: "r0",
      nodeId: 0,
      peerNodeId: 1,
      auth: { alg: "md4", secret: "x" },
      remote: { port: 1 },
    }),
    /cram-hmac-alg md4 is not supported/,
  );
});

/** An attacker's socket to the listener, claiming to be node 0; returns the victim's challenge. */
async function attackerSocket(port: number, nonce: Uint8Array, channel: "data" | "meta") {
  const conn = await Deno.connect({ hostname: HOST, port });
  const reader = new PacketReader(conn, MAX_PAYLOAD);
  await writePacket(
    conn,
    rawHello(channel, nonce, { resource: "r0", nodeId: 0, peerNodeId: 1, authAlg: "sha256" }),
  );
  assert.equal((await readPacket(reader)).type, "Hello");
  const challenge = await readPacket(reader);
  assert.equal(challenge.type, "AuthChallenge");
  return {
    conn,
    reader,
    challenge: challenge.type === "AuthChallenge" ? challenge.bytes : new Uint8Array(),
  };
}

Deno.test("reflecting the victim's challenge back does not authenticate an attacker", async () => {
  const listener = listenPeer({ hostname: HOST, port: 0 });
  const failures: string[] = [];
  const accepting = listener.accept({
    resource: "r0",
    nodeId: 1,
    peerNodeId: 0,
    auth: { alg: "sha256", secret: "only the real peer knows" },
    onAttemptFailed: (e) => failures.push(e.message),
  });
  try {
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    const s = await attackerSocket(listener.addr.port, nonce, "data");
    // Send the victim's own challenge as ours: a naive victim would answer it for us.
    await writePacket(s.conn, { type: "AuthChallenge", bytes: s.challenge });
    const answer = await readPacket(s.reader);
    if (answer.type === "AuthResponse") {
      await writePacket(s.conn, { type: "AuthResponse", bytes: answer.bytes });
      const verdict = await readPacket(s.reader);
      assert.equal(verdict.type, "Disconnect");
    } else {
      assert.equal(answer.type, "Disconnect");
    }
    s.conn.close();
    await assert.rejects(accepting, /peer authentication failed/);
    assert.equal(failures.length, 1);
    assert.match(failures[0], /peer authentication failed/);
  } finally {
    await listener.close();
  }
});

Deno.test("replaying the victim's answer from a second connection does not authenticate an attacker", async () => {
  const listener = listenPeer({ hostname: HOST, port: 0 });
  const failures: string[] = [];
  const accepting = listener.accept({
    resource: "r0",
    nodeId: 1,
    peerNodeId: 0,
    auth: { alg: "sha256", secret: "only the real peer knows" },
    onAttemptFailed: (e) => failures.push(e.message),
  });
  try {
    const nonce = crypto.getRandomValues(new Uint8Array(16));
    // Connection 1 gets challenge C1; connection 2 presents C1 as its own challenge, so the
    // victim computes an answer over C1 there, which is replayed on connection 1.
    const one = await attackerSocket(listener.addr.port, nonce, "data");
    const two = await attackerSocket(listener.addr.port, nonce, "meta");
    await writePacket(two.conn, { type: "AuthChallenge", bytes: one.challenge });
    const stolen = await readPacket(two.reader);
    assert.equal(stolen.type, "AuthResponse");
    await writePacket(one.conn, { type: "AuthChallenge", bytes: two.challenge });
    assert.equal((await readPacket(one.reader)).type, "AuthResponse");
    if (stolen.type === "AuthResponse") {
      await writePacket(one.conn, { type: "AuthResponse", bytes: stolen.bytes });
    }
    const verdict = await readPacket(one.reader);
    assert.equal(verdict.type, "Disconnect");
    if (verdict.type === "Disconnect") {
      assert.equal(verdict.message, "peer authentication failed: wrong shared secret");
    }
    one.conn.close();
    two.conn.close();
    await assert.rejects(accepting, /peer authentication failed: wrong shared secret/);
  } finally {
    await listener.close();
  }
});
