import { test } from "node:test";
import assert from "node:assert/strict";
import { makeOrigin, ManualSource, MiB, TestViewer } from "./helpers.js";
import { runMeasured, type Heap } from "../util/heap.js";

test("the byte budget holds with 50 tracks × 10 MB written, keeping every track's newest group", () => {
  const budget = 16 * MiB;
  const o = makeOrigin({ budget });
  const frame = new Uint8Array(64 * 1024); // one buffer, written by reference: the cache copies nothing
  const framesPerGroup = 8; // 512 KiB groups
  const groupBytes = frame.byteLength * framesPerGroup;
  const tracks = Array.from({ length: 50 }, (_, i) => {
    const src = new ManualSource();
    const t = o.announce(`b${i}`, src).track("video");
    t.subscribe(new TestViewer());
    return { src, t };
  });
  const perTrack = 10 * MiB;
  let worst = 0;
  for (let seq = 0; seq * groupBytes < perTrack; seq++) {
    // Interleave frame by frame so every track has a group growing at once.
    const groups = tracks.map(({ src }) => src.live("video").sink.group(seq));
    for (let f = 0; f < framesPerGroup; f++) {
      for (const g of groups) {
        g?.append(f, frame);
        worst = Math.max(worst, o.cache.total);
        assert.ok(o.cache.total <= budget + tracks.length * groupBytes, `cached ${o.cache.total} bytes`);
      }
    }
    for (const g of groups) g?.finish();
  }
  assert.ok(o.cache.total <= budget + tracks.length * groupBytes);
  for (const { t } of tracks) assert.equal(t.latest?.sequence, 10 * MiB / groupBytes - 1, "each track keeps its newest group");
  assert.ok(o.stats.evictions > 0);
  assert.equal(o.stats.cacheBytes, o.cache.total);
  assert.ok(worst > budget, "the newest groups alone exceed this budget, and are still kept");
});

test("over budget, the oldest groups go first, across tracks", () => {
  const o = makeOrigin({ budget: 1000 });
  const a = new ManualSource();
  const b = new ManualSource();
  const ta = o.announce("a", a).track("t");
  const tb = o.announce("b", b).track("t");
  ta.subscribe(new TestViewer());
  tb.subscribe(new TestViewer());
  const p = new Uint8Array(300);
  a.writeGroup("t", 0, [p]);
  b.writeGroup("t", 0, [p]);
  a.writeGroup("t", 1, [p]);
  b.writeGroup("t", 1, [p]); // 1200 bytes: a/0 (the oldest) goes
  assert.deepEqual(ta.groups.map((g) => g.sequence), [1]);
  assert.deepEqual(tb.groups.map((g) => g.sequence), [0, 1]);
  assert.equal(o.cache.total, 900);
});

test("a group dropped from the cache still completes for viewers already reading it", () => {
  const o = makeOrigin({ budget: 100 });
  const src = new ManualSource();
  const t = o.announce("a", src).track("t");
  const v = new TestViewer(true); // stalled: holds its cursors
  t.subscribe(v);
  const g0 = src.writeGroup("t", 0, [new Uint8Array(80)], false);
  src.writeGroup("t", 1, [new Uint8Array(80)]);
  assert.equal(g0?.cached, false, "evicted by the budget");
  g0?.append(1, new Uint8Array(10));
  g0?.finish();
  assert.equal(g0?.frameCount, 2, "its reader still gets the rest");
  assert.equal(o.cache.total, 80);
});

// Memory proofs: the scenario runs in a child with --expose-gc, and what survives a full GC is
// measured (frame payloads are ArrayBuffers, so both the V8 heap and buffer memory count).
interface CacheRun {
  before: Heap;
  full: Heap;
  expired: Heap;
  cached: number;
  groups: number;
}
const held = (h: Heap, base: Heap): number => h.heap + h.buffers - (base.heap + base.buffers);

test("max_bytes bounds what the cache keeps alive: 3,000 groups of 256 KiB through a 4 MiB budget", async () => {
  const r = await runMeasured<CacheRun>("test/relay/cache-memory.child.ts", ["budget"]);
  assert.ok(r.cached <= 4 * MiB + 256 * 1024, `cache reports ${r.cached} bytes`);
  // 750 MiB went through; the budget plus a little bookkeeping may stay.
  assert.ok(held(r.full, r.before) < 12 * MiB, `held ${(held(r.full, r.before) / MiB).toFixed(1)} MiB after GC`);
});

test("with max_age = 1 s, memory falls back once groups expire, with no new group arriving", async () => {
  const r = await runMeasured<CacheRun>("test/relay/cache-memory.child.ts", ["age"]);
  assert.ok(held(r.full, r.before) > 16 * MiB, `most of the 40 MiB of groups are cached at first (held ${(held(r.full, r.before) / MiB).toFixed(1)} MiB)`);
  assert.equal(r.groups, 1, "only the newest group stays");
  assert.ok(held(r.expired, r.before) < 6 * MiB, `held ${(held(r.expired, r.before) / MiB).toFixed(1)} MiB after expiry`);
});
