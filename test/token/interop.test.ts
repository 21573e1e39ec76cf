// Interop with the real @moq/token@0.2.3, both as a library and as its own CLI, in both directions:
// its keys and tokens work with us (and with the relay's Authenticator), ours work with it.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as moqToken from "@moq/token";
import { Authenticator } from "../../src/auth/authorize.js";
import { generateKey, parseKey, publicKey, serializeKey, type Algorithm } from "../../src/token/key.js";
import { signToken, verifyToken } from "../../src/token/claims.js";
import { silentLogger } from "../../src/util/log.js";
import { ours, theirs } from "./exec.js";

const dir = mkdtempSync(join(tmpdir(), "moq-interop-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const now = (): number => Math.floor(Date.now() / 1000);

/** What the relay would grant on /room for this token, verifying with the key file at `file`. */
async function relayGrant(file: string, token: string): Promise<{ publish: string[]; subscribe: string[] }> {
  const auth = new Authenticator({ key: file, keys: [], refresh: 0, clock_skew: 60_000, public: { publish: [], subscribe: [] } }, silentLogger());
  try {
    await auth.start();
    const g = await auth.authorize(new URL(`https://relay.example/room?jwt=${token}`));
    return { publish: g.publish, subscribe: g.subscribe };
  } finally {
    auth.close();
  }
}

const ALGS: Algorithm[] = ["HS256", "ES256", "EdDSA"];

for (const alg of ALGS) {
  const symmetric = alg === "HS256";

  test(`${alg}: our keys load in @moq/token and our tokens verify there`, async () => {
    const key = await generateKey(alg, `ours-${alg}`);
    const theirKey = moqToken.load(serializeKey(key));
    assert.equal(theirKey.alg, alg);
    assert.equal(theirKey.kid, `ours-${alg}`);
    const token = await signToken(key, { root: "room", put: ["alice"], get: [""], exp: now() + 60 });
    const verifier = symmetric ? theirKey : moqToken.loadPublic(serializeKey(publicKey(key)));
    const claims = await moqToken.verify(verifier, token, "room");
    assert.deepEqual(claims.put, ["alice"]);
    assert.deepEqual(claims.get, [""]);
    // And tokens it signs with our key verify with us.
    const back = await moqToken.sign(theirKey, { root: "room", get: "bob" });
    assert.deepEqual((await verifyToken(key, back)).get, ["bob"]);
  });

  test(`${alg}: @moq/token's keys and tokens verify with us and the relay`, async () => {
    const theirKey = await moqToken.generate(alg, `theirs-${alg}`);
    const key = parseKey(JSON.stringify(theirKey));
    assert.equal(key.kid, `theirs-${alg}`);
    const token = await moqToken.sign(theirKey, { root: "room", put: "", get: ["viewers"], exp: now() + 60 });
    const verifier = symmetric ? key : parseKey(JSON.stringify(moqToken.toPublicKey(theirKey)));
    const claims = await verifyToken(verifier, token);
    assert.deepEqual([claims.root, claims.put, claims.get], ["room", [""], ["viewers"]]);
    const file = join(dir, `theirs-${alg}.jwk`);
    writeFileSync(file, JSON.stringify(symmetric ? theirKey : moqToken.toPublicKey(theirKey)));
    assert.deepEqual(await relayGrant(file, token), { publish: [""], subscribe: ["viewers"] });
    // Our signatures with their key verify there too.
    const ourToken = await signToken(key, { root: "room", put: "x" });
    assert.deepEqual((await moqToken.verify(symmetric ? theirKey : moqToken.toPublicKey(theirKey), ourToken, "room")).put, ["x"]);
  });

  test(`${alg}: @moq/token's CLI (base64url key files) and ours interoperate`, async () => {
    const k = join(dir, `cli-theirs-${alg}.jwk`);
    const p = join(dir, `cli-theirs-${alg}.pub.jwk`);
    const gen = await theirs(["generate", "--key", k, "--algorithm", alg, "--id", "their-cli", "--base64", ...(symmetric ? [] : ["--public", p])]);
    assert.equal(gen.code, 0, gen.stderr);
    assert.ok(!readFileSync(k, "utf8").trim().startsWith("{"), "their --base64 key file is base64url, not JSON");
    const signed = await theirs(["sign", "--key", k, "--root", "room", "--publish", "alice", "--subscribe", ""]);
    assert.equal(signed.code, 0, signed.stderr);
    const token = signed.stdout.trim();

    // Their key file and token, our CLI and our relay.
    const verifyKey = symmetric ? k : p;
    const checked = await ours(["--key", verifyKey, "verify", token]);
    assert.equal(checked.code, 0, checked.stderr);
    assert.deepEqual((JSON.parse(checked.stdout) as { put: string[] }).put, ["alice"]);
    assert.deepEqual(await relayGrant(verifyKey, token), { publish: ["alice"], subscribe: [""] });

    // Our CLI signs with their key; their CLI verifies.
    const ourSigned = await ours(["--key", k, "sign", "--root", "room", "--subscribe", "bob", "--expires", "+1h"]);
    assert.equal(ourSigned.code, 0, ourSigned.stderr);
    const back = await theirs(["verify", "--key", verifyKey, "--root", "room"], ourSigned.stdout);
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual((JSON.parse(back.stdout) as { get: string[] }).get, ["bob"]);
  });
}

test("ES256: keys from our CLI sign tokens @moq/token's CLI verifies", async () => {
  const k = join(dir, "ours-cli.jwk");
  const p = join(dir, "ours-cli.pub.jwk");
  const gen = await ours(["--key", k, "generate", "--algorithm", "ES256", "--public", p]);
  assert.equal(gen.code, 0, gen.stderr);
  const signed = await ours(["--key", k, "sign", "--root", "room", "--publish", "", "--expires", "+30m"]);
  assert.equal(signed.code, 0, signed.stderr);
  const checked = await theirs(["verify", "--key", p, "--root", "room"], signed.stdout);
  assert.equal(checked.code, 0, checked.stderr);
  assert.deepEqual((JSON.parse(checked.stdout) as { put: string[] }).put, [""]);
});

test("a @moq/token token (iat = its signing time) is refused by a relay whose clock is far behind, accepted within the skew", async () => {
  const theirKey = await moqToken.generate("HS256", "skew");
  const token = await moqToken.sign(theirKey, { root: "room", get: "" });
  const file = join(dir, "skew.jwk");
  writeFileSync(file, JSON.stringify(theirKey));
  const auth = new Authenticator({ key: file, keys: [], refresh: 0, clock_skew: 60_000, public: { publish: [], subscribe: [] } }, silentLogger());
  await auth.start();
  try {
    const url = new URL(`https://relay.example/room?jwt=${token}`);
    // Thirty seconds behind: a clock difference, tolerated.
    assert.deepEqual((await auth.authorize(url, Date.now() - 30_000)).subscribe, [""]);
    // Two hours behind: the token claims to be issued in the relay's future.
    await assert.rejects(auth.authorize(url, Date.now() - 2 * 3600_000), (e: unknown) => e instanceof Error && "reason" in e && e.reason === "not-yet-valid");
  } finally {
    auth.close();
  }
});
