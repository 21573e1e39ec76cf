import { test } from "node:test";
import assert from "node:assert/strict";
import { Role } from "../../src/session/lite/setup.js";
import { SubscribeOk, SubscribeStart } from "../../src/session/lite/subscribe.js";
import { Version, versionName } from "../../src/session/lite/version.js";
import { until } from "./client.js";
import { TestRelay } from "./harness.js";

const ALL = [Version.Lite05, Version.Lite04, Version.Lite03, Version.Lite02, Version.Lite01];

for (const pv of ALL) {
  for (const vv of [Version.Lite05, pv === Version.Lite05 ? Version.Lite02 : pv]) {
    test(`${versionName(pv)} publisher → ${versionName(vv)} viewer: announce, subscribe, identical payloads`, async (t) => {
      const relay = new TestRelay();
      t.after(() => relay.close());
      const pub = await relay.connect({ version: pv });
      pub.client.publish("room/cam");
      await until(() => relay.origin.lookup("anon/room/cam") !== undefined, "announce");
      const viewer = await relay.connect({ version: vv });
      const w = await viewer.client.announced("room");
      await until(() => w.active.has("cam"), "the viewer to see it");
      const sub = await viewer.client.subscribe("room/cam", "video");
      await until(() => pub.client.subscribeRequests.length === 1, "upstream");
      const payload = new Uint8Array(5000).map((_, i) => i % 251);
      await pub.client.sendGroup(pub.client.subscribeRequests[0], 0, [
        { ts: 1000, payload },
        { ts: 1040, payload: new Uint8Array([7]) },
      ]);
      await until(() => viewer.client.groupsOf(sub).some((g) => g.done), "the group");
      const g = viewer.client.groupsOf(sub)[0];
      assert.deepEqual(g.frames.map((f) => f.payload), [payload, new Uint8Array([7])]);
      if (pv === Version.Lite05 && vv === Version.Lite05) assert.deepEqual(g.frames.map((f) => f.ts), [1000, 1040]);
      if (vv === Version.Lite05) assert.deepEqual(sub.responses, [new SubscribeStart(0)]);
      else assert.ok(sub.responses[0] instanceof SubscribeOk, "an explicit OK first on pre-05 versions");
    });
  }
}

test("pre-05 publishers' frames get arrival timestamps in milliseconds", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect({ version: Version.Lite04 });
  pub.client.publish("b");
  await until(() => relay.origin.size === 1, "announce");
  const viewer = await relay.connect();
  const info = await viewer.client.trackInfo("b", "video");
  assert.deepEqual([info.info?.timescale, info.info?.maxLatency], [1000, 5000]);
  const sub = await viewer.client.subscribe("b", "video");
  await until(() => pub.client.subscribeRequests.length === 1, "upstream");
  const before = Date.now();
  await pub.client.sendGroup(pub.client.subscribeRequests[0], 0, [{ ts: 0, payload: new Uint8Array([1]) }]);
  await until(() => viewer.client.groupsOf(sub).some((g) => g.done), "the group");
  const ts = viewer.client.groupsOf(sub)[0].frames[0].ts;
  assert.ok(ts >= before && ts <= Date.now(), `${ts} is the arrival time`);
});

test("the legacy in-band SETUP is refused when moql is not among the configured versions", async (t) => {
  const relay = new TestRelay({ versions: ["moq-lite-05"] });
  t.after(() => relay.close());
  const c = await relay.connect({ version: Version.Lite02, start: false });
  const info = await c.done;
  assert.equal(info.code, 9);
});

test("a legacy client that never sends CLIENT_SETUP is dropped after the handshake timeout", async (t) => {
  const relay = new TestRelay({ limits: { handshake_timeout: 50 } });
  t.after(() => relay.close());
  const c = await relay.connect({ version: Version.Lite02, start: false });
  assert.equal((await c.done).code, 3);
});

test("a stream opened before the legacy SETUP is a protocol violation", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const c = await relay.connect({ version: Version.Lite02, start: false });
  await c.client.sendBidi(new Uint8Array([0x02, 0x01, 0x00]));
  assert.equal((await c.done).code, 15);
});

test("GOAWAY goes out on drain (lite-04+)", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const c = await relay.connect();
  relay.sessions[0].goaway("https://other.example/anon");
  await until(() => c.client.goaways.length === 1, "the GOAWAY");
  assert.deepEqual(c.client.goaways, ["https://other.example/anon"]);
});

test("raw QUIC: the SETUP path scopes the session through the authorize hook", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const asked: string[] = [];
  const pub = await relay.connect({
    pair: { transport: "quic", url: "moqt://relay.test/" },
    grant: { root: "", publish: [], subscribe: [] },
    authorize: async (url) => {
      asked.push(url.pathname + url.search);
      return { root: url.pathname.slice(1), publish: [""], subscribe: [""] };
    },
    start: false,
  });
  pub.client.publish("test");
  await pub.client.start({ path: "/room?jwt=abc" });
  await until(() => relay.origin.lookup("room/test") !== undefined, "room/test");
  assert.deepEqual(asked, ["/room?jwt=abc"]);
  assert.equal(pub.server.url.pathname, "/room");
});

test("raw QUIC: a refused SETUP path closes the session with Unauthorized", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const c = await relay.connect({ pair: { transport: "quic" }, authorize: () => Promise.reject(new Error("no")), start: false });
  await c.client.start({ path: "/private" });
  assert.equal((await c.done).code, 6);
});

test("a declared role the grant does not allow closes the session with Unauthorized", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const c = await relay.connect({ grant: { publish: [], subscribe: [""] }, start: false });
  await c.client.start({ role: Role.Publisher });
  assert.equal((await c.done).code, 6);
  const ok = await relay.connect({ grant: { publish: [], subscribe: [""] }, start: false });
  await ok.client.start({ role: Role.Subscriber });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(ok.transport.isClosed, false);
  assert.equal(ok.client.announceRequests.length, 0, "nothing is pulled from a subscriber");
});

test("an expiring grant closes the session with Unauthorized when it expires", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const c = await relay.connect({ grant: { expiresAt: Date.now() + 60 } });
  const started = Date.now();
  assert.equal((await c.done).code, 6);
  assert.ok(Date.now() - started >= 40);
});
