import { test } from "node:test";
import assert from "node:assert/strict";
import { Origin } from "../../src/relay/origin.js";
import type { BroadcastSource } from "../../src/relay/broadcast.js";
import type { TrackSink, Viewer } from "../../src/relay/track.js";
import type { Group } from "../../src/relay/group.js";
import { DEFAULT_TRACK_INFO } from "../../src/session/lite/track.js";

const MiB = 1024 * 1024;

function origin(budget = 64 * MiB, linger = 50): Origin {
  return new Origin({ max_bytes: budget, max_age: 30_000, linger });
}

/** A source that records upstream subscriptions and lets the test drive them. */
function source(session = 1): BroadcastSource & { sinks: Map<string, TrackSink>; opened: number; closed: number; infoCalls: number } {
  const s = {
    session,
    sinks: new Map<string, TrackSink>(),
    opened: 0,
    closed: 0,
    infoCalls: 0,
    trackInfo: async () => {
      s.infoCalls++;
      await new Promise((r) => setTimeout(r, 10));
      return DEFAULT_TRACK_INFO;
    },
    subscribe: (name: string, sink: TrackSink) => {
      s.opened++;
      s.sinks.set(name, sink);
      return { close: () => void s.closed++ };
    },
  };
  return s;
}

function collector(): Viewer & { groups: Group[]; closedWith: Array<number | undefined> } {
  const v = { groups: [] as Group[], closedWith: [] as Array<number | undefined>, group: (g: Group) => void v.groups.push(g), close: (c: number | undefined) => void v.closedWith.push(c) };
  return v;
}

test("announcements fan out to watchers by whole-segment prefix", () => {
  const o = origin();
  const seen: Array<[string, boolean]> = [];
  o.watch("room", (path, b) => seen.push([path, b !== undefined]));
  const a = o.announce("room/alice", source(), []);
  o.announce("roomy/bob", source(), []);
  o.unannounce(a);
  assert.deepEqual(seen, [["room/alice", true], ["room/alice", false]]);
  assert.deepEqual(o.list("roomy").map((b) => b.path), ["roomy/bob"]);
});

test("announcing an active path replaces the old source and ends its viewers", () => {
  const o = origin();
  const first = o.announce("live", source(1), []);
  const v = collector();
  first.track("video").subscribe(v);
  const second = o.announce("live", source(2), []);
  assert.equal(o.get("live"), second);
  assert.deepEqual(v.closedWith, [undefined]);
  o.unannounce(first); // stale handle: must not remove the replacement
  assert.equal(o.get("live"), second);
});

test("one upstream subscription per track however many viewers, released after the linger", async () => {
  const o = origin(64 * MiB, 30);
  const src = source();
  const b = o.announce("b", src, []);
  const handles = Array.from({ length: 100 }, () => b.track("video").subscribe(collector()));
  assert.equal(src.opened, 1);
  for (const h of handles) h.close();
  assert.equal(src.closed, 0, "kept warm during the linger");
  const again = b.track("video").subscribe(collector());
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(src.opened, 1, "a returning viewer reuses the warm upstream");
  again.close();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(src.closed, 1);
});

test("TRACK_INFO is asked upstream once for concurrent requests", async () => {
  const src = source();
  const t = origin().announce("b", src, []).track("video");
  await Promise.all([t.trackInfo(), t.trackInfo(), t.trackInfo()]);
  assert.equal(src.infoCalls, 1);
});

test("a late joiner starts at the latest group from frame 0, then follows new groups", () => {
  const src = source();
  const t = origin().announce("b", src, []).track("video");
  t.subscribe(collector());
  const sink = src.sinks.get("video")!;
  sink.beginGroup(0).append(0, new Uint8Array([0]));
  const g1 = sink.beginGroup(1);
  g1.append(1, new Uint8Array([1]));
  g1.append(2, new Uint8Array([2]));
  const late = collector();
  t.subscribe(late);
  sink.beginGroup(2);
  assert.deepEqual(late.groups.map((g) => g.sequence), [1, 2]);
  assert.equal(late.groups[0].frames.length, 2);
});

test("out-of-order groups are cached in sequence order", () => {
  const src = source();
  const t = origin().announce("b", src, []).track("video");
  t.subscribe(collector());
  const sink = src.sinks.get("video")!;
  for (const s of [3, 1, 2]) sink.beginGroup(s);
  assert.deepEqual(t.groups.map((g) => g.sequence), [1, 2, 3]);
  assert.equal(t.latest?.sequence, 3);
});

test("the byte budget holds under 50 tracks x 10 MB, keeping each track's newest group", () => {
  const budget = 64 * MiB;
  const o = origin(budget);
  const tracks = Array.from({ length: 50 }, (_, i) => {
    const src = source(i);
    const t = o.announce(`b${i}`, src, []).track("video");
    t.subscribe(collector());
    return { t, sink: src.sinks.get("video")! };
  });
  const frame = new Uint8Array(100 * 1024);
  let peak = 0;
  for (let g = 0; g < 10; g++) {
    for (const { sink } of tracks) {
      const group = sink.beginGroup(g);
      for (let f = 0; f < 10; f++) {
        group.append(f, frame);
        peak = Math.max(peak, o.cache.total);
      }
      group.finish();
    }
  }
  // 500 MB written; the cache never holds more than the budget plus the frame being appended.
  assert.ok(peak <= budget + frame.length, `peak ${peak} over budget ${budget}`);
  assert.ok(o.cache.total <= budget);
  assert.ok(o.cache.evictions >= 400, `evictions ${o.cache.evictions}`);
  for (const { t } of tracks) assert.equal(t.latest?.sequence, 9);
});

test("when upstream ends, viewers are told and cached groups are released", () => {
  const o = origin();
  const src = source();
  const t = o.announce("b", src, []).track("video");
  const v = collector();
  t.subscribe(v);
  const sink = src.sinks.get("video")!;
  sink.beginGroup(0).append(0, new Uint8Array(1000));
  sink.fail(13);
  assert.deepEqual(v.closedWith, [13]);
  assert.equal(o.cache.total, 0);
});
