// The HTTP API as clients use it: Authorization: Bearer wherever ?jwt= works, /fetch answering
// 404 at once for a track a live broadcast does not have, 400 with the expected shape otherwise.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocket } from "ws";
import { generateKey, publicKey, serializeKey } from "../../src/token/key.js";
import { signToken } from "../../src/token/claims.js";
import { startTestRelay } from "../util/relay.js";
import { connect, publish, waitAnnounced, within } from "../util/moq.js";

const d = mkdtempSync(join(tmpdir(), "moq-http-"));
const root = await generateKey("ES256", "k1");
writeFileSync(join(d, "root.jwk"), serializeKey(publicKey(root)));
const token = await signToken(root, { root: "secure", put: "", get: "" });
const relay = await startTestRelay({ "auth.key": join(d, "root.jwk"), "auth.public": "anon" });
after(() => relay.close());

test("/fetch of a track a live broadcast does not have answers 404 at once", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "b", "video");
  const watcher = await connect(relay.url("anon"));
  await waitAnnounced(watcher, "b");
  p.group(["x"]);
  const started = Date.now();
  const res = await within(fetch(relay.url("fetch/anon/b/nosuch")), 5000, "/fetch of an unknown track to answer");
  assert.equal(res.status, 404);
  assert.match(await res.text(), /track/);
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  const ok = await within(fetch(relay.url("fetch/anon/b/video")), 5000, "/fetch of the live track");
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), "x");
  pub.close();
  watcher.close();
});

test("a malformed /fetch path answers 400 naming the expected shape", async () => {
  for (const path of ["fetch/", "fetch/onlyone"]) {
    const res = await fetch(relay.url(path));
    assert.equal(res.status, 400, path);
    assert.match(await res.text(), /expected \/fetch\/<broadcast path>\/<track>\[\?group=N\|latest\]/);
  }
  const bad = await fetch(relay.url("fetch/anon/b/video?group=first"));
  assert.equal(bad.status, 400);
});

test("Authorization: Bearer works on HTTP routes as ?jwt= does", async () => {
  assert.equal((await fetch(relay.url("announced/secure"))).status, 401);
  const res = await fetch(relay.url("announced/secure"), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), []);
});

test("Authorization: Bearer authorises a WebSocket session as ?jwt= does", async () => {
  const ws = (headers: Record<string, string>): Promise<number> =>
    within(
      new Promise<number>((resolve) => {
        const s = new WebSocket(`ws://127.0.0.1:${relay.port}/secure`, ["qmux-01.moq-lite-05"], { headers });
        s.once("upgrade", (r) => {
          resolve(r.statusCode ?? 0);
          s.terminate();
        });
        s.once("unexpected-response", (_req, r) => {
          resolve(r.statusCode ?? 0);
          s.terminate();
        });
        s.once("error", () => undefined);
      }),
      5000,
      "the WebSocket upgrade to be answered",
    );
  assert.equal(await ws({}), 401);
  assert.equal(await ws({ Authorization: `Bearer ${token}` }), 101);
});
