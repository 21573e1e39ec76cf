import { test } from "node:test";
import assert from "node:assert/strict";
import { bytes, makeOrigin, ManualSource, TestViewer } from "./helpers.js";

test("a stalled viewer skips to the newest group while a fast one gets everything", async () => {
  const o = makeOrigin({ queue: 4 });
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  const fast = new TestViewer();
  const slow = new TestViewer(true);
  t.subscribe(fast);
  const slowSub = t.subscribe(slow);
  for (let s = 0; s < 20; s++) src.writeGroup("video", s, [bytes(s, 0), bytes(s, 1), bytes(s, 2)]);
  // The fast viewer: every group, every frame, in order.
  assert.deepEqual(fast.sequences, Array.from({ length: 20 }, (_, i) => i));
  for (let s = 0; s < 20; s++) assert.deepEqual(fast.received.get(s), [bytes(s, 0), bytes(s, 1), bytes(s, 2)]);
  // The slow viewer: once the burst is handed out, never more than 4 groups held, the oldest ones
  // dropped (reset with Old).
  await new Promise((r) => setImmediate(r));
  assert.equal(slowSub.inFlightCount, 4);
  assert.deepEqual(slow.dropped, Array.from({ length: 16 }, (_, i) => i));
  assert.deepEqual(slow.cursors.filter((c) => c.isActive).map((c) => c.sequence), [16, 17, 18, 19]);
  assert.equal(o.stats.groupsDropped, 16);
  // The publisher was never held back: all 20 groups went into the cache.
  assert.equal(o.stats.groupsIn, 20);
});

test("a viewer asking for an old start gets the cached backlog through its bounded queue", () => {
  const o = makeOrigin({ queue: 2 });
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  t.subscribe(new TestViewer());
  for (let s = 0; s < 6; s++) src.writeGroup("video", s, [bytes(s)]);
  const v = new TestViewer(true);
  const sub = t.subscribe(v, { priority: 0, ordered: true, maxLatency: 0, start: 2 });
  assert.deepEqual(v.sequences, [2, 3], "two in flight, the rest queued");
  v.cursors[0].close();
  assert.deepEqual(v.sequences, [2, 3, 4], "a released slot takes the next queued group");
  v.cursors[1].close();
  v.cursors[2].close();
  assert.deepEqual(v.sequences, [2, 3, 4, 5]);
  assert.equal(sub.inFlightCount, 1);
});

test("groups older than the viewer's max latency are dropped when a newer one arrives", () => {
  let now = 0;
  const o = makeOrigin({ queue: 10, now: () => now });
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  const v = new TestViewer(true);
  t.subscribe(v, { priority: 0, ordered: false, maxLatency: 100 });
  src.writeGroup("video", 0, [bytes(0)]);
  now += 50;
  src.writeGroup("video", 1, [bytes(1)]);
  assert.deepEqual(v.dropped, []);
  now += 80;
  src.writeGroup("video", 2, [bytes(2)]);
  assert.deepEqual(v.dropped, [0], "group 0 is 130 ms old, group 1 only 80 ms");
});

test("a viewer leaving releases its cursors and stops deliveries", () => {
  const o = makeOrigin();
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  t.subscribe(new TestViewer()); // keeps the upstream alive
  const v = new TestViewer(true);
  const sub = t.subscribe(v);
  const g = src.writeGroup("video", 0, [bytes(0)], false);
  assert.equal(g?.readerCount, 2);
  sub.close();
  assert.equal(g?.readerCount, 1);
  src.writeGroup("video", 1, [bytes(1)]);
  assert.deepEqual(v.sequences, [0]);
  assert.equal(o.stats.subscriptions, 1);
});

test("a burst of groups arriving at once is not dropped for a viewer that keeps up", async () => {
  const o = makeOrigin({ queue: 2 });
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  // Like a session: it starts writing a group a moment after being handed it (stream opening).
  const delivered: number[] = [];
  const dropped: number[] = [];
  t.subscribe({
    group: (c) => {
      c.onDrop = () => void dropped.push(c.sequence);
      queueMicrotask(() => {
        if (!c.isActive) return;
        c.index = c.group.frameCount;
        delivered.push(c.sequence);
        c.close();
      });
    },
    end: () => undefined,
    close: () => undefined,
  });
  for (let s = 0; s < 8; s++) src.writeGroup("video", s, [bytes(s)]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(delivered, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(dropped, []);
});

test("a burst that arrives newest first reaches a waiting viewer whole once upstream said where its groups start", () => {
  const o = makeOrigin({ queue: 4 });
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  const v = new TestViewer();
  const sub = t.subscribe(v);
  // Upstream (a relay) promised groups from 5 on, then opened the burst's streams newest first.
  src.live("video").sink.start?.(5);
  for (const s of [7, 6, 5]) src.writeGroup("video", s, [bytes(s)]);
  assert.deepEqual([...v.sequences].sort(), [5, 6, 7], "the older groups of the burst are not refused");
  assert.equal(sub.startsAt, 5, "the viewer's start is upstream's, not the first group to arrive");
  // Without that word from upstream, the first group to arrive is the start (moq-lite's latest).
  const t2 = o.announce("c", src).track("video");
  const w = new TestViewer();
  t2.subscribe(w);
  for (const s of [7, 6, 5]) src.writeGroup("video", s, [bytes(s)]);
  assert.deepEqual(w.sequences, [7]);
  // A start below a viewer's own is no reason to go back.
  const t3 = o.announce("d", src).track("video");
  const x = new TestViewer();
  t3.subscribe(x, { priority: 0, ordered: false, maxLatency: 0, start: 6 });
  src.live("video").sink.start?.(5);
  for (const s of [7, 6, 5]) src.writeGroup("video", s, [bytes(s)]);
  assert.deepEqual([...x.sequences].sort(), [6, 7]);
});
