import { test } from "node:test";
import assert from "node:assert/strict";
import { Announce } from "../../src/session/lite/announce.js";
import { Writer } from "../../src/util/bytes.js";
import { SubscribeEnd, SubscribeStart } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import { until } from "./client.js";
import { RELAY_HOP, TestRelay } from "./harness.js";

test("a publisher never sees its own broadcasts echoed back; others see them under their root", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  pub.client.publish("alice");
  await until(() => relay.origin.lookup("anon/alice") !== undefined, "announce");
  const own = await pub.client.announced("");
  const other = await relay.connect();
  const seen = await other.client.announced("");
  const atRoot = await relay.connect({ grant: { root: "" } });
  const global = await atRoot.client.announced("");
  await until(() => seen.active.has("alice") && global.active.has("anon/alice"), "others to see it");
  assert.equal(own.ok?.active, 0);
  assert.deepEqual(own.events, []);
});

test("a session watching while it publishes is not told about its own new broadcasts (lite-03: no hop ids)", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect({ version: Version.Lite03 });
  const own = await pub.client.announced("");
  const other = await relay.connect({ version: Version.Lite03 });
  const seen = await other.client.announced("");
  await until(() => pub.client.announceRequests.length === 1, "the relay's request");
  pub.client.publish("live/cam");
  await until(() => seen.active.has("live/cam"), "another session to see it");
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(own.events, []);
});

test("announcements are filtered by the subscribe grant, relative to the request prefix", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  for (const p of ["room/a", "room/b/c", "roomy/x", "other/y"]) pub.client.publish(p);
  await until(() => relay.origin.size === 4, "four broadcasts");
  const viewer = await relay.connect({ grant: { subscribe: ["room", "other/z"], publish: [] } });
  const w = await viewer.client.announced("room");
  const all = await viewer.client.announced("");
  await until(() => w.ok !== undefined && all.ok !== undefined, "answers");
  assert.equal(w.ok?.active, 2);
  assert.deepEqual([...w.active].sort(), ["a", "b/c"]);
  assert.deepEqual([...all.active].sort(), ["room/a", "room/b/c"]);
  pub.client.publish("room/d");
  pub.client.unpublish("room/a");
  pub.client.publish("other/z");
  await until(() => w.active.has("d") && !w.active.has("a") && all.active.has("other/z"), "live changes");
  assert.deepEqual(w.events.map((e) => `${e.active ? "+" : "-"}${e.suffix}`), ["+a", "+b/c", "+d", "-a"]);
});

test("publishing outside the grant, or into a reserved namespace, is refused", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect({ grant: { root: "", publish: ["mine", ".internal"], subscribe: [""] } });
  pub.client.publish("mine/cam");
  pub.client.publish("yours/cam");
  pub.client.publish(".internal/origins/x");
  await until(() => relay.origin.size >= 1, "the permitted broadcast");
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(relay.origin.list("").map((b) => b.path), ["mine/cam"]);
  const peer = await relay.connect({ grant: { root: "", publish: [""], subscribe: [""], cluster: true } });
  peer.client.publish(".internal/origins/x");
  await until(() => relay.origin.lookup(".internal/origins/x") !== undefined, "a cluster peer may");
});

test("announcements that already passed through this relay are dropped as loops", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect({ version: Version.Lite04 });
  pub.client.publish("fresh");
  await until(() => relay.origin.size === 1, "announce");
  // Answer a second ANNOUNCE on the same request with a chain that includes the relay.
  const req = pub.client.announceRequests[0];
  const w = new Writer(64);
  Announce.active("looped", [RELAY_HOP, pub.client.origin]).encode(w, Version.Lite04);
  req.stream.send.write(w.finish());
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(relay.origin.lookup("anon/looped"), undefined);
  assert.deepEqual(relay.origin.lookup("anon/fresh")?.hops, [pub.client.origin], "lite-04 chains already name the publisher");
});

test("when a publisher leaves, viewers see the broadcast end and their subscriptions end", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  pub.client.publish("show");
  await until(() => relay.origin.size === 1, "announce");
  const viewer = await relay.connect();
  const w = await viewer.client.announced("");
  const sub = await viewer.client.subscribe("show", "video");
  await until(() => pub.client.subscribeRequests.length === 1, "upstream");
  await pub.client.sendGroup(pub.client.subscribeRequests[0], 4, [{ ts: 0, payload: new Uint8Array([1]) }]);
  await until(() => viewer.client.groupsOf(sub).some((g) => g.done), "a group");
  pub.transport.close(0, "bye");
  await until(() => !w.active.has("show") && sub.fin, "the end");
  assert.deepEqual(sub.responses, [new SubscribeStart(4), new SubscribeEnd(5)]);
  assert.equal(relay.origin.size, 0);
  assert.equal(relay.origin.stats.subscriptions, 0);
});

test("a second publisher of an active path takes over under its viewers: no restart is announced", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const first = await relay.connect();
  first.client.publish("cam");
  await until(() => relay.origin.size === 1, "announce");
  const v5 = await relay.connect();
  const v4 = await relay.connect({ version: Version.Lite04 });
  const w5 = await v5.client.announced("");
  const w4 = await v4.client.announced("");
  await until(() => w5.active.has("cam") && w4.active.has("cam"), "both see it");
  const second = await relay.connect();
  second.client.publish("cam");
  await until(() => relay.origin.all()[0]?.hops[0] === second.client.origin, "the second publisher serves it");
  // Give a stray announcement time to arrive before asserting there is none.
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(w5.events.map((e) => e.active), [true], "a viewer's player does not see a restart");
  assert.deepEqual(w4.events.map((e) => e.active), [true]);
  assert.deepEqual(w4.events[0].hops, [first.client.origin, RELAY_HOP], "lite-04 chains end with the relay");
  // The first publisher unannouncing late does not remove the replacement.
  first.client.unpublish("cam");
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(w5.active.has("cam"));
  assert.equal(relay.origin.size, 1);
});
