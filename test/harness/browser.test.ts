// The Chromium harness against the real client's own server half (no relay involved).
import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { haveChromium, launchBrowser, openPage, type BrowserHarness, type MoqPage } from "../util/browser.js";
import { subscribe, waitAnnounced } from "../util/moq.js";
import { startReferenceServer, type ReferenceServer } from "./reference.js";

const skip = !haveChromium && "no /usr/bin/chromium (apt-get install chromium)";
let server: ReferenceServer;
let harness: BrowserHarness | undefined;
let page: MoqPage;

before(async () => {
  server = await startReferenceServer();
  if (haveChromium) {
    harness = await launchBrowser();
    page = await openPage(harness);
  }
});
after(async () => {
  await page?.close();
  await harness?.close();
  await server.close();
});

const bytes = (g: number, f: number): Uint8Array => Uint8Array.from({ length: 50 * f + g }, (_, i) => (i * 31 + g * 7 + f) & 0xff);

test("Chromium over QMux/WebSocket (WebTransport hidden) negotiates moq-lite-05 and receives frames intact", { skip }, async () => {
  const track = server.publish("to-chromium", "video");
  const conn = await page.connect(server.url("anon"), { transport: "websocket" });
  assert.equal(conn.version, "moq-lite-05");
  assert.equal(conn.transport, "websocket");
  await conn.waitAnnounced("", "to-chromium");
  const reader = await conn.subscribe("to-chromium", "video");
  await track.waitSubscribed();
  for (let g = 0; g < 3; g++) track.group(Array.from({ length: 5 }, (_, f) => bytes(g, f)));
  const got = await reader.readGroups(3);
  assert.deepEqual(got.map((g) => g.sequence), [0, 1, 2]);
  for (const { sequence, frames } of got) assert.deepEqual(frames.map((f) => [...f]), [0, 1, 2, 3, 4].map((f) => [...bytes(sequence, f)]));
  await reader.close();
  await conn.close();
});

test("Chromium publishes, and the other side receives its groups, including one written while open", { skip }, async () => {
  const conn = await page.connect(server.url("anon/chromium"));
  const peer = await server.session("anon/chromium");
  const pub = await conn.publish("from-chromium", "chat");
  await waitAnnounced(peer, "from-chromium");
  const reader = subscribe(peer, "from-chromium", "chat");
  await pub.waitSubscribed();
  await pub.group(["hello", new Uint8Array([0, 1, 255])]);
  const open = await pub.group(["first"], { keepOpen: true });
  const first = await reader.nextGroup();
  assert.deepEqual([first.sequence, Buffer.from(first.frames[0]).toString(), [...first.frames[1]]], [0, "hello", [0, 1, 255]]);
  assert.equal(Buffer.from((await reader.nextFrame()).payload).toString(), "first");
  await open.write(["second"], true);
  assert.deepEqual((await reader.nextGroup()).frames.map((f) => Buffer.from(f).toString()), ["first", "second"]);
  await pub.close();
  await conn.close();
});

test("Chromium can pin moq-lite-04 over WebSocket", { skip }, async () => {
  const conn = await page.connect(server.url("anon"), { protocol: "moq-lite-04" });
  assert.equal(conn.version, "moq-lite-04");
  assert.equal(server.subprotocols.at(-1), "qmux-02.moq-lite-04");
  await conn.close();
});

test("WebTransport-only never falls back to WebSocket, and a page wait names what it waited for", { skip }, async () => {
  // The reference server has no HTTP/3, so only a silent WebSocket fallback could succeed.
  const before = server.sessions.length;
  await assert.rejects(page.connect(server.url("anon"), { transport: "webtransport", timeoutMs: 3000 }), /connect to https?:\/\/127\.0\.0\.1:\d+\/anon/);
  assert.equal(server.sessions.length, before);
  const conn = await page.connect(server.url("anon"));
  await assert.rejects(conn.waitAnnounced("", "nobody", 200), /timed out after 200 ms waiting for "nobody" under "" to be announced/);
  await conn.close();
});
