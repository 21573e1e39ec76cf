// One WHATWG-stream adapter, one behaviour: the same checks run against QMux over WebSocket
// (WebSocketSession) and the WebTransport adapter (WtSession, what the fails-quiche engine uses),
// each over a real loopback WebSocket with a raw @moq/qmux client as the peer.
import "../util/polyfill.js";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import QmuxSession, { StreamError } from "@moq/qmux";
import { WebSocket, WebSocketServer } from "ws";
import type { RecvStream, SendStream, Session } from "../../src/transport/session.js";
import { WebSocketSession, type QmuxLike } from "../../src/transport/websocket/session.js";
import { HIGH_WATER } from "../../src/transport/whatwg-streams.js";
import { WtSession, type WtLike } from "../../src/transport/wt-adapter.js";
import { readAll, within } from "./fixture.js";

const T = 10_000;
const PROTOCOL = "qmux-01.moq-lite-05";
/** The peer's receive window per uni stream: small, so an unread stream stalls our writes. */
const PEER_WINDOW = 64 * 1024;

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, handleProtocols: (offered) => [...offered][0] ?? false });
await new Promise<void>((resolve) => wss.once("listening", resolve));
const port = (wss.address() as AddressInfo).port;
const accepted: QmuxSession[] = [];
const waiting: Array<(s: QmuxSession) => void> = [];
wss.on("connection", (ws) => {
  const s = QmuxSession.accept(ws as unknown as Parameters<typeof QmuxSession.accept>[0], { protocol: PROTOCOL });
  const w = waiting.shift();
  if (w !== undefined) w(s);
  else accepted.push(s);
});
after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

interface Pair {
  ours: Session;
  peer: QmuxSession;
  close(): void;
}

type Wrap = (qmux: QmuxSession, url: URL, close: () => void) => Session;

const TRANSPORTS: Record<string, Wrap> = {
  "QMux over WebSocket (WebSocketSession)": (qmux, url, close) =>
    new WebSocketSession(qmux as unknown as QmuxLike, { subprotocol: PROTOCOL, protocol: "moq-lite-05", url, remote: "127.0.0.1:1", terminate: close }),
  "the WebTransport adapter (WtSession)": (qmux, url) => new WtSession(qmux as unknown as WtLike, { transport: "webtransport", protocol: "moq-lite-05", url, remote: "127.0.0.1:1" }),
};

async function pair(wrap: Wrap): Promise<Pair> {
  const server = new Promise<QmuxSession>((resolve) => {
    const s = accepted.shift();
    if (s !== undefined) resolve(s);
    else waiting.push(resolve);
  });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, [PROTOCOL]);
  const peer = new QmuxSession(ws as unknown as ConstructorParameters<typeof QmuxSession>[0], {
    config: { maxStreamDataUni: BigInt(PEER_WINDOW), maxStreamDataBidiLocal: BigInt(PEER_WINDOW), maxStreamDataBidiRemote: BigInt(PEER_WINDOW) },
  });
  await within(peer.ready, T, "the QMux handshake");
  const qmux = await within(server, T, "the server session");
  const ours = wrap(qmux, new URL(`ws://127.0.0.1:${port}/`), () => ws.terminate());
  return {
    ours,
    peer,
    close: () => {
      ours.close(0, "");
      peer.close();
    },
  };
}

/** The next stream the peer opens toward us, with handlers set by `attach` in the same turn. */
function nextUni(ours: Session, attach: (r: RecvStream) => void): Promise<RecvStream> {
  return new Promise((resolve) => {
    ours.onUni = (r) => {
      attach(r);
      resolve(r);
    };
  });
}

/** Resolves when the peer has sent something on a fresh uni stream and we received it. */
async function marker(p: Pair): Promise<void> {
  const got = nextUni(p.ours, (r) => (r.onData = () => undefined));
  const u = await p.peer.createUnidirectionalStream();
  const w = u.getWriter();
  await w.write(Uint8Array.of(1));
  await within(got, T, "the marker stream");
}

const text = (b: Uint8Array): string => Buffer.from(b).toString();

/**
 * Our stop(code) on QMux reads the stream to its end and drops it instead of sending STOP_SENDING
 * (@moq/qmux returns no connection credit for bytes arriving after its STOP_SENDING: see
 * WhatwgRecv's discardOnStop). The peer's writer then sees no error, and its bytes are dropped.
 */
const discards = (name: string): boolean => name.startsWith("QMux");

/** The peer's writer after our stop(code): STOP_SENDING with the code, or (QMux) writes that still go through. */
async function stoppedAtPeer(name: string, w: WritableStreamDefaultWriter<Uint8Array>, code: number): Promise<void> {
  if (!discards(name)) {
    await assert.rejects(within(w.closed, T, "the peer's writer to see STOP_SENDING"), (e: unknown) => (e as { streamErrorCode?: number }).streamErrorCode === code);
    return;
  }
  // Well past any stream window the relay could leave unreturned: it is all read and dropped.
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < 32; i++) await within(w.write(chunk), T, "a write to a stream we stopped (QMux: discarded)");
  await within(w.close(), T, "the peer's FIN on a stream we stopped");
}

for (const [name, wrap] of Object.entries(TRANSPORTS)) {
  describe(name, () => {
    test("pause() holds back data until resume(), even a chunk whose read was already under way", async (t) => {
      const p = await pair(wrap);
      t.after(() => p.close());
      const got: string[] = [];
      let ended = false;
      let first!: () => void;
      const firstSeen = new Promise<void>((resolve) => (first = resolve));
      const recv = nextUni(p.ours, (r) => {
        r.onData = (d) => {
          got.push(text(d));
          first();
        };
        r.onEnd = () => (ended = true);
      });
      const u = await p.peer.createUnidirectionalStream();
      const w = u.getWriter();
      await w.write(new TextEncoder().encode("a"));
      const r = await within(recv, T, "the peer's stream");
      await within(firstSeen, T, "the first chunk");
      // Paused from outside onData, while the adapter waits in read() for the next chunk.
      r.pause();
      await w.write(new TextEncoder().encode("b"));
      await w.write(new TextEncoder().encode("c"));
      await w.close();
      // A later stream on the same socket has arrived, so "b", "c" and the FIN have too.
      await marker(p);
      assert.deepEqual(got, ["a"], "nothing delivered while paused");
      assert.equal(ended, false, "no end while paused");
      const done = new Promise<void>((resolve) => (r.onEnd = resolve));
      r.resume();
      await within(done, T, "the rest after resume()");
      assert.equal(got.join(""), "abc");
    });

    test("write() asks to wait at HIGH_WATER; onDrain comes once the queue is under half of it, and every byte arrives in order", async (t) => {
      const p = await pair(wrap);
      t.after(() => p.close());
      const incoming = p.peer.incomingUnidirectionalStreams.getReader();
      const out: SendStream = await p.ours.openUni();
      const chunk = 32 * 1024;
      let sent = 0;
      let accepted = true;
      // The peer reads nothing yet: its 64 KiB window stalls the stream.
      while (accepted) {
        accepted = out.write(new Uint8Array(chunk).fill(sent / chunk));
        sent += chunk;
        assert.ok(sent < 4 * HIGH_WATER, "write() never asked to wait");
      }
      assert.ok(out.writableLength >= HIGH_WATER, `asked to wait at ${out.writableLength} bytes queued`);
      assert.equal(out.write(new Uint8Array(0)), false, "an empty write reports the same state");
      let drains = 0;
      let queuedAtDrain = -1;
      const drained = new Promise<void>((resolve) => {
        out.onDrain = () => {
          drains++;
          queuedAtDrain = out.writableLength;
          resolve();
        };
      });
      const s = await within(incoming.read(), T, "our stream at the peer");
      assert.ok(s.value !== undefined);
      const body = readAll(s.value);
      await within(drained, T, "onDrain");
      assert.ok(queuedAtDrain < HIGH_WATER / 2, `onDrain with ${queuedAtDrain} bytes still queued`);
      out.end();
      const all = await within(body, T, "every byte");
      assert.equal(all.byteLength, sent);
      for (let i = 0; i < sent / chunk; i++) assert.equal(all[i * chunk], i & 0xff, `chunk ${i} in order`);
      assert.equal(drains, 1, "one drain for one stall");
    });

    test("reset(code) reaches the peer with its code and fires no onStop of our own", async (t) => {
      const p = await pair(wrap);
      t.after(() => p.close());
      const incoming = p.peer.incomingUnidirectionalStreams.getReader();
      const out = await p.ours.openUni();
      let stops = 0;
      out.onStop = () => stops++;
      out.write(new TextEncoder().encode("partial"));
      const s = await within(incoming.read(), T, "our stream at the peer");
      assert.ok(s.value !== undefined);
      out.reset(42);
      await assert.rejects(within(readAll(s.value), T, "the reset"), (e: unknown) => (e as { streamErrorCode?: number }).streamErrorCode === 42);
      assert.equal(out.write(new Uint8Array(1)), false, "a reset stream takes no more writes");
      await marker(p);
      assert.equal(stops, 0);
    });

    test("the peer's STOP_SENDING fires onStop with its code once; stop(code) reaches the peer's writer (QMux: its bytes are dropped)", async (t) => {
      const p = await pair(wrap);
      t.after(() => p.close());
      const incoming = p.peer.incomingUnidirectionalStreams.getReader();
      const out = await p.ours.openUni();
      const stopped: number[] = [];
      const stop = new Promise<void>((resolve) => {
        out.onStop = (code) => {
          stopped.push(code);
          resolve();
        };
      });
      out.write(new TextEncoder().encode("hello"));
      const s = await within(incoming.read(), T, "our stream at the peer");
      assert.ok(s.value !== undefined);
      await s.value.cancel(new StreamError(7));
      await within(stop, T, "onStop");
      out.reset(1);
      assert.deepEqual(stopped, [7]);

      // Our side stops a stream the peer writes.
      const recv = nextUni(p.ours, (r) => (r.onData = () => r.stop(9)));
      const u = await p.peer.createUnidirectionalStream();
      const w = u.getWriter();
      await w.write(Uint8Array.of(1));
      await within(recv, T, "the peer's stream");
      await stoppedAtPeer(name, w, 9);
    });

    test("the peer's reset reaches onReset with its code; a stop while paused drops the held data", async (t) => {
      const p = await pair(wrap);
      t.after(() => p.close());
      const resets: number[] = [];
      const reset = new Promise<void>((resolve) => {
        void nextUni(p.ours, (r) => {
          r.onData = () => undefined;
          r.onReset = (code) => {
            resets.push(code);
            resolve();
          };
        });
      });
      const u = await p.peer.createUnidirectionalStream();
      const w = u.getWriter();
      await w.write(Uint8Array.of(1));
      await w.abort(new StreamError(13));
      await within(reset, T, "onReset");
      assert.deepEqual(resets, [13]);

      let after = 0;
      const recv = nextUni(p.ours, (r) => (r.onData = () => after++));
      const u2 = await p.peer.createUnidirectionalStream();
      const w2 = u2.getWriter();
      await w2.write(Uint8Array.of(1));
      const r = await within(recv, T, "the second stream");
      await marker(p);
      const seen = after;
      r.pause();
      await w2.write(Uint8Array.of(2));
      await marker(p);
      r.stop(5);
      r.resume();
      await marker(p);
      await stoppedAtPeer(name, w2, 5);
      await marker(p);
      assert.equal(after, seen, "nothing delivered after stop()");
    });
  });
}
