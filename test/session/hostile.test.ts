// Hostile clients over the in-memory transport: what a stranger can make the relay hold or do
// per session. (Memory on real sockets, measured on the relay process: test/e2e/hostile.test.ts.)
import { test } from "node:test";
import { Writable } from "node:stream";
import assert from "node:assert/strict";
import { Writer } from "../../src/util/bytes.js";
import { Fetch } from "../../src/session/lite/fetch.js";
import { Goaway } from "../../src/session/lite/goaway.js";
import { Bidi } from "../../src/session/lite/stream.js";
import { TrackRequest } from "../../src/session/lite/track.js";
import { Version } from "../../src/session/lite/version.js";
import type { BidiStream } from "../../src/transport/session.js";
import { createLogger } from "../../src/util/log.js";
import { until, type SubscribeRequest } from "./client.js";
import { TestRelay, type Connected } from "./harness.js";

async function publisher(relay: TestRelay, path = "b"): Promise<Connected> {
  const pub = await relay.connect();
  pub.client.publish(path);
  await until(() => relay.origin.lookup(`anon/${path}`) !== undefined, "announce");
  return pub;
}

async function upstream(pub: Connected): Promise<SubscribeRequest> {
  await until(() => pub.client.subscribeRequests.length >= 1, "the upstream subscription");
  return pub.client.subscribeRequests[0];
}

function request(type: number, fn: (w: Writer) => void): Uint8Array {
  const w = new Writer(64).varint(type);
  fn(w);
  return w.finish();
}

/** Open a request stream, send `req` and then `junk`; resolves with the STOP_SENDING code. */
async function sendAfter(c: Connected, req: Uint8Array, junk: Uint8Array): Promise<{ stream: BidiStream; stopped: Promise<number> }> {
  const stream = await c.transport.openBidi();
  const stopped = new Promise<number>((resolve) => (stream.send.onStop = resolve));
  stream.recv.onData = () => undefined;
  stream.send.write(req);
  stream.send.write(junk);
  return { stream, stopped };
}

test("bytes after a complete TRACK, FETCH or GOAWAY stop that stream with ProtocolViolation; the session lives on", async (t) => {
  const relay = new TestRelay();
  t.after(() => relay.close());
  const pub = await publisher(relay);
  pub.client.published.get("b")?.tracks.clear(); // the publisher never answers TRACK: the request stays open
  const c = await relay.connect();
  const junk = new Uint8Array(256 * 1024).fill(7);
  const v = Version.Lite05;
  const reqs = [
    request(Bidi.Goaway, (w) => new Goaway("https://elsewhere.example/").encode(w, v)),
    request(Bidi.Track, (w) => new TrackRequest("b", "video").encode(w, v)),
    request(Bidi.Fetch, (w) => new Fetch("b", "video", 0, 5).encode(w, v)),
  ];
  for (const r of reqs) {
    const { stopped } = await sendAfter(c, r, junk);
    assert.equal(await stopped, 15);
  }
  assert.equal(c.server.isClosed, false, "only the stream is stopped");
});

test("a viewer withholding uni-stream credit: one open waits per subscription, superseded groups never get a stream", async (t) => {
  const relay = new TestRelay({ limits: { subscriber_queue_groups: 3 } });
  t.after(() => relay.close());
  const pub = await publisher(relay);
  // The viewer grants two uni streams and its path carries nothing: credit never comes back.
  const viewer = await relay.connect({ pair: { clientUniCredit: 2 } });
  const sub = await viewer.client.subscribe("b", "video");
  const up = await upstream(pub);
  await until(() => relay.origin.stats.subscriptions >= 1, "the relay subscription");
  viewer.server.stall(true);
  const payload = new Uint8Array(64 * 1024);
  for (let seq = 0; seq < 200; seq++) {
    await pub.client.sendGroup(up, seq, [{ ts: seq, payload }]);
    if (seq % 20 === 19) await until(() => relay.origin.stats.groupsIn >= seq + 1, `group ${seq} in`);
  }
  await until(() => relay.origin.stats.groupsIn >= 200, "every group at the relay");
  assert.equal(viewer.server.uniInUse, 2, "both granted streams are in use");
  assert.ok(viewer.server.uniWaiting <= 1, `${viewer.server.uniWaiting} openUni() calls wait for credit`);
  assert.ok(relay.origin.stats.groupsDropped >= 100, `dropped ${relay.origin.stats.groupsDropped}`);
  // Credit returns: the viewer gets the newest group, and no stream for anything superseded.
  viewer.server.stall(false);
  await until(() => viewer.client.groupsOf(sub).some((g) => g.sequence === 199 && g.done), "the newest group");
  const opened = viewer.client.groupsOf(sub).length + viewer.client.headlessResets.length;
  assert.ok(opened <= 6, `${opened} streams opened for 200 groups`);
});

test("requests before a raw QUIC SETUP are capped at max_pending_requests", async (t) => {
  const relay = new TestRelay({ limits: { max_pending_requests: 4 } });
  t.after(() => relay.close());
  const c = await relay.connect({ pair: { transport: "quic" }, start: false });
  const codes: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s = await c.transport.openBidi();
    s.recv.onData = () => undefined;
    s.recv.onReset = (code) => void codes.push(code);
    s.send.write(request(Bidi.Track, (w) => new TrackRequest(`b${i}`, "video").encode(w, Version.Lite05)));
  }
  await until(() => codes.length >= 6, "the requests beyond the cap to be refused");
  assert.deepEqual(codes, [11, 11, 11, 11, 11, 11]);
});

test("FETCH: at most max_fetches_per_session at once, each reset with Timeout after fetch_timeout", async (t) => {
  const relay = new TestRelay({ limits: { max_fetches_per_session: 2, fetch_timeout: 300 } });
  t.after(() => relay.close());
  const pub = await publisher(relay);
  const c = await relay.connect();
  const up = await (async () => {
    await c.client.subscribe("b", "video");
    return upstream(pub);
  })();
  // A group that starts and never finishes: fetches of it wait for frames that never come.
  await pub.client.sendGroup(up, 0, [{ ts: 0, payload: new Uint8Array(10) }], false);
  await until(() => relay.origin.stats.groupsIn >= 1, "the group at the relay");
  const results = await Promise.all([0, 1, 2].map(() => c.client.fetch("b", "video", 0)));
  const codes = results.map((r) => r.reset ?? -1).sort((a, b) => a - b);
  assert.deepEqual(codes, [3, 3, 11], "two time out, the third is over the cap");
});

test("a session spamming GOAWAYs and refused requests writes a bounded number of log lines, with clipped strings", async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split("\n").filter((l) => l !== ""));
      done();
    },
  });
  const relay = new TestRelay({ log: createLogger({ level: "debug", format: "json" }, sink), limits: { max_subscriptions_per_session: 1 } });
  t.after(() => relay.close());
  const c = await relay.connect({ grant: { subscribe: ["open"] } });
  const long = `https://x.example/${"a".repeat(8000)}`;
  const v = Version.Lite05;
  const began = Date.now();
  for (let i = 0; i < 500; i++) {
    const s = await c.transport.openBidi();
    s.recv.onData = () => undefined;
    s.send.write(request(Bidi.Goaway, (w) => new Goaway(long).encode(w, v)));
    // A request outside the grant: refused, logged.
    await c.client.trackInfo(`secret/${i}`, "video");
  }
  await until(() => c.server.isClosed === false, "the session to stay open");
  // 1,000 client-driven events: a burst of 20 and about one a second after that, so the bound
  // grows with the seconds the loop took (a loaded machine takes longer, the rate stays the same).
  const seconds = (Date.now() - began) / 1000;
  assert.ok(lines.length <= 40 + seconds, `${lines.length} log lines in ${seconds.toFixed(1)} s`);
  assert.ok(lines.length >= 10, "the first ones are logged");
  assert.ok(lines.every((l) => l.length < 1200), "client strings are clipped");
});
