import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { haveChromium, launchBrowser, type BrowserHarness } from "../util/browser.js";
import { servingLive, startTestRelay, type TestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

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

test("Chromium watches a Node publisher over QMux/WebSocket with moq-lite-05", { skip: !haveChromium && "no /usr/bin/chromium (apt-get install chromium)" }, async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "to-browser", "video");
  const page = await harness.newPage();
  const result = page.evaluate(([url]) => {
    const moq = (globalThis as unknown as { moq: { subscribe(u: string, p: string, t: string, n: number, o: object): Promise<unknown> } }).moq;
    return moq.subscribe(url, "to-browser", "video", 3, { websocketOnly: true, latencyMax: 60_000 });
  }, [relay.url("anon").toString()]);
  await page.waitForFunction(() => (globalThis as { moqReady?: boolean }).moqReady === true);
  // Live once the browser's subscription reached the publisher (a group before is skipped); a
  // fixed pause does not guarantee it with Chromium busy on a loaded machine.
  await servingLive(relay, "anon/to-browser", "video", { publisher: p, ms: 10_000 });
  for (let g = 0; g < 3; g++) p.group([`g${g} a`, `g${g} b`]);
  const got = (await within(result, 15_000, "the browser to receive 3 groups")) as { version: string; groups: Array<{ sequence: number; frames: string[] }> };
  assert.equal(got.version, "moq-lite-05");
  assert.deepEqual(got.groups.map((g) => g.frames), [["g0 a", "g0 b"], ["g1 a", "g1 b"], ["g2 a", "g2 b"]]);
  await page.close();
  pub.close();
});

test("a Node viewer watches a Chromium publisher over QMux/WebSocket", { skip: !haveChromium && "no /usr/bin/chromium" }, async () => {
  const page = await harness.newPage();
  const version = await page.evaluate(([url]) => {
    const moq = (globalThis as unknown as { moq: { publish(u: string, p: string, t: string, g: string[][], o: object): Promise<string> } }).moq;
    return moq.publish(url, "from-browser", "chat", [["hello from chromium"]], { websocketOnly: true });
  }, [relay.url("anon").toString()]);
  assert.equal(version, "moq-lite-05");
  const viewer = await connect(relay.url("anon"));
  await waitAnnounced(viewer, "from-browser");
  const r = subscribe(viewer, "from-browser", "chat");
  // moqPublish writes once the relay asked the page for the track (the viewer is registered first).
  await page.evaluate(() => (globalThis as unknown as { moqPublish: () => Promise<void> }).moqPublish());
  assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), "hello from chromium");
  viewer.close();
  await page.close();
});
