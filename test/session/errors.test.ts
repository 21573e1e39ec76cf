import { test } from "node:test";
import assert from "node:assert/strict";
import { Bidi } from "../../src/session/lite/stream.js";
import { until } from "./client.js";
import { TestRelay } from "./harness.js";

test("an unknown broadcast is refused at once with Unroutable, on TRACK and SUBSCRIBE", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const viewer = await relay.connect();
  const started = Date.now();
  const info = await viewer.client.trackInfo("nobody", "video");
  assert.equal(info.reset, 30);
  const sub = await viewer.client.subscribe("nobody", "video");
  await until(() => sub.reset !== undefined, "the subscribe to be refused");
  assert.equal(sub.reset, 30);
  assert.ok(Date.now() - started < 500, "refused promptly, not after a client timeout");
});

test("an unknown track is refused with the publisher's code, and not remembered", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  pub.client.publish("b");
  await until(() => relay.origin.lookup("anon/b") !== undefined, "announce");
  const viewer = await relay.connect();
  const info = await viewer.client.trackInfo("b", "nope");
  assert.equal(info.reset, 13);
  const sub = await viewer.client.subscribe("b", "nope");
  await until(() => sub.reset !== undefined, "the subscribe to be refused");
  assert.equal(sub.reset, 13);
  assert.equal(relay.origin.lookup("anon/b")?.peek("nope"), undefined);
});

test("a subscription outside the viewer's grant is refused with Unauthorized", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  pub.client.publish("secret/feed");
  await until(() => relay.origin.lookup("anon/secret/feed") !== undefined, "announce");
  const viewer = await relay.connect({ grant: { subscribe: ["public"], publish: [] } });
  const sub = await viewer.client.subscribe("secret/feed", "video");
  await until(() => sub.reset !== undefined, "refusal");
  assert.equal(sub.reset, 6);
  assert.equal(pub.client.subscribeRequests.length, 0, "the publisher is never asked");
});

test("a malformed message closes only the offending session, with Decode", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  pub.client.publish("survivor");
  await until(() => relay.origin.lookup("anon/survivor") !== undefined, "announce");
  const viewer = await relay.connect();
  const sub = await viewer.client.subscribe("survivor", "video");
  await until(() => pub.client.subscribeRequests.length === 1, "upstream");

  const bad = await relay.connect();
  // A SUBSCRIBE whose length says 3 bytes but whose track-name string claims 63.
  await bad.client.sendBidi(new Uint8Array([Bidi.Subscribe, 0x03, 0x00, 0x3f, 0x61]));
  const info = await bad.transport.closed;
  assert.equal(info.code, 5);
  assert.equal(info.remote, true);

  // Everyone else carries on.
  await pub.client.sendGroup(pub.client.subscribeRequests[0], 0, [{ ts: 0, payload: new Uint8Array([42]) }]);
  await until(() => viewer.client.groupsOf(sub).some((g) => g.done), "the healthy viewer's group");
  assert.equal(viewer.transport.isClosed, false);
  assert.equal(pub.transport.isClosed, false);
});

test("an oversized control message closes the session with BoundsExceeded", async (t) => {
  const relay = new TestRelay({ limits: { max_message_size: 1024 } });
  t.after(() => relay.close());
  const bad = await relay.connect();
  // ANNOUNCE_REQUEST claiming a 16 KiB body.
  await bad.client.sendBidi(new Uint8Array([Bidi.Announce, 0x80, 0x00, 0x40, 0x00]));
  const info = await bad.transport.closed;
  assert.equal(info.code, 11);
});

test("a truncated group stream from a publisher closes its session with Decode", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  pub.client.publish("b");
  await until(() => relay.origin.lookup("anon/b") !== undefined, "announce");
  const viewer = await relay.connect();
  await viewer.client.subscribe("b", "video");
  await until(() => pub.client.subscribeRequests.length === 1, "upstream");
  const s = await pub.transport.openUni();
  // GROUP(sub 0, seq 0), then a frame claiming 10 bytes with only 2 sent, then FIN.
  s.write(new Uint8Array([0x00, 0x02, 0x00, 0x00, 0x00, 0x0a, 1, 2]));
  s.end();
  const info = await pub.transport.closed;
  assert.equal(info.code, 5);
  assert.equal(viewer.transport.isClosed, false);
});

test("unknown stream types and PROBE are refused without closing the session", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const c = await relay.connect();
  const resets: number[] = [];
  for (const type of [0x3f, Bidi.Probe, Bidi.Session]) {
    const s = await c.transport.openBidi();
    s.recv.onReset = (code) => void resets.push(code);
    s.send.write(new Uint8Array([type]));
  }
  await until(() => resets.length === 3, "three refusals");
  assert.deepEqual(resets.sort(), [10, 10, 17]);
  assert.equal(c.transport.isClosed, false);
  // The session still works.
  const info = await c.client.trackInfo("nobody", "video");
  assert.equal(info.reset, 30);
});
