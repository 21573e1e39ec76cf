// Hostile clients on real sockets against a relay in its own process, whose memory is measured
// after GC (test/util/relay-process.ts): what a stranger sends or withholds must not turn into
// relay memory.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import { Writer } from "../../src/util/bytes.js";
import { Goaway } from "../../src/session/lite/goaway.js";
import { Role, Setup } from "../../src/session/lite/setup.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { Subscribe } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import { silentLogger } from "../../src/util/log.js";
import { MiB, type Heap } from "../util/heap.js";
import { startRelayProcess } from "../util/relay-process.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

const relay = await startRelayProcess({ "cache.max_bytes": "4MiB" });
const base = loadConfig({ env: {}, flags: {} }).config.server.quic;
const endpoints: QuicEndpoint[] = [];
after(async () => {
  for (const e of endpoints) await e.close();
  await relay.close();
});
const held = (h: Heap): number => h.heap + h.buffers;

/** A raw QUIC moq-lite-05 client at `path`; `quic` overrides the client's transport limits. */
async function dial(path: string, quic: Partial<typeof base> = {}, role: number = Role.Both): Promise<QuicConnection> {
  const ep = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: { ...base, ...quic }, log: silentLogger() });
  endpoints.push(ep);
  const c = await within(ep.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints: [relay.fingerprint] }), 5000, "raw QUIC handshake");
  const s = await c.openUni();
  const w = new Writer().varint(Uni.Setup);
  new Setup({ origin: 0x77n, path, role }).encode(w, Version.Lite05);
  s.write(w.finish());
  s.end();
  return c;
}

test("a client that keeps sending 64 MiB after its GOAWAY is stopped; the relay's memory does not grow", async () => {
  const c = await dial("/anon");
  const before = await relay.mem();
  const junk = new Uint8Array(64 * 1024).fill(0x5a);
  const total = 64 * MiB;
  let offered = 0;
  const stops: number[] = [];
  // Keep going on fresh streams whenever the relay stops one: 64 MiB offered in all.
  while (offered < total) {
    const s = await c.openBidi();
    s.recv.onData = () => undefined;
    const head = new Writer().varint(Bidi.Goaway);
    new Goaway("https://elsewhere.example/".padEnd(4000, "x")).encode(head, Version.Lite05);
    s.send.write(head.finish());
    await within(
      new Promise<void>((resolve) => {
        let stopped = false;
        s.send.onStop = (code) => {
          stopped = true;
          stops.push(code);
          resolve();
        };
        const pump = (): void => {
          while (!stopped && offered < total) {
            offered += junk.byteLength;
            if (!s.send.write(junk)) return void (s.send.onDrain = pump);
          }
          if (offered >= total) resolve();
        };
        pump();
      }),
      30_000,
      "the relay to read or stop the stream",
    );
  }
  const afterwards = await relay.mem();
  const grew = held(afterwards) - held(before);
  assert.ok(grew < 8 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more after 64 MiB of junk`);
  assert.ok(stops.length > 0 && stops.every((code) => code === 15), `stop codes ${stops.join(",")}`);
  c.close(0, "");
});

test("a viewer that grants one uni stream and never reads pins no more than its queue while 50 MiB is published", async () => {
  const pubConn = await connect(`http://127.0.0.1:${relay.port}/anon`);
  const fastConn = await connect(`http://127.0.0.1:${relay.port}/anon`);
  try {
    const p = publish(pubConn, "cam", "video");
    // The starved viewer: one uni stream of credit (after the relay's SETUP stream), a 64 KiB window, never reads a group.
    const starved = await dial("/anon", { max_streams: 2, stream_window: 64 * 1024, connection_window: 1 * MiB }, Role.Subscriber);
    starved.onUni = (u) => {
      let first = true;
      u.onData = (d) => {
        // The relay's SETUP stream is read to its end (credit comes back); a group stream is not.
        if (first && d[0] === Uni.Group) u.pause();
        first = false;
      };
    };
    const sub = await starved.openBidi();
    sub.recv.onData = () => undefined;
    const w = new Writer().varint(Bidi.Subscribe);
    new Subscribe(0, "cam", "video", { priority: 0, ordered: false, maxLatency: 0 }).encode(w, Version.Lite05);
    sub.send.write(w.finish());
    await p.waitSubscribed();
    // A viewer that keeps up shows when every group has passed through the relay (whole, or
    // reset if the relay skipped it ahead: the groups come as fast as the publisher can write
    // them, and on a loaded machine even this viewer can fall four groups behind).
    const fast = subscribe(fastConn, "cam", "video", { latencyMax: 60_000 });
    const before = await relay.mem();
    const GROUPS = 400;
    const frame = new Uint8Array(128 * 1024);
    let seen = -1;
    for (let seq = 0; seq < GROUPS; seq++) {
      p.group([frame]);
      if (seq % 25 === 24) {
        while (seen < seq - 10) seen = (await fast.nextGroupSettled(10_000)).sequence;
      }
    }
    while (seen < GROUPS - 1) seen = (await fast.nextGroupSettled(10_000)).sequence;
    const afterwards = await relay.mem();
    const grew = held(afterwards) - held(before);
    if (process.env.MOQ_TEST_MEM) console.log("starved viewer", before, afterwards);
    // Cache budget (4 MiB) + the viewer's queue (4 groups of 128 KiB) + bookkeeping. (Before the
    // fix, each group waiting for stream credit kept its payload: 12 MiB and more here.)
    assert.ok(grew < 8 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more with a starved viewer`);
    starved.close(0, "");
  } finally {
    pubConn.close();
    fastConn.close();
  }
});

test("a publisher that never finishes its groups pins no more than the cache budget once the cache lets them go", async () => {
  const pubConn = await connect(`http://127.0.0.1:${relay.port}/anon`);
  const viewConn = await connect(`http://127.0.0.1:${relay.port}/anon`);
  try {
    const p = publish(pubConn, "open-groups", "video");
    // A viewer pulls the track through the relay; it reads what it gets (at most its queue of 4
    // groups is in flight for it: the groups never end, so older ones are dropped for it).
    await waitAnnounced(viewConn, "open-groups");
    const r = subscribe(viewConn, "open-groups", "video");
    await p.waitSubscribed(15_000);
    const before = await relay.mem();
    const GROUPS = 48;
    const frame = new Uint8Array(128 * 1024);
    // 48 groups of 1 MiB, every one left open: the publisher's streams stay open and hold them.
    for (let seq = 0; seq < GROUPS; seq++) p.group(Array.from({ length: 8 }, () => frame), { keepOpen: true });
    // The newest group's frames reach the viewer: everything before it went through the relay.
    await r.framesIn(GROUPS - 1, 8, 20_000);
    const afterwards = await relay.mem();
    const grew = held(afterwards) - held(before);
    if (process.env.MOQ_TEST_MEM) console.log("open groups", before, afterwards);
    // Cache budget (4 MiB) + the viewer's 4 groups in flight + the newest + bookkeeping. (Before,
    // each evicted group kept its frames while its stream stayed open: 48 MiB and more here.)
    assert.ok(grew < 16 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more with ${GROUPS} open groups of 1 MiB`);
    p.close();
  } finally {
    pubConn.close();
    viewConn.close();
  }
});
