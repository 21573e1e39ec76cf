import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Datagram } from "../../src/session/lite/datagram.js";
import { SubscribeEnd, SubscribeStart } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import { until, type SubscribeRequest } from "./client.js";
import { TestRelay, type Connected } from "./harness.js";

async function publisher(relay: TestRelay, path = "b"): Promise<Connected> {
  const pub = await relay.connect();
  pub.client.publish(path);
  await until(() => relay.origin.lookup(`anon/${path}`) !== undefined, "announce");
  return pub;
}

async function upstream(pub: Connected, n = 1): Promise<SubscribeRequest> {
  await until(() => pub.client.subscribeRequests.length >= n, "the upstream subscription");
  return pub.client.subscribeRequests[n - 1];
}

test("a stalled viewer is skipped ahead (old groups reset with Old) while a fast one gets everything", async (t) => {
  const relay = new TestRelay({ limits: { subscriber_queue_groups: 3 } });
  t.after(() => relay.close());
  const pub = await publisher(relay);
  const fast = await relay.connect();
  const slow = await relay.connect({ pair: { highWaterMark: 16 * 1024 } });
  const fs = await fast.client.subscribe("b", "video");
  const ss = await slow.client.subscribe("b", "video");
  const up = await upstream(pub);
  await until(() => fast.server.isClosed === false, "ready");
  slow.server.stall(true); // the path to the slow viewer carries nothing for now
  const payloads: Buffer[] = [];
  for (let seq = 0; seq < 12; seq++) {
    const p = randomBytes(40 * 1024);
    payloads.push(p);
    await pub.client.sendGroup(up, seq, [{ ts: seq, payload: p }]);
    await until(() => fast.client.groupsOf(fs).filter((g) => g.done).length === seq + 1, `fast viewer group ${seq}`);
  }
  const got = fast.client.groupsOf(fs);
  assert.deepEqual(got.map((g) => g.sequence), [...Array(12).keys()]);
  got.forEach((g, i) => assert.ok(Buffer.from(g.frames[0].payload).equals(payloads[i])));

  slow.server.stall(false);
  await until(() => slow.client.groupsOf(ss).some((g) => g.sequence === 11 && g.done), "the slow viewer to get the newest group");
  // Old groups were reset with Old; most never got further than the relay's send queue.
  const resetOld = [...slow.client.groupsOf(ss).filter((g) => g.reset === 2), ...slow.client.headlessResets.filter((c) => c === 2)];
  const done = slow.client.groupsOf(ss).filter((g) => g.done).map((g) => g.sequence);
  assert.ok(resetOld.length > 0, "some old groups were reset with Old");
  assert.ok(done.length <= 3, `at most the queue's worth completed: ${done}`);
  assert.ok(done.includes(11));
  assert.ok(relay.origin.stats.groupsDropped >= 9);
});

test("the last viewer leaving releases the upstream subscription", async (t) => {
  const relay = new TestRelay({ cache: { linger: 20 } });
  t.after(() => relay.close());
  const pub = await publisher(relay);
  const v = await relay.connect();
  const sub = await v.client.subscribe("b", "video");
  const up = await upstream(pub);
  sub.close();
  await until(() => sub.fin, "the relay to finish the viewer's stream");
  await until(() => up.closed, "the upstream to be released after the linger period");
  assert.equal(relay.origin.stats.upstreams, 0);
});

test("a viewer needing a longer latency updates the upstream subscription", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await publisher(relay);
  const a = await relay.connect();
  await a.client.subscribe("b", "video", { priority: 1, ordered: false, maxLatency: 100 });
  const up = await upstream(pub);
  assert.equal(up.msg.prefs.maxLatency, 100);
  const b = await relay.connect();
  const sb = await b.client.subscribe("b", "video", { priority: 1, ordered: false, maxLatency: 900 });
  await until(() => up.updates.length === 1, "SUBSCRIBE_UPDATE upstream");
  assert.equal(up.updates[0].maxLatency, 900);
  sb.update({ priority: 9, ordered: false, maxLatency: 300 });
  await until(() => up.updates.length === 2, "a second update");
  assert.equal(up.updates[1].maxLatency, 300);
});

test("a requested range is served from the cache and ended with SUBSCRIBE_END", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await publisher(relay);
  const keep = await relay.connect();
  const ks = await keep.client.subscribe("b", "video");
  const up = await upstream(pub);
  for (let s = 0; s < 5; s++) await pub.client.sendGroup(up, s, [{ ts: s, payload: new Uint8Array([s]) }]);
  await until(() => keep.client.groupsOf(ks).filter((g) => g.done).length === 5, "the cache to fill");
  const v = await relay.connect();
  const sub = await v.client.subscribe("b", "video", { priority: 0, ordered: true, maxLatency: 0, start: 1, end: 3 });
  await until(() => sub.fin, "the range to complete");
  assert.deepEqual(v.client.groupsOf(sub).map((g) => [g.sequence, g.done]), [[1, true], [2, true], [3, true]]);
  assert.deepEqual(sub.responses, [new SubscribeStart(1), new SubscribeEnd(4)]);
});

test("FETCH serves a cached group, and refuses one that is not there", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await publisher(relay);
  const v = await relay.connect();
  const sub = await v.client.subscribe("b", "video");
  const up = await upstream(pub);
  await pub.client.sendGroup(up, 3, [{ ts: 10, payload: new Uint8Array([1]) }, { ts: 20, payload: new Uint8Array([2, 2]) }]);
  await until(() => v.client.groupsOf(sub).some((g) => g.done), "cached");
  const got = await v.client.fetch("b", "video", 3);
  assert.equal(got.reset, undefined);
  assert.deepEqual(got.frames.map((f) => [f.ts, [...f.payload]]), [[10, [1]], [20, [2, 2]]]);
  // Not cached: the relay asks the publisher (lite-05), which refuses here.
  const missing = await v.client.fetch("b", "video", 99);
  assert.equal(missing.reset, 10);
});

test("a datagram from the publisher reaches viewers as a one-frame group, deduplicated", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await publisher(relay);
  const v = await relay.connect();
  const sub = await v.client.subscribe("b", "video");
  const up = await upstream(pub);
  const dg = new Datagram(up.msg.id, 9, 1234, new Uint8Array([9, 9, 9])).toBytes(Version.Lite05);
  assert.ok(pub.transport.sendDatagram(dg));
  await until(() => v.client.groupsOf(sub).some((g) => g.done), "the datagram's group");
  await pub.client.sendGroup(up, 9, [{ ts: 1234, payload: new Uint8Array([9, 9, 9]) }]);
  await new Promise((r) => setTimeout(r, 20));
  const groups = v.client.groupsOf(sub);
  assert.equal(groups.length, 1, "the same group on a stream is a duplicate");
  assert.deepEqual([groups[0].sequence, groups[0].frames[0].ts, [...groups[0].frames[0].payload]], [9, 1234, [9, 9, 9]]);
});
