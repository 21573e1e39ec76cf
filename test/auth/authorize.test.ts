import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Authenticator, AuthError, canPublish, canSubscribe, rebase, type Grant } from "../../src/auth/authorize.js";
import { generateKey, publicKey, serializeKey, type Jwk } from "../../src/token/key.js";
import { signToken, type Claims } from "../../src/token/claims.js";
import type { AuthConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/util/log.js";

const d = mkdtempSync(join(tmpdir(), "moq-auth-"));

async function setup(cfg: Partial<AuthConfig> = {}): Promise<{ auth: Authenticator; key: Jwk }> {
  const key = await generateKey("ES256", "k1");
  const file = join(d, `k1-${Math.random().toString(16).slice(2)}.jwk`);
  writeFileSync(file, serializeKey(publicKey(key)));
  const auth = new Authenticator({ key: file, keys: [], refresh: 0, public: { publish: [], subscribe: [] }, ...cfg }, silentLogger());
  await auth.start();
  return { auth, key };
}

function url(path: string, token?: string): URL {
  return new URL(`https://relay.example${path}${token === undefined ? "" : `?jwt=${token}`}`);
}

async function rejects(p: Promise<Grant>, reason: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AuthError, String(e));
    assert.equal(e.reason, reason);
    assert.equal(e.code, 6);
    return true;
  });
}

const claims = (c: Partial<Claims>): Claims => ({ root: "room/123", put: [], get: [], ...c });

test("the Rust relay's root examples", () => {
  assert.deepEqual(rebase("room/123", ["alice"], [""], "room/123"), { publish: ["alice"], subscribe: [""] });
  assert.deepEqual(rebase("room/123", ["alice"], [""], "room/123/alice"), { publish: [""], subscribe: [""] });
  assert.deepEqual(rebase("room/123", ["alice"], ["bob"], "room/123/bob"), { publish: [], subscribe: [""] });
  assert.deepEqual(rebase("room/123", ["users/alice/camera"], ["users/bob/screen"], "room/123/users"), { publish: ["alice/camera"], subscribe: ["bob/screen"] });
  assert.deepEqual(rebase("room/123", ["alice"], [], "room"), { publish: ["123/alice"], subscribe: [] });
  assert.equal(rebase("room/123", [""], [""], "room/1234"), undefined, "whole-segment match only");
});

test("a valid token grants what it says, relative to the connection path", async () => {
  const { auth, key } = await setup();
  const token = await signToken(key, claims({ put: ["alice"], get: [""], exp: Math.floor(Date.now() / 1000) + 60 }));
  const g = await auth.authorize(url("/room/123", token));
  assert.equal(g.root, "room/123");
  assert.deepEqual(g.publish, ["alice"]);
  assert.ok(canPublish(g, "alice/cam"));
  assert.ok(!canPublish(g, "bob"));
  assert.ok(canSubscribe(g, "bob"));
  assert.ok(g.expiresAt !== undefined && g.expiresAt > Date.now());
});

test("the authorisation matrix", async (t) => {
  const { auth, key } = await setup({ public: { publish: ["anon"], subscribe: ["anon", "demo"] } });
  const other = await generateKey("ES256", "k1");
  await t.test("wrong root", async () => rejects(auth.authorize(url("/elsewhere", await signToken(key, claims({ get: [""] })))), "incorrect-root"));
  await t.test("missing put: publish denied, subscribe allowed", async () => {
    const g = await auth.authorize(url("/room/123", await signToken(key, claims({ get: [""] }))));
    assert.ok(!canPublish(g, "x"));
    assert.ok(canSubscribe(g, "x"));
  });
  await t.test("missing get: subscribe denied", async () => {
    const g = await auth.authorize(url("/room/123", await signToken(key, claims({ put: [""] }))));
    assert.ok(!canSubscribe(g, "x"));
  });
  await t.test("expired at connect", async () => rejects(auth.authorize(url("/room/123", await signToken(key, claims({ get: [""], exp: Math.floor(Date.now() / 1000) - 1 })))), "expired"));
  await t.test("tampered payload", async () => {
    const token = await signToken(key, claims({ get: [""] }));
    const [h, , s] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ root: "", put: [""], get: [""] })).toString("base64url");
    await rejects(auth.authorize(url("/room/123", `${h}.${forged}.${s}`)), "bad-signature");
  });
  await t.test("signed by another key with the same kid", async () => rejects(auth.authorize(url("/room/123", await signToken(other, claims({ get: [""] })))), "bad-signature"));
  await t.test("unknown kid", async () => {
    const stranger = await generateKey("ES256", "k9");
    await rejects(auth.authorize(url("/room/123", await signToken(stranger, claims({ get: [""] })))), "unknown-kid");
  });
  await t.test("wrong algorithm", async () => {
    const hs = await generateKey("HS256", "k1");
    await rejects(auth.authorize(url("/room/123", await signToken(hs, claims({ get: [""] })))), "wrong-algorithm");
  });
  await t.test("garbage token", async () => rejects(auth.authorize(url("/room/123", "abc")), "malformed"));
  await t.test("public prefix: anonymous allowed under anon, subscribe-only under demo", async () => {
    const g = await auth.authorize(url("/anon"));
    assert.ok(g.anonymous);
    assert.ok(canPublish(g, "bbb"));
    const demo = await auth.authorize(url("/demo/room"));
    assert.ok(canSubscribe(demo, "x"));
    assert.ok(!canPublish(demo, "x"));
    const root = await auth.authorize(url("/"));
    assert.deepEqual(root.subscribe, ["anon", "demo"]);
  });
  await t.test("anonymous outside public prefixes is refused", async () => rejects(auth.authorize(url("/private")), "expected-token"));
  await t.test("an invalid token is never downgraded to public", async () => rejects(auth.authorize(url("/anon", "abc")), "malformed"));
  await t.test("reserved namespaces need a cluster token", async () => {
    const user = await auth.authorize(url("/", await signToken(key, { root: "", put: [""], get: [""] })));
    assert.ok(!canPublish(user, ".internal/origins/x"));
    assert.ok(canPublish(user, "room/x"));
    const peer = await auth.authorize(url("/", await signToken(key, { root: "", put: [""], get: [""], cluster: true })));
    assert.ok(canPublish(peer, ".internal/origins/x"));
  });
  auth.close();
});

test("keys rotate without a restart, and several keys are chosen by kid", async () => {
  const a = await generateKey("EdDSA", "a");
  const b = await generateKey("EdDSA", "b");
  const fa = join(d, "rot-a.jwk");
  const fb = join(d, "rot-b.jwk");
  writeFileSync(fa, serializeKey(publicKey(a)));
  writeFileSync(fb, serializeKey(publicKey(a)));
  const auth = new Authenticator({ keys: [fa, fb], refresh: 0, public: { publish: [], subscribe: [] } }, silentLogger());
  await auth.start();
  await rejects(auth.authorize(url("/", await signToken(b, { root: "", put: [], get: [""] }))), "unknown-kid");
  writeFileSync(fb, serializeKey(publicKey(b)));
  await auth.keys.reload();
  const g = await auth.authorize(url("/", await signToken(b, { root: "", put: [], get: [""] })));
  assert.equal(g.kid, "b");
  assert.ok(await auth.authorize(url("/", await signToken(a, { root: "", put: [], get: [""] }))));
  auth.close();
});

test("a JWKS file with two keys", async () => {
  const a = await generateKey("ES256", "one");
  const b = await generateKey("HS256", "two");
  const file = join(d, "jwks.json");
  writeFileSync(file, JSON.stringify({ keys: [publicKey(a), b] }));
  const auth = new Authenticator({ jwks: file, keys: [], refresh: 0, public: { publish: [], subscribe: [] } }, silentLogger());
  await auth.start();
  assert.equal((await auth.authorize(url("/", await signToken(a, { root: "", put: [""], get: [] })))).kid, "one");
  assert.equal((await auth.authorize(url("/", await signToken(b, { root: "", put: [""], get: [] })))).kid, "two");
  auth.close();
});
