// The per-turn shortcuts of the QUIC send path: a stream quiche refused (no credit) takes more
// writes without a flush per write, and still delivers every byte in order once credit returns;
// a paused reader whose window is full gets its data on resume() although no packet arrives to
// prompt a read, and the blocked writer stays quiet meanwhile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { setImmediate as turn } from "node:timers/promises";
import type { RecvStream } from "../../src/transport/session.js";
import { within } from "../util/moq.js";
import { loopbackPair } from "./loopback-pair.js";

// No keep-alive: a PING would arrive and prompt a read that resume() alone must do.
const roomy = { idle_timeout: 20_000, keep_alive: 0, stream_window: 16 << 20, connection_window: 64 << 20, max_streams: 100, socket_buffer: 8 << 20 };
// The reader grants 64 kB per stream: the writer is refused long before it has written 2 MiB.
const tight = { ...roomy, stream_window: 64 << 10, connection_window: 128 << 10 };
const { server, pair } = await loopbackPair(roomy, tight);

const sha = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

test("2 MiB written in 1 kB pieces over many turns to a stream without credit arrive whole and in order", async () => {
  const { c, sc } = await pair();
  const body = randomBytes(2 << 20);
  const got = new Promise<Buffer>((resolve) => {
    c.onUni = (u) => {
      const parts: Uint8Array[] = [];
      u.onData = (d) => parts.push(d);
      u.onEnd = () => resolve(Buffer.concat(parts));
    };
  });
  const out = await sc.openUni();
  // Writes go on regardless of the high-water mark (the contract allows it): most of them land
  // on a stream quiche has already refused, across event-loop turns.
  for (let i = 0; i < body.length; i += 1024) {
    out.write(body.subarray(i, i + 1024));
    if (i % (64 << 10) === 0) await turn();
  }
  out.end();
  const received = await within(got, 30_000, "2 MiB through a 64 kB window");
  assert.equal(received.length, body.length);
  assert.equal(sha(received), sha(body));
  c.close(0, "");
});

test("a paused reader with a full window gets the rest on resume(), with no packet to prompt it", async () => {
  const { c, sc } = await pair();
  const body = randomBytes(1 << 20);
  let stream: RecvStream | undefined;
  const parts: Uint8Array[] = [];
  let bytes = 0;
  let more: (() => void) | undefined;
  const ended = new Promise<void>((resolve) => {
    c.onUni = (u) => {
      stream = u;
      u.onData = (d) => {
        parts.push(d);
        bytes += d.byteLength;
        // Stop after the first chunk: the window fills and the sender falls silent.
        if (parts.length === 1) u.pause();
        more?.();
      };
      u.onEnd = resolve;
    };
  });
  const out = await sc.openUni();
  out.write(body);
  out.end();
  // Wait until the sender has been refused for a while (its queue stops shrinking).
  let last = -1;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (out.writableLength === last && stream !== undefined) break;
    last = out.writableLength;
  }
  assert.ok(stream !== undefined, "the stream reached the client");
  assert.ok(bytes < body.length, "the reader is held back");
  // A writer without credit stays quiet: it does not answer each ACK with another refused write
  // (and quiche with another DATA_BLOCKED), which would ping-pong for as long as the reader waits.
  const sent = (): number => server.udp.batched + server.udp.fallback;
  const before = sent();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(sent() - before < 20, `${sent() - before} packets sent by a blocked writer in 300 ms`);
  // The read must happen in the flush resume() queues (this turn's check phase), not when some
  // later packet happens to arrive: it beats a timer armed now, which fires next turn at best.
  const next = new Promise<string>((resolve) => (more = () => resolve("data")));
  stream.resume();
  const first = await Promise.race([next, new Promise<string>((r) => setTimeout(() => r("timer"), 0))]);
  assert.equal(first, "data", "resume() read what quiche held without waiting for a packet");
  await within(ended, 10_000, "the rest after resume()");
  assert.equal(sha(Buffer.concat(parts)), sha(body));
  c.close(0, "");
});
