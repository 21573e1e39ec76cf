import { test } from "node:test";
import assert from "node:assert/strict";
import { bytes, clock, makeOrigin, ManualSource, TestViewer } from "./helpers.js";

test("N viewers share one upstream subscription, released after the linger period", (t) => {
  // The linger timer runs on mocked time: no race with a loaded machine's real clock.
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const o = makeOrigin({ linger: 40 });
  const src = new ManualSource();
  const track = o.announce("b", src).track("video");
  const subs = Array.from({ length: 5 }, () => track.subscribe(new TestViewer()));
  assert.equal(src.upstreams.length, 1);
  assert.equal(o.stats.upstreams, 1);
  for (const s of subs) s.close();
  // A viewer returning within the linger period reuses the warm upstream.
  t.mock.timers.tick(10);
  const again = track.subscribe(new TestViewer());
  assert.equal(src.upstreams.length, 1);
  again.close();
  assert.equal(src.upstreams[0].closed, false, "still warm right after the last viewer left");
  t.mock.timers.tick(39);
  assert.equal(src.upstreams[0].closed, false, "not a moment before the linger period ends");
  t.mock.timers.tick(1);
  assert.equal(src.upstreams[0].closed, true, "released once the linger period passed");
  assert.equal(o.stats.upstreams, 0);
  track.subscribe(new TestViewer());
  assert.equal(src.upstreams.length, 2, "a later viewer opens a fresh upstream");
});

test("TRACK_INFO is asked upstream once for concurrent requests and cached after", async () => {
  const o = makeOrigin();
  const src = new ManualSource();
  src.hold = true;
  const b = o.announce("b", src);
  const asks = [b.track("video").trackInfo(), b.track("video").trackInfo(), b.track("video").trackInfo()];
  assert.equal(src.infoCalls, 1);
  src.answerInfo();
  const infos = await Promise.all(asks);
  assert.ok(infos.every((i) => i === infos[0]));
  await b.track("video").trackInfo();
  assert.equal(src.infoCalls, 1);
  assert.equal(o.stats.trackInfoHits, 1);
});

test("a failed TRACK_INFO is not cached and an unknown track is forgotten", async () => {
  const o = makeOrigin();
  const src = new ManualSource();
  src.hold = true;
  const b = o.announce("b", src);
  const ask = b.track("nope").trackInfo();
  src.answerInfo(Object.assign(new Error("not found"), { code: 13 }));
  await assert.rejects(ask, /not found/);
  assert.equal(b.peek("nope"), undefined, "no state kept for a track that does not exist");
  const retry = b.track("nope").trackInfo();
  assert.equal(src.infoCalls, 2);
  src.answerInfo();
  await retry;
});

test("upstream preferences: publisher priority, a latency covering every viewer", async () => {
  const o = makeOrigin();
  const src = new ManualSource();
  src.info = { priority: 7, ordered: true, maxLatency: 2000, timescale: 1000 };
  const t = o.announce("b", src).track("video");
  await t.trackInfo();
  const a = t.subscribe(new TestViewer(), { priority: 1, ordered: false, maxLatency: 100 });
  const up = src.live("video");
  assert.deepEqual(up.prefs, { priority: 7, ordered: true, maxLatency: 100 });
  const b = t.subscribe(new TestViewer(), { priority: 200, ordered: false, maxLatency: 500 });
  assert.deepEqual(up.updates.at(-1), { priority: 7, ordered: true, maxLatency: 500 });
  b.close();
  assert.deepEqual(up.updates.at(-1), { priority: 7, ordered: true, maxLatency: 100 });
  const c = t.subscribe(new TestViewer(), { priority: 0, ordered: false, maxLatency: 0 });
  assert.equal(up.updates.at(-1)?.maxLatency, 0, "a viewer without a limit lifts it");
  c.close();
  a.close();
});

test("a late joiner starts at the latest group, from its first frame, then follows live", () => {
  const o = makeOrigin();
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  const early = new TestViewer();
  t.subscribe(early);
  src.writeGroup("video", 0, [bytes(1), bytes(2)]);
  const g1 = src.writeGroup("video", 1, [bytes(10), bytes(11)], false);
  const late = new TestViewer();
  const sub = t.subscribe(late);
  assert.equal(sub.start, 1);
  assert.deepEqual(late.sequences, [1]);
  assert.deepEqual(late.received.get(1), [bytes(10), bytes(11)], "replayed from frame 0");
  g1?.append(2, bytes(12));
  g1?.finish();
  src.writeGroup("video", 2, [bytes(20)]);
  assert.deepEqual(late.sequences, [1, 2]);
  assert.deepEqual(late.received.get(1), [bytes(10), bytes(11), bytes(12)]);
  assert.deepEqual(early.sequences, [0, 1, 2]);
  assert.ok(late.received.get(1)?.[0] === early.received.get(1)?.[0], "viewers share the cached payload, no copies");
});

test("groups may arrive out of order and with gaps", () => {
  const o = makeOrigin();
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  const fromZero = new TestViewer();
  t.subscribe(fromZero, { priority: 0, ordered: false, maxLatency: 0, start: 0 });
  const live = new TestViewer();
  t.subscribe(live);
  src.writeGroup("video", 5, [bytes(5)]);
  src.writeGroup("video", 3, [bytes(3)]);
  src.writeGroup("video", 9, [bytes(9)]);
  assert.equal(src.writeGroup("video", 5, [bytes(55)]), undefined, "a duplicate is refused");
  assert.deepEqual(t.groups.map((g) => g.sequence), [3, 5, 9]);
  // The first group handed out fixes the start (what SUBSCRIBE_START promises): older stragglers
  // are not sent, newer ones are, whatever the order.
  assert.deepEqual(fromZero.sequences, [5, 9]);
  assert.deepEqual(live.sequences, [5, 9]);
  const late = new TestViewer();
  t.subscribe(late, { priority: 0, ordered: false, maxLatency: 0, start: 0 });
  assert.deepEqual(late.sequences, [3, 5, 9], "a viewer asking for old groups gets the cached ones in order");
  assert.equal(t.latest?.sequence, 9);
});

test("requested start and end bound what a viewer gets, and the end is reported", () => {
  const o = makeOrigin();
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  t.subscribe(new TestViewer());
  for (let s = 0; s < 4; s++) src.writeGroup("video", s, [bytes(s)]);
  const v = new TestViewer();
  t.subscribe(v, { priority: 0, ordered: false, maxLatency: 0, start: 1, end: 4 });
  assert.deepEqual(v.sequences, [1, 2, 3]);
  assert.equal(v.endedAt, undefined);
  src.writeGroup("video", 4, [bytes(4)]);
  src.writeGroup("video", 5, [bytes(5)]);
  assert.deepEqual(v.sequences, [1, 2, 3, 4]);
  assert.equal(v.endedAt, 5);
});

test("upstream ending cleanly ends viewers, and later viewers get the cache then the end", () => {
  const o = makeOrigin();
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  const v = new TestViewer();
  t.subscribe(v);
  src.writeGroup("video", 0, [bytes(0)]);
  src.live("video").sink.end(1);
  src.live("video").sink.close();
  assert.equal(v.endedAt, 1);
  const late = new TestViewer();
  t.subscribe(late);
  assert.deepEqual(late.sequences, [0]);
  assert.equal(late.endedAt, 1);
});

test("upstream failure ends every viewer with its code; the next viewer retries", () => {
  const o = makeOrigin();
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  const a = new TestViewer();
  const b = new TestViewer();
  t.subscribe(a);
  t.subscribe(b);
  const open = src.writeGroup("video", 0, [bytes(1)], false);
  src.live("video").sink.close(13);
  assert.deepEqual(a.closedWith, [13]);
  assert.deepEqual(b.closedWith, [13]);
  assert.equal(open?.error, 13, "an unfinished group is aborted with the upstream's code");
  assert.equal(o.stats.upstreams, 0);
  t.subscribe(new TestViewer());
  assert.equal(src.upstreams.length, 2);
});

test("the broadcast going away ends its viewers with the given code", () => {
  const o = makeOrigin();
  const src = new ManualSource();
  const b = o.announce("b", src);
  const v = new TestViewer();
  b.track("video").subscribe(v);
  b.close(4);
  assert.deepEqual(v.closedWith, [4]);
  assert.equal(src.upstreams[0].closed, true);
  assert.equal(o.stats.subscriptions, 0);
});

test("non-latest groups expire after the publisher's latency window; the newest never does", async () => {
  const c = clock();
  const o = makeOrigin({ now: c.now, maxAge: 30_000 });
  const src = new ManualSource();
  src.info = { priority: 0, ordered: false, maxLatency: 100, timescale: 1000 };
  const t = o.announce("b", src).track("video");
  await t.trackInfo();
  t.subscribe(new TestViewer());
  src.writeGroup("video", 0, [bytes(0)]);
  c.advance(60);
  src.writeGroup("video", 1, [bytes(1)]);
  c.advance(60);
  src.writeGroup("video", 2, [bytes(2)]);
  assert.deepEqual(t.groups.map((g) => g.sequence), [1, 2], "group 0 is 120 ms old: gone");
  c.advance(10_000);
  t.expire();
  assert.deepEqual(t.groups.map((g) => g.sequence), [2], "the newest group stays however old");
  assert.equal(o.cache.total, 1);
});

test("cache.max_age caps a publisher asking for a longer window", async () => {
  const c = clock();
  const o = makeOrigin({ now: c.now, maxAge: 50 });
  const src = new ManualSource();
  src.info = { priority: 0, ordered: false, maxLatency: 60_000, timescale: 1000 };
  const t = o.announce("b", src).track("video");
  await t.trackInfo();
  t.subscribe(new TestViewer());
  src.writeGroup("video", 0, [bytes(0)]);
  c.advance(51);
  src.writeGroup("video", 1, [bytes(1)]);
  assert.deepEqual(t.groups.map((g) => g.sequence), [1]);
});
