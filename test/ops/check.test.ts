// --check reads what the relay will read; start-up failures after it are one line, exit 1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSigned } from "../../src/transport/tls/certificate.js";
import { generateKey, serializeKey, publicKey } from "../../src/token/key.js";
import { signToken } from "../../src/token/claims.js";
import { run } from "../util/spawn.js";
import { within } from "../util/moq.js";

const DAY = 86_400_000;
const d = mkdtempSync(join(tmpdir(), "moq-check-"));
const a = await selfSigned(["localhost"], 7 * DAY);
const b = await selfSigned(["localhost"], 7 * DAY);
const root = await generateKey("ES256", "k1");
const files: Record<string, string> = {
  "cert.pem": a.certPem,
  "key.pem": a.keyPem,
  "other-key.pem": b.keyPem,
  "empty.pem": "",
  "garbage.pem": "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
  "root.jwk": serializeKey(publicKey(root)),
  "bad.jwk": "{ nope",
  "jwks.json": JSON.stringify({ keys: [JSON.parse(serializeKey(publicKey(root))) as object] }),
  "bad-jwks.json": JSON.stringify({ not: "a jwks" }),
  "cluster.jwt": await signToken(root, { root: "", put: "", get: "", cluster: true }),
  "bad.jwt": "this is not a jwt",
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);

function config(tls: string, auth: string, cluster = ""): string {
  const file = join(d, `relay-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(file, `[server]\nbind = "127.0.0.1:0"\n[tls]\n${tls}\n[auth]\n${auth}\n${cluster ? `[cluster]\n${cluster}\n` : ""}`);
  return file;
}
const PAIR = `cert = "cert.pem"\nkey = "key.pem"`;
const KEY = `key = "root.jwk"`;

test("--check accepts a matching PEM pair, a JWK, a JWKS and a cluster token, and lists what a reload applies", async () => {
  const r = await run("moq-relay", [config(PAIR, `${KEY}\njwks = "jwks.json"`, `token = "cluster.jwt"`), "--check"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configuration OK\n/);
  assert.match(r.stdout, /^reload \(SIGHUP\) applies: .*tls\.cert, tls\.key.*auth\.public.*log\.level.*cache\.max_bytes.*limits\.max_sessions/m);
  assert.match(r.stdout, /^reload \(SIGHUP\) ignores until a restart: server\.bind, .*http\.ops_bind/m);
});

const broken: [string, string, string, string, RegExp][] = [
  ["an empty key file", `cert = "cert.pem"\nkey = "empty.pem"`, KEY, "", /empty\.pem: is empty$/],
  ["a certificate that is not PEM", `cert = "garbage.pem"\nkey = "key.pem"`, KEY, "", /garbage\.pem: not a PEM certificate$/],
  ["a key that does not match its certificate", `cert = "cert.pem"\nkey = "other-key.pem"`, KEY, "", /other-key\.pem: does not match the certificate in .*cert\.pem$/],
  ["a malformed JWK", PAIR, `key = "bad.jwk"`, "", /bad\.jwk: not a JWK: invalid JSON$/],
  ["a JSON file that is not a JWKS", PAIR, `jwks = "bad-jwks.json"`, "", /bad-jwks\.json: expected a JWKS document/],
  ["a cluster token that is not a JWT", PAIR, KEY, `token = "bad.jwt"`, /bad\.jwt: not a JWT/],
];
for (const [what, tls, auth, cluster, message] of broken) {
  test(`--check refuses ${what} with one line naming the file, exit 2`, async () => {
    const r = await run("moq-relay", [config(tls, auth, cluster), "--check"]);
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), /^moq-relay: /);
    assert.match(r.stderr.trimEnd(), message);
  });
}

test("an unreadable key file is named with permission denied (unprivileged user only)", async (t) => {
  if (process.getuid?.() === 0) return t.skip("running as root: file permissions do not apply");
  const file = join(d, "locked.pem");
  writeFileSync(file, a.keyPem, { mode: 0o000 });
  const r = await run("moq-relay", [config(`cert = "cert.pem"\nkey = "locked.pem"`, KEY), "--check"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /locked\.pem: cannot read: permission denied.*\(EACCES\)\n$/);
});

test("a port already in use is one line naming the address, exit 1, no stack trace", async () => {
  const holder = createServer();
  const port = await new Promise<number>((resolve) => holder.listen(0, "127.0.0.1", () => resolve((holder.address() as { port: number }).port)));
  try {
    const file = config(PAIR, KEY);
    const r = await within(run("moq-relay", [file, "--bind", `127.0.0.1:${port}`, "--log-format", "json"], { timeoutMs: 20_000 }), 25_000, "the relay to fail on a busy port");
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.match(lines.at(-1) ?? "", new RegExp(`^moq-relay: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)`));
    assert.ok(!/"stack"|\n\s+at /.test(r.stderr), r.stderr);
  } finally {
    holder.close();
  }
});

test("public = \"\" is allowed with a warning that every path is open", async () => {
  const r = await run("moq-relay", [config(PAIR, `public = ""`), "--check"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: auth\.public opens every path: anyone may publish and subscribe anything without a token/);
});
