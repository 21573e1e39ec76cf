// The moq-relay command line as an operator meets it: the built binary, spawned with a time bound.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { run, ROOT, runScript } from "../util/spawn.js";
import { loadConfig } from "../../src/config/load.js";
import { SCHEMA } from "../../src/config/schema.js";

const d = mkdtempSync(join(tmpdir(), "moq-cli-"));
const MINIMAL = `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n`;

function printed(stdout: string): Record<string, Record<string, unknown>> {
  return JSON.parse(stdout.slice(stdout.indexOf("{"))) as Record<string, Record<string, unknown>>;
}

test("--check validates relay.toml.example and prints the effective config as JSON", async () => {
  const r = await run("moq-relay", ["relay.toml.example", "--check"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n")[0], "relay.toml.example: configuration OK");
  const json = printed(r.stdout);
  assert.equal(json.server.bind, "[::]:4443");
  assert.equal(json.server.port, 4443);
  assert.deepEqual(json.tls.generate, ["localhost"]);
  assert.equal(r.stderr, "");
});

test("relay.toml.example documents every key, in schema order, with a comment and its default", () => {
  const text = readFileSync(join(ROOT, "relay.toml.example"), "utf8");
  let last = -1;
  for (const [section, keys] of Object.entries(SCHEMA)) {
    const at = text.indexOf(`\n[${section}]\n`);
    assert.ok(at > last, `section [${section}] missing or out of order`);
    last = at;
    const body = text.slice(at).split(/\n\[/)[1];
    for (const key of Object.keys(keys)) {
      assert.match(body, new RegExp(`\\n# [^\\n]+\\n#? ?${key} +=`), `${section}.${key}: missing, or without a comment line above it`);
    }
  }
  // Uncommented values equal the defaults: the example loads to the same config as a minimal file.
  const minimal = join(d, "minimal.toml");
  writeFileSync(minimal, `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n`);
  const example = loadConfig({ file: join(ROOT, "relay.toml.example"), env: {}, flags: {} }).config;
  const defaults = loadConfig({ file: minimal, env: {}, flags: {} }).config;
  assert.deepEqual({ ...example, file: undefined }, { ...defaults, file: undefined });
});

test("--check redacts a token in a cluster node URL", async () => {
  const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJyb290IjoiIn0.c2VjcmV0c2ln";
  writeFileSync(join(d, "secret.toml"), `${MINIMAL}[cluster]\nnodes = ["https://peer.example.com/?jwt=${jwt}"]\nnode = "https://self.example.com"\n`);
  const r = await run("moq-relay", ["secret.toml", "--check"], { cwd: d });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^secret\.toml: configuration OK\n/);
  assert.ok(!r.stdout.includes(jwt) && !r.stdout.includes("c2VjcmV0c2ln"), "token leaked");
  assert.deepEqual(printed(r.stdout).cluster.nodes, ["https://peer.example.com/?jwt=<redacted>"]);
});

test("a bad config exits 2 with one line naming file, line and key, no stack trace, and never loads the relay", async () => {
  writeFileSync(join(d, "bad.toml"), `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n\n[server]\nbind = "nope"\n`);
  const loads = join(d, "loads.txt");
  writeFileSync(loads, "");
  const r = await runScript(`${ROOT}bin/moq-relay.js`, ["bad.toml"], {
    cwd: d,
    env: { MOQ_TRACE_LOADS: loads, NODE_OPTIONS: `--import=${pathToFileURL(`${ROOT}test/fixtures/trace-loads.mjs`).href}` },
  });
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'moq-relay: bad.toml:7: [server] bind: "nope" is not host:port (IPv6 needs brackets: "[::]:4443")\n');
  assert.equal(r.stdout, "");
  // Fast because nothing heavy runs: the config layer loaded, the transports and relay core did not.
  const loaded = readFileSync(loads, "utf8").split("\n");
  assert.ok(loaded.some((u) => u.endsWith("/dist/config/load.js")), "the trace saw the config loader");
  const heavy = loaded.filter((u) => /\/dist\/(server|relay|session|transport\/(quic|h3|websocket|tcp))\b/.test(u));
  assert.deepEqual(heavy, [], "a config error must not load the relay");
});

test("unknown keys, syntax errors and missing files all exit 2 with the location", async () => {
  const cases: [string, string, RegExp][] = [
    ["typo.toml", `[server]\nbidn = "127.0.0.1:1"\n${MINIMAL}`, /^moq-relay: typo\.toml:2: \[server\] bidn: unknown key \(did you mean `bind`\?\)\n$/],
    ["syntax.toml", `[server\nbind = 1\n`, /^moq-relay: syntax\.toml:1: TOML syntax error at column \d+: .+\n$/],
    ["nocert.toml", `[tls]\ncert = "fullchain.pem"\nkey = "privkey.pem"\n[auth]\npublic = "anon"\n`, /^moq-relay: nocert\.toml:2: \[tls\] cert: certificate file not found: .*fullchain\.pem\n$/],
  ];
  for (const [name, toml, want] of cases) {
    writeFileSync(join(d, name), toml);
    const r = await run("moq-relay", ["--config", name, "--check"], { cwd: d });
    assert.equal(r.code, 2, name);
    assert.match(r.stderr, want);
  }
  const missing = await run("moq-relay", ["absent.toml"], { cwd: d });
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, "moq-relay: absent.toml: cannot read config file: no such file (ENOENT)\n");
});

test("a bad environment variable exits 2 naming the variable", async () => {
  const r = await run("moq-relay", ["--check"], { env: { MOQ_CACHE_MAX_BYTES: "huge" } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^moq-relay: MOQ_CACHE_MAX_BYTES: "huge" is not a size/);
});

test("flags and --set override the file and the environment; --set does not swallow the config path", async () => {
  const r = await run("moq-relay", ["--set", "cache.max_bytes=1MiB", "relay.toml.example", "--check", "--bind", "127.0.0.1:9", "--log-level", "debug"], {
    env: { MOQ_SERVER_BIND: "127.0.0.1:8", MOQ_LOG_LEVEL: "error" },
  });
  assert.equal(r.code, 0, r.stderr);
  const json = printed(r.stdout);
  assert.equal(json.server.port, 9);
  assert.equal(json.cache.max_bytes, 1024 * 1024);
  assert.equal(json.log.level, "debug");
});

test("with no config, --check shows the development default", async () => {
  const r = await run("moq-relay", ["--check"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^built-in development config: configuration OK\n/);
  const json = printed(r.stdout);
  assert.equal(json.server.bind, "127.0.0.1:4443");
  assert.deepEqual(json.auth.public, { publish: ["anon"], subscribe: ["anon"] });
});

test("command-line mistakes exit 2 with one line; --help and --version exit 0", async () => {
  const unknown = await run("moq-relay", ["--chekc"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^moq-relay: Unknown argument: chekc \(see --help\)\n$/);
  const both = await run("moq-relay", ["a.toml", "--config", "b.toml"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either as --config or as an argument/);

  const help = await run("moq-relay", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /moq-relay \[config\]/);
  assert.match(help.stdout, /--tls-generate/);
  const version = await run("moq-relay", ["--version"]);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.equal(version.stdout.trim(), pkg.version);
});
