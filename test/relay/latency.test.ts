// The latency rule: a viewer's group older than the newest is dropped (reset with Old) once its
// oldest frame not yet sent is older than the viewer's budget, judged from what the session says
// has left (cursor.onUnsent), never from arrival alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Group, GroupCursor } from "../../src/relay/group.js";
import { CODE_OLD } from "../../src/relay/subscription.js";
import type { ViewerSink } from "../../src/relay/types.js";
import { bytes, clock, makeOrigin, ManualSource } from "./helpers.js";

/**
 * A viewer as a session with a transport would be: it takes every frame at once, but only the
 * first `sendable(group)` frames have left (the rest are queued in the transport); a group
 * finished and fully sent is released.
 */
class LinkViewer implements ViewerSink {
  readonly cursors = new Map<number, GroupCursor>();
  readonly dropped: Array<[number, number]> = [];
  constructor(private readonly sendable: (c: GroupCursor) => number = (c) => c.index) {}

  group(c: GroupCursor): void {
    this.cursors.set(c.sequence, c);
    c.onDrop = (code) => void this.dropped.push([c.sequence, code]);
    c.onChange = () => this.read(c);
    c.onUnsent = () => Math.min(c.index, this.sendable(c));
    this.read(c);
  }

  end(): void {}
  close(): void {}

  private read(c: GroupCursor): void {
    c.index = c.group.frameCount;
    if (c.group.done && this.sendable(c) >= c.index) c.close();
  }
}

/** Let TRACK_INFO (the timescale that dates frames within a group) resolve. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

const FRAMES = 10;
const FRAME_MS = 100;

/** A live track with 1 s groups of 10 frames, one frame per 100 ms on the manual clock. */
function live(opts: { latency?: number } = {}) {
  const c = clock();
  const o = makeOrigin({ queue: 4, now: c.now, latency: opts.latency });
  const src = new ManualSource();
  const t = o.announce("b", src).track("video");
  let open: Group | undefined;
  return {
    o,
    t,
    c,
    /** Start group `seq` (its first frame), finishing the previous one first unless `lateFin`. */
    start(seq: number, lateFin = false): Group {
      if (!lateFin) open?.finish();
      const prev = open;
      const g = src.live("video").sink.group(seq) as Group;
      open = g;
      g.append(c.now(), bytes(seq, 0));
      if (lateFin) prev?.finish(); // the FIN of the previous group comes after the next one's first frame
      return g;
    },
    /** Let 100 ms pass and append the open group's next frame. */
    tick(): void {
      c.advance(FRAME_MS);
      open?.append(c.now(), bytes(0));
    },
    /** The rest of the open group's frames, then 100 ms to the next group's start. */
    rest(): void {
      while ((open?.frameCount ?? FRAMES) < FRAMES) this.tick();
      c.advance(FRAME_MS);
    },
  };
}

test("a viewer whose link carries less than the track gets every new group and loses the stale tail of the old one, reset with Old", async () => {
  const L = live();
  const slow = new LinkViewer(() => 6); // only 6 frames of each group ever leave
  const fast = new LinkViewer();
  L.t.subscribe(fast);
  L.t.subscribe(slow);
  await settle();
  L.start(0);
  L.rest();
  L.start(1);
  // The budget is half the observed group interval: 500 ms. Group 0's oldest unsent frame (6)
  // arrived at 600 ms: 400 ms old now, 500 at 1.1 s, over the budget at 1.2 s.
  assert.equal(L.t.defaultLatency(), 500);
  assert.deepEqual(slow.dropped, []);
  L.tick();
  assert.deepEqual(slow.dropped, []);
  L.tick();
  assert.deepEqual(slow.dropped, [[0, CODE_OLD]]);
  L.rest();
  L.start(2);
  L.tick();
  L.tick();
  assert.deepEqual(slow.dropped, [[0, CODE_OLD], [1, CODE_OLD]]);
  assert.deepEqual([...slow.cursors.keys()], [0, 1, 2], "the slow viewer got every new group");
  // The viewer that keeps up lost nothing.
  assert.deepEqual(fast.dropped, []);
  assert.equal(L.o.stats.groupsDropped, 2);
});

test("a viewer that keeps up loses nothing to a late FIN or a short hiccup at a group boundary", async () => {
  const L = live();
  let stuck = false;
  // Its transport holds back group 1's last two frames for 300 ms around the boundary.
  const v = new LinkViewer((c) => (stuck && c.sequence === 1 ? 8 : c.index));
  const sub = L.t.subscribe(v);
  await settle();
  L.start(0);
  L.rest();
  L.start(1);
  L.rest();
  L.start(2, true); // group 1's FIN after group 2's first frame
  assert.equal(sub.inFlightCount, 1, "group 1, all its frames sent, was released at its FIN");
  L.rest();
  stuck = true;
  L.start(3);
  L.tick();
  L.tick();
  stuck = false;
  L.tick();
  assert.deepEqual(v.dropped, []);
});

test("the budget: the viewer's own max latency, else [limits] subscriber_max_latency, else half the group interval (at least 500 ms, at most the cache window)", async () => {
  const L = live();
  L.t.subscribe(new LinkViewer());
  assert.equal(L.t.defaultLatency(), 0, "no interval seen yet: no budget");
  L.start(0);
  L.rest();
  L.start(1);
  assert.equal(L.t.defaultLatency(), 500);
  L.c.advance(40);
  L.start(2);
  L.c.advance(40);
  L.start(3);
  assert.equal(L.t.defaultLatency(), 500, "the interval is now under a second, the budget never under 500 ms");
  // A burst: groups 4..7 written back to back shrink the interval to a few ms.
  for (let g = 4; g < 8; g++) {
    L.c.advance(2);
    L.start(g);
  }
  assert.equal(L.t.defaultLatency(), 500, "a burst leaves the floor");
  const set = live({ latency: 250 });
  assert.equal(set.t.defaultLatency(), 250, "the setting applies from the start");
  // A viewer asking for its own max latency keeps a stale group that long.
  const own = live();
  const patient = new LinkViewer(() => 0);
  own.t.subscribe(patient, { priority: 0, ordered: false, maxLatency: 5000 });
  const hasty = new LinkViewer(() => 0);
  own.t.subscribe(hasty);
  await settle();
  own.start(0);
  own.rest();
  own.start(1);
  own.rest();
  own.start(2);
  assert.deepEqual(patient.dropped, []);
  assert.deepEqual(hasty.dropped.map(([s]) => s), [0, 1]);
});

test("a group whose FIN is written while its bytes are still queued stays in flight until they leave, and can still be dropped", async () => {
  const L = live();
  let queued = true;
  const dropped: number[] = [];
  const cursors: GroupCursor[] = [];
  const sub = L.t.subscribe({
    group: (c) => {
      cursors.push(c);
      c.onDrop = () => void dropped.push(c.sequence);
      c.onChange = () => void (c.index = c.group.frameCount);
      // Like GroupPump: all frames written; the "tail" lets go of the cursor once nothing is queued.
      c.onUnsent = () => {
        if (c.group.done && !queued) {
          c.close();
          return c.group.frameCount;
        }
        return queued ? c.group.frameCount - 2 : c.index; // its last two frames are queued
      };
      c.index = c.group.frameCount;
    },
    end: () => undefined,
    close: () => undefined,
  });
  await settle();
  L.start(0);
  L.rest();
  L.start(1);
  assert.equal(sub.inFlightCount, 2, "group 0 is finished but its bytes are queued");
  queued = false;
  L.tick();
  assert.equal(sub.inFlightCount, 1, "its bytes left: the slot is free");
  assert.deepEqual(dropped, []);
  queued = true;
  L.rest();
  L.start(2);
  for (let i = 0; i < 6; i++) L.tick();
  assert.deepEqual(dropped, [1], "a queued tail older than the budget is dropped");
  assert.equal(cursors[1].isActive, false);
});
