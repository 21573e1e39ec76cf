import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import QmuxSession from "@moq/qmux";
import { Writer } from "../../src/util/bytes.js";
import { Bidi } from "../../src/session/lite/stream.js";
import { Subscribe } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

const relay = await startTestRelay();
after(() => relay.close());

/** A hand-driven moq-lite-05 client over QMux, for behaviour the real client never produces. */
async function raw(path = "anon"): Promise<QmuxSession> {
  const s = new QmuxSession(`ws://127.0.0.1:${relay.port}/${path}`, { protocols: ["moq-lite-05"], versions: { "moq-lite-05": null }, requireProtocol: true });
  await within(s.ready, 5000, "raw session handshake");
  return s;
}

async function sendBidi(s: QmuxSession, bytes: Uint8Array): Promise<void> {
  const stream = await s.createBidirectionalStream();
  const w = stream.writable.getWriter();
  await w.write(bytes);
}

test("malformed moq-lite closes only the offending session, with a decode error", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "survivor", "video");
  const viewer = await connect(relay.url("anon"));
  await waitAnnounced(viewer, "survivor");

  const bad = await raw();
  // SUBSCRIBE whose length says 3 bytes but whose track-name string claims 63.
  await sendBidi(bad, new Uint8Array([Bidi.Subscribe, 0x03, 0x00, 0x3f, 0x61]));
  const info = await within(bad.closed, 5000, "the malformed session to close");
  assert.equal(info.closeCode, 5);

  const oversized = await raw();
  // An announce request claiming a 1 MB message: over the control-message limit.
  await sendBidi(oversized, new Uint8Array([Bidi.Announce, 0x80, 0x10, 0x00, 0x00]));
  // Over the control-message limit: BoundsExceeded (11), still only this session.
  assert.equal((await within(oversized.closed, 5000, "the oversized session to close")).closeCode, 11);

  // Everyone else carries on.
  const r = subscribe(viewer, "survivor", "video");
  // Live once the subscription reached the publisher (a group written before is skipped): a
  // fixed pause lost that race on a loaded machine.
  await servingLive(relay, "anon/survivor", "video", { publisher: p, ms: 10_000 });
  p.group(["still here"]);
  assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), "still here");
  pub.close();
  viewer.close();
});

test("an unknown stream type is reset without killing the session", async () => {
  const s = await raw();
  const stream = await s.createBidirectionalStream();
  const w = stream.writable.getWriter();
  await w.write(new Uint8Array([0x3f]));
  const reader = stream.readable.getReader();
  await assert.rejects(within(reader.read(), 5000, "the stream reset"));
  // The session is still usable: a subscribe to a missing broadcast gets its own prompt reset.
  const sub = await s.createBidirectionalStream();
  const msg = new Writer().varint(Bidi.Subscribe);
  new Subscribe(0, "missing", "video", { priority: 0, ordered: false, maxLatency: 0 }).encode(msg, Version.Lite05);
  await sub.writable.getWriter().write(msg.finish());
  // NotFound (13) or Unroutable (30, the broadcast is not announced), as the Rust relay answers.
  await assert.rejects(within(sub.readable.getReader().read(), 5000, "the prompt reset"), (e: unknown) => [13, 30].includes((e as { streamErrorCode?: number }).streamErrorCode ?? -1));
  s.close();
});

test("a subscriber that reads nothing does not hold back a fast one", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "firehose", "video");
  const fast = await connect(relay.url("anon"));
  await waitAnnounced(fast, "firehose");
  const r = subscribe(fast, "firehose", "video");

  // The slow viewer subscribes and then never accepts a single group stream.
  const slow = await raw();
  const msg = new Writer().varint(Bidi.Subscribe);
  new Subscribe(0, "firehose", "video", { priority: 0, ordered: false, maxLatency: 0 }).encode(msg, Version.Lite05);
  await sendBidi(slow, msg.finish());
  // Both subscriptions at the relay and the publisher asked before group 0 goes out: the fast
  // viewer must start at group 0, and a fixed pause does not guarantee it on a loaded machine.
  await servingLive(relay, "anon/firehose", "video", { viewers: 2, publisher: p, ms: 10_000 });

  const payload = new Uint8Array(200 * 1024).fill(7);
  const groups = 30;
  const lags: number[] = [];
  const published: number[] = [];
  const receiving = (async () => {
    for (let g = 0; g < groups; g++) {
      const got = await r.nextGroup(5000);
      assert.equal(got.sequence, g);
      assert.equal(got.frames[0].length, payload.length);
      lags.push(Date.now() - published[g]);
    }
  })();
  for (let g = 0; g < groups; g++) {
    published.push(Date.now());
    p.group([payload]);
    await new Promise((res) => setTimeout(res, 25));
  }
  await within(receiving, 20_000, "the fast subscriber to receive every group");
  // "Not delayed by more than one group": each group arrives well within two publish intervals
  // plus transfer time on loopback; a stalled relay would push these into seconds.
  const worst = Math.max(...lags);
  assert.ok(worst < 1000, `worst lag ${worst} ms`);
  slow.close();
  pub.close();
  fast.close();
});
