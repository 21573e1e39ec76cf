import { test } from "node:test";
import assert from "node:assert/strict";
import * as moqToken from "@moq/token";
import { generateKey, parseKey, publicKey, serializeKey, type Algorithm } from "../../src/token/key.js";
import { signToken, verifyToken, TokenError } from "../../src/token/claims.js";
import type { JWK } from "jose";
import { Authenticator } from "../../src/auth/authorize.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../src/util/log.js";

const ALGS: Algorithm[] = ["HS256", "ES256", "EdDSA"];

for (const alg of ALGS) {
  test(`${alg}: keys and tokens we make are accepted by @moq/token`, async () => {
    const key = await generateKey(alg, "ours");
    const theirs = moqToken.load(serializeKey(key));
    assert.equal(theirs.alg, alg);
    const token = await signToken(key, { root: "room", put: ["alice"], get: [""], exp: Math.floor(Date.now() / 1000) + 60 });
    const verifyWith = alg === "HS256" ? theirs : moqToken.loadPublic(serializeKey(publicKey(key)));
    const claims = await moqToken.verify(verifyWith, token, "room");
    assert.deepEqual(claims.put, ["alice"]);
    assert.deepEqual(claims.get, [""]);
  });

  test(`${alg}: keys and tokens @moq/token makes are accepted by us and by the relay`, async () => {
    const theirs = await moqToken.generate(alg, "theirs");
    const text = JSON.stringify(theirs);
    const key = parseKey(text);
    const token = await moqToken.sign(theirs, { root: "room", put: "", get: [""], exp: Math.floor(Date.now() / 1000) + 60 });
    const verifyKey = alg === "HS256" ? key : parseKey(JSON.stringify(moqToken.toPublicKey(theirs)));
    const claims = await verifyToken(verifyKey, token);
    assert.equal(claims.root, "room");
    assert.deepEqual(claims.put, [""]);

    const d = mkdtempSync(join(tmpdir(), "moq-interop-"));
    writeFileSync(join(d, "root.jwk"), alg === "HS256" ? text : JSON.stringify(moqToken.toPublicKey(theirs)));
    const auth = new Authenticator({ key: join(d, "root.jwk"), keys: [], refresh: 0, public: { publish: [], subscribe: [] } }, silentLogger());
    await auth.start();
    const grant = await auth.authorize(new URL(`https://relay.example/room?jwt=${token}`));
    assert.equal(grant.root, "room");
    assert.deepEqual(grant.publish, [""]);
    auth.close();
  });
}

test("RSA (PS256) keys round-trip", async () => {
  const key = await generateKey("PS256");
  const token = await signToken(key, { root: "", put: [], get: ["x"] });
  assert.deepEqual((await verifyToken(publicKey(key), token)).get, ["x"]);
});

test("a base64url-wrapped key file (the Rust tool's format) loads", async () => {
  const key = await generateKey("HS256", "wrapped");
  const wrapped = Buffer.from(JSON.stringify(key)).toString("base64url");
  assert.equal(parseKey(wrapped).kid, "wrapped");
});

test("legacy pub/sub claims are honoured", async () => {
  const theirs = await moqToken.generate("HS256");
  const { SignJWT, importJWK } = await import("jose");
  const { key_ops: _ops, ...jwk } = theirs;
  const legacy = await new SignJWT({ root: "demo", pub: "", sub: "x" }).setProtectedHeader({ alg: "HS256" }).sign(await importJWK(jwk, "HS256"));
  const claims = await verifyToken(parseKey(JSON.stringify(theirs)), legacy);
  assert.deepEqual(claims.put, [""]);
  assert.deepEqual(claims.get, ["x"]);
});

test("a token that grants nothing is refused at sign and at verify", async () => {
  const key = await generateKey("HS256");
  await assert.rejects(signToken(key, { root: "x", put: [], get: [] }), (e: unknown) => e instanceof TokenError && e.reason === "useless");
  const { SignJWT, importJWK } = await import("jose");
  const { key_ops: _ops, ...jwk } = key;
  const useless = await new SignJWT({ root: "x" }).setProtectedHeader({ alg: "HS256" }).sign(await importJWK(jwk as JWK, "HS256"));
  await assert.rejects(verifyToken(key, useless), (e: unknown) => e instanceof TokenError && e.reason === "useless");
});
