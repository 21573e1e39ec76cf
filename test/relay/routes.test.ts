// Routing in the relay core: several routes to one path, the best one serves it, losing it hands
// over at once (the track's one upstream moves under its viewers), and a dead link's routes
// linger before the broadcast is withdrawn.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Broadcast } from "../../src/relay/broadcast.js";
import type { AnnounceListener } from "../../src/relay/origin.js";
import { bytes, makeOrigin, ManualSource, TestViewer } from "./helpers.js";

function recorder(): AnnounceListener & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    active: (b: Broadcast) => void events.push(`+${b.path}`),
    ended: (b: Broadcast) => void events.push(`-${b.path}`),
    rerouted: (b: Broadcast) => void events.push(`~${b.path}`),
  };
}

test("the best route serves: local first, then lowest cost, then fewest hops, then the hop order", () => {
  const o = makeOrigin();
  const far = new ManualSource();
  const near = new ManualSource();
  const cheap = new ManualSource();
  const local = new ManualSource();
  o.route("x", far, [1n, 2n, 3n], { cost: 3, via: 3n });
  assert.equal(o.lookup("x")?.source, far);
  o.route("x", near, [1n, 4n], { cost: 2, via: 4n });
  assert.equal(o.lookup("x")?.source, near, "lower summed cost wins");
  const c = o.route("x", cheap, [9n, 5n], { cost: 2, via: 5n });
  assert.equal(o.lookup("x")?.source, near, "equal cost and hops: the lower hop chain wins, whatever arrived last");
  const l = o.route("x", local, [7n]);
  assert.equal(o.lookup("x")?.source, local, "a local publisher outranks every peer route");
  l.close();
  assert.equal(o.lookup("x")?.source, near);
  c.close();
  assert.deepEqual(o.routes("x").map((r) => r.cost), [2, 3]);
  assert.equal(o.routeCount(3n), 1);
});

test("losing the serving route moves the track's upstream to the next best under its viewers", () => {
  const o = makeOrigin();
  const r = recorder();
  o.watch("", r);
  const a = new ManualSource();
  const b = new ManualSource();
  const ha = o.route("live", a, [1n], { cost: 1, via: 1n });
  o.route("live", b, [2n], { cost: 2, via: 2n });
  const bc = o.lookup("live");
  const viewer = new TestViewer();
  bc?.track("video").subscribe(viewer);
  assert.equal(a.upstreams.length, 1);
  a.writeGroup("video", 7, [bytes(1)]);
  ha.close();
  assert.equal(o.lookup("live"), bc, "the same broadcast, now served through b");
  assert.equal(bc?.source, b);
  assert.deepEqual(bc?.hops, [2n]);
  assert.deepEqual(r.events, ["+live", "~live"], "watchers hear of the new chain, never an ended");
  assert.equal(a.upstreams[0].closed, true, "the old upstream is released before the new one opens");
  assert.equal(b.upstreams.length, 1, "exactly one upstream per track");
  // Another publisher numbers its groups its own way: behind ours, they are shifted past them.
  b.writeGroup("video", 3, [bytes(2)]);
  b.writeGroup("video", 4, [bytes(3)]);
  assert.deepEqual(viewer.closedWith, [], "the viewer's subscription carries on");
  assert.deepEqual(viewer.sequences, [7, 8, 9]);
  assert.deepEqual(viewer.received.get(8), [bytes(2)]);
});

test("a route to the same publisher carries its numbering on: repeats are skipped, jumps kept", () => {
  const o = makeOrigin();
  const via1 = new ManualSource();
  const via2 = new ManualSource();
  const h1 = o.route("x", via1, [5n, 1n], { cost: 1, via: 1n });
  o.route("x", via2, [5n, 2n, 3n], { cost: 2, via: 3n });
  const viewer = new TestViewer();
  o.lookup("x")?.track("t").subscribe(viewer);
  via1.writeGroup("t", 10, [bytes(1)]);
  via1.writeGroup("t", 11, [bytes(2)], false);
  h1.close();
  assert.equal(via2.upstreams.length, 1);
  // Group 11 again (its first frame matches): viewers have it already.
  via2.writeGroup("t", 11, [bytes(2)]);
  via2.writeGroup("t", 12, [bytes(3)]);
  via2.writeGroup("t", 20, [bytes(4)]);
  assert.deepEqual(viewer.sequences, [10, 11, 12, 20]);
  assert.deepEqual(viewer.closedWith, []);
});

test("a better route takes over; a peer that would get its own broadcast back hears it ended", () => {
  const o = makeOrigin();
  const seen = recorder();
  const peer3 = recorder();
  o.watch("", seen);
  // A peer (origin 3) must never be offered a broadcast whose chain passes through it.
  o.watch("", peer3, { filter: (b) => !b.hops.includes(3n) });
  const far = new ManualSource();
  const near = new ManualSource();
  o.route("x", far, [1n, 2n], { cost: 2, via: 2n });
  const viewer = new TestViewer();
  o.lookup("x")?.track("t").subscribe(viewer);
  far.writeGroup("t", 1, [bytes(1)]);
  o.route("x", near, [1n, 3n], { cost: 1, via: 3n });
  assert.equal(far.upstreams[0].closed, true);
  assert.equal(near.upstreams.length, 1);
  assert.deepEqual(seen.events, ["+x", "~x"]);
  assert.deepEqual(peer3.events, ["+x", "-x"]);
  near.writeGroup("t", 2, [bytes(2)]);
  assert.deepEqual(viewer.sequences, [1, 2]);
  assert.equal(o.stats.upstreams, 1);
  assert.equal(o.stats.reroutes, 1);
});

test("a dead link's routes linger: kept while nothing better exists, then withdrawn", async () => {
  const o = makeOrigin();
  const r = recorder();
  o.watch("", r);
  const h = o.route("x", new ManualSource(), [1n], { cost: 1, via: 1n });
  h.linger(40);
  assert.equal(o.size, 1, "still announced while lingering");
  await new Promise((res) => setTimeout(res, 80));
  assert.equal(o.size, 0);
  assert.deepEqual(r.events, ["+x", "-x"]);
  // A live route outranks a lingering one at once.
  const dead = o.route("y", new ManualSource(), [1n], { cost: 1, via: 1n });
  const alive = new ManualSource();
  o.route("y", alive, [2n, 3n], { cost: 5, via: 3n });
  dead.linger(10_000);
  assert.equal(o.lookup("y")?.source, alive);
  o.close();
});

test("another publisher's group numbered like one viewers have is numbered on, not dropped", () => {
  const o = makeOrigin();
  const primary = new ManualSource();
  const standby = new ManualSource();
  const hp = o.route("x", primary, [1n]);
  o.route("x", standby, [2n], { cost: 1, via: 7n });
  const viewer = new TestViewer();
  o.lookup("x")?.track("t").subscribe(viewer);
  primary.writeGroup("t", 5, [bytes(1)]);
  hp.close();
  standby.writeGroup("t", 5, [bytes(9)]);
  standby.writeGroup("t", 6, [bytes(8)]);
  assert.deepEqual(viewer.sequences, [5, 6, 7]);
  assert.deepEqual(viewer.received.get(6), [bytes(9)]);
  assert.deepEqual(viewer.closedWith, []);
});

test("a publisher withdrawing its own route leaves the one serving the path alone", () => {
  const o = makeOrigin();
  const older = new ManualSource();
  const newer = new ManualSource();
  o.announce("x", older);
  const b = o.announce("x", newer);
  o.withdraw("x", older);
  assert.equal(o.lookup("x"), b);
  assert.equal(b.source, newer, "the newer publisher still serves it");
  o.withdraw("x", newer);
  assert.equal(o.lookup("x"), undefined);
});
