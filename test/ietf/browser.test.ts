// Headless Chromium speaking IETF moq-transport over native WebTransport (HTTP/3 on our QUIC
// engine), the draft pinned through `webtransport: { protocols }`: it publishes to a Node viewer
// and watches a Node publisher, byte-identical and in order.
import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { haveChromium, launchBrowser, openPage, type BrowserHarness, type MoqPage } from "../util/browser.js";
import { servingLive, startTestRelay, type TestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced } from "../util/moq.js";

const skip = !haveChromium && "no /usr/bin/chromium (apt-get install chromium)";
let relay: TestRelay;
let harness: BrowserHarness | undefined;
let page: MoqPage;

before(async () => {
  relay = await startTestRelay();
  if (haveChromium) {
    harness = await launchBrowser();
    page = await openPage(harness);
  }
});
after(async () => {
  await page?.close();
  await harness?.close();
  await relay?.close();
});

const frames = (g: number): string[] => Array.from({ length: 10 }, (_, f) => `wt g${g} f${f} ${"y".repeat(f * 53)}`);
const https = (): string => `https://127.0.0.1:${relay.port}/anon`;

for (const draft of ["moqt-18", "moqt-19", "moqt-20"]) {
  test(`Chromium over WebTransport on ${draft} publishes 5 groups × 10 frames to a Node moqt-18 viewer`, { skip }, async () => {
    const conn = await page.connect(https(), { transport: "webtransport", certificateHash: relay.certs.current.fingerprint, protocol: draft });
    assert.equal(conn.version, `moq-transport-${draft.slice(5)}`);
    assert.equal(conn.transport, "webtransport");
    const pub = await conn.publish(`wt-${draft}`, "video");
    const viewer = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
    await waitAnnounced(viewer, `wt-${draft}`);
    const r = subscribe(viewer, `wt-${draft}`, "video");
    await pub.waitSubscribed();
    await pub.group(frames(0));
    const first = await r.nextGroup();
    assert.equal(first.sequence, 0);
    assert.deepEqual(first.frames.map((f) => Buffer.from(f).toString()), frames(0));
    for (let g = 1; g < 5; g++) await pub.group(frames(g));
    const rest = await r.readGroups(4);
    assert.deepEqual(rest.map((g) => g.sequence), [1, 2, 3, 4]);
    for (const got of rest) assert.deepEqual(got.frames.map((f) => Buffer.from(f).toString()), frames(got.sequence));
    viewer.close();
    await conn.close();
  });
}

test("Chromium over WebTransport on moqt-18 watches a Node moq-lite-05 publisher", { skip }, async () => {
  const node = await connect(relay.url("anon"));
  const p = publish(node, "to-wt-ietf", "video");
  const conn = await page.connect(https(), { transport: "webtransport", certificateHash: relay.certs.current.fingerprint, protocol: "moqt-18" });
  assert.equal(conn.version, "moq-transport-18");
  await conn.waitAnnounced("", "to-wt-ietf");
  const reader = await conn.subscribe("to-wt-ietf", "video");
  // Live once the subscription reached the publisher through the relay (with UDP workers, the
  // default, it also crosses the worker's link to the main process): a group before is skipped.
  await servingLive(relay, "anon/to-wt-ietf", "video", { publisher: p, ms: 10_000 });
  p.group(frames(0));
  const first = await reader.nextGroup();
  assert.deepEqual([first.sequence, first.frames.map((f) => Buffer.from(f).toString())], [0, frames(0)]);
  for (let g = 1; g < 5; g++) p.group(frames(g));
  const rest = await reader.readGroups(4);
  // Each group is its own QUIC stream: compare by sequence.
  const sorted = [...rest].sort((a, b) => a.sequence - b.sequence);
  assert.deepEqual(sorted.map((g) => g.sequence), [1, 2, 3, 4]);
  for (const got of sorted) assert.deepEqual(got.frames.map((f) => Buffer.from(f).toString()), frames(got.sequence));
  await reader.close();
  await conn.close();
  node.close();
});
