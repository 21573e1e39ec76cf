import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as moqToken from "@moq/token";
import { run } from "../util/spawn.js";

const d = mkdtempSync(join(tmpdir(), "moq-token-cli-"));
const key = join(d, "root.jwk");
const pub = join(d, "root.pub.jwk");

async function sign(k: string, ...args: string[]): Promise<string> {
  const r = await run("moq-token", ["--key", k, "sign", ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

test("generate writes a private key with mode 0600 and a public half", async () => {
  const r = await run("moq-token", ["--key", key, "generate", "--algorithm", "ES256", "--id", "cli-key", "--public", pub]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  const priv = JSON.parse(readFileSync(key, "utf8")) as { alg: string; kid: string; key_ops: string[]; d?: string };
  assert.equal(priv.alg, "ES256");
  assert.equal(priv.kid, "cli-key");
  assert.deepEqual(priv.key_ops, ["sign", "verify"]);
  const half = JSON.parse(readFileSync(pub, "utf8")) as { d?: string; key_ops: string[] };
  assert.equal(half.d, undefined);
  assert.deepEqual(half.key_ops, ["verify"]);
  // Refuses to clobber an existing key.
  const again = await run("moq-token", ["--key", key, "generate"]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
});

test("sign prints a token that verify (and @moq/token) accept, with +1h expiry", async () => {
  const token = await sign(key, "--root", "room", "--publish", "", "--subscribe", "viewers", "--expires", "+1h");
  const r = await run("moq-token", ["--key", pub, "verify", token]);
  assert.equal(r.code, 0, r.stderr);
  const claims = JSON.parse(r.stdout) as { root: string; put: string[]; get: string[]; exp: number; iat: number };
  assert.equal(claims.root, "room");
  assert.deepEqual(claims.put, [""]);
  assert.deepEqual(claims.get, ["viewers"]);
  assert.ok(Math.abs(claims.exp - claims.iat - 3600) <= 1);
  const theirs = await moqToken.verify(moqToken.loadPublic(readFileSync(pub, "utf8")), token, "room");
  assert.deepEqual(theirs.get, ["viewers"]);
  // Token from stdin.
  const s = await run("moq-token", ["--key", pub, "verify", "-"], { input: `${token}\n` });
  assert.equal(s.code, 0, s.stderr);
});

test("--cluster adds the cluster claim", async () => {
  const token = await sign(key, "--root", "", "--publish", "", "--subscribe", "", "--cluster");
  const r = await run("moq-token", ["--key", key, "verify", token]);
  assert.equal((JSON.parse(r.stdout) as { cluster?: boolean }).cluster, true);
});

test("verify fails with exit 1 and a clear message", async (t) => {
  const token = await sign(key, "--root", "room", "--subscribe", "");
  const other = join(d, "other.jwk");
  assert.equal((await run("moq-token", ["--key", other, "generate", "--algorithm", "ES256"])).code, 0);
  const cases: Array<[string, string, string, RegExp]> = [
    ["tampered", key, token.slice(0, -4) + (token.endsWith("AAAA") ? "BBBB" : "AAAA"), /signature does not verify/],
    ["wrong key", other, token, /signature does not verify/],
    ["malformed", key, "not-a-token", /not a JWT/],
  ];
  for (const [name, k, tok, re] of cases) {
    await t.test(name, async () => {
      const r = await run("moq-token", ["--key", k, "verify", tok]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }
  await t.test("expired", async () => {
    const old = await sign(key, "--root", "room", "--subscribe", "", "--expires", String(Math.floor(Date.now() / 1000) - 10));
    const r = await run("moq-token", ["--key", key, "verify", old]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /expired/);
  });
});

test("a token that grants nothing is refused", async () => {
  const r = await run("moq-token", ["--key", key, "sign", "--root", "room"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /grants neither publish nor subscribe/);
});

test("a public key cannot sign, a symmetric key has no public half", async () => {
  const r = await run("moq-token", ["--key", pub, "sign", "--subscribe", ""]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot sign/);
  const hs = await run("moq-token", ["--key", join(d, "hs.jwk"), "generate", "--public", join(d, "hs.pub")]);
  assert.equal(hs.code, 1);
  assert.match(hs.stderr, /symmetric/);
});

test("HS256 keys from the CLI load in @moq/token", async () => {
  const k = join(d, "hs256.jwk");
  writeFileSync(join(d, "placeholder"), "");
  assert.equal((await run("moq-token", ["--key", k, "generate"])).code, 0);
  assert.equal(moqToken.load(readFileSync(k, "utf8")).alg, "HS256");
});
