// An IETF viewer (raw QUIC, moqt-18) that FETCHes the cache but never grants the relay a uni
// stream to answer on: each fetch times out, and what it would have sent must not stay in the
// relay's memory after the cache has moved on (measured after GC in the relay's own process).
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.js";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { BidiStream, Session } from "../../src/transport/session.js";
import { Fetch, FetchMessage, FetchType } from "../../src/session/ietf/fetch.js";
import { control, ControlFramer } from "../../src/session/ietf/message.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { RequestType } from "../../src/session/ietf/request.js";
import { Setup, SetupType } from "../../src/session/ietf/setup.js";
import { Draft } from "../../src/session/ietf/version.js";
import { silentLogger } from "../../src/util/log.js";
import { MiB, type Heap } from "../util/heap.js";
import { startRelayProcess, type RelayProcess } from "../util/relay-process.js";
import { connect, publish, subscribe, waitAnnounced, within, type Publisher, type Reader } from "../util/moq.js";

const relay = await startRelayProcess({ "cache.max_bytes": "4MiB", "limits.fetch_timeout": "300ms" });
after(() => relay.close());
const quic = loadConfig({ env: {}, flags: {} }).config.server.quic;

/**
 * A raw QUIC moqt-18 viewer whose one uni stream of credit goes to the relay's SETUP stream
 * (which stays open), so the relay can never open a fetch stream to it.
 */
async function starvedViewer(ep: QuicEndpoint, to: RelayProcess): Promise<Session> {
  const starved = await within(ep.connect({ host: "127.0.0.1", port: to.port, serverName: "localhost", alpns: ["moqt-18"], fingerprints: [to.fingerprint] }), 5000, "raw QUIC handshake");
  starved.onUni = (u) => void (u.onData = () => undefined);
  const setup = await starved.openUni();
  setup.write(control(Draft.D18, SetupType.Setup, (w) => new Setup(new Params().setBytes(SetupKey.Path, new TextEncoder().encode("/anon"))).encode(w)));
  return starved;
}
/** What the relay holds: its heap and the buffers frame payloads live in (after GC). */
const held = (h: Heap): number => h.heap + h.buffers;

/** Send a FETCH of everything cached on a new bidi; resolve with FETCH_OK's type once the relay ends the request stream. */
function fetchAll(bidi: BidiStream, requestId: number): Promise<number[]> {
  const framer = new ControlFramer(Draft.D18, 65535);
  const types: number[] = [];
  const ended = new Promise<number[]>((resolve, reject) => {
    bidi.recv.onData = (d) => {
      framer.push(d);
      for (let m = framer.next(); m !== undefined; m = framer.next()) if (m.type !== RequestType.MaxRequestId) types.push(m.type);
    };
    bidi.recv.onEnd = () => resolve(types);
    bidi.recv.onReset = (code) => reject(new Error(`request stream reset ${code}`));
  });
  const req = new Fetch({ requestId, fetchType: FetchType.Standalone, namespace: "ft", track: "video", start: { group: 0, object: 0 }, end: { group: 1_000_000, object: 0 } });
  bidi.send.write(control(Draft.D18, FetchMessage.Fetch, (w) => req.encode(w)));
  // The relay ends the request stream when the fetch ends: here, at its 300 ms timeout.
  return within(ended, 10_000, `fetch ${requestId} to end`);
}

/**
 * The scene on `to`: a moq-lite publisher of ft/video, a viewer that keeps up (it keeps the track
 * live in the cache and shows when groups passed) and the starved IETF viewer.
 */
async function scene(to: RelayProcess): Promise<{ p: Publisher; fast: Reader; starved: Session; close(): Promise<void> }> {
  const pubConn = await connect(`http://127.0.0.1:${to.port}/anon`);
  const fastConn = await connect(`http://127.0.0.1:${to.port}/anon`);
  let ep: QuicEndpoint | undefined;
  const close = async (): Promise<void> => {
    pubConn.close();
    fastConn.close();
    await ep?.close();
  };
  try {
    const p = publish(pubConn, "ft", "video");
    await waitAnnounced(fastConn, "ft");
    const fast = subscribe(fastConn, "ft", "video");
    await p.waitSubscribed();
    ep = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: { ...quic, max_streams: 1 }, log: silentLogger() });
    return { p, fast, starved: await starvedViewer(ep, to), close };
  } catch (e) {
    await close();
    throw e;
  }
}

test("FETCHes from an IETF viewer that withholds uni stream credit time out and release their groups once the cache evicts them", async () => {
  const { p, fast, starved, close } = await scene(relay);
  try {
    const frame = new Uint8Array(512 * 1024);
    let seq = 0;
    /** Fill the 4 MiB cache with fresh groups (evicting the previous ones), then fetch them all. */
    const round = async (requestId: number): Promise<void> => {
      for (let i = 0; i < 10; i++) {
        p.group([frame]);
        const want = seq++;
        let seen = -1;
        while (seen < want) seen = (await fast.nextGroup(10_000)).sequence;
      }
      const types = await fetchAll(await starved.openBidi(), requestId);
      assert.deepEqual(types, [FetchMessage.FetchOk], `fetch ${requestId} was answered`);
    };
    await round(0);
    const before = await relay.mem();
    const ROUNDS = 8;
    for (let r = 1; r <= ROUNDS; r++) await round(r * 2);
    // Evict the last round's groups too.
    for (let i = 0; i < 10; i++) p.group([frame]);
    seq += 10;
    let seen = -1;
    while (seen < seq - 1) seen = (await fast.nextGroup(10_000)).sequence;
    const afterwards = await relay.mem();
    const grew = held(afterwards) - held(before);
    if (process.env.MOQ_TEST_MEM) console.log("timed-out fetches", before, afterwards);
    // Each timed-out fetch kept its ~4 MiB of groups while its stream opener waited for credit
    // (32 MiB and more here); the cache budget itself is in both measurements.
    assert.ok(grew < 6 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more after ${ROUNDS} timed-out fetches`);
    starved.close(0, "");
  } finally {
    await close();
  }
});

test("FETCHes that timed out waiting for the viewer's stream credit count against max_fetches_per_session until the relay could open their streams", async (t) => {
  const small = await startRelayProcess({ "limits.fetch_timeout": "300ms", "limits.max_fetches_per_session": 4 });
  t.after(() => small.close());
  const { p, fast, starved, close } = await scene(small);
  try {
    p.group([new Uint8Array(1000)]);
    await fast.nextGroup(10_000);
    // Four fetches, each answered and then ended by its timeout, its fetch stream never opened.
    const answers = await Promise.all([0, 2, 4, 6].map(async (id) => fetchAll(await starved.openBidi(), id)));
    assert.deepEqual(answers, Array(4).fill([FetchMessage.FetchOk]));
    // Before: a fifth was served, and each one queued another stream opener (with its groups)
    // for the session's life.
    assert.deepEqual(await fetchAll(await starved.openBidi(), 8), [RequestType.RequestError]);
    starved.close(0, "");
  } finally {
    await close();
  }
});
