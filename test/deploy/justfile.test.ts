// The top-level justfile as a new user meets it: `just` lists the recipes, `just key` writes keys
// into a gitignored place (and the public half for asymmetric algorithms), `just token` signs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../util/spawn.js";
import { command, JUST, NO_JUST, tempDir } from "./helpers.js";

const just = (cwd: string, ...args: string[]) => command(JUST!, ["--justfile", join(ROOT, "justfile"), "--working-directory", cwd, ...args], { timeoutMs: 30_000 });

test("just with no recipe lists the recipes instead of installing anything", { skip: NO_JUST }, async (t) => {
  const r = await just(tempDir(t, "just"));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Available recipes:/);
  for (const recipe of ["key", "token", "install", "pack"]) assert.match(r.stdout, new RegExp(`^\\s+${recipe}\\b`, "m"));
  assert.doesNotMatch(r.stderr, /npm ci/);
});

test("just key writes into the gitignored .dev/keys; an ES256 key also gets its public half; just token signs with it", { skip: NO_JUST }, async (t) => {
  const dir = tempDir(t, "just");
  assert.equal((await just(dir, "key")).code, 0);
  const es = await just(dir, "key", "es.jwk", "ES256");
  assert.equal(es.code, 0, es.stderr);
  assert.deepEqual(readdirSync(join(dir, ".dev/keys")).sort(), ["es.jwk", "es.pub.jwk", "root.jwk"]);
  assert.equal(statSync(join(dir, ".dev/keys/es.jwk")).mode & 0o777, 0o600);
  const pub = JSON.parse(readFileSync(join(dir, ".dev/keys/es.pub.jwk"), "utf8")) as Record<string, unknown>;
  assert.equal(pub.kty, "EC");
  assert.equal(pub.d, undefined, "the public half has no private part");
  // Where `just key` writes in a checkout is ignored by git.
  const ignored = await command("git", ["check-ignore", "-q", ".dev/keys/root.jwk"], { cwd: ROOT, timeoutMs: 10_000 });
  assert.equal(ignored.code, 0, ".dev/keys/ must be gitignored");

  const token = await just(dir, "token", "es.jwk", "demo", "", "", "+1h");
  assert.equal(token.code, 0, token.stderr);
  const verify = await command(process.execPath, [join(ROOT, "bin/moq-token.js"), "--key", join(dir, ".dev/keys/es.pub.jwk"), "verify", token.stdout.trim()], { timeoutMs: 20_000 });
  assert.equal(verify.code, 0, verify.stderr);
  assert.equal((JSON.parse(verify.stdout) as { root: string }).root, "demo");
  const expired = await just(dir, "token", "root.jwk", "anon", "", "", "-1h");
  assert.equal(expired.code, 0, expired.stderr);
  assert.match(expired.stderr, /already|expired at/);
});
