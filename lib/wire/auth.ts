/**
 * Challenge-response peer authentication (`cram-hmac-alg` + `shared-secret`) with WebCrypto
 * HMAC. Each side sends a random challenge; the other answers with an HMAC over both challenges,
 * both node ids and the socket's nonce and kind. Binding the answer to who answers whom and on
 * which socket is what makes reflecting a challenge (or an answer) back useless.
 *
 * @module
 */

import { CHALLENGE_SIZE } from "./constants.ts";

/** drbd.conf `cram-hmac-alg` names this build supports, with their WebCrypto hash names. */
export const CRAM_HMAC_ALGS: Readonly<Record<string, string>> = {
  sha1: "SHA-1",
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
};

/** Authentication settings of a connection. */
export interface AuthConfig {
  /** `cram-hmac-alg`, e.g. "sha256" (the kernel's "hmac(sha256)" spelling is accepted too). */
  alg: string;
  /** `shared-secret`. */
  secret: string;
}

/**
 * The canonical algorithm name ("sha256") for `alg`; throws an Error naming the supported ones
 * when WebCrypto has no such HMAC.
 */
export function canonicalAlg(alg: string): string {
  const name = alg.toLowerCase().replace(/^hmac\((.*)\)$/, "$1").replace("-", "");
  if (!(name in CRAM_HMAC_ALGS)) {
    throw new Error(
      `cram-hmac-alg ${alg} is not supported; use one of ${Object.keys(CRAM_HMAC_ALGS).join(", ")}`,
    );
  }
  return name;
}

/** Imports the shared secret as an HMAC key for `alg`. */
export function importSecret(config: AuthConfig): Promise<CryptoKey> {
  const hash = CRAM_HMAC_ALGS[canonicalAlg(config.alg)];
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(config.secret),
    { name: "HMAC", hash },
    false,
    ["sign", "verify"],
  );
}

/** A fresh random challenge. */
export function newChallenge(): Uint8Array<ArrayBuffer> {
  return crypto.getRandomValues(new Uint8Array(CHALLENGE_SIZE));
}

/** What one answer is bound to. */
export interface AuthContext {
  /** The challenge being answered (sent by the verifier). */
  verifierChallenge: Uint8Array;
  /** The answering side's own challenge. */
  responderChallenge: Uint8Array;
  responderNodeId: number;
  verifierNodeId: number;
  /** The socket's pairing nonce. */
  nonce: Uint8Array;
  /** 0 data socket, 1 meta socket. */
  channel: number;
}

const TAG = new TextEncoder().encode("udrbd-auth-1");

function message(c: AuthContext): Uint8Array<ArrayBuffer> {
  const n = TAG.length + 8 + c.verifierChallenge.length + c.responderChallenge.length + 9 +
    c.nonce.length;
  const out = new Uint8Array(n);
  const v = new DataView(out.buffer);
  let o = 0;
  out.set(TAG, o), o += TAG.length;
  v.setUint32(o, c.verifierChallenge.length), o += 4;
  out.set(c.verifierChallenge, o), o += c.verifierChallenge.length;
  v.setUint32(o, c.responderChallenge.length), o += 4;
  out.set(c.responderChallenge, o), o += c.responderChallenge.length;
  v.setUint32(o, c.responderNodeId), o += 4;
  v.setUint32(o, c.verifierNodeId), o += 4;
  v.setUint8(o, c.channel), o += 1;
  out.set(c.nonce, o);
  return out;
}

/** The answer this side sends for the peer's challenge. */
export async function respond(key: CryptoKey, context: AuthContext): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, message(context)));
}

/** Whether `answer` is the right answer to our challenge (constant-time comparison). */
export function verifyAnswer(
  key: CryptoKey,
  answer: Uint8Array,
  context: AuthContext,
): Promise<boolean> {
  return crypto.subtle.verify("HMAC", key, new Uint8Array(answer), message(context));
}
