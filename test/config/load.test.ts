import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { redact } from "../../src/config/redact.js";

function dir(): string {
  return mkdtempSync(join(tmpdir(), "moq-config-"));
}

function write(d: string, name: string, text: string): string {
  const p = join(d, name);
  writeFileSync(p, text);
  return p;
}

const MINIMAL = `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n`;

test("the seed format loads with every other key at its production default", () => {
  const d = dir();
  write(d, "fullchain.pem", "x");
  write(d, "privkey.pem", "x");
  write(d, "root.jwk", "{}");
  // Only the claims are read here (the peers verify the signature).
  write(d, "cluster.jwt", `e30.${Buffer.from(JSON.stringify({ root: "", put: [""], get: [""], cluster: true })).toString("base64url")}.sig`);
  const file = write(
    d,
    "relay.toml",
    `[server]
bind = "[::]:4443"
[tls]
cert = "fullchain.pem"
key  = "privkey.pem"
[auth]
public = "anon"
key = "root.jwk"
[cluster]
nodes = ["https://us-east.relay.example.com", "https://eu-west.relay.example.com"]
token = "cluster.jwt"
node  = "https://us-east.relay.example.com"
`,
  );
  const { config, dev, warnings } = loadConfig({ file, env: {}, flags: {} });
  assert.equal(dev, false);
  assert.deepEqual(warnings, []);
  assert.equal(config.file, file);
  assert.deepEqual([config.server.host, config.server.port], ["::", 4443]);
  assert.deepEqual(config.server.versions, ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql", "moqt-20", "moqt-19", "moqt-18", "moqt-17", "moqt-16", "moqt-15", "moq-00"]);
  assert.deepEqual(config.auth.public, { publish: ["anon"], subscribe: ["anon"] });
  assert.equal(config.auth.key, join(d, "root.jwk"));
  assert.equal(config.cluster.token, join(d, "cluster.jwt"));
  assert.equal(config.cluster.nodes.length, 2);
  assert.deepEqual(config.server.quic, { idle_timeout: 30_000, keep_alive: 5_000, stream_window: 16 << 20, connection_window: 64 << 20, max_streams: 10_000, socket_buffer: 8 << 20, retry: "auto" });
  assert.ok(config.cache.max_bytes > 0 && config.cache.max_bytes <= Math.floor(totalmem() / 4));
  assert.deepEqual([config.cache.max_age, config.cache.linger], [30_000, 5_000]);
  assert.deepEqual([config.limits.handshake_timeout, config.limits.max_message_size, config.limits.max_frame_size], [10_000, 64 * 1024, 16 << 20]);
  assert.deepEqual(config.log, { level: "info", format: "auto" });
});

test("no config at all gives the development default on loopback, flagged as such", () => {
  const { config, dev, devKeys } = loadConfig({ env: {}, flags: {} });
  assert.equal(dev, true);
  assert.deepEqual(devKeys, ["server.bind", "tls.generate", "auth.public"]);
  assert.equal(config.file, undefined);
  assert.deepEqual([config.server.host, config.server.port], ["127.0.0.1", 4443]);
  assert.deepEqual(config.tls.generate, ["localhost", "127.0.0.1"]);
  assert.deepEqual(config.auth.public, { publish: ["anon"], subscribe: ["anon"] });
});

test("without a file, configuring auth through the environment drops the anonymous dev default", () => {
  const d = dir();
  const jwk = write(d, "root.jwk", "{}");
  const { config, devKeys } = loadConfig({ env: { MOQ_AUTH_KEY: jwk }, flags: { bind: "127.0.0.1:0" } });
  assert.deepEqual(config.auth.public, { publish: [], subscribe: [] });
  assert.equal(config.auth.key, jwk);
  assert.deepEqual(devKeys, ["tls.generate"]);
});

test("precedence: flag beats env beats file beats default", () => {
  const d = dir();
  const file = write(d, "relay.toml", `[server]\nbind = "127.0.0.1:1000"\n${MINIMAL}`);
  const load = (env: Record<string, string>, flags: Record<string, string>) => loadConfig({ file, env, flags }).config.server.port;
  assert.equal(load({}, {}), 1000);
  assert.equal(load({ MOQ_SERVER_BIND: "127.0.0.1:2000" }, {}), 2000);
  assert.equal(load({ MOQ_SERVER_BIND: "127.0.0.1:2000" }, { bind: "127.0.0.1:3000" }), 3000);
  assert.equal(load({ MOQ_SERVER_BIND: "127.0.0.1:2000" }, { set: "server.bind=127.0.0.1:4000" }), 4000);
  // A key nobody sets keeps its default.
  assert.equal(loadConfig({ file, env: {}, flags: {} }).config.limits.max_sessions, 10_000);
});

test("a file value survives when no flag or variable sets it, even for keys with defaults", () => {
  // The Rust relay re-applies CLI defaults over the file, so `[log] level = "debug"` is ignored there.
  const d = dir();
  const file = write(d, "relay.toml", `${MINIMAL}[log]\nlevel = "debug"\nformat = "json"\n[server.quic]\nidle_timeout = "10s"\n[http]\nwebsocket = false\n`);
  const { config } = loadConfig({ file, env: { MOQ_SERVER_BIND: "127.0.0.1:1" }, flags: { "log-format": undefined, set: [] } });
  assert.deepEqual(config.log, { level: "debug", format: "json" });
  assert.equal(config.server.quic.idle_timeout, 10_000);
  assert.equal(config.http.websocket, false);
  assert.equal(config.server.port, 1);
});

test("environment variables cover nested keys, lists, booleans and inline tables", () => {
  const { config } = loadConfig({
    env: {
      MOQ_SERVER_QUIC_IDLE_TIMEOUT: "10s",
      MOQ_CLUSTER_NODES: "https://a.example.com, https://b.example.com",
      MOQ_CLUSTER_NODE: "https://c.example.com",
      MOQ_CACHE_MAX_BYTES: "512MiB",
      MOQ_SERVER_TCP: "false",
      MOQ_LIMITS_MAX_SESSIONS: "7",
      MOQ_AUTH_PUBLIC: '{ publish = ["cam"], subscribe = ["cam", "demo"] }',
      MOQ_LOG_LEVEL: "",
    },
    flags: {},
  });
  assert.equal(config.server.quic.idle_timeout, 10_000);
  assert.deepEqual(config.cluster.nodes, ["https://a.example.com", "https://b.example.com"]);
  assert.equal(config.cache.max_bytes, 512 * 1024 * 1024);
  assert.equal(config.server.tcp, false);
  assert.equal(config.limits.max_sessions, 7);
  assert.deepEqual(config.auth.public, { publish: ["cam"], subscribe: ["cam", "demo"] });
  assert.equal(config.log.level, "info", "an empty variable counts as unset");
});

test("unknown MOQ_ variables are warned about with a suggestion, not fatal", () => {
  const { warnings, config } = loadConfig({ env: { MOQ_SERVER_BINDD: "x", PATH: "/bin" }, flags: {} });
  assert.deepEqual(warnings, ["unknown environment variable MOQ_SERVER_BINDD ignored (did you mean MOQ_SERVER_BIND?)"]);
  assert.equal(config.server.port, 4443);
});

test("named flags, repeated --set and key paths all reach their keys; list flags accumulate", () => {
  const { config } = loadConfig({
    env: {},
    flags: {
      "log-level": "warn",
      "tls-generate": ["relay.local", "10.0.0.1"],
      "cluster-nodes": "https://a.example.com,https://b.example.com",
      "cluster-node": "https://a.example.com",
      set: ["limits.max_sessions=5", "server.quic.keep_alive=1s", "limits.max_sessions=6"],
      "http.drain_timeout": "200ms",
    },
  });
  assert.equal(config.log.level, "warn");
  assert.deepEqual(config.tls.generate, ["relay.local", "10.0.0.1"]);
  assert.equal(config.cluster.nodes.length, 2);
  assert.equal(config.limits.max_sessions, 6);
  assert.equal(config.server.quic.keep_alive, 1_000);
  assert.equal(config.http.drain_timeout, 200);
});

test("relative paths resolve against the config file's directory; flag paths against the cwd", () => {
  const d = dir();
  mkdirSync(join(d, "keys"));
  write(d, "keys/root.jwk", "{}");
  write(d, "keys/old.jwk", "{}");
  write(d, "cert.pem", "x");
  write(d, "key.pem", "x");
  write(d, "jwks.json", "{}");
  write(d, "cluster.jwt", "x");
  const sub = join(d, "conf");
  mkdirSync(sub);
  const file = write(sub, "relay.toml", `[tls]\ncert = "../cert.pem"\nkey = "../key.pem"\n[auth]\nkey = "../keys/root.jwk"\nkeys = ["../keys/old.jwk"]\njwks = "../jwks.json"\n[cluster]\ntoken = "../cluster.jwt"\n`);
  const { config } = loadConfig({ file, env: {}, flags: {}, cwd: "/" });
  assert.equal(config.tls.cert, join(d, "cert.pem"));
  assert.equal(config.tls.key, join(d, "key.pem"));
  assert.equal(config.auth.key, join(d, "keys/root.jwk"));
  assert.deepEqual(config.auth.keys, [join(d, "keys/old.jwk")]);
  assert.equal(config.auth.jwks, join(d, "jwks.json"));
  assert.equal(config.cluster.token, join(d, "cluster.jwt"));

  const fromFlag = loadConfig({ file, env: {}, flags: { "auth-key": "keys/root.jwk" }, cwd: d }).config;
  assert.equal(fromFlag.auth.key, join(d, "keys/root.jwk"));
});

test("a JWKS URL stays a URL", () => {
  const d = dir();
  const file = write(d, "r.toml", `[tls]\ngenerate = ["localhost"]\n[auth]\njwks = "https://auth.example.com/.well-known/jwks.json"\n`);
  assert.equal(loadConfig({ file, env: {}, flags: {} }).config.auth.jwks, "https://auth.example.com/.well-known/jwks.json");
});

test("public access: a prefix, a list, or separate publish/subscribe lists, normalised", () => {
  const d = dir();
  const load = (value: string) => loadConfig({ file: write(d, "p.toml", `[tls]\ngenerate = ["localhost"]\n[auth]\npublic = ${value}\n`), env: {}, flags: {} }).config.auth.public;
  assert.deepEqual(load(`"/anon/"`), { publish: ["anon"], subscribe: ["anon"] });
  assert.deepEqual(load(`["anon", "demo"]`), { publish: ["anon", "demo"], subscribe: ["anon", "demo"] });
  assert.deepEqual(load(`{ publish = ["anon"], subscribe = ["anon", "/demo/"] }`), { publish: ["anon"], subscribe: ["anon", "demo"] });
  assert.deepEqual(load(`""`), { publish: [""], subscribe: [""] }, '"" is the root: everything');
});

test("certificate fingerprints accept the colon form and are stored as lowercase hex", () => {
  const d = dir();
  const colon = Array.from({ length: 32 }, () => "AB").join(":");
  const file = write(d, "f.toml", MINIMAL);
  const { config } = loadConfig({ file, env: { MOQ_TLS_FINGERPRINTS: colon }, flags: {} });
  assert.deepEqual(config.tls.fingerprints, ["ab".repeat(32)]);
});

test("redact hides tokens in URLs and inline JWTs but keeps paths and hosts", () => {
  const d = dir();
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJyb290IjoiIn0.c2lnbmF0dXJl";
  const file = write(d, "r.toml", `${MINIMAL}[cluster]\nnodes = ["https://peer.example.com/?jwt=${jwt}", "https://user:hunter2@other.example.com/"]\nnode = "https://self.example.com/${jwt}"\n`);
  const { config } = loadConfig({ file, env: {}, flags: {} });
  const shown = JSON.stringify(redact(config));
  assert.ok(!shown.includes(jwt) && !shown.includes("hunter2"), shown);
  assert.deepEqual(redact(config).cluster.nodes, ["https://peer.example.com/?jwt=<redacted>", "https://user:<redacted>@other.example.com/"]);
  assert.equal(redact(config).cluster.node, "https://self.example.com/<redacted>");
  assert.equal(config.cluster.nodes[0].includes(jwt), true, "redact copies; the config itself is untouched");
  assert.equal(redact(config).file, file);
});

test("a certificate pair from flags replaces the file's generated certificate, and vice versa", () => {
  const d = dir();
  const cert = write(d, "cert.pem", "x");
  const key = write(d, "key.pem", "x");
  const generated = write(d, "gen.toml", MINIMAL);
  const c1 = loadConfig({ file: generated, env: {}, flags: { "tls-cert": cert, "tls-key": key } }).config;
  assert.deepEqual([c1.tls.cert, c1.tls.key, c1.tls.generate], [cert, key, undefined]);

  const paired = write(d, "pair.toml", `[tls]\ncert = "cert.pem"\nkey = "key.pem"\n[auth]\npublic = "anon"\n`);
  const c2 = loadConfig({ file: paired, env: { MOQ_TLS_GENERATE: "localhost" }, flags: {} }).config;
  assert.deepEqual([c2.tls.cert, c2.tls.key, c2.tls.generate], [undefined, undefined, ["localhost"]]);
});
