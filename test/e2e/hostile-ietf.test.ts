// An IETF viewer (raw QUIC, moqt-18) that withholds stream credit, against a relay in its own
// process whose memory is measured after GC: what it withholds must not turn into relay memory.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { control } from "../../src/session/ietf/message.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { Setup, SetupType } from "../../src/session/ietf/setup.js";
import { Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { Draft } from "../../src/session/ietf/version.js";
import { silentLogger } from "../../src/util/log.js";
import { MiB, type Heap } from "../util/heap.js";
import { startRelayProcess } from "../util/relay-process.js";
import { connect, publish, subscribe, within } from "../util/moq.js";

const relay = await startRelayProcess({ "cache.max_bytes": "4MiB" });
const base = loadConfig({ env: {}, flags: {} }).config.server.quic;
const endpoints: QuicEndpoint[] = [];
after(async () => {
  for (const e of endpoints) await e.close();
  await relay.close();
});
const held = (h: Heap): number => h.heap + h.buffers;
/** The first byte of the relay's SETUP stream (type 0x2f00 as a two-byte varint). */
const SETUP_FIRST_BYTE = 0x40 | (SetupType.Setup >> 8);

test("an IETF viewer that grants one uni stream and never reads pins no more than its queue while 50 MiB is published", async () => {
  const pubConn = await connect(`http://127.0.0.1:${relay.port}/anon`);
  const fastConn = await connect(`http://127.0.0.1:${relay.port}/anon`);
  try {
    const p = publish(pubConn, "cam", "video");
    // The starved viewer: raw QUIC moqt-18, one uni stream of credit after the relay's SETUP
    // stream, a 64 KiB window, never reads a subgroup stream.
    const ep = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: { ...base, max_streams: 2, stream_window: 64 * 1024, connection_window: 1 * MiB }, log: silentLogger() });
    endpoints.push(ep);
    const starved = await within(ep.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["moqt-18"], fingerprints: [relay.fingerprint] }), 5000, "raw QUIC handshake");
    let groupStreams = 0;
    starved.onUni = (u) => {
      let first = true;
      u.onData = (d) => {
        // The relay's SETUP stream is read; a subgroup stream is paused at its first bytes.
        if (first && d[0] !== SETUP_FIRST_BYTE) {
          groupStreams++;
          u.pause();
        }
        first = false;
      };
    };
    const setup = await starved.openUni();
    setup.write(control(Draft.D18, SetupType.Setup, (w) => new Setup(new Params().setBytes(SetupKey.Path, new TextEncoder().encode("/anon"))).encode(w)));
    const sub = await starved.openBidi();
    sub.recv.onData = () => undefined;
    sub.send.write(control(Draft.D18, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: "cam", track: "video" }).encode(w)));
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
    if (process.env.MOQ_TEST_MEM) console.log("starved IETF viewer", before, afterwards, groupStreams);
    // The viewer was served (its one stream of credit carries a group) before it stalled.
    assert.ok(groupStreams >= 1, "the IETF viewer got no subgroup stream");
    // Cache budget (4 MiB) + the viewer's queue (4 groups of 128 KiB) + bookkeeping. Before the
    // shared pump, each group waiting for stream credit kept its payload: 40 MiB and more here.
    assert.ok(grew < 8 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more with a starved IETF viewer`);
    starved.close(0, "");
  } finally {
    pubConn.close();
    fastConn.close();
  }
});
