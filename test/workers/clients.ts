// WebTransport clients for the multi-worker tests, each on its own UDP socket (its own source
// port: SO_REUSEPORT spreads flows by address and port, so one socket = one worker). The
// publisher is a moq-lite session of our own serving one broadcast from a local relay core, and
// counts the subscriptions the relay opens to it; a viewer subscribes with the wire messages a
// browser sends and records every frame's bytes by group.
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { openWebTransport } from "../../src/transport/h3/client.js";
import type { Session } from "../../src/transport/session.js";
import { Origin } from "../../src/relay/origin.js";
import type { BroadcastSource, TrackSink } from "../../src/relay/types.js";
import { LiteSession } from "../../src/session/lite/session.js";
import { Setup } from "../../src/session/lite/setup.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { Subscribe } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import { loadConfig } from "../../src/config/load.js";
import { Writer } from "../../src/util/bytes.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";
import { readGroup } from "../../bench/lib/lite-viewer.js";

const config = loadConfig({ flags: {}, env: {} }).config;

/** A WebTransport session to https://127.0.0.1:port/root from a fresh socket; `local` = its source port. */
export async function dialWt(port: number, root: string): Promise<{ session: Session; local: number; endpoint: QuicEndpoint }> {
  const endpoint = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: config.server.quic, log: silentLogger() });
  try {
    const quic = await within(endpoint.connect({ host: "127.0.0.1", port, serverName: "localhost", alpns: ["h3"], insecure: true }), 10_000, "QUIC handshake");
    const session = await within(openWebTransport(quic, { url: new URL(`https://127.0.0.1:${port}${root}`), protocols: ["moq-lite-05"], log: silentLogger() }), 10_000, "WebTransport CONNECT");
    return { session, local: endpoint.port, endpoint };
  } catch (err) {
    await endpoint.close();
    throw err;
  }
}

/** The deterministic payload of frame `f` of group `g` (sizes vary so that splits are exercised). */
export function payloadOf(g: number, f: number): Uint8Array {
  const b = new Uint8Array(200 + ((g * 131 + f * 977) % 3000));
  for (let i = 0; i < b.length; i++) b[i] = (g * 7 + f * 13 + i) & 0xff;
  return b;
}

export class Publisher {
  /** Subscriptions the relay opened to this publisher (per track name). */
  readonly subscribes: string[] = [];
  private sinks: TrackSink[] = [];
  readonly origin = new Origin(config);
  readonly lite: LiteSession;

  constructor(
    readonly dial: { session: Session; local: number; endpoint: QuicEndpoint },
    broadcast: string,
  ) {
    const source: BroadcastSource = {
      trackInfo: () => Promise.resolve({ priority: 0, ordered: false, maxLatency: 30_000, timescale: 1000 }),
      subscribe: (track, sink) => {
        this.subscribes.push(track);
        this.sinks.push(sink);
        return { update: () => undefined, close: () => (this.sinks = this.sinks.filter((s) => s !== sink)) };
      },
    };
    this.origin.announce(broadcast, source);
    this.lite = new LiteSession(dial.session, {
      origin: this.origin,
      // What the relay may do with us: subscribe to what we publish, nothing else.
      grant: { root: "", publish: [], subscribe: [""] },
      config,
      hopId: BigInt(1 + Math.floor(Math.random() * 2 ** 40)),
      log: silentLogger(),
    });
    void this.lite.run();
  }

  /** Write group `g` (frames payloadOf(g, 0..frames-1)) to every open upstream subscription. */
  group(g: number, frames: number): void {
    for (const sink of this.sinks) {
      const out = sink.group(g);
      if (out === undefined) continue;
      for (let f = 0; f < frames; f++) out.append(g * 1000 + f, payloadOf(g, f));
      out.finish();
    }
  }

  async close(): Promise<void> {
    this.dial.session.close(0, "publisher leaves");
    this.origin.close();
    await this.dial.endpoint.close();
  }
}

export class Viewer {
  /** Frames received, by group sequence. */
  readonly groups = new Map<number, Uint8Array[]>();
  /** The subscription ended (the relay closed or reset it): set once. */
  ended: string | undefined;
  private waiters: Array<() => void> = [];

  constructor(
    readonly dial: { session: Session; local: number; endpoint: QuicEndpoint },
    broadcast: string,
    track: string,
  ) {
    const s = dial.session;
    s.onBidi = (b) => b.send.reset(0);
    s.onUni = (recv) => {
      let seq = -1;
      const frames: Uint8Array[] = [];
      readGroup(recv, { header: (h) => (seq = h.sequence), frame: (_ts, p) => frames.push(new Uint8Array(p)) });
      recv.onEnd = () => {
        if (seq < 0) return;
        this.groups.set(seq, frames);
        for (const w of this.waiters.splice(0)) w();
      };
    };
    void this.subscribe(broadcast, track);
  }

  private async subscribe(broadcast: string, track: string): Promise<void> {
    const s = this.dial.session;
    const setup = await s.openUni();
    const w = new Writer(64).varint(Uni.Setup);
    new Setup({ origin: BigInt(1 + Math.floor(Math.random() * 2 ** 40)), role: 2 }).encode(w, Version.Lite05);
    setup.write(w.finish());
    setup.end();
    const sub = await s.openBidi();
    const m = new Writer(128).varint(Bidi.Subscribe);
    new Subscribe(0, broadcast, track, { priority: 0, ordered: false, maxLatency: 0 }).encode(m, Version.Lite05);
    sub.send.write(m.finish());
    const end = (why: string): void => {
      this.ended ??= why;
      for (const wt of this.waiters.splice(0)) wt();
    };
    sub.recv.onData = () => undefined;
    sub.recv.onEnd = () => end("subscription finished");
    sub.recv.onReset = (code) => end(`subscription reset (${code})`);
    void s.closed.then((c) => end(`session closed (${c.code})`));
  }

  /** Resolves once `pred` holds (checked after each group and at the end), within `ms`. */
  until(pred: () => boolean, ms: number, what: string): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (pred()) resolve();
          else this.waiters.push(check);
        };
        check();
      }),
      ms,
      what,
    );
  }

  async close(): Promise<void> {
    this.dial.session.close(0, "viewer leaves");
    await this.dial.endpoint.close();
  }
}
