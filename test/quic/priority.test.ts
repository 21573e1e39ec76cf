// Stream priorities on our QUIC engine: the SendStream rank (lower first; group ranks reach ~2^52)
// decides what quiche sends when the link is constrained. The receiver is throttled (it reads
// nothing until every stream is queued, and grants a small window), so the order in which
// streams complete is the order the sender scheduled them.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { RecvStream, SendStream } from "../../src/transport/session.js";
import { groupRank } from "../../src/session/lite/session-io.js";
import { within } from "../util/moq.js";
import { loopbackPair } from "./loopback-pair.js";

const roomy = { idle_timeout: 5000, keep_alive: 1000, stream_window: 16 << 20, connection_window: 64 << 20, max_streams: 100, socket_buffer: 8 << 20 };
// The receiver's connection window is a little over one 64 kB packet train, so connection credit
// is what the streams compete for. Each stream's own window holds a whole stream: a tight stream
// window would block the best stream on its own credit and hand the connection's spare credit to
// the next one, making completion order depend on when the reader's grants land.
const tight = { ...roomy, stream_window: 1 << 20, connection_window: 48 << 10 };
const { pair } = await loopbackPair(roomy, tight);

const SIZE = 256 * 1024;

/**
 * The server opens one uni stream per rank, in the order given, queues SIZE bytes (FIN) on each
 * in the same turn; the client holds every stream paused until all are open, then reads.
 * Resolves with the ranks in the order their streams completed at the client.
 */
async function completionOrder(ranks: number[], sizes: number[] = ranks.map(() => SIZE)): Promise<number[]> {
  const { c, sc } = await pair();
  const done: number[] = [];
  const streams: RecvStream[] = [];
  const all = new Promise<void>((resolve) => {
    c.onUni = (u) => {
      u.pause();
      streams.push(u);
      let first = true;
      let rank = -1;
      u.onData = (d) => {
        if (first) rank = Buffer.from(d.buffer, d.byteOffset, 8).readDoubleLE(0);
        first = false;
      };
      u.onEnd = () => {
        done.push(rank);
        if (done.length === ranks.length) resolve();
      };
    };
  });
  const outs: SendStream[] = [];
  for (const _ of ranks) outs.push(await sc.openUni());
  ranks.forEach((rank, i) => {
    const body = Buffer.alloc(sizes[i], 7);
    body.writeDoubleLE(rank, 0);
    outs[i].priority = rank;
    outs[i].write(body);
    outs[i].end();
  });
  // Streams show up at the client as their first bytes arrive; with every stream seen (or the
  // window full), let the client read.
  const seen = Date.now();
  while (streams.length < ranks.length && Date.now() - seen < 300) await new Promise((r) => setTimeout(r, 10));
  for (const s of streams) s.resume();
  c.onUni = ((prev) => (u: RecvStream) => {
    prev?.(u);
    u.resume();
  })(c.onUni);
  await within(all, 20_000, "every stream to complete");
  c.close(0, "");
  return done;
}

test("a higher-priority stream completes first even when queued last, with ranks far above 2^32", async () => {
  const hi = groupRank(200, 0, 5, false);
  const lo = groupRank(10, 0, 6, false);
  assert.ok(lo > 2 ** 40, "ranks use the full range");
  const order = await completionOrder([lo, lo + 1, hi]);
  assert.equal(order[0], hi);
});

test("newest group first for an unordered subscription; oldest first for an ordered one", async () => {
  const unordered = [0, 1, 2, 3].map((seq) => groupRank(0, 0, 1000 + seq, false));
  assert.deepEqual(await completionOrder(unordered), [...unordered].reverse());
  const ordered = [3, 2, 1, 0].map((seq) => groupRank(0, 0, 1000 + seq, true));
  assert.deepEqual(await completionOrder(ordered), [...ordered].reverse());
});

test("control streams (rank 0) go before queued data", async () => {
  const data = groupRank(255, 255, 1, false);
  const order = await completionOrder([data, data + 1, 0], [SIZE, SIZE, 64]);
  assert.equal(order[0], 0);
});
