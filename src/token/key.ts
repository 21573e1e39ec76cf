// JSON Web Keys for moq tokens: generate, load (plain JSON or base64url-wrapped JSON, as the Rust
// and JS moq-token tools write them), derive the public half, import for jose.
import { webcrypto } from "node:crypto";
import * as jose from "jose";

export const ALGORITHMS = ["HS256", "HS384", "HS512", "ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export type KeyOp = "sign" | "verify";

/** A JWK as stored in key files. Private members are absent on public keys. */
export interface Jwk {
  kty: "oct" | "EC" | "OKP" | "RSA";
  alg: Algorithm;
  kid?: string;
  key_ops: KeyOp[];
  k?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  d?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
}

export class KeyError extends Error {}

const HMAC_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };
const PRIVATE_FIELDS = ["d", "p", "q", "dp", "dq", "qi"] as const;

export function isAlgorithm(v: string): v is Algorithm {
  return (ALGORITHMS as readonly string[]).includes(v);
}

export function validKid(kid: string): boolean {
  return /^[A-Za-z0-9_-]{1,128}$/.test(kid);
}

function randomKid(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex");
}

export async function generateKey(alg: Algorithm, kid?: string): Promise<Jwk> {
  const id = kid ?? randomKid();
  if (!validKid(id)) throw new KeyError(`invalid key id "${id}": use 1-128 of A-Z a-z 0-9 _ -`);
  const hmac = HMAC_BYTES[alg];
  if (hmac !== undefined) {
    const k = Buffer.from(webcrypto.getRandomValues(new Uint8Array(hmac))).toString("base64url");
    return { kty: "oct", alg, kid: id, key_ops: ["sign", "verify"], k };
  }
  const options = alg.startsWith("RS") || alg.startsWith("PS") ? { modulusLength: 2048, extractable: true } : { extractable: true };
  const { privateKey } = await jose.generateKeyPair(alg, options);
  const jwk = (await jose.exportJWK(privateKey)) as Record<string, string>;
  return { ...(jwk as unknown as Jwk), alg, kid: id, key_ops: ["sign", "verify"] };
}

export function isSymmetric(key: Jwk): boolean {
  return key.kty === "oct";
}

export function isPrivate(key: Jwk): boolean {
  return key.kty === "oct" || key.d !== undefined;
}

/** The verify-only half of an asymmetric key. */
export function publicKey(key: Jwk): Jwk {
  if (isSymmetric(key)) throw new KeyError("a symmetric (HS*) key has no public half; the relay needs the secret key itself");
  const out: Jwk = { ...key, key_ops: ["verify"] };
  for (const f of PRIVATE_FIELDS) delete out[f];
  return out;
}

/** Parse a key file's text: JSON, or base64url of JSON. */
export function parseKey(text: string): Jwk {
  const trimmed = text.trim();
  let json: string = trimmed;
  if (!trimmed.startsWith("{")) {
    json = Buffer.from(trimmed, "base64url").toString("utf8");
    if (!json.trim().startsWith("{")) throw new KeyError("not a JWK: expected JSON or base64url-encoded JSON");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new KeyError("not a JWK: invalid JSON");
  }
  return validate(raw);
}

function validate(raw: unknown): Jwk {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new KeyError("not a JWK: expected a JSON object");
  const o = raw as Record<string, unknown>;
  if (typeof o.alg !== "string" || !isAlgorithm(o.alg)) throw new KeyError(`unsupported or missing alg ${JSON.stringify(o.alg)}`);
  const alg = o.alg;
  const kty = o.kty ?? "oct"; // keys written before kty existed were always symmetric
  const expected = alg.startsWith("HS") ? "oct" : alg === "EdDSA" ? "OKP" : alg.startsWith("ES") ? "EC" : "RSA";
  if (kty !== expected) throw new KeyError(`alg ${alg} needs kty ${expected}, got ${String(kty)}`);
  if (o.kid !== undefined && (typeof o.kid !== "string" || !validKid(o.kid))) throw new KeyError("invalid kid");
  const ops = o.key_ops ?? ["sign", "verify"];
  if (!Array.isArray(ops) || !ops.every((x) => x === "sign" || x === "verify" || x === "encrypt" || x === "decrypt")) {
    throw new KeyError("invalid key_ops");
  }
  const key = { ...o, kty, key_ops: ops.filter((x): x is KeyOp => x === "sign" || x === "verify") } as Jwk;
  if (kty === "oct") {
    const bytes = typeof key.k === "string" ? Buffer.from(key.k, "base64url").length : 0;
    if (bytes < 32) throw new KeyError("symmetric key must hold at least 32 bytes");
  }
  if (kty === "EC" && key.crv !== (alg === "ES256" ? "P-256" : "P-384")) throw new KeyError(`alg ${alg} needs curve ${alg === "ES256" ? "P-256" : "P-384"}`);
  if (kty === "OKP" && key.crv !== "Ed25519") throw new KeyError("only Ed25519 OKP keys are supported");
  return key;
}

/** The JSON we write to key files. */
export function serializeKey(key: Jwk): string {
  return `${JSON.stringify(key, null, 2)}\n`;
}

type JoseKey = Awaited<ReturnType<typeof jose.importJWK>>;
const imported = new WeakMap<Jwk, Promise<JoseKey>>();

/** Import once per key object; jose's import is not free and the relay verifies per connection. */
export function importKey(key: Jwk): Promise<JoseKey> {
  let p = imported.get(key);
  if (p === undefined) {
    const { key_ops: _ops, ...jwk } = key;
    p = jose.importJWK(jwk as jose.JWK, key.alg);
    imported.set(key, p);
  }
  return p;
}
