// "." and ".." segments are refused wherever a path enters the relay: the connection URL (also
// percent-encoded), the raw QUIC SETUP path, every wire message that names a broadcast, and the
// HTTP routes. Paths are matched by prefix and never resolved, so such a name would let a client
// publish or read under a name that a reader resolves elsewhere.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKey, serializeKey } from "../../src/token/key.js";
import { signToken } from "../../src/token/claims.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { Writer } from "../../src/util/bytes.js";
import { Setup } from "../../src/session/lite/setup.js";
import { Uni } from "../../src/session/lite/stream.js";
import { Version } from "../../src/session/lite/version.js";
import { silentLogger } from "../../src/util/log.js";
import { startTestRelay } from "../util/relay.js";
import { connect, publish, upgrade, within } from "../util/moq.js";
import { TestRelay } from "../session/harness.js";
import { until } from "../session/client.js";

const dir = mkdtempSync(join(tmpdir(), "moq-paths-"));
const key = await generateKey("HS256", "main");
writeFileSync(join(dir, "root.jwk"), serializeKey(key));
const relay = await startTestRelay({ "auth.key": join(dir, "root.jwk"), "auth.public": "anon" });
const quic = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: relay.config.server.quic, log: silentLogger() });
after(async () => {
  await quic.close();
  await relay.close();
});
const now = (): number => Math.floor(Date.now() / 1000);

test("a token rooted at room cannot climb out with /room%2F..%2Fsecret (nor %2E%2E, nor ./)", async () => {
  const jwt = await signToken(key, { root: "room", put: [""], get: [""], exp: now() + 60 });
  assert.equal((await upgrade(relay.url("room", jwt))).status, 101, "the plain root works");
  for (const path of ["room%2F..%2Fsecret", "room%2F%2E%2E%2Fsecret", "room/%2E%2E%2Fsecret", "room%2F.%2Fcam"]) {
    const r = await upgrade(relay.url(path, jwt));
    assert.equal(r.status, 400, `${path}: ${r.body ?? ""}`);
    assert.match(r.body ?? "", /"\." or "\.\." segment/);
  }
  // Anonymous roots too.
  assert.equal((await upgrade(relay.url("anon%2F..%2Fsecret"))).status, 400);
});

test("an anonymous client announcing ../secret/evil is refused; nothing is registered outside its root", async () => {
  const conn = await connect(relay.url("anon"));
  let closed = false;
  void conn.closed.then(() => (closed = true));
  try {
    const p = publish(conn, "../secret/evil", "video");
    p.group(["x"]);
    // Either the client drops the name or the relay refuses it: in no case is it registered.
    const ok = publish(conn, "fine", "video");
    ok.group(["y"]);
    await until(() => relay.origin.lookup("anon/fine") !== undefined || closed, "the relay to see the valid broadcast or close", 5000);
    for (const b of relay.origin.list("")) assert.ok(!b.path.split("/").includes(".."), `registered ${b.path}`);
    const listed = (await (await fetch(relay.url("announced/"))).json()) as string[];
    assert.ok(!listed.some((p) => p.includes("..")), JSON.stringify(listed));
  } finally {
    conn.close();
  }
});

test("wire messages naming a dot-segment path close the session with Decode (announce, subscribe, fetch, track)", async (t) => {
  const r = new TestRelay();
  t.after(() => r.close());
  // ANNOUNCE from a publisher.
  const pub = await r.connect();
  pub.client.publish("../secret/evil");
  assert.equal((await within(pub.done, 5000, "the announcing session to close")).code, 5);
  assert.equal(r.origin.size, 0, "nothing registered");
  // Requests from a viewer. (URL parsers resolve literal dots before sending; the wire does not.)
  for (const ask of [
    (c: Awaited<ReturnType<TestRelay["connect"]>>) => c.client.subscribe("a/../b", "video"),
    (c: Awaited<ReturnType<TestRelay["connect"]>>) => c.client.fetch("./b", "video", 0),
    (c: Awaited<ReturnType<TestRelay["connect"]>>) => c.client.trackInfo("..", "video"),
    (c: Awaited<ReturnType<TestRelay["connect"]>>) => c.client.announced("x/.."),
  ]) {
    const c = await r.connect();
    void ask(c);
    const info = await within(c.done, 5000, "the requesting session to close");
    assert.equal(info.code, 5);
    assert.match(info.reason, /"\." or "\.\." segment/);
  }
});

test("the HTTP routes answer 400 for dot segments", async () => {
  for (const path of ["announced/..%2Fsecret", "announced/anon%2F%2E%2E", "fetch/anon%2F..%2Fsecret/video", "fetch/anon/.%2Fcam/video"]) {
    const res = await fetch(relay.url(path));
    assert.equal(res.status, 400, `${path}: ${await res.text()}`);
  }
});

test("raw QUIC: a SETUP path with .. closes the session as unauthorized", async () => {
  const c = await within(quic.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints: [relay.certs.current.fingerprint] }), 5000, "raw QUIC handshake");
  const s = await c.openUni();
  const w = new Writer().varint(Uni.Setup);
  new Setup({ origin: 7n, path: "/anon/../secret" }).encode(w, Version.Lite05);
  s.write(w.finish());
  s.end();
  const info = await within(c.closed, 5000, "the relay to refuse the session");
  assert.equal(info.code, 6);
});
