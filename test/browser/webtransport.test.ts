import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { haveChromium, launchBrowser, type BrowserHarness } from "../util/browser.js";
import { servingLive, startTestRelay, type TestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

// The default relay: on Node >= 22.12 UDP goes to workers, so the browser's session is on a worker
// and the Node publisher's (over TCP) on the main process. The first test's burst crosses the
// link between them, which opens the burst's streams newest first; the worker's viewer must still
// get it whole (it starts where the main process said its groups start, not at the first to arrive).
let relay: TestRelay;
let harness: BrowserHarness;

before(async () => {
  relay = await startTestRelay();
  if (haveChromium) harness = await launchBrowser();
});
after(async () => {
  await harness?.close();
  await relay?.close();
});

const https = (r: TestRelay = relay): string => `https://127.0.0.1:${r.port}/anon`;

test("Chromium watches over native WebTransport (HTTP/3 on our QUIC engine) with moq-lite-05", { skip: !haveChromium && "no /usr/bin/chromium (apt-get install chromium)" }, async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "wt-live", "video");
  const page = await harness.newPage();
  const result = page.evaluate(
    ([url, hash]) => {
      const moq = (globalThis as unknown as { moq: { subscribe(u: string, p: string, t: string, n: number, o: object): Promise<unknown> } }).moq;
      return moq.subscribe(url, "wt-live", "video", 3, { hash, latencyMax: 60_000 });
    },
    [https(), relay.certs.current.fingerprint],
  );
  await within(page.waitForFunction(() => (globalThis as { moqReady?: boolean }).moqReady === true, undefined, { timeout: 15_000 }), 16_000, "the browser to subscribe");
  // Live once the subscription reached the publisher through the relay (with UDP workers, the
  // default, it also crosses the worker's link to the main process): a group before is skipped.
  await servingLive(relay, "anon/wt-live", "video", { publisher: p, ms: 10_000 });
  // The three groups go out as one burst. The viewer asked for a 60 s window: with the relay's
  // default budget (half the group interval, at least 500 ms) a browser slow to take the first
  // stream would have it dropped as superseded, which is the budget working, not this test's subject.
  for (let g = 0; g < 3; g++) p.group([`wt g${g}`]);
  const got = (await within(result, 15_000, "the browser to receive 3 groups")) as { version: string; groups: Array<{ sequence: number; frames: string[] }> };
  assert.equal(got.version, "moq-lite-05", "wt-protocol must have negotiated moq-lite-05");
  // Each group is its own QUIC stream, so arrival order across groups is not guaranteed.
  const bySequence = [...got.groups].sort((a, b) => a.sequence - b.sequence);
  assert.deepEqual(bySequence.map((g) => [g.sequence, g.frames[0]]), [[0, "wt g0"], [1, "wt g1"], [2, "wt g2"]]);
  await page.close();
  pub.close();
});

test("Chromium publishes over WebTransport and a Node viewer watches", { skip: !haveChromium && "no /usr/bin/chromium" }, async () => {
  const page = await harness.newPage();
  const version = await page.evaluate(
    ([url, hash]) => {
      const moq = (globalThis as unknown as { moq: { publish(u: string, p: string, t: string, g: string[][], o: object): Promise<string> } }).moq;
      return moq.publish(url, "wt-from-browser", "chat", [["over webtransport"]], { hash });
    },
    [https(), relay.certs.current.fingerprint],
  );
  assert.equal(version, "moq-lite-05");
  const viewer = await connect(relay.url("anon"));
  await waitAnnounced(viewer, "wt-from-browser");
  const r = subscribe(viewer, "wt-from-browser", "chat");
  // moqPublish writes once the relay asked the page for the track (the viewer is registered first).
  await page.evaluate(() => (globalThis as unknown as { moqPublish: () => Promise<void> }).moqPublish());
  assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), "over webtransport");
  viewer.close();
  await page.close();
});
