import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/config/errors.js";
import { parseBind, parseDuration, parseSize } from "../../src/config/units.js";

function dir(): string {
  return mkdtempSync(join(tmpdir(), "moq-config-"));
}

function write(d: string, name: string, text: string): string {
  const p = join(d, name);
  writeFileSync(p, text);
  return p;
}

const MINIMAL = `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n`;

function expectError(fn: () => unknown, check: { key?: string; line?: number; match: RegExp }): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    if (check.key !== undefined) assert.equal(e.key, check.key);
    if (check.line !== undefined) assert.equal(e.line, check.line, e.message);
    assert.match(e.message, check.match);
    return true;
  });
}

test("the seed format loads with every default filled in", () => {
  const d = dir();
  const file = write(d, "relay.toml", `[server]\nbind = "[::]:4443"\n${MINIMAL}[cluster]\nnodes = ["https://a.example.com", "https://b.example.com"]\nnode = "https://a.example.com"\n`);
  const { config, dev } = loadConfig({ file, env: {} });
  assert.equal(dev, false);
  assert.equal(config.server.host, "::");
  assert.equal(config.server.port, 4443);
  assert.deepEqual(config.auth.public, { publish: ["anon"], subscribe: ["anon"] });
  assert.equal(config.cluster.nodes.length, 2);
  assert.equal(config.server.quic.idle_timeout, 30_000);
  assert.ok(config.cache.max_bytes > 0);
  assert.equal(config.log.level, "info");
});

test("no config file gives the development default on loopback", () => {
  const { config, dev } = loadConfig({ env: {} });
  assert.equal(dev, true);
  assert.equal(config.server.bind, "127.0.0.1:4443");
  assert.deepEqual(config.tls.generate, ["localhost", "127.0.0.1"]);
  assert.deepEqual(config.auth.public.publish, ["anon"]);
});

test("precedence: flag beats env beats file beats default, and a file value survives absent flags", () => {
  const d = dir();
  const file = write(d, "relay.toml", `[server]\nbind = "127.0.0.1:1000"\n[log]\nlevel = "debug"\n${MINIMAL}`);
  // Nothing set elsewhere: the file wins over defaults (the Rust relay's clap defaults clobber this).
  let c = loadConfig({ file, env: {} }).config;
  assert.equal(c.server.port, 1000);
  assert.equal(c.log.level, "debug");
  c = loadConfig({ file, env: { MOQ_SERVER_BIND: "127.0.0.1:2000" } }).config;
  assert.equal(c.server.port, 2000);
  assert.equal(c.log.level, "debug");
  c = loadConfig({ file, env: { MOQ_SERVER_BIND: "127.0.0.1:2000" }, flags: { "server.bind": "127.0.0.1:3000" } }).config;
  assert.equal(c.server.port, 3000);
  c = loadConfig({ file, env: { MOQ_SERVER_QUIC_IDLE_TIMEOUT: "10s", MOQ_AUTH_PUBLIC: "a,b" } }).config;
  assert.equal(c.server.quic.idle_timeout, 10_000);
  assert.deepEqual(c.auth.public.subscribe, ["a", "b"]);
});

test("unknown MOQ_ variables are reported, not fatal", () => {
  const { warnings } = loadConfig({ env: { MOQ_SERVER_BINDD: "x" } });
  assert.ok(warnings.some((w) => w.includes("MOQ_SERVER_BINDD")));
});

test("relative paths resolve against the config file's directory", () => {
  const d = dir();
  mkdirSync(join(d, "keys"));
  write(d, "keys/root.jwk", "{}");
  write(d, "cert.pem", "x");
  write(d, "key.pem", "x");
  const sub = join(d, "conf");
  mkdirSync(sub);
  const file = write(sub, "relay.toml", `[tls]\ncert = "../cert.pem"\nkey = "../key.pem"\n[auth]\nkey = "../keys/root.jwk"\n`);
  const { config } = loadConfig({ file, env: {}, cwd: "/" });
  assert.equal(config.tls.cert, join(d, "cert.pem"));
  assert.equal(config.auth.key, join(d, "keys/root.jwk"));
});

test("the public table form keeps publish and subscribe apart", () => {
  const d = dir();
  const file = write(d, "r.toml", `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = { publish = ["anon"], subscribe = ["anon", "/demo/"] }\n`);
  assert.deepEqual(loadConfig({ file, env: {} }).config.auth.public, { publish: ["anon"], subscribe: ["anon", "demo"] });
});

test("sizes, durations and bind addresses parse in their human forms", () => {
  assert.equal(parseSize("512MiB", 0), 512 * 1024 * 1024);
  assert.equal(parseSize("64MB", 0), 64_000_000);
  assert.equal(parseSize(1234, 0), 1234);
  assert.equal(parseSize("25%", 1000), 250);
  assert.throws(() => parseSize("0%", 1000));
  assert.throws(() => parseSize("12 parsecs", 0));
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("2m"), 120_000);
  assert.equal(parseDuration(42), 42);
  assert.throws(() => parseDuration("soon"));
  assert.deepEqual(parseBind("[::]:4443"), { host: "::", port: 4443 });
  assert.deepEqual(parseBind("relay.example.com:443"), { host: "relay.example.com", port: 443 });
  assert.throws(() => parseBind("::4443"));
  assert.throws(() => parseBind("127.0.0.1:99999"));
});

test("errors name the file, the key and the line", async (t) => {
  const d = dir();
  await t.test("TOML syntax error", () => {
    const file = write(d, "syntax.toml", `[server]\nbind = = "x"\n`);
    expectError(() => loadConfig({ file, env: {} }), { line: 2, match: /syntax\.toml:2: .*TOML syntax error/ });
  });
  await t.test("unknown section with a suggestion", () => {
    const file = write(d, "section.toml", `${MINIMAL}\n[sever]\nbind = "x"\n`);
    expectError(() => loadConfig({ file, env: {} }), { key: "sever", line: 6, match: /unknown section \(did you mean \[server\]\?\)/ });
  });
  await t.test("unknown key with a suggestion", () => {
    const file = write(d, "key.toml", `[server]\nbnid = "127.0.0.1:1"\n${MINIMAL}`);
    expectError(() => loadConfig({ file, env: {} }), { key: "server.bnid", line: 2, match: /key\.toml:2: \[server\] bnid: unknown key \(did you mean `bind`\?\)/ });
  });
  await t.test("wrong type", () => {
    const file = write(d, "type.toml", `${MINIMAL}[limits]\nmax_sessions = "many"\n`);
    expectError(() => loadConfig({ file, env: {} }), { key: "limits.max_sessions", line: 6, match: /expected a non-negative integer/ });
  });
  await t.test("bad bind address", () => {
    const file = write(d, "bind.toml", `[server]\n\nbind = "nope"\n${MINIMAL}`);
    expectError(() => loadConfig({ file, env: {} }), { key: "server.bind", line: 3, match: /"nope" is not host:port/ });
  });
  await t.test("bad nested duration", () => {
    const file = write(d, "dur.toml", `${MINIMAL}[server.quic]\nidle_timeout = "forever"\n`);
    expectError(() => loadConfig({ file, env: {} }), { key: "server.quic.idle_timeout", line: 6, match: /\[server\.quic\] idle_timeout: "forever" is not a duration/ });
  });
  await t.test("bad enum value", () => {
    const file = write(d, "enum.toml", `${MINIMAL}[log]\nlevel = "verbose"\n`);
    expectError(() => loadConfig({ file, env: {} }), { key: "log.level", line: 6, match: /not one of/ });
  });
  await t.test("missing certificate file", () => {
    const file = write(d, "cert.toml", `[tls]\ncert = "missing.pem"\nkey = "missing-key.pem"\n[auth]\npublic = "anon"\n`);
    expectError(() => loadConfig({ file, env: {} }), { key: "tls.cert", line: 2, match: /file not found: .*missing\.pem/ });
  });
  await t.test("missing jwk file", () => {
    const file = write(d, "jwk.toml", `[tls]\ngenerate = ["localhost"]\n[auth]\nkey = "root.jwk"\n`);
    expectError(() => loadConfig({ file, env: {} }), { key: "auth.key", line: 4, match: /file not found: .*root\.jwk/ });
  });
  await t.test("cert without key", () => {
    write(d, "only.pem", "x");
    const file = write(d, "pair.toml", `[tls]\ncert = "only.pem"\n[auth]\npublic = "anon"\n`);
    expectError(() => loadConfig({ file, env: {} }), { key: "tls.cert", line: 2, match: /cert and key must be given together/ });
  });
  await t.test("a bad environment variable is named", () => {
    expectError(() => loadConfig({ env: { MOQ_SERVER_BIND: "x" } }), { key: "MOQ_SERVER_BIND", match: /MOQ_SERVER_BIND: "x" is not host:port/ });
  });
  await t.test("no way to authenticate", () => {
    const file = write(d, "noauth.toml", `[tls]\ngenerate = ["localhost"]\n`);
    expectError(() => loadConfig({ file, env: {} }), { match: /nobody could connect/ });
  });
});
