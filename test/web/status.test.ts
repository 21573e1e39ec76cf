// GET /api/status (the page's relay-status source) and the page switch: who may read the counters,
// what they say while a broadcast is live, and that a relay with a config file serves no page.
import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { registerPage } from "../../src/http/page.js";
import { LANDING, Router } from "../../src/http/router.js";
import { isLoopback } from "../../src/http/status.js";
import { signToken, type Claims } from "../../src/token/claims.js";
import { generateKey, serializeKey } from "../../src/token/key.js";
import { startTestRelay, type TestRelay } from "../util/relay.js";
import { connect, publish } from "../util/moq.js";

const dir = mkdtempSync(join(tmpdir(), "moq-status-"));
const key = await generateKey("HS256", "main");
writeFileSync(join(dir, "root.jwk"), serializeKey(key));
const now = (): number => Math.floor(Date.now() / 1000);
const token = (c: Partial<Claims>): Promise<string> => signToken(key, { root: "", put: [], get: [], exp: now() + 60, ...c });

// Bound to every address so a non-loopback client can be tried when the machine has one.
let relay: TestRelay;
before(async () => {
  relay = await startTestRelay({ "server.bind": "0.0.0.0:0", "auth.key": join(dir, "root.jwk"), "auth.public": "anon", "http.page": "false" });
});
after(async () => {
  await relay?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Poll `check` (an HTTP read has no event to wait on) until it holds, at most `ms`. */
async function poll(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const url = (path: string, host = "127.0.0.1"): string => `http://${host}:${relay.port}${path}`;

test("the page is on for the development config and off by default with a config file", () => {
  assert.equal(loadConfig({ env: {}, flags: {} }).config.http.page, true);
  assert.equal(loadConfig({ env: {}, flags: { "http.page": "false" } }).config.http.page, false);
  const file = join(dir, "relay.toml");
  writeFileSync(file, '[server]\nbind = "127.0.0.1:0"\n[tls]\ngenerate = ["localhost"]\n[auth]\npublic = "anon"\n');
  assert.equal(loadConfig({ file, env: {}, flags: {} }).config.http.page, false);
});

test("with the page off, / and /page/ answer the plain 404 landing", async () => {
  for (const path of ["/", "/page/app.js"]) {
    const res = await fetch(url(path));
    assert.equal(res.status, 404, path);
    assert.equal(await res.text(), LANDING);
  }
});

test("loopback reads /api/status: counters follow a live broadcast", async () => {
  const conn = await connect(relay.url("anon"));
  const p = publish(conn, "status-live", "video");
  try {
    p.group(["hello"]);
    let s: Record<string, unknown> = {};
    await poll(async () => {
      const res = await fetch(url("/api/status"));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "application/json");
      s = (await res.json()) as Record<string, unknown>;
      return s.broadcasts === 1;
    }, 5000, "/api/status to count the broadcast");
    assert.equal(s.sessions, 1);
    assert.equal(s.draining, false);
    assert.equal(s.peers, null, "no cluster support: peers is null (the page shows none)");
    const cache = s.cache as { bytes: number; max: number; evictions: number };
    assert.ok(cache.max > 0 && cache.bytes >= 0);
    for (const k of ["bytesIn", "bytesOut", "subscriptions", "uptime", "time"]) assert.equal(typeof s[k], "number", k);
  } finally {
    conn.close();
  }
});

test("a token decides, when given: whole-tree subscribe or cluster may read; narrower or invalid may not", async () => {
  const get = async (jwt: string, how: "header" | "query"): Promise<number> => {
    const res = how === "header" ? await fetch(url("/api/status"), { headers: { Authorization: `Bearer ${jwt}` } }) : await fetch(url(`/api/status?jwt=${encodeURIComponent(jwt)}`));
    await res.arrayBuffer();
    return res.status;
  };
  assert.equal(await get(await token({ get: [""] }), "header"), 200);
  assert.equal(await get(await token({ get: [""] }), "query"), 200);
  assert.equal(await get(await token({ cluster: true, get: [], put: [""] }), "header"), 200);
  assert.equal(await get(await token({ root: "room", get: [""] }), "header"), 403, "a token rooted below / does not cover the whole relay");
  assert.equal(await get(await token({ get: ["room"] }), "header"), 403);
  assert.equal(await get(await token({ put: [""] }), "header"), 403, "publish rights are not read rights");
  assert.equal(await get("not.a.token", "header"), 401);
});

const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;

test("a non-loopback client without a token is refused", { skip: external === undefined && "no non-loopback IPv4 address on this machine" }, async () => {
  const res = await fetch(url("/api/status", external));
  assert.equal(res.status, 401);
  assert.match(await res.text(), /needs a token/);
});

test("loopback addresses", () => {
  for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) assert.ok(isLoopback(a), a);
  for (const a of [undefined, "10.0.0.1", "::ffff:10.0.0.1", "::", "128.0.0.1", "fe80::1"]) assert.ok(!isLoopback(a), String(a));
});

test("a checkout whose page was never built answers / with 503 and the build command", async () => {
  const router = new Router("*");
  const empty = mkdtempSync(join(tmpdir(), "moq-unbuilt-"));
  registerPage(router, { root: () => "anon", dir: `${empty}/` });
  const server = createServer((req, res) => router.handle(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /not built .*npm run build/);
    assert.equal((await fetch(`${base}/page/app.js`)).status, 404);
    assert.equal((await fetch(`${base}/elsewhere`)).status, 404);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(empty, { recursive: true, force: true });
  }
});
