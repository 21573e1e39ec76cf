// The relay's own browser page ([http] page), end to end in Debian's headless Chromium: one page
// publishes Chromium's fake camera with @moq/publish over WebTransport, a second page in another
// browser context finds it in the live list, watches it with @moq/watch and decodes video, and a
// Node @moq/net subscriber reads the same broadcast as ordinary MoQ.
import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM, haveChromium } from "../util/browser.js";
import { startTestRelay, type TestRelay } from "../util/relay.js";
import { connect, subscribe, waitAnnounced, within } from "../util/moq.js";
import { CSP } from "../../src/http/page.js";

const skip = !haveChromium && "no /usr/bin/chromium (apt-get install chromium)";
const NAME = "fake-cam";

let relay: TestRelay;
let browser: Browser;
const contexts: BrowserContext[] = [];
const logs: string[] = [];

before(async () => {
  relay = await startTestRelay({ "http.page": "true" });
  if (haveChromium) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
      timeout: 30_000,
    });
  }
});
after(async () => {
  await browser?.close().catch(() => undefined);
  await relay?.close();
});

/** A page in its own browser context (separate storage, as a second viewer would have). */
async function openPage(label: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ["camera", "microphone"] });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(20_000);
  page.on("console", (m) => {
    if (m.type() === "error" || /content security policy/i.test(m.text())) logs.push(`${label} ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => logs.push(`${label} pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${relay.port}/`);
  await page.selectOption("#transport", "webtransport");
  return page;
}

const recent = (): string => logs.slice(-8).join(" | ") || "(no page errors)";

/**
 * Wait (bounded) until `expr` is true in the page; a timeout names what, the decoded frame count
 * and the pages' recent errors. Polled from here with page.evaluate (a DevTools evaluation):
 * waitForFunction's in-page polling evaluates strings with eval, which the page's CSP refuses.
 */
async function until(page: Page, expr: string, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await within(page.evaluate(expr), 5000, what)) === true) return;
    if (Date.now() > deadline) {
      const frames = await page.textContent("#watch-frames").catch(() => "?");
      throw new Error(`timed out after ${ms} ms waiting for ${what} (decoded frames: ${frames}; ${recent()})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Code that runs in the pages is written as strings: this program is typed for Node, not the DOM.

/** A <video id="probe"> playing the watch canvas's capture stream. */
const PROBE_VIDEO = `(async () => {
  const canvas = document.querySelector("#watch-view canvas");
  if (canvas === null) throw new Error("no canvas in #watch-view");
  const v = document.createElement("video");
  v.id = "probe";
  v.muted = true;
  v.srcObject = canvas.captureStream();
  document.body.append(v);
  await v.play();
})()`;

/** Distinct colours (4 bits per channel) in a PNG, sampled every 97th pixel, decoded by the page. */
const countColours = (b64: string): string => `(async () => {
  const img = new Image();
  img.src = "data:image/png;base64,${b64}";
  await img.decode();
  const c = document.createElement("canvas");
  c.width = img.width;
  c.height = img.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 97) seen.add((data[i] >> 4) | ((data[i + 1] >> 4) << 4) | ((data[i + 2] >> 4) << 8));
  return seen.size;
})()`;

const text = (id: string): string => `(document.getElementById(${JSON.stringify(id)})?.textContent ?? "")`;

test("GET / serves the page with a CSP and no inline script; assets come from /page/", async () => {
  const res = await fetch(`http://127.0.0.1:${relay.port}/`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-security-policy"), CSP);
  assert.doesNotMatch(CSP, /unsafe-inline/);
  const html = await res.text();
  assert.match(html, /<meta name="moq-root" content="anon">/);
  // Every <script> has a src on this origin and no body.
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    assert.match(attrs, /src="\/page\/[^"]+"/);
    assert.equal(body.trim(), "");
  }
  const js = await fetch(`http://127.0.0.1:${relay.port}/page/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type") ?? "", /javascript/);
  assert.ok((await js.arrayBuffer()).byteLength > 10_000);
  assert.equal((await fetch(`http://127.0.0.1:${relay.port}/page/../package.json`)).status, 404);
  assert.equal((await fetch(`http://127.0.0.1:${relay.port}/page/nope.js`)).status, 404);
});

test("the page publishes the fake camera over WebTransport; a second browser lists, watches and decodes it; Node reads it as MoQ", { skip, timeout: 110_000 }, async () => {
  // 1. Publisher page: fake camera, no microphone (less CPU on a shared machine), WebTransport only.
  const pub = await openPage("publisher");
  await pub.fill("#pub-name", NAME);
  await pub.selectOption("#pub-source", "camera");
  await pub.uncheck("#pub-mic");
  await pub.click("#pub-start");
  await until(pub, `${text("pub-state")} === "live"`, 20_000, "the publisher to go live");
  await until(pub, `${text("pub-protocol")} !== "–"`, 10_000, "the publisher's protocol");
  assert.equal(await pub.textContent("#pub-protocol"), "moq-lite-04 over WebTransport", "@moq/publish's @moq/net 0.1 line speaks moq-lite-04");

  // 2. Viewer page in another context: the live list shows it; click to watch.
  const view = await openPage("viewer");
  const entry = view.locator(`#watch-list button[data-name="${NAME}"]`);
  await within(entry.waitFor({ timeout: 15_000 }), 16_000, `"${NAME}" in the viewer's live list`);
  await entry.click();
  const started = Date.now();

  // Frames painted by @moq/watch's renderer, counted by a <video> playing the canvas's capture
  // stream (the canvas gets a new frame only when a decoded frame is drawn). 15 s from the click.
  await view.waitForSelector("#watch-view canvas", { state: "attached" });
  await view.evaluate(PROBE_VIDEO);
  await until(view, `document.getElementById("probe").getVideoPlaybackQuality().totalVideoFrames > 30`, Math.max(1000, 15_000 - (Date.now() - started)), "30 painted video frames within 15 s of the click");
  const elapsed = Date.now() - started;
  assert.ok(elapsed <= 15_500, `30 frames took ${elapsed} ms`);
  // The page refreshes its figures every 250 ms, so its count may trail the painted frames by a
  // poll, or by seconds when a loaded machine starves the renderer (its timer then runs late).
  await until(view, `Number(${text("watch-frames")}) > 30`, 5_000, "the decoder's own frame count to pass 30 too");
  assert.equal(await view.textContent("#watch-protocol"), "moq-lite-05 over WebTransport");
  assert.match((await view.textContent("#watch-resolution")) ?? "", /^\d+×\d+$/);
  assert.match((await view.textContent("#watch-latency")) ?? "", /^≈\d+ ms \((\d+ ms )?buffer/);

  // A screenshot of the video is a picture, not one flat colour: decode the PNG in the page.
  const png = await view.locator("#watch-view canvas").screenshot();
  const colours = (await view.evaluate(countColours(png.toString("base64")))) as number;
  assert.ok(colours >= 3, `the watched video shows ${colours} distinct colour(s); expected a picture`);

  // 3. The same broadcast from Node's @moq/net: ordinary MoQ, catalog and video track readable.
  const node = await connect(relay.url("anon"));
  try {
    await waitAnnounced(node, NAME);
    const catalog = subscribe(node, NAME, "catalog.json");
    const first = await catalog.nextFrame(10_000);
    const json = Buffer.from(first.payload).toString();
    const parsed = JSON.parse(json) as { video?: { renditions?: Record<string, { codec: string }> } };
    const renditions = Object.entries(parsed.video?.renditions ?? {});
    assert.ok(renditions.length > 0, `catalog lists video renditions: ${json.slice(0, 200)}`);
    const [trackName, rendition] = renditions[0];
    assert.match(rendition.codec, /^(avc1|avc3|vp8|vp09|av01)/);
    const video = subscribe(node, NAME, trackName);
    const frame = await video.nextFrame(10_000);
    assert.ok(frame.payload.byteLength > 100, `a video frame of ${frame.payload.byteLength} bytes`);
  } finally {
    node.close();
  }

  // 4. Relay status: loopback may read it; the page shows the broadcast and both sessions.
  await until(view, `Number(${text("st-broadcasts")}) >= 1`, 5000, "the status panel to count the broadcast");
  assert.ok(Number(await view.textContent("#st-sessions")) >= 2);
  assert.equal(await view.textContent("#st-peers"), "none");

  // For the README: the publisher's page watching its own broadcast (MOQ_PAGE_SCREENSHOT=docs/page.png).
  const shot = process.env.MOQ_PAGE_SCREENSHOT;
  if (shot !== undefined && shot !== "") {
    await pub.locator(`#watch-list button[data-name="${NAME}"]`).click();
    await until(pub, `Number(${text("watch-frames")}) > 60`, 15_000, "the publisher page to watch itself");
    const file = resolve(shot);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, await pub.screenshot({ fullPage: true }));
  }
  for (const c of contexts) await c.close();
  assert.deepEqual(
    logs.filter((l) => /content security policy/i.test(l)),
    [],
    "no CSP violations",
  );
});
