// JSON Web Keys for moq tokens: generate, load (plain JSON or base64url-wrapped JSON, as the JS and
// Rust moq-token tools write them), derive the public half, import for jose.
import { webcrypto } from "node:crypto";
import * as jose from "jose";
import { parseScope, type KeyScope } from "./scope.js";

export const ALGORITHMS = ["HS256", "HS384", "HS512", "ES256", "ES384", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export type KeyOp = "sign" | "verify";
export type KeyType = "oct" | "EC" | "OKP" | "RSA";

/** A JWK as stored in key files. Private members are absent on public keys. */
export interface Jwk {
  kty: KeyType;
  alg: Algorithm;
  kid?: string;
  key_ops: KeyOp[];
  /** Optional ceiling on what tokens this key may sign or verify (see scope.ts). */
  scope?: KeyScope;
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

const HMAC_BYTES: Partial<Record<Algorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };
const MIN_SECRET_BYTES = 32;
const RSA_PRIVATE = ["d", "p", "q", "dp", "dq", "qi"] as const;
const MATERIAL = ["k", "x", "y", "n", "e", ...RSA_PRIVATE] as const;

export function isAlgorithm(v: unknown): v is Algorithm {
  return typeof v === "string" && (ALGORITHMS as readonly string[]).includes(v);
}

/** Key ids travel in paths and headers: 1–128 of [A-Za-z0-9_-]. */
export function validKid(kid: string): boolean {
  return /^[A-Za-z0-9_-]{1,128}$/.test(kid);
}

/** The key type an algorithm needs. */
export function ktyFor(alg: Algorithm): KeyType {
  if (alg.startsWith("HS")) return "oct";
  if (alg === "EdDSA") return "OKP";
  if (alg.startsWith("ES")) return "EC";
  return "RSA";
}

function randomKid(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString("hex");
}

export async function generateKey(alg: Algorithm, kid?: string): Promise<Jwk> {
  if (!isAlgorithm(alg)) throw new KeyError(`unsupported algorithm ${String(alg)}; use one of ${ALGORITHMS.join(", ")}`);
  const id = kid ?? randomKid();
  if (!validKid(id)) throw new KeyError(`invalid key id "${id}": use 1-128 characters of A-Z a-z 0-9 _ -`);
  const bytes = HMAC_BYTES[alg];
  if (bytes !== undefined) {
    const k = Buffer.from(webcrypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
    return { kty: "oct", alg, kid: id, key_ops: ["sign", "verify"], k };
  }
  const rsa = ktyFor(alg) === "RSA";
  const { privateKey } = await jose.generateKeyPair(alg, rsa ? { modulusLength: 2048, extractable: true } : { extractable: true });
  const raw = await jose.exportJWK(privateKey);
  const key: Jwk = { kty: ktyFor(alg), alg, kid: id, key_ops: ["sign", "verify"] };
  for (const f of ["crv", ...MATERIAL] as const) if (typeof raw[f] === "string") key[f] = raw[f];
  return key;
}

export function isSymmetric(key: Jwk): boolean {
  return key.kty === "oct";
}

/** True when the key holds what signing needs (the secret, or the private half). */
export function isPrivate(key: Jwk): boolean {
  return key.kty === "oct" || key.d !== undefined;
}

export function canSign(key: Jwk): boolean {
  return key.key_ops.includes("sign") && isPrivate(key);
}

/** The verify-only half of an asymmetric key (keeps kid and scope). */
export function publicKey(key: Jwk): Jwk {
  if (isSymmetric(key)) throw new KeyError("a symmetric (HS*) key has no public half; the relay needs the secret key itself");
  const out: Jwk = { ...key, key_ops: ["verify"] };
  for (const f of RSA_PRIVATE) delete out[f];
  return out;
}

/** The key jose should verify with: WebCrypto will only verify with a public key. */
export function verifierOf(key: Jwk): Jwk {
  if (isSymmetric(key) || key.d === undefined) return key;
  let half = halves.get(key);
  if (half === undefined) {
    half = publicKey(key);
    halves.set(key, half);
  }
  return half;
}
const halves = new WeakMap<Jwk, Jwk>();

/** Parse a key file's text: JSON, or base64url (padded or not) of JSON. */
export function parseKey(text: string): Jwk {
  const trimmed = text.trim();
  if (trimmed === "") throw new KeyError("not a JWK: the key is empty");
  let json = trimmed;
  if (!trimmed.startsWith("{")) {
    if (!/^[A-Za-z0-9_\-+/]+=*$/.test(trimmed)) throw new KeyError("not a JWK: expected JSON or base64url-encoded JSON");
    json = Buffer.from(trimmed, "base64url").toString("utf8").trim();
    if (!json.startsWith("{")) throw new KeyError("not a JWK: expected JSON or base64url-encoded JSON");
  }
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    // JSON.parse quotes the input in its message; this is secret material, so say less.
    throw new KeyError("not a JWK: invalid JSON");
  }
  return toJwk(raw);
}

/** Validate a decoded JWK object. Unknown members are dropped; base64url members are canonicalised. */
export function toJwk(raw: unknown): Jwk {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new KeyError("not a JWK: expected a JSON object");
  const o = raw as Record<string, unknown>;
  if (!isAlgorithm(o.alg)) throw new KeyError(`unsupported or missing alg ${JSON.stringify(o.alg ?? null)}; use one of ${ALGORITHMS.join(", ")}`);
  const alg = o.alg;
  const kty = o.kty ?? "oct"; // keys written before kty existed were always symmetric
  if (kty !== ktyFor(alg)) throw new KeyError(`alg ${alg} needs kty "${ktyFor(alg)}", got ${JSON.stringify(kty)}`);
  const key: Jwk = { kty: ktyFor(alg), alg, key_ops: keyOps(o.key_ops) };
  if (o.kid !== undefined) {
    if (typeof o.kid !== "string" || !validKid(o.kid)) throw new KeyError("invalid kid: use 1-128 characters of A-Z a-z 0-9 _ -");
    key.kid = o.kid;
  }
  if (o.scope !== undefined) {
    try {
      key.scope = parseScope(o.scope);
    } catch (e) {
      throw new KeyError((e as Error).message);
    }
  }
  for (const f of MATERIAL) if (o[f] !== undefined) key[f] = base64url(o[f], f);
  if (o.crv !== undefined) {
    if (typeof o.crv !== "string") throw new KeyError(`"crv" must be a string`);
    key.crv = o.crv;
  }
  checkMaterial(key);
  return key;
}

function keyOps(v: unknown): KeyOp[] {
  if (v === undefined) return ["sign", "verify"];
  if (!Array.isArray(v) || !v.every((x) => x === "sign" || x === "verify" || x === "encrypt" || x === "decrypt")) {
    throw new KeyError(`"key_ops" must be a list of sign, verify, encrypt, decrypt`);
  }
  const ops = v.filter((x): x is KeyOp => x === "sign" || x === "verify");
  if (ops.length === 0) throw new KeyError(`"key_ops" allows neither sign nor verify`);
  return [...new Set(ops)];
}

/** Decode and re-encode, so padded or standard-alphabet input reaches WebCrypto in the form it wants. */
function base64url(v: unknown, field: string): string {
  if (typeof v !== "string" || !/^[A-Za-z0-9_\-+/]+=*$/.test(v.trim())) throw new KeyError(`"${field}" must be base64url`);
  return Buffer.from(v.trim(), "base64url").toString("base64url");
}

function bytes(v: string | undefined): number {
  return v === undefined ? 0 : Buffer.from(v, "base64url").length;
}

function checkMaterial(key: Jwk): void {
  const need = (...fields: Array<keyof Jwk>): void => {
    for (const f of fields) if (key[f] === undefined) throw new KeyError(`${key.kty} key for ${key.alg} is missing "${f}"`);
  };
  switch (key.kty) {
    case "oct":
      need("k");
      if (bytes(key.k) < MIN_SECRET_BYTES) throw new KeyError(`symmetric key must hold at least ${MIN_SECRET_BYTES} bytes`);
      return;
    case "EC": {
      const [crv, size] = key.alg === "ES256" ? ["P-256", 32] : ["P-384", 48];
      if (key.crv !== crv) throw new KeyError(`alg ${key.alg} needs curve ${crv}, got ${JSON.stringify(key.crv ?? null)}`);
      need("x", "y");
      if (bytes(key.x) !== size || bytes(key.y) !== size) throw new KeyError(`${crv} coordinates must be ${size} bytes`);
      return;
    }
    case "OKP":
      if (key.crv !== "Ed25519") throw new KeyError(`only Ed25519 OKP keys are supported, got ${JSON.stringify(key.crv ?? null)}`);
      need("x");
      if (bytes(key.x) !== 32) throw new KeyError("Ed25519 public key must be 32 bytes");
      return;
    case "RSA": {
      need("n", "e");
      // WebCrypto (and @moq/token) want all CRT members whenever any private member is present.
      const present = RSA_PRIVATE.filter((f) => key[f] !== undefined);
      if (present.length > 0 && present.length < RSA_PRIVATE.length) throw new KeyError(`RSA private key needs all of ${RSA_PRIVATE.join(", ")}`);
      if (bytes(key.n) * 8 < 2048) throw new KeyError("RSA modulus must be at least 2048 bits");
      return;
    }
  }
}

/** The text we write to key files: pretty JSON, which @moq/token and the Rust tool both load. */
export function serializeKey(key: Jwk): string {
  return `${JSON.stringify(key, null, 2)}\n`;
}

type JoseKey = Awaited<ReturnType<typeof jose.importJWK>>;
const imported = new WeakMap<Jwk, Promise<JoseKey>>();

/** Import once per key object: jose's import is not free and the relay verifies per connection. */
export function importKey(key: Jwk): Promise<JoseKey> {
  let p = imported.get(key);
  if (p === undefined) {
    const { key_ops: _ops, scope: _scope, kid: _kid, ...jwk } = key;
    p = jose.importJWK(jwk as jose.JWK, key.alg).catch((e: unknown) => {
      imported.delete(key);
      throw new KeyError(`the ${key.alg} key${key.kid === undefined ? "" : ` ${key.kid}`} cannot be used: ${(e as Error).message}`);
    });
    imported.set(key, p);
  }
  return p;
}
