import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run, ROOT } from "../util/spawn.js";
import { SCHEMA } from "../../src/config/schema.js";

const d = mkdtempSync(join(tmpdir(), "moq-cli-"));

test("--check validates relay.toml.example and prints the effective config", async () => {
  const r = await run("moq-relay", ["--config", "relay.toml.example", "--check"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /relay\.toml\.example: configuration OK/);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { server: { bind: string } };
  assert.equal(json.server.bind, "[::]:4443");
});

test("relay.toml.example documents every key", () => {
  const text = readFileSync(join(ROOT, "relay.toml.example"), "utf8");
  for (const [section, keys] of Object.entries(SCHEMA)) {
    assert.ok(text.includes(`[${section}]`), `section [${section}] missing`);
    for (const key of Object.keys(keys)) assert.match(text, new RegExp(`^#? ?${key}\\s+=`, "m"), `${section}.${key} missing`);
  }
});

test("--check redacts tokens in cluster URLs", async () => {
  const file = join(d, "secret.toml");
  writeFileSync(file, `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n[cluster]\nnodes = ["https://peer.example.com/?jwt=eyJsecret.part.sig"]\n`);
  const r = await run("moq-relay", [file, "--check"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes("eyJsecret"), "token leaked");
  assert.match(r.stdout, /jwt=<redacted>/);
});

test("a bad config exits 2 quickly with one line naming file, key and line, and no stack trace", async () => {
  const file = join(d, "bad.toml");
  writeFileSync(file, `[server]\nbind = "127.0.0.1:4443"\nlisten = "x"\n`);
  const r = await run("moq-relay", ["--config", file, "--check"]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /bad\.toml:3: \[server\] listen: unknown key/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
  assert.ok(r.ms < 3000, `took ${r.ms} ms`);
});

test("a missing config file is a clear error", async () => {
  const r = await run("moq-relay", [join(d, "nope.toml"), "--check"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nope\.toml: cannot read config file: ENOENT/);
});

test("flags and --set override the file", async () => {
  const r = await run("moq-relay", ["relay.toml.example", "--check", "--bind", "127.0.0.1:9", "--set", "cache.max_bytes=1MiB"]);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { server: { port: number }; cache: { max_bytes: number } };
  assert.equal(json.server.port, 9);
  assert.equal(json.cache.max_bytes, 1024 * 1024);
});

test("a bad flag value names the flag", async () => {
  const r = await run("moq-relay", ["relay.toml.example", "--check", "--set", "log.level=loud"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--log\.level: "loud" is not one of/);
});

test("unknown command-line options are rejected", async () => {
  const r = await run("moq-relay", ["--chekc"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /Unknown argument: chekc/);
});
