// `moq-token` as a user runs it (needs a build: npx tsc -p tsconfig.build.json).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ours, type Result } from "./exec.js";

const d = mkdtempSync(join(tmpdir(), "moq-token-cli-"));
after(() => rmSync(d, { recursive: true, force: true }));
const key = join(d, "root.jwk");
const pub = join(d, "root.pub.jwk");
const now = (): number => Math.floor(Date.now() / 1000);

interface Printed {
  root: string;
  put: string[];
  get: string[];
  exp?: number;
  iat: number;
  cluster?: boolean;
}

async function sign(k: string, ...args: string[]): Promise<string> {
  const r = await ours(["--key", k, "sign", ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, "one compact JWS and a newline");
  return r.stdout.trim();
}

async function verified(k: string, token: string): Promise<Printed> {
  const r = await ours(["--key", k, "verify", token]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Printed;
}

function failsCleanly(r: Result, message: RegExp, code = 1): void {
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line, got: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.equal(r.stdout, "");
}

// Runs first: the other tests sign with this key.
test("generate writes a private key with mode 0600 and its public half", async () => {
  const r = await ours(["--key", key, "generate", "--algorithm", "ES256", "--id", "cli-key", "--public", pub]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  const priv = JSON.parse(readFileSync(key, "utf8")) as { alg: string; kid: string; key_ops: string[]; d?: string };
  assert.deepEqual([priv.alg, priv.kid, priv.key_ops], ["ES256", "cli-key", ["sign", "verify"]]);
  assert.ok(priv.d !== undefined);
  const half = JSON.parse(readFileSync(pub, "utf8")) as { kid: string; d?: string; key_ops: string[] };
  assert.deepEqual([half.kid, half.d, half.key_ops], ["cli-key", undefined, ["verify"]]);
});

test("generate refuses to overwrite unless --force, and leaves nothing half-written", async () => {
  const before = readFileSync(key, "utf8");
  failsCleanly(await ours(["--key", key, "generate"]), /already exists \(pass --force/);
  const fresh = join(d, "fresh.jwk");
  failsCleanly(await ours(["--key", fresh, "generate", "--algorithm", "EdDSA", "--public", pub]), /root\.pub\.jwk already exists/);
  assert.ok(!existsSync(fresh), "the private key was not written when the public one was refused");
  assert.equal(readFileSync(key, "utf8"), before);

  const scratch = join(d, "scratch.jwk");
  writeFileSync(scratch, "old", { mode: 0o644 });
  const forced = await ours(["--key", scratch, "generate", "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(statSync(scratch).mode & 0o777, 0o600, "an overwritten key file is also 0600");
  assert.equal((JSON.parse(readFileSync(scratch, "utf8")) as { alg: string }).alg, "HS256", "HS256 is the default");
});

test("sign prints a token verify accepts; --expires +1h; --publish \"\" is everything under root", async () => {
  const token = await sign(key, "--root", "room", "--publish", "", "--subscribe", "viewers", "chat", "--expires", "+1h");
  const claims = await verified(pub, token);
  assert.equal(claims.root, "room");
  assert.deepEqual(claims.put, [""]);
  assert.deepEqual(claims.get, ["viewers", "chat"]);
  assert.ok(Math.abs(claims.iat - now()) <= 5, "iat is now");
  assert.equal(claims.exp, claims.iat + 3600);
  assert.equal(claims.cluster, undefined);
  // The private key verifies too, and the token can come from stdin ("-" or no argument).
  assert.deepEqual((await verified(key, token)).get, ["viewers", "chat"]);
  for (const args of [["verify", "-"], ["verify"]]) {
    const r = await ours(["--key", pub, ...args], `${token}\n`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as Printed).root, "room");
  }
});

test("--expires accepts unix seconds, +30m, +7d; --cluster adds cluster:true", async () => {
  const at = now() + 1000;
  assert.equal((await verified(key, await sign(key, "--subscribe", "", "--expires", String(at)))).exp, at);
  const m = await verified(key, await sign(key, "--subscribe", "", "--expires", "+30m"));
  assert.equal(m.exp, m.iat + 1800);
  const w = await verified(key, await sign(key, "--subscribe", "", "--expires", "+7d"));
  assert.equal(w.exp, w.iat + 7 * 86400);
  assert.equal((await verified(key, await sign(key, "--publish", "", "--subscribe", "", "--cluster"))).cluster, true);
  failsCleanly(await ours(["--key", key, "sign", "--subscribe", "", "--expires", "tomorrow"]), /not an expiry/);
});

test("verify fails with exit 1 and one clear line", async (t) => {
  const token = await sign(key, "--root", "room", "--subscribe", "");
  const other = join(d, "other.jwk");
  assert.equal((await ours(["--key", other, "generate", "--algorithm", "ES256"])).code, 0);
  const hs = join(d, "hs.jwk");
  assert.equal((await ours(["--key", hs, "generate"])).code, 0);
  const [h, p, s] = token.split(".");
  const forged = Buffer.from(JSON.stringify({ root: "", put: [""], get: [""] })).toString("base64url");
  const expired = await sign(key, "--root", "room", "--subscribe", "", "--expires", String(now() - 10));
  const cases: Array<[string, string, string, RegExp]> = [
    ["tampered payload", key, `${h}.${forged}.${s}`, /signature does not verify/],
    ["tampered signature", key, `${h}.${p}.${s.startsWith("A") ? "B" : "A"}${s.slice(1)}`, /signature does not verify/],
    ["wrong key", other, token, /signature does not verify/],
    ["wrong algorithm", hs, token, /signed with ES256 but the key is HS256/],
    ["expired", key, expired, /token expired at \d{4}-/],
    ["malformed", key, "not-a-token", /not a JWT/],
  ];
  for (const [name, k, tok, re] of cases) {
    await t.test(name, async () => failsCleanly(await ours(["--key", k, "verify", tok]), re));
  }
  await t.test("missing key file", async () => failsCleanly(await ours(["--key", join(d, "nope.jwk"), "verify", token]), /cannot read key .*no such file/));
  await t.test("key file is not a key", async () => {
    const junk = join(d, "junk.jwk");
    writeFileSync(junk, "hello world");
    failsCleanly(await ours(["--key", junk, "verify", token]), /not a JWK/);
  });
  await t.test("empty stdin", async () => failsCleanly(await ours(["--key", key, "verify"], ""), /no token given/));
});

test("a token that grants nothing is refused", async () => {
  failsCleanly(await ours(["--key", key, "sign", "--root", "room"]), /grants neither publish .* nor subscribe/);
});

test("a public key verifies but cannot sign; a symmetric key has no public half", async () => {
  failsCleanly(await ours(["--key", pub, "sign", "--subscribe", ""]), /cannot sign: it is a public \(verify-only\) key/);
  const hsKey = join(d, "hs-pub.jwk");
  failsCleanly(await ours(["--key", hsKey, "generate", "--public", join(d, "hs.pub")]), /symmetric: there is no public half/);
  assert.ok(!existsSync(hsKey));
});

test("usage errors exit 2 with one line", async () => {
  failsCleanly(await ours(["--key", key, "sign", "--bogus"]), /Unknown argument/, 2);
  failsCleanly(await ours(["--key", key]), /give a command/, 2);
  const badAlg = await ours(["--key", join(d, "x.jwk"), "generate", "--algorithm", "ES512"]);
  assert.equal(badAlg.code, 2);
  assert.match(badAlg.stderr, /Invalid values/);
  failsCleanly(await ours(["--key", join(d, "y.jwk"), "generate", "--id", "no spaces"]), /invalid key id/);
});

test("sign --expires -1h makes an already expired token (for testing refusals) and says so", async () => {
  const r = await ours(["--key", key, "sign", "--subscribe", "", "--expires", "-1h"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: this token expired at \d{4}-.*relays refuse it/);
  const [, payload] = r.stdout.trim().split(".");
  const exp = (JSON.parse(Buffer.from(payload!, "base64url").toString()) as { exp: number }).exp;
  assert.ok(Math.abs(exp - (now() - 3600)) <= 5, `exp is an hour ago, got ${exp - now()} s`);
  failsCleanly(await ours(["--key", key, "verify", r.stdout.trim()]), /token expired at/);
});
