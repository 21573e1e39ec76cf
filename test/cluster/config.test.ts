// [cluster] checks that --check and start-up share: each mistake is one line naming the key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { peersOf } from "../../src/config/cluster.js";

const jwt = (payload: Record<string, unknown>): string => `e30.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;

function load(cluster: Record<string, unknown>, files: Record<string, string> = {}): ReturnType<typeof loadConfig> {
  const d = mkdtempSync(join(tmpdir(), "moq-cluster-cfg-"));
  for (const [n, body] of Object.entries(files)) writeFileSync(join(d, n), body);
  const flags: Record<string, string | string[]> = { "server.bind": "127.0.0.1:0" };
  for (const [k, v] of Object.entries(cluster)) flags[`cluster.${k}`] = Array.isArray(v) ? v.join(",") : String(v).replace("$DIR", d);
  return loadConfig({ env: {}, flags });
}

const ok = { root: "", put: [""], get: [""], cluster: true };

test("a cluster token that is not a cluster token, expired or unreadable is refused with the reason", () => {
  assert.throws(() => load({ nodes: ["https://b.example.com"], node: "https://a.example.com", token: "$DIR/t.jwt" }, { "t.jwt": jwt({ root: "", put: [""] }) }), /not a cluster token/);
  assert.throws(() => load({ nodes: ["https://b.example.com"], node: "https://a.example.com", token: "$DIR/t.jwt" }, { "t.jwt": jwt({ ...ok, exp: 1000 }) }), /expired/);
  assert.throws(() => load({ nodes: ["https://b.example.com"], node: "https://a.example.com", token: "$DIR/none.jwt" }), /token file not found/);
  assert.throws(() => load({ nodes: ["https://b.example.com"], node: "https://a.example.com", token: "$DIR/t.jwt" }, { "t.jwt": "not a jwt" }), /does not hold a JWT/);
  const { config } = load({ nodes: ["https://b.example.com"], node: "https://a.example.com", token: "$DIR/t.jwt" }, { "t.jwt": jwt(ok) });
  assert.ok(config.cluster.token?.endsWith("t.jwt"));
});

test("node URLs: bad schemes, bad cost or pin, and a missing node are refused", () => {
  assert.throws(() => load({ nodes: ["ftp://b.example.com"], node: "https://a.example.com" }), /scheme ftp: cannot be dialed/);
  assert.throws(() => load({ nodes: ["https://b.example.com?cost=x"], node: "https://a.example.com" }), /cost must be a whole number/);
  assert.throws(() => load({ nodes: ["https://b.example.com?fingerprint=abc"], node: "https://a.example.com" }), /fingerprint must be sha256/);
  assert.throws(() => load({ nodes: ["https://b.example.com"] }), /node is missing/);
  assert.throws(() => load({ nodes: ["https://b.example.com"], node: "not a url" }), /is not a URL/);
});

test("peers: nodes and connect merged, own node skipped, cost and pin read off the URL", () => {
  const pin = "ab".repeat(32);
  const { config } = load({ nodes: ["https://a.example.com", `https://b.example.com:4443?cost=3&fingerprint=sha256:${pin}`], connect: ["moql://c.example.com:4443", "https://b.example.com:4443"], node: "https://a.example.com/" });
  const peers = peersOf(config.cluster);
  assert.deepEqual(peers.map((p) => [p.url, p.cost, p.fingerprint ?? null]), [
    ["https://b.example.com:4443/", 3, pin],
    ["moql://c.example.com:4443", 1, null],
  ]);
});
