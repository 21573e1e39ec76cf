// Past the knee, graceful: a viewer whose link carries less than the track's rate gets the newest
// groups, its old ones reset with code Old (2), and what it does receive stays fresh (under about
// one group duration), while a viewer next to it that keeps up gets every group whole.
// Real sockets throughout: a live @moq/net publisher over QMux, two moq-lite-05 viewers over raw
// QUIC, then over WebTransport (the relay core and the shared group pump serve both alike).
// The slow one reads at 60 % of the track's rate (it pauses its streams when a token bucket runs
// dry) and grants 12 KiB of window per stream, so the relay's QUIC engine can only send as fast as
// it reads, and whatever backlog builds up builds up in the relay. (A 12 KiB connection window
// instead stalls for good after the first reset: observed with this quiche client, whose
// connection credit for the unread bytes of a stream reset while paused never comes back.)
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import type { RecvStream, Session } from "../../src/transport/session.js";
import { GroupParser } from "../../src/session/lite/group.js";
import { Role, Setup } from "../../src/session/lite/setup.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { Subscribe } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import { Writer } from "../../src/util/bytes.js";
import { silentLogger } from "../../src/util/log.js";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publishBroadcast, waitAnnounced, within, writeFrames } from "../util/moq.js";
import { connectWebTransport } from "../../bench/lib/h3-client.js";

type Kind = "quic" | "wt";

/** The track: 1 s groups of 20 frames of 5 kB, sent live (100 kB/s). */
const GROUP_MS = 1000;
const FRAMES = 20;
const FRAME_BYTES = 5000;
const GROUPS = 7;
/** The slow viewer's reading rate: 60 % of the track's. */
const SLOW_RATE = 0.6 * ((FRAMES * FRAME_BYTES) / GROUP_MS) * 1000;

const relay = await startTestRelay();
const roomyQuic = relay.config.server.quic;
const tightQuic = { ...roomyQuic, stream_window: 12 << 10, connection_window: 1 << 20, max_streams: 100 };
const roomy = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: roomyQuic, log: silentLogger() });
const tight = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: tightQuic, log: silentLogger() });
after(async () => {
  await roomy.close();
  await tight.close();
  await relay.close();
});

const now = (): number => performance.timeOrigin + performance.now();

/** A payload stamped with its send time (ms since the epoch, float64) and its group. */
function stamped(group: number): Uint8Array {
  const p = new Uint8Array(FRAME_BYTES);
  const v = new DataView(p.buffer);
  v.setFloat64(0, now(), true);
  v.setUint32(8, group, true);
  return p;
}

interface GroupLog {
  frames: number;
  ended: boolean;
  reset: number | undefined;
}

/** A lean moq-lite-05 viewer that records every group stream, frame latency and reset code. */
class Viewer {
  readonly groups = new Map<number, GroupLog>();
  /** Latency (ms) of every frame read, from its send stamp to the moment it was read. */
  readonly latency: number[] = [];
  private readonly paused = new Set<RecvStream>();
  private tokens = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    readonly conn: Session,
    /** Bytes per second it reads at most (undefined = as fast as they come). */
    rate: number | undefined,
  ) {
    if (rate !== undefined) {
      // A token bucket refilled every 20 ms: streams pause when it runs dry and resume on refill.
      this.timer = setInterval(() => {
        this.tokens = Math.min(this.tokens + rate / 50, rate / 10);
        if (this.tokens <= 0) return;
        for (const u of this.paused) u.resume();
        this.paused.clear();
      }, 20);
    }
    conn.onUni = (u) => this.accept(u, rate !== undefined);
  }

  static async connect(kind: Kind, endpoint: QuicEndpoint, rate?: number): Promise<Viewer> {
    const fingerprint = relay.certs.current.fingerprint;
    const c: Session =
      kind === "quic"
        ? await within(endpoint.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["moq-lite-05"], fingerprints: [fingerprint] }), 5000, "raw QUIC handshake")
        : await within(connectWebTransport(endpoint, { host: "127.0.0.1", port: relay.port, path: "/anon", protocol: "moq-lite-05" }), 5000, "WebTransport session");
    const s = await c.openUni();
    const w = new Writer().varint(Uni.Setup);
    // Raw QUIC carries the auth path in SETUP; WebTransport in its URL.
    new Setup({ origin: BigInt(1 + Math.floor(Math.random() * 2 ** 40)), path: kind === "quic" ? "/anon" : undefined, role: Role.Subscriber }).encode(w, Version.Lite05);
    s.write(w.finish());
    s.end();
    return new Viewer(c, rate);
  }

  /** SUBSCRIBE with no max latency of its own (0): the relay's default applies. */
  async subscribe(broadcast: string, track: string): Promise<void> {
    const sub = await this.conn.openBidi();
    sub.recv.onData = () => undefined;
    const w = new Writer().varint(Bidi.Subscribe);
    new Subscribe(0, broadcast, track, { priority: 0, ordered: false, maxLatency: 0 }).encode(w, Version.Lite05);
    sub.send.write(w.finish());
  }

  close(): void {
    clearInterval(this.timer);
    this.conn.close(0, "");
  }

  private accept(u: RecvStream, throttled: boolean): void {
    let log: GroupLog | undefined;
    let typed = false;
    const parser = new GroupParser(Version.Lite05, 1 << 20, {
      header: (h) => {
        log = { frames: 0, ended: false, reset: undefined };
        this.groups.set(h.sequence, log);
      },
      frame: (_ts, payload) => {
        if (log !== undefined) log.frames++;
        this.latency.push(now() - new DataView(payload.buffer, payload.byteOffset, 8).getFloat64(0, true));
      },
    });
    u.onData = (chunk) => {
      if (throttled) {
        this.tokens -= chunk.byteLength;
        if (this.tokens <= 0) {
          u.pause();
          this.paused.add(u);
        }
      }
      if (!typed) {
        typed = true;
        if (chunk[0] !== Uni.Group) return void (u.onData = () => undefined);
        chunk = chunk.subarray(1);
      }
      parser.push(chunk);
    };
    u.onEnd = () => {
      this.paused.delete(u);
      if (log !== undefined) log.ended = true;
    };
    u.onReset = (code) => {
      this.paused.delete(u);
      if (log !== undefined) log.reset = code;
    };
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

for (const kind of ["quic", "wt"] as const) {
  test(`past the knee (${kind}) a slow viewer gets the newest groups, its old ones reset with Old and what it gets fresh; a viewer that keeps up gets every group whole`, async () => {
    const name = `knee-${kind}`;
    const pubConn = await connect(relay.url("anon"));
    const watchConn = await connect(relay.url("anon"));
    const fast = await Viewer.connect(kind, roomy);
    const slow = await Viewer.connect(kind, tight, SLOW_RATE);
    try {
      const track = publishBroadcast(pubConn, name).track("video");
      await waitAnnounced(watchConn, name);
      await fast.subscribe(name, "video");
      await slow.subscribe(name, "video");
      await servingLive(relay, `anon/${name}`, "video", { viewers: 2, publisher: track });
      // Live: one frame every GROUP_MS / FRAMES ms, a new group every GROUP_MS.
      const start = now();
      for (let g = 0; g < GROUPS; g++) {
        const group = track.group([], { keepOpen: true });
        for (let f = 0; f < FRAMES; f++) {
          writeFrames(group, [stamped(g)]);
          const next = start + g * GROUP_MS + ((f + 1) * GROUP_MS) / FRAMES;
          await new Promise((r) => setTimeout(r, Math.max(0, next - now())));
        }
        group.close();
      }
      // The fast viewer: every group whole, nothing reset (bounded wait for the last FIN).
      const deadline = Date.now() + 10_000;
      while ([...fast.groups.values()].filter((l) => l.ended).length < GROUPS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual([...fast.groups.keys()].sort((a, b) => a - b), Array.from({ length: GROUPS }, (_, i) => i), "the fast viewer saw every group");
      for (const [seq, l] of fast.groups) assert.deepEqual(l, { frames: FRAMES, ended: true, reset: undefined }, `fast viewer, group ${seq}`);
      // The slow viewer: it started every group (the newest always goes first), its old ones were
      // reset with Old, and every reset it got was Old.
      const slowSeqs = [...slow.groups.keys()].sort((a, b) => a - b);
      assert.deepEqual(slowSeqs, Array.from({ length: GROUPS }, (_, i) => i), "the slow viewer started every group");
      const resets = [...slow.groups.values()].filter((l) => l.reset !== undefined);
      assert.ok(resets.length >= 2, `old groups were dropped for the slow viewer (${resets.length} resets)`);
      for (const l of resets) assert.equal(l.reset, 2, "dropped groups are reset with Old (2)");
      // What it did receive stayed fresh: under about one group duration, no backlog of seconds.
      const p95 = quantile(slow.latency, 0.95);
      const max = Math.max(...slow.latency);
      assert.ok(p95 < GROUP_MS, `slow viewer frame latency p95 ${p95.toFixed(0)} ms is under one group (${GROUP_MS} ms)`);
      assert.ok(max < 1.5 * GROUP_MS, `slow viewer frame latency max ${max.toFixed(0)} ms`);
      // Dropping is no waste: most of what its link carried were frames it could use (the link
      // carries 60 % of the track; on a quiet machine it gets about 95 % of that).
      const carried = GROUPS * FRAMES * 0.6;
      assert.ok(slow.latency.length >= 0.6 * carried, `the slow viewer got ${slow.latency.length} frames, its link carries about ${carried}`);
    } finally {
      fast.close();
      slow.close();
      pubConn.close();
      watchConn.close();
    }
  });
}
