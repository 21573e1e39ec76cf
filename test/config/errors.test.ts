// Every class of configuration mistake produces one ConfigError that names where to fix it: the
// file and line for the file, the variable or flag otherwise, and the key path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, type FlagValue } from "../../src/config/load.js";
import { ConfigError } from "../../src/config/errors.js";

const d = mkdtempSync(join(tmpdir(), "moq-config-errors-"));
writeFileSync(join(d, "cert.pem"), "x");
writeFileSync(join(d, "key.pem"), "x");
const OK_TLS = `[tls]\ngenerate = ["localhost"]\n`;
const OK = `${OK_TLS}[auth]\npublic = "anon"\n`; // 4 lines

interface Expect {
  /** Undefined for syntax errors: the document never parsed into keys. */
  key?: string;
  line?: number;
  /** The message, after "file:line: ". */
  message: RegExp;
}

function fileError(name: string, toml: string, want: Expect): void {
  const file = join(d, name);
  writeFileSync(file, toml);
  let err: unknown;
  try {
    loadConfig({ file, env: {}, flags: {} });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
  assert.equal(err.file, file);
  assert.equal(err.key, want.key);
  assert.equal(err.line, want.line, err.message);
  const prefix = `${file}${want.line === undefined ? "" : `:${want.line}`}: `;
  assert.ok(err.message.startsWith(prefix), `${err.message} should start with ${prefix}`);
  assert.match(err.message.slice(prefix.length), want.message);
}

function inputError(env: Record<string, string>, flags: Record<string, FlagValue>, key: string, message: RegExp): void {
  assert.throws(
    () => loadConfig({ env, flags }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.file, undefined);
      assert.equal(e.line, undefined);
      assert.equal(e.key, key);
      assert.ok(e.message.startsWith(`${key}: `), e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

test("a TOML syntax error gives its line and column", () => {
  fileError("syntax.toml", `[server]\n\nbind = = "x"\n`, { line: 3, message: /^TOML syntax error at column \d+/ });
});

test("a duplicate key is a syntax error on the second occurrence", () => {
  fileError("dup.toml", `${OK}[log]\nlevel = "info"\nlevel = "debug"\n`, { line: 7, message: /TOML syntax error/ });
});

test("an unknown section suggests the closest one", () => {
  fileError("section.toml", `${OK}\n[sever]\nbind = "x"\n`, { key: "sever", line: 6, message: /^\[sever\]: unknown section \(did you mean \[server\]\?\)/ });
});

test("an unknown sub-section suggests the closest one", () => {
  fileError("subsection.toml", `${OK}[server.quik]\nidle_timeout = "1s"\n`, { key: "server.quik", line: 5, message: /^\[server\.quik\]: unknown section \(did you mean \[server\.quic\]\?\)/ });
});

test("an unknown key suggests the closest one", () => {
  fileError("key.toml", `[server]\nbnid = "127.0.0.1:1"\n${OK}`, { key: "server.bnid", line: 2, message: /^\[server\] bnid: unknown key \(did you mean `bind`\?\)/ });
});

test("an unknown key inside a dotted key or inline table names the nested path", () => {
  fileError("nested.toml", `${OK}[server]\nquic.idle_timout = "1s"\n`, { key: "server.quic.idle_timout", line: 6, message: /^\[server\.quic\] idle_timout: unknown key \(did you mean `idle_timeout`\?\)/ });
});

test("a key outside any section says where it belongs", () => {
  fileError("toplevel.toml", `bind = "127.0.0.1:1"\n${OK}`, { key: "bind", line: 1, message: /put it under \[server\]/ });
});

test("a wrong type names what was expected and what was found", () => {
  fileError("type.toml", `${OK}[limits]\nmax_sessions = "many"\n`, { key: "limits.max_sessions", line: 6, message: /^\[limits\] max_sessions: expected a non-negative integer, got a string \("many"\)/ });
  fileError("type2.toml", `${OK}[server]\ntcp = "yes"\n`, { key: "server.tcp", line: 6, message: /expected true or false/ });
  fileError("type3.toml", `${OK}[server]\nquic = 5\n`, { key: "server.quic", line: 6, message: /^\[server\.quic\]: must be a table/ });
});

test("a bad bind address", () => {
  fileError("bind.toml", `[server]\n\nbind = "nope"\n${OK}`, { key: "server.bind", line: 3, message: /^\[server\] bind: "nope" is not host:port/ });
  fileError("port.toml", `[server]\nbind = "127.0.0.1:70000"\n${OK}`, { key: "server.bind", line: 2, message: /port must be 1\.\.65535/ });
});

test("a bad size and a bad duration", () => {
  fileError("size.toml", `${OK}[cache]\nmax_bytes = "lots"\n`, { key: "cache.max_bytes", line: 6, message: /^\[cache\] max_bytes: "lots" is not a size/ });
  fileError("dur.toml", `${OK}[server.quic]\nidle_timeout = "forever"\n`, { key: "server.quic.idle_timeout", line: 6, message: /^\[server\.quic\] idle_timeout: "forever" is not a duration/ });
  fileError("min.toml", `${OK}[limits]\nsubscriber_queue_groups = 0\n`, { key: "limits.subscriber_queue_groups", line: 6, message: /below the minimum of 1/ });
});

test("a bad enum value lists the choices and suggests one", () => {
  fileError("enum.toml", `${OK}[log]\nlevel = "verbos"\n`, { key: "log.level", line: 6, message: /"verbos" is not one of trace, debug, info, warn, error, fatal, silent/ });
  fileError("version.toml", `${OK}[server]\nversions = ["moq-lite-5"]\n`, { key: "server.versions", line: 6, message: /unsupported version "moq-lite-5" \(did you mean "moq-lite-05"\?\)/ });
});

test("missing certificate, key, JWK and token files", () => {
  fileError("cert.toml", `[tls]\ncert = "missing.pem"\nkey = "key.pem"\n[auth]\npublic = "anon"\n`, { key: "tls.cert", line: 2, message: new RegExp(`certificate file not found: ${join(d, "missing.pem")}`) });
  fileError("tlskey.toml", `[tls]\ncert = "cert.pem"\nkey = "nokey.pem"\n[auth]\npublic = "anon"\n`, { key: "tls.key", line: 3, message: /key file not found: .*nokey\.pem/ });
  fileError("jwk.toml", `${OK_TLS}[auth]\nkey = "root.jwk"\n`, { key: "auth.key", line: 4, message: /key file not found: .*root\.jwk/ });
  fileError("token.toml", `${OK}[cluster]\ntoken = "cluster.jwt"\n`, { key: "cluster.token", line: 6, message: /token file not found: .*cluster\.jwt/ });
});

test("a certificate without its key, and vice versa", () => {
  fileError("pair.toml", `[tls]\ncert = "cert.pem"\n[auth]\npublic = "anon"\n`, { key: "tls.cert", line: 2, message: /cert is set but key is not/ });
  fileError("pair2.toml", `[tls]\nkey = "key.pem"\n[auth]\npublic = "anon"\n`, { key: "tls.key", line: 2, message: /key is set but cert is not/ });
  fileError("both.toml", `[tls]\ncert = "cert.pem"\nkey = "key.pem"\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n`, { key: "tls.generate", line: 4, message: /either cert\/key or generate/ });
});

test("a config nobody could connect to, or without any certificate, names the section", () => {
  fileError("noauth.toml", OK_TLS, { key: "auth", message: /^\[auth\]: nobody could connect/ });
  fileError("notls.toml", `[auth]\npublic = "anon"\n`, { key: "tls", message: /^\[tls\]: a certificate is required/ });
});

test("cross-key mistakes point at the key that was set", () => {
  fileError("keepalive.toml", `${OK}[server.quic]\nidle_timeout = "2s"\n`, { key: "server.quic.idle_timeout", line: 6, message: /keep_alive \(5000 ms\) must be shorter than idle_timeout \(2000 ms\)/ });
  fileError("url.toml", `${OK}[cluster]\nnodes = ["peer.example.com"]\n`, { key: "cluster.nodes", line: 6, message: /"peer\.example\.com" is not a URL/ });
});

test("a bad environment variable is named instead of a line", () => {
  inputError({ MOQ_SERVER_BIND: "x" }, {}, "MOQ_SERVER_BIND", /^MOQ_SERVER_BIND: "x" is not host:port/);
  inputError({ MOQ_SERVER_QUIC_IDLE_TIMEOUT: "soon" }, {}, "MOQ_SERVER_QUIC_IDLE_TIMEOUT", /"soon" is not a duration/);
  inputError({ MOQ_AUTH_KEY: "/nonexistent/root.jwk" }, {}, "MOQ_AUTH_KEY", /key file not found: \/nonexistent\/root\.jwk/);
  inputError({ MOQ_AUTH_PUBLIC: "{ publish = [" }, {}, "MOQ_AUTH_PUBLIC", /not a valid TOML inline table/);
});

test("a bad flag is named as the user typed it", () => {
  inputError({}, { bind: "nope" }, "--bind", /^--bind: "nope" is not host:port/);
  inputError({}, { set: ["log.level=loud"] }, "--set log.level", /"loud" is not one of/);
  inputError({}, { set: ["cache.maxbytes=1"] }, "--set cache.maxbytes", /unknown setting \(did you mean cache\.max_bytes\?\)/);
  inputError({}, { set: ["nonsense"] }, "--set", /expected section\.key=value/);
});

test("an unreadable config file", () => {
  const file = join(d, "nope.toml");
  assert.throws(() => loadConfig({ file, env: {}, flags: {} }), (e: unknown) => e instanceof ConfigError && e.message === `${file}: cannot read config file: no such file (ENOENT)`);
});
