// @moq/net on Node's own WebSocket (undici, Node >= 22), as a Node 24 app uses it without `ws`.
// The other tests give the client `ws` (see test/util/polyfill.ts for why); this one keeps the
// relay honest with the WebSocket that Node itself ships.
import { nativeWebSocket } from "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced } from "../util/moq.js";

const G = globalThis as unknown as { WebSocket?: unknown };
const skip = nativeWebSocket === undefined ? `Node ${process.version} has no built-in WebSocket (Node >= 22 has)` : false;

test("@moq/net over Node's built-in WebSocket publishes and watches through the relay, byte-identical", { skip }, async () => {
  const relay = await startTestRelay();
  const polyfilled = G.WebSocket;
  // Count the sockets the client dials with Node's own class, to know the test used it.
  let dialed = 0;
  const Native = nativeWebSocket as new (...args: unknown[]) => object;
  G.WebSocket = class extends Native {
    constructor(...args: unknown[]) {
      super(...args);
      dialed++;
    }
  };
  after(async () => {
    G.WebSocket = polyfilled;
    await relay.close();
  });
  const pub = await connect(relay.url("anon"));
  const viewer = await connect(relay.url("anon"));
  // The client picks the global WebSocket when it dials; both sessions are on undici's.
  G.WebSocket = polyfilled;
  assert.equal(dialed, 2);
  assert.equal(pub.version, "moq-lite-05");
  const p = publish(pub, "native", "video");
  await waitAnnounced(viewer, "native");
  const r = subscribe(viewer, "native", "video");
  await servingLive(relay, "anon/native", "video", { publisher: p });
  // Five groups of ten frames, the last one large enough to need several flow-control windows.
  const frames = (g: number): Uint8Array[] => Array.from({ length: 10 }, (_, i) => new Uint8Array(g === 4 ? 64 * 1024 : 100 + i).fill(g * 16 + i));
  for (let g = 0; g < 5; g++) {
    p.group(frames(g));
    const got = await r.nextGroup(10_000);
    assert.equal(got.sequence, g);
    assert.deepEqual(got.frames.map((f) => Buffer.from(f)), frames(g).map((f) => Buffer.from(f)));
  }
  pub.close();
  viewer.close();
});
