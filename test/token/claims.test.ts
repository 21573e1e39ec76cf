import { test } from "node:test";
import assert from "node:assert/strict";
import { CompactSign, importJWK, SignJWT, type JWTPayload } from "jose";
import { generateKey, publicKey, type Jwk } from "../../src/token/key.js";
import { parseExpiry, signToken, TokenError, verifyToken, type TokenFailure } from "../../src/token/claims.js";

const now = (): number => Math.floor(Date.now() / 1000);

/** Sign an arbitrary payload with jose directly, to build tokens our signer would refuse to make. */
async function raw(key: Jwk, payload: JWTPayload, alg: string = key.alg): Promise<string> {
  const { key_ops: _ops, kid: _kid, scope: _scope, ...jwk } = key;
  return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(await importJWK(jwk, alg));
}

function fails(reason: TokenFailure, message: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof TokenError, String(e));
    assert.equal(e.reason, reason);
    assert.match(e.message, message);
    return true;
  };
}

test("signed claims carry root, put, get, exp, iat and cluster", async () => {
  const key = await generateKey("HS256", "c1");
  const before = now();
  const token = await signToken(key, { root: "room", put: "alice", get: ["bob", "carol"], exp: before + 60, cluster: true });
  const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(payload).sort(), ["cluster", "exp", "get", "iat", "put", "root"]);
  assert.ok((payload.iat as number) >= before && (payload.iat as number) <= now());
  const claims = await verifyToken(key, token);
  assert.deepEqual(claims, { root: "room", put: ["alice"], get: ["bob", "carol"], exp: before + 60, iat: payload.iat, cluster: true });
});

test("a token that grants nothing is refused at sign and at verify", async () => {
  const key = await generateKey("HS256");
  await assert.rejects(signToken(key, { root: "x" }), fails("useless", /neither publish/));
  await assert.rejects(signToken(key, { root: "x", put: [], get: [] }), fails("useless", /neither publish/));
  await assert.rejects(verifyToken(key, await raw(key, { root: "x" })), fails("useless", /neither publish/));
  await assert.rejects(verifyToken(key, await raw(key, { root: "x", put: [], get: [] })), fails("useless", /neither publish/));
});

test("each failure is distinct, with a clear message", async () => {
  const key = await generateKey("ES256", "k");
  const good = await signToken(key, { root: "room", get: "" });
  const [h, p, s] = good.split(".");
  const forged = Buffer.from(JSON.stringify({ root: "", put: [""], get: [""] })).toString("base64url");
  await assert.rejects(verifyToken(key, `${h}.${forged}.${s}`), fails("bad-signature", /signature does not verify/));
  await assert.rejects(verifyToken(await generateKey("ES256", "k"), good), fails("bad-signature", /signature does not verify/));
  await assert.rejects(verifyToken(key, "not-a-token"), fails("malformed", /not a JWT/));
  await assert.rejects(verifyToken(key, `${h}.${p}`), fails("malformed", /not a JWT/));
  await assert.rejects(verifyToken(key, `${h}.!!!.${s}`), fails("malformed", /not a JWT/));
  const notJson = Buffer.from("not json").toString("base64url");
  await assert.rejects(verifyToken(key, `${h}.${notJson}.${s}`), fails("bad-signature", /signature/), "the signature is checked before the payload is read");
  await assert.rejects(verifyToken(key, await raw(key, { root: 5, get: "" } as unknown as JWTPayload)), fails("malformed", /"root"/));
  await assert.rejects(verifyToken(key, await raw(key, { root: "", get: [1] } as unknown as JWTPayload)), fails("malformed", /"get"/));
  await assert.rejects(verifyToken(key, await raw(key, { root: "", get: "", exp: "soon" } as unknown as JWTPayload)), fails("malformed", /"exp"/));
  const { key_ops: _o, kid: _k, ...jwk } = key;
  const signedText = await new CompactSign(new TextEncoder().encode("hello")).setProtectedHeader({ alg: "ES256" }).sign(await importJWK(jwk, "ES256"));
  await assert.rejects(verifyToken(key, signedText), fails("malformed", /payload is not JSON/));
  await assert.rejects(signToken(publicKey(key), { get: "" }), fails("wrong-key-use", /cannot sign/));
});

test("the header alg must be the key's: no algorithm confusion", async () => {
  const ec = await generateKey("ES256");
  const token = await signToken(ec, { root: "", get: "" });
  // An HS256 token keyed with the public key's bytes is the classic confusion attack.
  const confused = await new SignJWT({ root: "", put: [""] })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(JSON.stringify(publicKey(ec))));
  await assert.rejects(verifyToken(publicKey(ec), confused), fails("wrong-algorithm", /signed with HS256 but the key is ES256/));
  const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${token.split(".")[1]}.`;
  await assert.rejects(verifyToken(publicKey(ec), none), fails("wrong-algorithm", /none/));
  const hs = await generateKey("HS384");
  await assert.rejects(verifyToken(hs, await raw(hs, { root: "", get: "" }, "HS256")), fails("wrong-algorithm", /HS256 but the key is HS384/));
});

test("expiry is enforced with no leeway: valid through the second named by exp", async () => {
  const key = await generateKey("EdDSA");
  const exp = now() + 100;
  const token = await signToken(key, { root: "", get: "", exp });
  assert.equal((await verifyToken(key, token, exp * 1000 + 999)).exp, exp);
  await assert.rejects(verifyToken(key, token, (exp + 1) * 1000), fails("expired", /token expired at/));
  const old = await signToken(key, { root: "", get: "", exp: now() - 5 });
  await assert.rejects(verifyToken(key, old), fails("expired", /expired/));
  // A token with no exp never expires (the Rust relay does not require one).
  assert.equal((await verifyToken(key, await signToken(key, { root: "", get: "" }))).exp, undefined);
});

test("legacy pub/sub/path claims are honoured, but never alongside put/get", async () => {
  const key = await generateKey("HS256");
  const legacy = await verifyToken(key, await raw(key, { path: "demo", pub: "", sub: "x" }));
  assert.deepEqual(legacy, { root: "demo", put: [""], get: ["x"] });
  // In a modern token "sub" is the JWT subject; it must not become a subscribe grant.
  const modern = await verifyToken(key, await raw(key, { root: "room", put: ["alice"], sub: "user-42" }));
  assert.deepEqual(modern.get, []);
});

test("a key scope caps what it may sign and verify", async () => {
  const key = { ...(await generateKey("HS256")), scope: { root: "tenant", put: ["a"], get: [""] } };
  assert.ok(await signToken(key, { root: "tenant/a", put: "", get: "x" }));
  assert.ok(await signToken(key, { root: "", put: "tenant/a/cam", get: "tenant" }));
  await assert.rejects(signToken(key, { root: "tenant", put: "b" }), fails("scope-exceeded", /scope/));
  await assert.rejects(signToken(key, { root: "", get: "" }), fails("scope-exceeded", /scope/));
  await assert.rejects(signToken(key, { root: "tenantX", get: "" }), fails("scope-exceeded", /scope/), "whole segments only");
  const { scope: _s, ...unscoped } = key;
  const wide = await signToken(unscoped, { root: "", put: "" });
  await assert.rejects(verifyToken(key, wide), fails("scope-exceeded", /scope/));
});

test("expiry parsing: relative units and absolute seconds", () => {
  const t = 1_700_000_000_000;
  const s = t / 1000;
  assert.equal(parseExpiry("+1h", t), s + 3600);
  assert.equal(parseExpiry("+30m", t), s + 1800);
  assert.equal(parseExpiry("+7d", t), s + 7 * 86400);
  assert.equal(parseExpiry("+90s", t), s + 90);
  assert.equal(parseExpiry("+90", t), s + 90);
  assert.equal(parseExpiry("1800000000", t), 1_800_000_000);
  // A negative offset makes an already-expired token (for testing refusals), as `moq-token sign --expires -1h`.
  assert.equal(parseExpiry("-1h", t), s - 3600);
  assert.equal(parseExpiry("-5", t), s - 5);
  for (const bad of ["1h", "+1y", "-1y", "soon", ""]) assert.throws(() => parseExpiry(bad, t), /not an expiry/, bad);
});

test("nbf is enforced and an iat in the future is refused, each within the clock-skew allowance", async () => {
  const key = await generateKey("HS256");
  const t = now();
  // A token valid only an hour from now is not valid yet.
  await assert.rejects(verifyToken(key, await raw(key, { root: "r", get: "", nbf: t + 3600 })), fails("not-yet-valid", /not valid before/));
  await assert.rejects(verifyToken(key, await raw(key, { root: "r", get: "", iat: t + 3600 })), fails("not-yet-valid", /issued in the future/));
  // Thirty seconds ahead is a clock difference: accepted with the default 60 s, refused with none.
  const soon = await raw(key, { root: "r", get: "", nbf: t + 30, iat: t + 30 });
  assert.equal((await verifyToken(key, soon)).nbf, t + 30);
  await assert.rejects(verifyToken(key, soon, Date.now(), 0), fails("not-yet-valid", /not valid before/));
  // Once the time comes, the same token verifies without any allowance.
  assert.deepEqual((await verifyToken(key, await raw(key, { root: "r", get: "", nbf: t + 3600 }), (t + 3600) * 1000, 0)).get, [""]);
  // nbf must be a number like exp and iat.
  await assert.rejects(verifyToken(key, await raw(key, { root: "r", get: "", nbf: "soon" as unknown as number })), fails("malformed", /"nbf"/));
});
