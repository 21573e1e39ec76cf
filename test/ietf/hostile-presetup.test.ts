// An IETF client (draft-18, QMux over WebSocket) that opens requests before its SETUP, and keeps
// sending on them, against a relay in its own process whose memory is measured after GC: at most
// `limits.max_pending_requests` requests wait for the SETUP, each buffering at most one more
// message; the rest are refused, and a waiting request that overflows closes the session.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import QmuxSession from "@moq/qmux";
import { control } from "../../src/session/ietf/message.js";
import { Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { Draft } from "../../src/session/ietf/version.js";
import { MiB, type Heap } from "../util/heap.js";
import { startRelayProcess } from "../util/relay-process.js";
import { within } from "../util/moq.js";
import { messageReader, qmuxProtocol } from "./raw.js";
import { RequestType } from "../../src/session/ietf/request.js";

// The SETUP never comes: the handshake deadline must not end the session before the measurement.
const relay = await startRelayProcess({ "limits.handshake_timeout": "30s" });
after(() => relay.close());
const url = new URL(`http://127.0.0.1:${relay.port}/anon`);
const held = (h: Heap): number => h.heap + h.buffers;

test("draft-18: requests opened before SETUP, each followed by a stream of bytes, hold bounded relay memory", async () => {
  const v = Draft.D18;
  const s = new QmuxSession(url, { protocols: [qmuxProtocol(v)], versions: {}, requireProtocol: true });
  await within(s.ready, 5000, "the raw QMux handshake");
  let closed: { closeCode?: number } | undefined;
  s.closed.then(
    (info) => (closed = info),
    () => (closed = {}),
  );
  try {
    const before = await relay.mem();
    // A namespace of 15 fields of 4000 bytes: a SUBSCRIBE of about 60 KB, under the 64 KiB limit.
    const ns = Array.from({ length: 15 }, (_, i) => `${i}`.padEnd(4000, "n")).join("/");
    const sub = (id: number): Uint8Array => control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: id, namespace: ns, track: "t" }).encode(w));
    const junk = new Uint8Array(64 * 1024).fill(0xaa);
    const STREAMS = 200;
    const deadline = Date.now() + 20_000;
    let sent = 0;
    const writers: Array<WritableStreamDefaultWriter<Uint8Array>> = [];
    for (let i = 0; i < STREAMS && closed === undefined && Date.now() < deadline; i++) {
      const bidi = await within(s.createBidirectionalStream(), 5000, "a bidi stream");
      const w = bidi.writable.getWriter();
      writers.push(w);
      w.write(sub(2 * i)).catch(() => undefined);
      sent += 60_000;
    }
    // Then junk behind every request, a round at a time, while the session lasts.
    for (let round = 0; round < 4 && closed === undefined && Date.now() < deadline; round++) {
      await Promise.race([Promise.all(writers.map((w) => w.write(junk).catch(() => undefined))), new Promise((r) => setTimeout(r, 5000).unref())]);
      sent += writers.length * junk.byteLength;
    }
    const afterwards = await relay.mem();
    const grew = held(afterwards) - held(before);
    console.log(`pre-SETUP: ${(sent / MiB).toFixed(1)} MiB offered on ${writers.length} requests, relay +${(grew / MiB).toFixed(1)} MiB, session ${closed === undefined ? "open" : `closed (${closed.closeCode})`}`);
    // 64 pending requests × (a 64 KiB message and one more) = 8 MiB, plus bookkeeping.
    assert.ok(grew < 16 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more for requests waiting for SETUP`);
    // Bytes past one message behind a waiting request are a protocol violation.
    assert.equal(closed?.closeCode, 3, "the session was not closed with PROTOCOL_VIOLATION");
  } finally {
    s.close();
  }
});

test("draft-18: past limits.max_pending_requests (64), requests before SETUP get REQUEST_ERROR and the session lives on", async () => {
  const v = Draft.D18;
  const s = new QmuxSession(url, { protocols: [qmuxProtocol(v)], versions: {}, requireProtocol: true });
  await within(s.ready, 5000, "the raw QMux handshake");
  let ended = false;
  s.closed.then(
    () => (ended = true),
    () => (ended = true),
  );
  try {
    const answers: Array<Promise<number | undefined>> = [];
    for (let i = 0; i < 100; i++) {
      const bidi = await within(s.createBidirectionalStream(), 5000, "a bidi stream");
      const w = bidi.writable.getWriter();
      await w.write(control(v, SubscribeType.Subscribe, (x) => new Subscribe({ requestId: 2 * i, namespace: "nobody", track: "t" }).encode(x)));
      const next = messageReader(bidi.readable as ReadableStream<Uint8Array>, v);
      // A waiting request has no answer yet: the bounded wait ends in undefined.
      answers.push(next(`request ${i}`).then((m) => m.type, () => undefined));
    }
    const types = await Promise.all(answers);
    const refused = types.filter((t) => t === RequestType.RequestError).length;
    assert.equal(refused, 36, `${refused} of 100 requests refused before SETUP`);
    assert.equal(types.filter((t) => t !== undefined && t !== RequestType.RequestError).length, 0, "a waiting request was answered before SETUP");
    assert.equal(ended, false, "the session was closed");
  } finally {
    s.close();
  }
});
