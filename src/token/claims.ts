// Token claims and their signing/verification: the one implementation shared by `moq-token` and
// the relay. Claims: root, put (publish), get (subscribe), exp, iat, and cluster for peer relays.
// Tokens from before 2025-08 used pub/sub (and path for root); those are still honoured.
import * as jose from "jose";
import { canSign, importKey, verifierOf, type Jwk } from "./key.js";
import { withinScope } from "./scope.js";

/** Verified claims, with put/get normalised to lists. */
export interface Claims {
  root: string;
  /** Publish prefixes relative to root; "" = everything under root. */
  put: string[];
  /** Subscribe prefixes relative to root; "" = everything under root. */
  get: string[];
  /** Expiry, unix seconds. */
  exp?: number;
  /** Issued at, unix seconds. */
  iat?: number;
  /** Not before, unix seconds. */
  nbf?: number;
  /** Set on tokens for peer relays: may publish reserved namespaces (".internal/…"). */
  cluster?: boolean;
}

/** What a caller may hand to signToken: put/get as one string or a list, root defaulting to "". */
export interface ClaimsInput {
  root?: string;
  put?: string | string[];
  get?: string | string[];
  exp?: number;
  iat?: number;
  cluster?: boolean;
}

export type TokenFailure = "malformed" | "bad-signature" | "wrong-algorithm" | "expired" | "not-yet-valid" | "useless" | "wrong-key-use" | "scope-exceeded";

/** Default tolerance (ms) for nbf and iat against this machine's clock ([auth] clock_skew). */
export const DEFAULT_CLOCK_SKEW = 60_000;

export class TokenError extends Error {
  constructor(
    readonly reason: TokenFailure,
    message: string,
  ) {
    super(message);
  }
}

const USELESS = "token grants neither publish (put) nor subscribe (get)";

function strings(v: unknown, name: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string") return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  throw new TokenError("malformed", `claim "${name}" must be a string or a list of strings`);
}

function seconds(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new TokenError("malformed", `claim "${name}" must be a number of unix seconds`);
  return v;
}

/** Validate a decoded payload into Claims (refusing a token that grants nothing). */
export function toClaims(payload: Record<string, unknown>): Claims {
  const root = payload.root ?? payload.path ?? "";
  if (typeof root !== "string") throw new TokenError("malformed", `claim "root" must be a string`);
  let put = strings(payload.put, "put");
  let get = strings(payload.get, "get");
  // Legacy names only when neither current one is present: in a modern token "sub" is the JWT
  // subject (a user id), and reading it as a subscribe grant would hand out access by accident.
  if (put === undefined && get === undefined) {
    put = strings(payload.pub, "pub");
    get = strings(payload.sub, "sub");
  }
  const claims: Claims = { root, put: put ?? [], get: get ?? [] };
  const exp = seconds(payload.exp, "exp");
  const iat = seconds(payload.iat, "iat");
  const nbf = seconds(payload.nbf, "nbf");
  if (exp !== undefined) claims.exp = exp;
  if (iat !== undefined) claims.iat = iat;
  if (nbf !== undefined) claims.nbf = nbf;
  if (payload.cluster !== undefined && typeof payload.cluster !== "boolean") throw new TokenError("malformed", `claim "cluster" must be true or false`);
  if (payload.cluster === true) claims.cluster = true;
  if (claims.put.length === 0 && claims.get.length === 0) throw new TokenError("useless", USELESS);
  return claims;
}

function normaliseInput(c: ClaimsInput): Claims {
  const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : typeof v === "string" ? [v] : [...v]);
  const claims: Claims = { root: c.root ?? "", put: list(c.put), get: list(c.get) };
  for (const n of ["exp", "iat"] as const) {
    const v = c[n];
    if (v !== undefined && !Number.isInteger(v)) throw new TokenError("malformed", `${n} must be whole unix seconds`);
  }
  if (c.exp !== undefined) claims.exp = c.exp;
  claims.iat = c.iat ?? Math.floor(Date.now() / 1000);
  if (c.cluster === true) claims.cluster = true;
  return claims;
}

/** Sign claims as a compact JWS (header: the key's alg and kid, typ JWT). */
export async function signToken(key: Jwk, input: ClaimsInput): Promise<string> {
  if (!canSign(key)) throw new TokenError("wrong-key-use", "this key cannot sign (it is a public, verify-only key)");
  const claims = normaliseInput(input);
  if (claims.put.length === 0 && claims.get.length === 0) throw new TokenError("useless", `${USELESS}; pass --publish and/or --subscribe`);
  if (key.scope !== undefined && !withinScope(key.scope, claims.root, claims.put, claims.get)) {
    throw new TokenError("scope-exceeded", "the token would grant more than this key's scope allows");
  }
  // root is always written (@moq/token requires it); empty lists are left out, as the Rust tool does.
  const payload: jose.JWTPayload = { root: claims.root };
  if (claims.put.length > 0) payload.put = claims.put;
  if (claims.get.length > 0) payload.get = claims.get;
  if (claims.exp !== undefined) payload.exp = claims.exp;
  payload.iat = claims.iat;
  if (claims.cluster) payload.cluster = true;
  const header: jose.JWTHeaderParameters = { alg: key.alg, typ: "JWT" };
  if (key.kid !== undefined) header.kid = key.kid;
  return new jose.SignJWT(payload).setProtectedHeader(header).sign(await importKey(key));
}

/** The unverified header, to pick a key by kid. */
export function peekHeader(token: string): { alg: string; kid?: string } {
  let header: jose.ProtectedHeaderParameters;
  try {
    const parts = token.split(".");
    if (parts.length !== 3 || !parts.every((x) => /^[A-Za-z0-9_-]*$/.test(x))) throw new Error("shape");
    header = jose.decodeProtectedHeader(token);
  } catch {
    throw new TokenError("malformed", "not a JWT (expected three base64url parts with a JSON header)");
  }
  if (typeof header.alg !== "string") throw new TokenError("malformed", `token header has no "alg"`);
  if (header.kid !== undefined && typeof header.kid !== "string") throw new TokenError("malformed", `token header "kid" must be a string`);
  return header.kid === undefined ? { alg: header.alg } : { alg: header.alg, kid: header.kid };
}

/**
 * Verify a token with `key` at time `now` (ms) and return its claims. Checks, in order: the token
 * parses; the key may verify; the header alg is the key's (no algorithm confusion); the signature;
 * the claims; expiry (no leeway, as the Rust relay: valid through the second named by exp); not
 * before (nbf) and issued-at (iat) not in the future, each allowed `skew` ms of clock difference;
 * scope.
 */
export async function verifyToken(key: Jwk, token: string, now = Date.now(), skew = DEFAULT_CLOCK_SKEW): Promise<Claims> {
  const header = peekHeader(token);
  if (!key.key_ops.includes("verify")) throw new TokenError("wrong-key-use", "this key is not allowed to verify (key_ops lacks verify)");
  if (header.alg !== key.alg) throw new TokenError("wrong-algorithm", `token is signed with ${header.alg} but the key is ${key.alg}`);
  let body: Uint8Array;
  try {
    ({ payload: body } = await jose.compactVerify(token, await importKey(verifierOf(key)), { algorithms: [key.alg] }));
  } catch (e) {
    if (e instanceof jose.errors.JWSSignatureVerificationFailed) throw new TokenError("bad-signature", "signature does not verify with this key");
    if (e instanceof jose.errors.JOSEError) throw new TokenError("malformed", `malformed token: ${e.message}`);
    throw e; // the key itself is unusable: a KeyError from importKey
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    throw new TokenError("malformed", "token payload is not JSON");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw new TokenError("malformed", "token payload is not a JSON object");
  const claims = toClaims(payload as Record<string, unknown>);
  if (claims.exp !== undefined && claims.exp < Math.floor(now / 1000)) {
    throw new TokenError("expired", `token expired at ${new Date(claims.exp * 1000).toISOString()}`);
  }
  const latest = now + Math.max(0, skew);
  if (claims.nbf !== undefined && claims.nbf * 1000 > latest) {
    throw new TokenError("not-yet-valid", `token is not valid before ${new Date(claims.nbf * 1000).toISOString()}`);
  }
  if (claims.iat !== undefined && claims.iat * 1000 > latest) {
    throw new TokenError("not-yet-valid", `token is issued in the future (${new Date(claims.iat * 1000).toISOString()})`);
  }
  if (key.scope !== undefined && !withinScope(key.scope, claims.root, claims.put, claims.get)) {
    throw new TokenError("scope-exceeded", "token grants more than the verifying key's scope allows");
  }
  return claims;
}

const UNITS = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;

/**
 * "+1h", "+30m", "+7d", "+90s", "+90" or absolute unix seconds → unix seconds. A past offset
 * ("-1h") is allowed: an already expired token is how one tests that a relay refuses it.
 */
export function parseExpiry(v: string, now = Date.now()): number {
  const s = v.trim();
  const rel = /^([+-])(\d+)([smhdw]?)$/.exec(s);
  if (rel) return Math.floor(now / 1000) + (rel[1] === "-" ? -1 : 1) * Number(rel[2]) * UNITS[(rel[3] || "s") as keyof typeof UNITS];
  if (/^\d+$/.test(s)) return Number(s);
  throw new Error(`"${v}" is not an expiry: use unix seconds, +90s, +30m, +1h, +7d, or -1h for a token that has already expired`);
}
