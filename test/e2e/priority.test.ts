// Priorities end to end through the relay: a real publisher (@moq/net over QMux) and a raw QUIC
// moq-lite-05 viewer on a constrained link. The viewer's connection window is 48 KiB and it reads
// nothing until the relay holds every group (a second, unconstrained viewer shows when), so the
// order in which its group streams then complete is the order the relay's QUIC engine sends
// them in: the subscriber's priorities and group order, mapped to quiche urgencies.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { QuicConnection } from "../../src/transport/quic/connection.js";
import type { RecvStream } from "../../src/transport/session.js";
import { GroupHeader } from "../../src/session/lite/group.js";
import { Role, Setup } from "../../src/session/lite/setup.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { Subscribe } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import { Reader as Bytes, Writer } from "../../src/util/bytes.js";
import { silentLogger } from "../../src/util/log.js";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publishBroadcast, subscribe, waitAnnounced, within, type TrackWriter } from "../util/moq.js";

const relay = await startTestRelay();
// A little over one packet train of connection credit; each stream's own window holds a whole
// group, so the streams compete for the connection's credit only (see test/quic/priority.test.ts).
const constrained = { ...relay.config.server.quic, stream_window: 1 << 20, connection_window: 48 << 10, max_streams: 100 };
const endpoint = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: constrained, log: silentLogger() });
after(async () => {
  await endpoint.close();
  await relay.close();
});

const GROUP = 512 * 1024;
const frames = (tag: number): Uint8Array[] => Array.from({ length: 8 }, () => new Uint8Array(GROUP / 8).fill(tag));

/** A raw QUIC viewer that holds every group stream after its first bytes until release(). */
class StalledViewer {
  /** "subscribe id/sequence" of each group stream, in the order they completed. */
  readonly completed: string[] = [];
  private readonly held: RecvStream[] = [];
  private flowing = false;
  private nextId = 0;
  private waiter: { n: number; resolve: () => void } | undefined;

  private constructor(readonly conn: QuicConnection) {
    conn.onUni = (u) => {
      let first = true;
      let name = "?";
      u.onData = (d) => {
        if (!first) return;
        first = false;
        if (d[0] !== Uni.Group) return;
        const r = new Bytes(d);
        r.varint();
        const h = GroupHeader.decode(r, Version.Lite05);
        name = `${h.subscribe}/${h.sequence}`;
        if (!this.flowing) {
          u.pause();
          this.held.push(u);
        }
      };
      u.onEnd = () => {
        if (name === "?") return;
        this.completed.push(name);
        if (this.waiter !== undefined && this.completed.length >= this.waiter.n) this.waiter.resolve();
      };
    };
  }

  static async connect(): Promise<StalledViewer> {
    const fingerprint = relay.certs.current.fingerprint;
    const c = await within(endpoint.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints: [fingerprint] }), 5000, "raw QUIC handshake");
    const s = await c.openUni();
    const w = new Writer().varint(Uni.Setup);
    new Setup({ origin: 0x5150n, path: "/anon", role: Role.Subscriber }).encode(w, Version.Lite05);
    s.write(w.finish());
    s.end();
    return new StalledViewer(c);
  }

  /** SUBSCRIBE; resolves with its id. Higher `priority` is more important. */
  async subscribe(broadcast: string, track: string, priority: number, ordered: boolean): Promise<number> {
    const id = this.nextId++;
    const sub = await this.conn.openBidi();
    sub.recv.onData = () => undefined;
    const w = new Writer().varint(Bidi.Subscribe);
    // A long max latency: this viewer reads nothing for a while on purpose, and the test is about
    // the order its groups are sent in, not about the relay dropping groups that got too old.
    new Subscribe(id, broadcast, track, { priority, ordered, maxLatency: 60_000 }).encode(w, Version.Lite05);
    sub.send.write(w.finish());
    return id;
  }

  /** Start reading everything, and wait until `n` group streams have completed. */
  async release(n: number): Promise<string[]> {
    const done = new Promise<void>((resolve) => {
      this.waiter = { n, resolve };
      if (this.completed.length >= n) resolve();
    });
    this.flowing = true;
    for (const u of this.held.splice(0)) u.resume();
    await within(done, 20_000, `${n} group streams to complete`);
    return this.completed;
  }
}

/** Publish a group on `track` and wait until the unconstrained viewer has all of it. */
async function deliver(track: TrackWriter, reader: ReturnType<typeof subscribe>, tag: number): Promise<void> {
  track.group(frames(tag));
  const g = await reader.nextGroup(20_000);
  assert.equal(g.frames.length, 8);
}

test("through the relay on a constrained link, a high-priority track's group arrives before a low-priority one's that started first", async () => {
  const pubConn = await connect(relay.url("anon"));
  const fastConn = await connect(relay.url("anon"));
  const slow = await StalledViewer.connect();
  try {
    const b = publishBroadcast(pubConn, "prio");
    const low = b.track("low");
    const high = b.track("high");
    await waitAnnounced(fastConn, "prio");
    const lowId = await slow.subscribe("prio", "low", 1, true);
    const highId = await slow.subscribe("prio", "high", 200, true);
    const fastLow = subscribe(fastConn, "prio", "low");
    const fastHigh = subscribe(fastConn, "prio", "high");
    await servingLive(relay, "anon/prio", "low", { viewers: 2, publisher: low });
    await servingLive(relay, "anon/prio", "high", { viewers: 2, publisher: high });
    // The low-priority group first: it takes the viewer's whole window before the other exists.
    await deliver(low, fastLow, 1);
    await deliver(high, fastHigh, 2);
    const order = await slow.release(2);
    assert.deepEqual(order, [`${highId}/0`, `${lowId}/0`], "the high-priority group completes first");
  } finally {
    slow.conn.close(0, "");
    pubConn.close();
    fastConn.close();
  }
});

for (const ordered of [false, true]) {
  test(`through the relay on a constrained link, a viewer that asks for ${ordered ? "ascending" : "descending"} group order gets the ${ordered ? "oldest" : "newest"} group first`, async () => {
    const pubConn = await connect(relay.url("anon"));
    const fastConn = await connect(relay.url("anon"));
    const slow = await StalledViewer.connect();
    const name = ordered ? "asc" : "desc";
    try {
      const track = publishBroadcast(pubConn, name).track("video");
      await waitAnnounced(fastConn, name);
      const id = await slow.subscribe(name, "video", 100, ordered);
      const fast = subscribe(fastConn, name, "video");
      await servingLive(relay, `anon/${name}`, "video", { viewers: 2, publisher: track });
      // Three groups (within the viewer's queue of four), oldest first.
      for (let seq = 0; seq < 3; seq++) await deliver(track, fast, seq);
      const order = await slow.release(3);
      const expected = ordered ? [0, 1, 2] : [2, 1, 0];
      assert.deepEqual(order, expected.map((s) => `${id}/${s}`));
    } finally {
      slow.conn.close(0, "");
      pubConn.close();
      fastConn.close();
    }
  });
}
