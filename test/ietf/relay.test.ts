// @moq/net forced to each IETF draft publishes and subscribes through the relay over
// QMux/WebSocket: 5 groups × 10 frames arrive byte-identical and in order.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced } from "../util/moq.js";

const relay = await startTestRelay();
after(() => relay.close());

function frames(group: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `g${group} f${i} ${"x".repeat(i * 41)}`);
}

// The exact Sec-WebSocket-Protocol pairs @moq/net offers for each draft (connection/connect.js).
// It offers none for draft-19 over QMux, but speaks it when handed "qmux-01.moqt-19" (the same
// handshake code as 17/18/20 picks the draft from the negotiated protocol).
const PAIRS: Record<string, string> = {
  "moqt-20": "qmux-01.moqt-20",
  "moqt-19": "qmux-01.moqt-19",
  "moqt-18": "qmux-01.moqt-18",
  "moqt-17": "qmux-02.moqt-17",
  "moqt-16": "qmux-02.moqt-16",
  "moqt-15": "qmux-02.moqt-15",
};

for (const [draft, pair] of Object.entries(PAIRS)) {
  test(`${draft}: a publisher's 5 groups × 10 frames reach a subscriber byte-identical and in order`, async () => {
    const pub = await connect(relay.url("anon"), { protocol: pair });
    assert.equal(pub.version, `moq-transport-${draft.slice(5)}`);
    const sub = await connect(relay.url("anon"), { protocol: pair });
    const name = `ietf-${draft}`;
    const p = publish(pub, name, "video");
    await waitAnnounced(sub, name);
    const r = subscribe(sub, name, "video");
    await servingLive(relay, `anon/${name}`, "video", { publisher: p });
    p.group(frames(0, 10));
    const first = await r.nextGroup();
    assert.equal(first.sequence, 0);
    assert.deepEqual(first.frames.map((f) => Buffer.from(f).toString()), frames(0, 10));
    for (let g = 1; g < 5; g++) p.group(frames(g, 10));
    const rest = await r.readGroups(4);
    assert.deepEqual(rest.map((g) => g.sequence), [1, 2, 3, 4]);
    for (const got of rest) assert.deepEqual(got.frames.map((f) => Buffer.from(f).toString()), frames(got.sequence, 10));
    pub.close();
    sub.close();
  });
}

test("mixed: an IETF (moqt-18) publisher is watched by a moq-lite-05 viewer, byte-identical and in order", async () => {
  const pub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
  const sub = await connect(relay.url("anon"));
  assert.equal(sub.version, "moq-lite-05");
  const p = publish(pub, "mixed-ietf-pub", "video");
  await waitAnnounced(sub, "mixed-ietf-pub");
  const r = subscribe(sub, "mixed-ietf-pub", "video");
  await servingLive(relay, "anon/mixed-ietf-pub", "video", { publisher: p });
  p.group(frames(0, 10));
  const first = await r.nextGroup();
  assert.equal(first.sequence, 0);
  assert.deepEqual(first.frames.map((f) => Buffer.from(f).toString()), frames(0, 10));
  for (let g = 1; g < 5; g++) p.group(frames(g, 10));
  const rest = await r.readGroups(4);
  assert.deepEqual(rest.map((g) => g.sequence), [1, 2, 3, 4]);
  for (const got of rest) assert.deepEqual(got.frames.map((f) => Buffer.from(f).toString()), frames(got.sequence, 10));
  pub.close();
  sub.close();
});

test("mixed: a moq-lite-05 publisher is watched by an IETF (moqt-20) viewer, byte-identical and in order", async () => {
  const pub = await connect(relay.url("anon"));
  assert.equal(pub.version, "moq-lite-05");
  const sub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-20" });
  const p = publish(pub, "mixed-lite-pub", "video");
  await waitAnnounced(sub, "mixed-lite-pub");
  const r = subscribe(sub, "mixed-lite-pub", "video");
  await servingLive(relay, "anon/mixed-lite-pub", "video", { publisher: p });
  p.group(frames(0, 10));
  const first = await r.nextGroup();
  assert.equal(first.sequence, 0);
  assert.deepEqual(first.frames.map((f) => Buffer.from(f).toString()), frames(0, 10));
  for (let g = 1; g < 5; g++) p.group(frames(g, 10));
  const rest = await r.readGroups(4);
  assert.deepEqual(rest.map((g) => g.sequence), [1, 2, 3, 4]);
  for (const got of rest) assert.deepEqual(got.frames.map((f) => Buffer.from(f).toString()), frames(got.sequence, 10));
  pub.close();
  sub.close();
});
