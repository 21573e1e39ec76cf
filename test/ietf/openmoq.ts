// Shared by the OpenMOQ interop tests: OpenMOQ's browser client (@moqt/transport +
// @moqt/webtransport 0.5.7, drafts 14/16/18) in headless Chromium over native WebTransport
// subscribes to a broadcast published with @moq/net and must receive its objects intact, in order.
import "../util/polyfill.js";
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { haveChromium, launchBrowser, type BrowserHarness } from "../util/browser.js";
import { servingLive, startTestRelay, type TestRelay } from "../util/relay.js";
import { connect, publish, within } from "../util/moq.js";

const skip = !haveChromium && "no /usr/bin/chromium (apt-get install chromium)";
// The package's own browser build (global MoqtWebTransport); its exports map hides the path from resolve().
const BUNDLE = fileURLToPath(new URL("../../node_modules/@moqt/webtransport/dist/browser/index.global.js", import.meta.url));
let relay: TestRelay;
let harness: BrowserHarness | undefined;

before(async () => {
  relay = await startTestRelay();
  if (haveChromium) harness = await launchBrowser();
});
after(async () => {
  await harness?.close();
  await relay?.close();
});

interface Seen {
  protocol: string;
  objects: Array<{ group: number; object: number; payload: string }>;
  errors: string[];
}

/** Start an OpenMOQ subscription in the page; objects collect in globalThis.openmoq. */
async function subscribeInPage(page: Page, url: string, hash: string, protocol: string, path: string, track: string): Promise<void> {
  await page.addScriptTag({ path: BUNDLE });
  await page.evaluate(
    async ([url, hash, protocol, path, track]) => {
      const g = globalThis as unknown as { MoqtWebTransport: { MoqtConnection: new () => { connect(t: unknown, o?: object): Promise<void>; subscribeTrack(ns: Uint8Array[], name: Uint8Array, o: object): Promise<unknown> } }; openmoq: Seen };
      const seen: Seen = { protocol: "", objects: [], errors: [] };
      g.openmoq = seen;
      const bytes = new Uint8Array(hash.match(/../g)!.map((h) => parseInt(h, 16)));
      const WT = Reflect.get(globalThis, "WebTransport") as unknown as new (u: string, o: object) => { ready: Promise<void>; protocol: string };
      const wt = new WT(url, { serverCertificateHashes: [{ algorithm: "sha-256", value: bytes }], protocols: [protocol] });
      await wt.ready;
      seen.protocol = wt.protocol;
      const conn = new g.MoqtWebTransport.MoqtConnection();
      await conn.connect(wt);
      const enc = new TextEncoder();
      await conn.subscribeTrack(path.split("/").map((p) => enc.encode(p)), enc.encode(track), {
        onObject: (o: { kind: string; groupId: bigint; objectId: bigint; payload?: Uint8Array }) => {
          if (o.kind === "data" && o.payload !== undefined) seen.objects.push({ group: Number(o.groupId), object: Number(o.objectId), payload: new TextDecoder().decode(o.payload) });
        },
      });
    },
    [url, hash, protocol, path, track],
  );
}

const frames = (g: number): string[] => Array.from({ length: 10 }, (_, f) => `openmoq g${g} f${f} ${"z".repeat(f * 29)}`);

/** One test: OpenMOQ on `protocol` ("moqt-18", "moqt-16", "moq-00" for draft-14). */
export function openMoqTest(protocol: string): void {
  test(`OpenMOQ (@moqt/webtransport) on ${protocol} in Chromium receives a @moq/net broadcast through the relay`, { skip }, async () => {
    const name = `openmoq-${protocol}`;
    const pub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
    const p = publish(pub, name, "video");
    const page = await harness!.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(m.text()));
    try {
      await within(subscribeInPage(page, `https://127.0.0.1:${relay.port}/anon`, relay.certs.current.fingerprint, protocol, name, "video"), 15_000, `the OpenMOQ client to subscribe (console: ${logs.slice(-5).join(" | ")})`);
      // Warm up until an object arrives: then the path publisher → relay → OpenMOQ is live, and no
      // group of the measured five can race the subscription's set-up.
      await servingLive(relay, `anon/${name}`, "video", { publisher: p });
      const count = (): Promise<number> => page.evaluate(() => (globalThis as unknown as { openmoq: Seen }).openmoq.objects.length);
      let warm = 0;
      const deadline = Date.now() + 10_000;
      while ((await count()) === 0) {
        if (Date.now() > deadline) throw new Error(`no warm-up object reached the OpenMOQ client in 10 s (console: ${logs.slice(-8).join(" | ")})`);
        p.group(["warm-up"]);
        warm++;
        await new Promise((r) => setTimeout(r, 100));
      }
      // One group at a time, each awaited: a burst above [limits] subscriber_queue_groups (4) would
      // let the relay skip a viewer forward, by design, before its streams open.
      for (let g = 0; g < 5; g++) {
        p.group(frames(g));
        await within(
          page.waitForFunction((group) => (globalThis as unknown as { openmoq: Seen }).openmoq.objects.filter((o) => o.group === group).length >= 10, warm + g, { timeout: 10_000 }),
          11_000,
          `group ${g}'s 10 objects in the OpenMOQ client (console: ${logs.slice(-8).join(" | ")})`,
        );
      }
      const seen = await page.evaluate(() => (globalThis as unknown as { openmoq: Seen }).openmoq);
      assert.equal(seen.protocol, protocol);
      // Objects within a group arrive in order on their stream; groups are separate streams.
      for (let g = 0; g < 5; g++) {
        const got = seen.objects.filter((o) => o.group === warm + g);
        assert.deepEqual(got.map((o) => o.object), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.deepEqual(got.map((o) => o.payload), frames(g));
      }
    } finally {
      await page.close();
      pub.close();
    }
  });
}
