// The relay's authorisation decisions for connection URLs: the matrix a deployment relies on.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Authenticator, AuthError, canPublish, canSubscribe, type AuthReason, type Grant } from "../../src/auth/authorize.js";
import { generateKey, publicKey, serializeKey, type Jwk } from "../../src/token/key.js";
import { signToken, type ClaimsInput } from "../../src/token/claims.js";
import type { AuthConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/util/log.js";

const d = mkdtempSync(join(tmpdir(), "moq-auth-"));
after(() => rmSync(d, { recursive: true, force: true }));
const now = (): number => Math.floor(Date.now() / 1000);
const NO_PUBLIC = { publish: [], subscribe: [] };
let files = 0;

/** An Authenticator verifying with the public half of `key` (written to a file), closed after the test. */
async function relay(t: { after: (fn: () => void) => void }, key: Jwk, cfg: Partial<AuthConfig> = {}): Promise<Authenticator> {
  const file = join(d, `key-${files++}.jwk`);
  writeFileSync(file, serializeKey(key.kty === "oct" ? key : publicKey(key)));
  const auth = new Authenticator({ key: file, keys: [], refresh: 0, public: NO_PUBLIC, clock_skew: 60_000, ...cfg }, silentLogger());
  await auth.start();
  t.after(() => auth.close());
  return auth;
}

function url(path: string, token?: string): URL {
  return new URL(`https://relay.example${path}${token === undefined ? "" : `?jwt=${token}`}`);
}

async function refused(p: Promise<Grant>, reason: AuthReason, status = 401, token?: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AuthError, String(e));
    assert.equal(e.reason, reason, e.message);
    assert.equal(e.status, status);
    assert.equal(e.code, 6, "moq-lite Unauthorized");
    if (token !== undefined) for (const part of token.split(".")) if (part.length > 8) assert.ok(!e.message.includes(part), "the token never appears in errors");
    return true;
  });
}

const key = await generateKey("ES256", "k1");
const sign = (c: ClaimsInput, k: Jwk = key): Promise<string> => signToken(k, { root: "room/123", exp: now() + 60, ...c });

test("a valid token grants what it says, relative to the connection path", async (t) => {
  const auth = await relay(t, key);
  const exp = now() + 60;
  const g = await auth.authorize(url("/room/123", await sign({ put: ["alice"], get: [""], exp })));
  assert.deepEqual(g, { root: "room/123", publish: ["alice"], subscribe: [""], cluster: false, anonymous: false, kid: "k1", expiresAt: exp * 1000 });
  assert.ok(canPublish(g, "alice/cam"));
  assert.ok(!canPublish(g, "bob"));
  assert.ok(canSubscribe(g, "bob"));
});

test("parent and child connection paths (the Rust examples, through the relay)", async (t) => {
  const auth = await relay(t, key);
  const token = await sign({ put: ["alice"], get: [""] });
  const at = async (path: string): Promise<[string[], string[]]> => {
    const g = await auth.authorize(url(path, token));
    return [g.publish, g.subscribe];
  };
  assert.deepEqual(await at("/room/123"), [["alice"], [""]]);
  assert.deepEqual(await at("/room/123/alice"), [[""], [""]]);
  assert.deepEqual(await at("/room/123/bob/"), [[], [""]], "losing one role is fine");
  assert.deepEqual(await at("/room"), [["123/alice"], ["123"]]);
  assert.deepEqual(await at("/"), [["room/123/alice"], ["room/123"]]);
  assert.deepEqual(await at("//room///123"), [["alice"], [""]], "the URL path is normalised");
  await refused(auth.authorize(url("/room/1234", token)), "incorrect-root");
  const split = await sign({ root: "room/123", put: ["users/alice/camera"], get: ["users/bob/screen"] });
  const g = await auth.authorize(url("/room/123/users", split));
  assert.deepEqual([g.publish, g.subscribe], [["alice/camera"], ["bob/screen"]]);
  // Below a publish-only grant for alice, bob's path has nothing left: refused, not an empty grant.
  await refused(auth.authorize(url("/room/123/bob", await sign({ put: ["alice"] }))), "incorrect-root");
});

test("the authorisation matrix", async (t) => {
  const auth = await relay(t, key, { public: { publish: ["anon"], subscribe: ["anon", "demo"] } });
  const cases: Array<[string, () => Promise<string>, string, AuthReason]> = [
    ["wrong root", () => sign({ get: [""] }), "/elsewhere", "incorrect-root"],
    ["expired", () => sign({ get: [""], exp: now() - 1 }), "/room/123", "expired"],
    ["tampered payload", async () => {
      const [h, , s] = (await sign({ get: [""] })).split(".");
      return `${h}.${Buffer.from(JSON.stringify({ root: "", put: [""], get: [""] })).toString("base64url")}.${s}`;
    }, "/room/123", "bad-signature"],
    ["tampered signature", async () => {
      const [h, p, s] = (await sign({ get: [""] })).split(".");
      return `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`;
    }, "/room/123", "bad-signature"],
    ["signed by another key with the same kid", async () => sign({ get: [""] }, await generateKey("ES256", "k1")), "/room/123", "bad-signature"],
    ["unknown kid", async () => sign({ get: [""] }, await generateKey("ES256", "k9")), "/room/123", "unknown-kid"],
    ["wrong algorithm", async () => sign({ get: [""] }, await generateKey("HS256", "k1")), "/room/123", "wrong-algorithm"],
    ["garbage", async () => "abc", "/room/123", "malformed"],
    ["useless", async () => {
      const { SignJWT, importJWK } = await import("jose");
      const { key_ops: _o, kid: _k, ...jwk } = key;
      return new SignJWT({ root: "room/123" }).setProtectedHeader({ alg: "ES256", kid: "k1" }).sign(await importJWK(jwk, "ES256"));
    }, "/room/123", "useless"],
  ];
  for (const [name, make, path, reason] of cases) {
    await t.test(name, async () => {
      const token = await make();
      await refused(auth.authorize(url(path, token)), reason, 401, token);
    });
  }
  await t.test("missing put: publish denied, subscribe allowed", async () => {
    const g = await auth.authorize(url("/room/123", await sign({ get: [""] })));
    assert.ok(!canPublish(g, "x"));
    assert.ok(canSubscribe(g, "x"));
  });
  await t.test("missing get: subscribe denied, publish allowed", async () => {
    const g = await auth.authorize(url("/room/123", await sign({ put: [""] })));
    assert.ok(!canSubscribe(g, "x"));
    assert.ok(canPublish(g, "x"));
  });
  await t.test("bad percent-encoding in the path", async () => refused(auth.authorize(url("/room/%E0%A4%A")), "invalid-path"));
});

test("public prefixes: anonymous sessions allowed and denied", async (t) => {
  const auth = await relay(t, key, { public: { publish: ["anon"], subscribe: ["anon", "demo"] } });
  const anon = await auth.authorize(url("/anon"));
  assert.deepEqual(anon, { root: "anon", publish: [""], subscribe: [""], cluster: false, anonymous: true });
  const demo = await auth.authorize(url("/demo/room"));
  assert.ok(canSubscribe(demo, "x"));
  assert.ok(!canPublish(demo, "x"), "demo is subscribe-only");
  const root = await auth.authorize(url("/"));
  assert.deepEqual([root.publish, root.subscribe], [["anon"], ["anon", "demo"]]);
  assert.deepEqual((await auth.authorize(url("/anon?jwt="))).anonymous, true, "an empty jwt is no token");
  await refused(auth.authorize(url("/private")), "expected-token");
  await refused(auth.authorize(url("/anonymous")), "expected-token", 401, undefined);
});

test("a present but invalid token is never downgraded to public access", async (t) => {
  const auth = await relay(t, key, { public: { publish: [""], subscribe: [""] } });
  await refused(auth.authorize(url("/anything", "abc")), "malformed");
  await refused(auth.authorize(url("/anything", await sign({ root: "", get: [""], exp: now() - 5 }))), "expired");
  await refused(auth.authorize(url("/anything", await sign({ root: "", get: [""] }, await generateKey("ES256", "k1")))), "bad-signature");
  await refused(auth.authorize(url("/anything", await sign({ root: "other", get: [""] }))), "incorrect-root");
  // Of several jwt parameters the last non-empty one counts; an invalid one still refuses.
  const good = await sign({ root: "", get: [""] });
  assert.equal((await auth.authorize(new URL(`https://r.example/x?jwt=abc&jwt=${good}&jwt=`))).anonymous, false);
  await refused(auth.authorize(new URL(`https://r.example/x?jwt=${good}&jwt=abc`)), "malformed");
});

test("a token sent to a relay with no keys is refused, even on a public path", async (t) => {
  const auth = new Authenticator({ keys: [], refresh: 0, clock_skew: 60_000, public: { publish: [""], subscribe: [""] } }, silentLogger());
  await auth.start();
  t.after(() => auth.close());
  assert.ok((await auth.authorize(url("/x"))).anonymous);
  await refused(auth.authorize(url("/x", await sign({ root: "", get: [""] }))), "unexpected-token");
});

test("reserved namespaces need a cluster token, even with publish rights at the root", async (t) => {
  const auth = await relay(t, key, { public: { publish: [""], subscribe: [""] } });
  const user = await auth.authorize(url("/", await sign({ root: "", put: [""], get: [""] })));
  assert.ok(!canPublish(user, ".internal/origins/x"));
  assert.ok(canPublish(user, "room/x"));
  const anon = await auth.authorize(url("/"));
  assert.ok(!canPublish(anon, ".stats/x"), "public publish access does not reach reserved namespaces");
  const peer = await auth.authorize(url("/", await sign({ root: "", put: [""], get: [""], cluster: true })));
  assert.equal(peer.cluster, true);
  assert.ok(canPublish(peer, ".internal/origins/x"));
});
