// Routing in the relay core: several routes to one path, the best one serves it, losing it hands
// over at once, and a dead link's routes linger before the broadcast is withdrawn.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Broadcast } from "../../src/relay/broadcast.js";
import type { AnnounceListener } from "../../src/relay/origin.js";
import { makeOrigin, ManualSource, TestViewer } from "./helpers.js";

function recorder(): AnnounceListener & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    active: (b: Broadcast, restart: boolean) => void events.push(`${restart ? "~" : "+"}${b.path}`),
    ended: (b: Broadcast) => void events.push(`-${b.path}`),
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

test("losing the serving route switches to the next best at once (a restart, never an ended gap)", () => {
  const o = makeOrigin();
  const r = recorder();
  o.watch("", r);
  const a = new ManualSource();
  const b = new ManualSource();
  const ha = o.route("live", a, [1n], { cost: 1, via: 1n });
  o.route("live", b, [2n], { cost: 2, via: 2n });
  const viewer = new TestViewer();
  o.lookup("live")?.track("video").subscribe(viewer);
  assert.equal(a.upstreams.length, 1);
  ha.close();
  assert.equal(o.lookup("live")?.source, b);
  assert.deepEqual(r.events, ["+live", "~live"]);
  assert.deepEqual(viewer.closedWith, [undefined], "viewers of the old route end; players resubscribe on the restart");
  assert.equal(a.upstreams[0].closed, true, "the old upstream is released: still one upstream per track");
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
