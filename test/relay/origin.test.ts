import { test } from "node:test";
import assert from "node:assert/strict";
import type { Broadcast } from "../../src/relay/broadcast.js";
import type { AnnounceListener } from "../../src/relay/origin.js";
import { makeOrigin, ManualSource, TestViewer } from "./helpers.js";

/** Records what a watcher is told, as "+path" / "~path" (rerouted) / "-path". */
function recorder(): AnnounceListener & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    active: (b: Broadcast) => void events.push(`+${b.path}`),
    ended: (b: Broadcast) => void events.push(`-${b.path}`),
    rerouted: (b: Broadcast) => void events.push(`~${b.path}`),
  };
}

test("watchers see the current set first, then live changes, by whole-segment prefix", () => {
  const o = makeOrigin();
  o.announce("room/alice", new ManualSource());
  const room = recorder();
  const all = recorder();
  o.watch("room", room);
  o.watch("", all);
  const bob = o.announce("roomy/bob", new ManualSource());
  const carol = o.announce("/room//carol/", new ManualSource());
  bob.close();
  carol.close();
  assert.deepEqual(room.events, ["+room/alice", "+room/carol", "-room/carol"]);
  assert.deepEqual(all.events, ["+room/alice", "+roomy/bob", "+room/carol", "-roomy/bob", "-room/carol"]);
  assert.deepEqual(o.list("room").map((b) => b.path), ["room/alice"]);
  assert.equal(o.lookup("room/alice")?.path, "room/alice");
  assert.equal(o.lookup("room"), undefined);
});

test("a closed watch hears nothing more", () => {
  const o = makeOrigin();
  const r = recorder();
  const w = o.watch("", r);
  o.announce("a", new ManualSource());
  w.close();
  o.announce("b", new ManualSource());
  assert.deepEqual(r.events, ["+a"]);
  assert.equal(o.watchCount, 0);
});

test("announcing an active path again moves it to the newest publisher under its viewers", () => {
  const o = makeOrigin();
  const r = recorder();
  o.watch("", r);
  const firstSource = new ManualSource();
  const first = o.route("live", firstSource);
  const b = o.lookup("live");
  const viewer = new TestViewer();
  b?.track("video").subscribe(viewer);
  const secondSource = new ManualSource();
  o.route("live", secondSource);
  assert.equal(o.lookup("live"), b, "the same broadcast");
  assert.equal(b?.source, secondSource);
  assert.deepEqual(r.events, ["+live", "~live"], "never an ended gap");
  assert.deepEqual(viewer.closedWith, [], "the viewer's subscription carries on");
  assert.equal(firstSource.upstreams[0].closed, true, "the old upstream is released");
  assert.equal(secondSource.upstreams.length, 1);
  // The old publisher unannouncing late must not remove its replacement.
  first.close();
  assert.equal(o.lookup("live"), b);
  assert.equal(b?.source, secondSource);
  assert.deepEqual(r.events, ["+live", "~live"]);
  b?.close();
  assert.deepEqual(r.events, ["+live", "~live", "-live"]);
  assert.deepEqual(viewer.closedWith, [undefined]);
  assert.equal(o.size, 0);
});

test("per-watcher filters hide a session's own broadcasts and looped hop chains", () => {
  const o = makeOrigin();
  const mine = new ManualSource();
  const peerHop = 77n;
  const r = recorder();
  o.watch("", r, { filter: (b) => b.source !== mine && !b.hops.includes(peerHop) });
  o.announce("own", mine);
  o.announce("looped", new ManualSource(), [5n, peerHop]);
  o.announce("other", new ManualSource(), [5n]);
  // A replacement that becomes invisible reads as ended; one that becomes visible as active.
  o.announce("other", mine);
  o.announce("own", new ManualSource());
  assert.deepEqual(r.events, ["+other", "-other", "+own"]);
});

test("paths are normalised and bounded", () => {
  const o = makeOrigin();
  assert.equal(o.announce("//a///b/", new ManualSource()).path, "a/b");
  assert.throws(() => o.announce(Array.from({ length: 33 }, (_, i) => `s${i}`).join("/"), new ManualSource()), RangeError);
  assert.throws(() => o.announce("x", new ManualSource(), Array.from({ length: 33 }, () => 1n)), RangeError);
  assert.equal(o.stats.broadcasts, 1);
});
