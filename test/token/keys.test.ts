import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKey, KeyError, parseKey, publicKey, serializeKey, toJwk, type Algorithm } from "../../src/token/key.js";
import { signToken, verifyToken } from "../../src/token/claims.js";

const now = (): number => Math.floor(Date.now() / 1000);

// Every non-RSA algorithm plus one of each RSA family (RSA key generation is slow).
const ROUND_TRIP: Algorithm[] = ["HS256", "HS384", "HS512", "ES256", "ES384", "EdDSA", "RS256", "PS384"];

for (const alg of ROUND_TRIP) {
  test(`${alg}: generate, save, load, sign and verify`, async () => {
    const key = parseKey(serializeKey(await generateKey(alg)));
    assert.equal(key.alg, alg);
    assert.match(key.kid ?? "", /^[0-9a-f]{16}$/, "a random kid is 16 hex characters");
    assert.deepEqual(key.key_ops, ["sign", "verify"]);
    const token = await signToken(key, { root: "room", put: ["alice"], get: "", exp: now() + 60 });
    const [header] = token.split(".");
    assert.deepEqual(JSON.parse(Buffer.from(header, "base64url").toString()), { alg, typ: "JWT", kid: key.kid });
    const verifier = alg.startsWith("HS") ? key : publicKey(key);
    const claims = await verifyToken(verifier, token);
    assert.equal(claims.root, "room");
    assert.deepEqual(claims.put, ["alice"]);
    assert.deepEqual(claims.get, [""], "a single string is normalised to a list");
    // The private key of an asymmetric pair verifies too.
    assert.deepEqual((await verifyToken(key, token)).put, ["alice"]);
  });
}

test("the public half keeps kid, drops private members and only verifies", async () => {
  const key = await generateKey("ES256", "pub-test");
  const half = publicKey(key);
  assert.equal(half.kid, "pub-test");
  assert.equal(half.d, undefined);
  assert.deepEqual(half.key_ops, ["verify"]);
  assert.ok(key.d !== undefined, "the private key is untouched");
  const rsa = publicKey(await generateKey("RS256"));
  for (const f of ["d", "p", "q", "dp", "dq", "qi"] as const) assert.equal(rsa[f], undefined);
  assert.throws(() => publicKey({ kty: "oct", alg: "HS256", key_ops: ["sign", "verify"], k: "x".repeat(43) }), KeyError);
});

test("symmetric key sizes follow the algorithm", async () => {
  for (const [alg, bytes] of [["HS256", 32], ["HS384", 48], ["HS512", 64]] as const) {
    assert.equal(Buffer.from((await generateKey(alg)).k ?? "", "base64url").length, bytes);
  }
});

test("kid is validated: 1-128 characters of A-Z a-z 0-9 _ -", async () => {
  assert.equal((await generateKey("HS256", "a_B-9")).kid, "a_B-9");
  assert.equal((await generateKey("HS256", "k".repeat(128))).kid?.length, 128);
  for (const bad of ["", "k".repeat(129), "a/b", "a b", "ключ"]) {
    await assert.rejects(generateKey("HS256", bad), KeyError, JSON.stringify(bad));
  }
  const key = await generateKey("HS256");
  assert.throws(() => toJwk({ ...key, kid: "../etc" }), /invalid kid/);
});

test("key files load as JSON or base64url JSON, padded or not", async () => {
  const key = await generateKey("EdDSA", "wrapped");
  const json = JSON.stringify(key);
  assert.equal(parseKey(Buffer.from(json).toString("base64url")).kid, "wrapped");
  assert.equal(parseKey(`${Buffer.from(json).toString("base64")}\n`).kid, "wrapped");
  // Members written with padding or the standard alphabet are canonicalised, so WebCrypto accepts them.
  const padded = { ...key, x: Buffer.from(key.x ?? "", "base64url").toString("base64"), d: Buffer.from(key.d ?? "", "base64url").toString("base64") };
  const loaded = parseKey(JSON.stringify(padded));
  assert.equal(loaded.x, key.x);
  const token = await signToken(loaded, { root: "", get: [""] });
  assert.deepEqual((await verifyToken(publicKey(key), token)).get, [""]);
});

test("a legacy key without kty or key_ops is a symmetric sign+verify key", async () => {
  const { k } = await generateKey("HS256");
  const key = parseKey(JSON.stringify({ alg: "HS256", k }));
  assert.equal(key.kty, "oct");
  assert.deepEqual(key.key_ops, ["sign", "verify"]);
});

test("broken key files are refused with a clear reason, never quoting the secret", async () => {
  const ec = await generateKey("ES256");
  const cases: Array<[string, unknown, RegExp]> = [
    ["not JSON", "{ secret-material", /invalid JSON/],
    ["empty", "", /empty/],
    ["unknown alg", { ...ec, alg: "ES512" }, /unsupported or missing alg/],
    ["kty mismatch", { ...ec, alg: "HS256" }, /needs kty "oct"/],
    ["wrong curve", { ...ec, crv: "P-384" }, /needs curve P-256/],
    ["missing y", { ...ec, y: undefined }, /missing "y"/],
    ["short secret", { kty: "oct", alg: "HS256", k: Buffer.alloc(16).toString("base64url") }, /at least 32 bytes/],
    ["no usable ops", { ...ec, key_ops: ["encrypt"] }, /neither sign nor verify/],
    ["partial RSA private key", { kty: "RSA", alg: "RS256", n: Buffer.alloc(256, 1).toString("base64url"), e: "AQAB", d: "AQAB" }, /needs all of/],
    ["bad scope", { ...ec, scope: "everything" }, /scope/],
  ];
  for (const [name, raw, re] of cases) {
    const text = typeof raw === "string" ? raw : JSON.stringify(raw);
    assert.throws(() => parseKey(text), (e: unknown) => e instanceof KeyError && re.test(e.message) && !e.message.includes("secret-material"), name);
  }
});
