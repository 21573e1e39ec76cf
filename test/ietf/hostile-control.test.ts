// Hostile IETF clients on the control path, against a relay in its own process whose memory is
// measured after GC and whose log lines are counted: a client that floods requests and never
// reads the answers must not turn them into relay memory (the relay stops reading instead), and
// client-triggered log lines are rate-limited with client strings clipped.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { control } from "../../src/session/ietf/message.js";
import { Goaway, RequestType } from "../../src/session/ietf/request.js";
import { SubscribeNamespace } from "../../src/session/ietf/announce.js";
import { Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { SubscribeUpdate } from "../../src/session/ietf/update.js";
import { Draft, subscribeNamespaceType } from "../../src/session/ietf/version.js";
import { MiB, type Heap } from "../util/heap.js";
import { startRelayProcess } from "../util/relay-process.js";
import { rawSession } from "./raw.js";

// Small receive windows: a stream the relay stops reading holds at most its window of input.
const relay = await startRelayProcess({ "server.quic.stream_window": "1MiB", "server.quic.connection_window": "4MiB" }, { log: true });
after(() => relay.close());
const url = new URL(`http://127.0.0.1:${relay.port}/anon`);
const held = (h: Heap): number => h.heap + h.buffers;

/**
 * Write `batches` chunks from `make` through `send`, for at most `ms`; a send the relay holds
 * back for 2 s (its flow control: it stopped reading) ends it early.
 */
async function flood(send: (b: Uint8Array) => Promise<void>, make: (i: number) => Uint8Array, batches: number, ms: number): Promise<number> {
  const deadline = Date.now() + ms;
  let sent = 0;
  for (let i = 0; i < batches && Date.now() < deadline; i++) {
    const chunk = make(i);
    const ok = await Promise.race([send(chunk).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
    if (!ok) break;
    sent += chunk.byteLength;
  }
  return sent;
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

test("draft-16: SUBSCRIBEs for missing tracks flooded on the control stream by a client that never reads its answers hold no relay memory", async () => {
  const v = Draft.D16;
  const c = await rawSession(url, v);
  try {
    const before = await relay.mem();
    const PER = 2000;
    let id = 0;
    const sent = await flood(
      (b) => c.request(b).then(() => undefined),
      () => concat(Array.from({ length: PER }, () => control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: (id += 2) - 2, namespace: "nobody", track: "x" }).encode(w)))),
      100,
      15_000,
    );
    const afterwards = await relay.mem();
    const grew = held(afterwards) - held(before);
    console.log(`draft-16 SUBSCRIBE flood: ${(sent / MiB).toFixed(1)} MiB sent (${id / 2} requests), relay +${(grew / MiB).toFixed(1)} MiB`);
    assert.ok(grew < 16 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more after ${(sent / MiB).toFixed(1)} MiB of unanswered-for requests`);
  } finally {
    c.close();
  }
});

test("draft-18: REQUEST_UPDATEs flooded on a SUBSCRIBE_NAMESPACE stream by a client that never reads hold no relay memory", async () => {
  const v = Draft.D18;
  const c = await rawSession(url, v);
  try {
    const req = await c.request(control(v, subscribeNamespaceType(v), (w) => new SubscribeNamespace(0, "nothing-here").encode(w)));
    const before = await relay.mem();
    const PER = 4000;
    let id = 2;
    const sent = await flood(
      (b) => req.send(b),
      () => concat(Array.from({ length: PER }, () => control(v, SubscribeType.SubscribeUpdate, (w) => new SubscribeUpdate({ requestId: (id += 2) - 2 }).encode(w)))),
      100,
      15_000,
    );
    const afterwards = await relay.mem();
    const grew = held(afterwards) - held(before);
    console.log(`draft-18 REQUEST_UPDATE flood: ${(sent / MiB).toFixed(1)} MiB sent, relay +${(grew / MiB).toFixed(1)} MiB`);
    assert.ok(grew < 16 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more after ${(sent / MiB).toFixed(1)} MiB of updates`);
  } finally {
    c.close();
  }
});

test("GOAWAYs from a client are logged at a limited rate with the URI clipped", async () => {
  for (const v of [Draft.D16, Draft.D18]) {
    const c = await rawSession(url, v);
    try {
      const start = relay.logLines.length;
      const uri = `https://${"x".repeat(8000)}.example/`;
      const msg = control(v, RequestType.Goaway, (w) => new Goaway(uri).encode(w));
      const burst = concat(Array.from({ length: 500 }, () => msg));
      if (c.setup === undefined) await c.request(burst);
      else {
        const w = c.setup.getWriter();
        await w.write(burst);
        w.releaseLock();
      }
      // Give the relay time to parse and log what it got.
      await new Promise((r) => setTimeout(r, 1000));
      const lines = relay.logLines.slice(start).filter((l) => l.includes("GOAWAY"));
      const bytes = lines.reduce((n, l) => n + l.length, 0);
      console.log(`draft ${v - 0xff000000}: ${lines.length} GOAWAY lines, ${bytes} bytes`);
      assert.ok(lines.length <= 30, `${lines.length} GOAWAY log lines for 500 GOAWAYs`);
      assert.ok(lines.every((l) => l.length < 2000), "a GOAWAY URI was logged unclipped");
    } finally {
      c.close();
    }
  }
});
