import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { encodeFrame } from "../../src/session/lite/group.js";
import { Version } from "../../src/session/lite/version.js";
import { Writer } from "../../src/util/bytes.js";
import { SubscribeStart } from "../../src/session/lite/subscribe.js";
import { TrackInfo } from "../../src/session/lite/track.js";
import { until } from "./client.js";
import { RELAY_HOP, TestRelay } from "./harness.js";

test("lite-05: a viewer receives exactly the bytes a publisher sent, through one upstream subscription", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect({ pair: { maxChunk: 1000 } });
  pub.client.publish("room/alice", { video: new TrackInfo(3, false, 2000, 90_000) });
  await until(() => relay.origin.lookup("anon/room/alice") !== undefined, "the broadcast to reach the origin");
  assert.equal(pub.client.announceRequests[0].req.excludeHop, RELAY_HOP, "the relay asks with its own hop to exclude");
  assert.equal(pub.client.relaySetup?.origin, RELAY_HOP, "the relay's SETUP names its origin");

  const viewer = await relay.connect({ pair: { maxChunk: 700 } });
  const watch = await viewer.client.announced("room");
  await until(() => watch.active.has("alice"), "the viewer to see the announcement");
  assert.equal(watch.ok?.hop, RELAY_HOP);
  assert.deepEqual(watch.events[0].hops, [pub.client.origin], "the hop chain names the publisher");

  const info = await viewer.client.trackInfo("room/alice", "video");
  assert.deepEqual(info.info, new TrackInfo(3, false, 2000, 90_000));
  assert.equal(info.fin, true);

  const sub = await viewer.client.subscribe("room/alice", "video", { priority: 5, ordered: false, maxLatency: 0 });
  const second = await (await relay.connect()).client.subscribe("room/alice", "video");
  await until(() => pub.client.subscribeRequests.length === 1, "the relay to subscribe upstream");
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pub.client.subscribeRequests.length, 1, "one upstream subscription for two viewers");
  const up = pub.client.subscribeRequests[0];
  assert.equal(up.msg.broadcast, "room/alice", "upstream names the path as the publisher announced it");
  assert.equal(up.msg.prefs.priority, 3, "upstream uses the publisher's priority");
  assert.equal(up.msg.prefs.start, undefined, "upstream starts at the latest group");

  const frames = [
    { ts: 90_000, payload: randomBytes(3000) },
    { ts: 93_000, payload: new Uint8Array(0) },
    { ts: 91_500, payload: randomBytes(70_000) },
  ];
  await pub.client.sendGroup(up, 7, frames);
  await until(() => viewer.client.groupsOf(sub).some((g) => g.done), "the group to arrive");
  const [g] = viewer.client.groupsOf(sub);
  assert.equal(g.sequence, 7);
  assert.equal(g.subscribe, sub.id, "the group header carries the viewer's own subscribe id");
  assert.deepEqual(g.frames.map((f) => f.ts), [90_000, 93_000, 91_500], "timestamps survive, including a negative delta");
  for (let i = 0; i < frames.length; i++) assert.ok(Buffer.from(g.frames[i].payload).equals(frames[i].payload), `frame ${i} is byte-identical`);
  assert.deepEqual(sub.responses, [new SubscribeStart(7)]);
  assert.ok(second.responses.length === 1);
  assert.equal(relay.origin.stats.groupsIn, 1);
  assert.ok(relay.origin.stats.bytesOut >= 2 * 73_000);
});

test("a late joiner gets the current group from its first frame, then live groups", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await relay.connect();
  pub.client.publish("live");
  const early = await relay.connect();
  await until(() => relay.origin.lookup("anon/live") !== undefined, "announce");
  const s1 = await early.client.subscribe("live", "video");
  await until(() => pub.client.subscribeRequests.length === 1, "upstream");
  const up = pub.client.subscribeRequests[0];
  await pub.client.sendGroup(up, 0, [{ ts: 0, payload: new Uint8Array([0]) }]);
  const open = await pub.client.sendGroup(up, 1, [{ ts: 1, payload: new Uint8Array([1, 0]) }, { ts: 2, payload: new Uint8Array([1, 1]) }], false);
  await until(() => early.client.groupsOf(s1).find((g) => g.sequence === 1)?.frames.length === 2, "early viewer to have group 1 so far");

  const late = await relay.connect();
  const s2 = await late.client.subscribe("live", "video");
  await until(() => late.client.groupsOf(s2).find((g) => g.sequence === 1)?.frames.length === 2, "the late joiner to get group 1 from frame 0");
  assert.deepEqual(late.client.groupsOf(s2).map((g) => g.sequence), [1], "not the older group 0");
  assert.deepEqual(s2.responses, [new SubscribeStart(1)]);

  // The rest of group 1 and a new group arrive live.
  const w = new Writer(16);
  encodeFrame(w, Version.Lite05, 1, new Uint8Array([1, 2]));
  open.write(w.finish());
  open.end();
  await pub.client.sendGroup(up, 2, [{ ts: 4, payload: new Uint8Array([2]) }]);
  await until(() => late.client.groupsOf(s2).length === 2 && late.client.groupsOf(s2).every((g) => g.done), "live groups");
  const g1 = late.client.groupsOf(s2)[0];
  assert.deepEqual(g1.frames.map((f) => [...f.payload]), [[1, 0], [1, 1], [1, 2]]);
  assert.deepEqual(g1.frames.map((f) => f.ts), [1, 2, 3]);
});
