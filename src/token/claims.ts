// Token claims and their signing/verification: the one implementation shared by `moq-token` and
// the relay. Claims: root, put (publish), get (subscribe), exp, iat, and cluster for peer relays;
// the legacy pub/sub names are still honoured when verifying.
import * as jose from "jose";
import { importKey, isPrivate, isSymmetric, publicKey, type Jwk } from "./key.js";

export interface Claims {
  root: string;
  put: string[];
  get: string[];
  /** Expiry, unix seconds. */
  exp?: number;
  /** Issued at, unix seconds. */
  iat?: number;
  /** Set on tokens for peer relays: may publish reserved namespaces (".internal/…"). */
  cluster?: boolean;
}

export type TokenFailure = "malformed" | "bad-signature" | "wrong-algorithm" | "expired" | "useless" | "unknown-kid" | "wrong-key-use";

export class TokenError extends Error {
  constructor(
    readonly reason: TokenFailure,
    message: string,
  ) {
    super(message);
  }
}

function strings(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  throw new TokenError("malformed", `claim "${name}" must be a string or a list of strings`);
}

/** Validate a decoded payload into Claims. */
export function toClaims(payload: Record<string, unknown>): Claims {
  const root = payload.root ?? payload.path ?? "";
  if (typeof root !== "string") throw new TokenError("malformed", `claim "root" must be a string`);
  const put = strings(payload.put, "put") ?? strings(payload.pub, "pub") ?? [];
  const get = strings(payload.get, "get") ?? strings(payload.sub, "sub") ?? [];
  for (const n of ["exp", "iat"] as const) {
    if (payload[n] !== undefined && typeof payload[n] !== "number") throw new TokenError("malformed", `claim "${n}" must be a number`);
  }
  if (payload.cluster !== undefined && typeof payload.cluster !== "boolean") throw new TokenError("malformed", `claim "cluster" must be a boolean`);
  const claims: Claims = { root, put, get };
  if (typeof payload.exp === "number") claims.exp = payload.exp;
  if (typeof payload.iat === "number") claims.iat = payload.iat;
  if (payload.cluster === true) claims.cluster = true;
  if (put.length === 0 && get.length === 0) throw new TokenError("useless", "token grants neither publish (put) nor subscribe (get)");
  return claims;
}

export async function signToken(key: Jwk, claims: Claims): Promise<string> {
  if (!key.key_ops.includes("sign") || !isPrivate(key)) throw new TokenError("wrong-key-use", "this key cannot sign (it is a public, verify-only key)");
  if (claims.put.length === 0 && claims.get.length === 0) throw new TokenError("useless", "token grants neither publish nor subscribe; pass --publish and/or --subscribe");
  const payload: jose.JWTPayload = { root: claims.root, put: claims.put, get: claims.get };
  if (claims.exp !== undefined) payload.exp = claims.exp;
  payload.iat = claims.iat ?? Math.floor(Date.now() / 1000);
  if (claims.cluster) payload.cluster = true;
  const header: jose.JWTHeaderParameters = { alg: key.alg, typ: "JWT" };
  if (key.kid !== undefined) header.kid = key.kid;
  return new jose.SignJWT(payload).setProtectedHeader(header).sign(await importKey(key));
}

/** The unverified header, to pick a key by kid. */
export function peekHeader(token: string): { alg?: string; kid?: string } {
  try {
    return jose.decodeProtectedHeader(token);
  } catch {
    throw new TokenError("malformed", "not a JWT (expected three base64url parts)");
  }
}

/** Verify signature, algorithm and expiry (`now` in ms); returns the claims. */
export async function verifyToken(key: Jwk, token: string, now = Date.now()): Promise<Claims> {
  const header = peekHeader(token);
  if (!key.key_ops.includes("verify")) throw new TokenError("wrong-key-use", "this key is not allowed to verify");
  // The header's alg must be the key's: no algorithm confusion.
  if (header.alg !== key.alg) throw new TokenError("wrong-algorithm", `token algorithm ${String(header.alg)} does not match the key's ${key.alg}`);
  let payload: jose.JWTPayload;
  try {
    // A private asymmetric key verifies through its public half (WebCrypto insists).
    const verifier = isSymmetric(key) || key.d === undefined ? key : publicHalf(key);
    ({ payload } = await jose.jwtVerify(token, await importKey(verifier), { algorithms: [key.alg], currentDate: new Date(now), clockTolerance: 0 }));
  } catch (e) {
    if (e instanceof jose.errors.JWTExpired) throw new TokenError("expired", "token expired");
    if (e instanceof jose.errors.JWSSignatureVerificationFailed) throw new TokenError("bad-signature", "signature does not verify with this key");
    if (e instanceof jose.errors.JWSInvalid || e instanceof jose.errors.JWTInvalid || e instanceof jose.errors.JWTClaimValidationFailed) {
      throw new TokenError("malformed", `malformed token: ${e.message}`);
    }
    throw new TokenError("malformed", `token rejected: ${(e as Error).message}`);
  }
  return toClaims(payload as Record<string, unknown>);
}

const halves = new WeakMap<Jwk, Jwk>();
function publicHalf(key: Jwk): Jwk {
  let half = halves.get(key);
  if (half === undefined) {
    half = publicKey(key);
    halves.set(key, half);
  }
  return half;
}

/** "+1h", "+30m", "+7d", "+90s" or absolute unix seconds → unix seconds. */
export function parseExpiry(v: string, now = Date.now()): number {
  const rel = /^\+(\d+)([smhd])$/.exec(v.trim());
  if (rel) {
    const mult = { s: 1, m: 60, h: 3600, d: 86400 }[rel[2] as "s" | "m" | "h" | "d"];
    return Math.floor(now / 1000) + Number(rel[1]) * mult;
  }
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  throw new Error(`"${v}" is not an expiry: use unix seconds or +30m, +1h, +7d`);
}
