import { fetchText, rawConnect, startFixture, tryUpgrade, within, type Fixture } from "./fixture.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { LANDING, text } from "../../src/http/router.js";

describe("the relay's TCP port", () => {
  let f: Fixture;
  let http: string;
  let https: string;
  before(async () => {
    f = await startFixture({ firstByteTimeout: 300 });
    http = `http://127.0.0.1:${f.port}`;
    https = `https://127.0.0.1:${f.port}`;
  });
  after(() => f.close());

  test("serves the certificate fingerprint over plain HTTP, for cross-origin browsers", async () => {
    const r = await fetchText(`${http}/certificate.sha256`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers["content-type"]), /^text\/plain/);
    assert.equal(r.headers["access-control-allow-origin"], "*");
    assert.match(r.body, /^[0-9a-f]{64}$/, "lowercase hex, no trailing newline");
    assert.equal(r.body, f.certs.fingerprint);
  });

  test("answers HTTPS on the same port, and the fingerprint is the SHA-256 of the leaf it serves", async () => {
    const plain = await fetchText(`${http}/certificate.sha256`);
    const secure = await fetchText(`${https}/certificate.sha256`, { ca: f.certs.certPem });
    assert.equal(secure.status, 200);
    assert.ok(secure.peerDer, "a TLS peer certificate");
    assert.equal(createHash("sha256").update(secure.peerDer).digest("hex"), plain.body);
    assert.equal(secure.body, plain.body);
    assert.equal(secure.headers["access-control-allow-origin"], "*");
  });

  test("anything else gets the plain-text landing with 404, over HTTP and HTTPS", async () => {
    for (const r of [await fetchText(`${http}/`), await fetchText(`${https}/some/where?x=1`, { ca: f.certs.certPem })]) {
      assert.equal(r.status, 404);
      assert.equal(r.body, LANDING);
      assert.match(String(r.headers["content-type"]), /^text\/plain/);
    }
  });

  test("CORS preflight is answered, and other methods on a route are refused", async () => {
    const pre = await fetchText(`${http}/certificate.sha256`, { method: "OPTIONS", headers: { Origin: "https://example.com", "Access-Control-Request-Method": "GET" } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers["access-control-allow-origin"], "*");
    assert.match(String(pre.headers["access-control-allow-methods"]), /GET/);
    const post = await fetchText(`${http}/certificate.sha256`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.match(String(post.headers.allow), /GET/);
  });

  test("routes registered later serve their prefix, longest first, with the decoded rest", async () => {
    const seen: string[] = [];
    f.router.get("/announced/", (_req, res, _url, rest) => text(res, 200, `all:${rest}`));
    f.router.get("/announced/special/", (_req, res, url, rest) => {
      seen.push(url.searchParams.get("jwt") ?? "");
      text(res, 200, `special:${rest}`);
    });
    f.router.get("/health", (_req, res) => text(res, 200, "ok\n"));
    f.router.get("/boom", () => Promise.reject(new Error("handler bug")));
    assert.equal((await fetchText(`${http}/announced`)).body, "all:");
    assert.equal((await fetchText(`${http}/announced/a%20b/c`)).body, "all:a b/c");
    assert.equal((await fetchText(`${http}/announced/special/x?jwt=t`)).body, "special:x");
    assert.deepEqual(seen, ["t"]);
    assert.equal((await fetchText(`${http}/health`)).body, "ok\n");
    assert.equal((await fetchText(`${http}/healthz`)).status, 404);
    const boom = await fetchText(`${http}/boom`);
    assert.equal(boom.status, 500);
    assert.doesNotMatch(boom.body, /handler bug/, "internal errors are not leaked");
  });

  test("a connection that never sends a byte is closed", async () => {
    const s = await rawConnect(f.port);
    const start = Date.now();
    await within(new Promise((r) => s.once("close", r)), 3000, "the idle connection to close");
    assert.ok(Date.now() - start >= 200, "not before the first-byte timeout");
  });

  test("bound to \"::\", the same port takes IPv4 and IPv6 clients", async (t) => {
    const g = await startFixture({ host: "::", certs: f.certs });
    t.after(() => g.close());
    assert.equal((await fetchText(`http://127.0.0.1:${g.port}/certificate.sha256`)).body, f.certs.fingerprint);
    assert.equal((await fetchText(`http://[::1]:${g.port}/certificate.sha256`)).body, f.certs.fingerprint);
    const r = await tryUpgrade(`ws://127.0.0.1:${g.port}/anon`, ["qmux-02.moq-lite-05"]);
    assert.equal(r.status, 101);
    assert.match(g.asked.at(-1)?.remote ?? "", /^127\.0\.0\.1:\d+$/, "IPv4-mapped addresses are shown as IPv4");
  });

  test("closing the listener releases open keep-alive connections", async () => {
    const g = await startFixture();
    const s = await rawConnect(g.port);
    s.write(`GET /certificate.sha256 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await within(new Promise((r) => s.once("data", r)), 3000, "a response");
    const closed = new Promise((r) => s.once("close", r));
    await within(g.close(), 3000, "the listener to close");
    await within(closed, 3000, "the client connection to be closed");
  });
});
