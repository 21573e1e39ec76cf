// A lean moq-lite-05 viewer for the benchmark: it subscribes to one track over any transport
// Session and only counts what arrives (bytes, frames, resets) and when (latency from the send
// time stamped in each payload). No media handling, no per-frame promises.
import { GroupParser, type GroupSink, type GroupHeader } from "../../src/session/lite/group.js";
import { Setup } from "../../src/session/lite/setup.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { Subscribe } from "../../src/session/lite/subscribe.js";
import { Version } from "../../src/session/lite/version.js";
import type { RecvStream, Session } from "../../src/transport/session.js";
import { Writer } from "../../src/util/bytes.js";
import { detach } from "../../src/util/async.js";
import { nowMs, readStamp } from "./payload.js";
import { Histogram } from "./stats.js";

/** Counters shared by every viewer in one process; the driver resets them at a window's start. */
export class ViewerStats {
  bytes = 0;
  payloadBytes = 0;
  frames = 0;
  groups = 0;
  resets = new Map<number, number>();
  latency = new Histogram();
  groupStart = new Histogram();
  /** Groups that arrived after a newer one had already started (order as delivered). */
  outOfOrder = 0;

  reset(): void {
    this.bytes = this.payloadBytes = this.frames = this.groups = this.outOfOrder = 0;
    this.resets.clear();
    this.latency.reset();
    this.groupStart.reset();
  }
}

export interface ViewOptions {
  broadcast: string;
  track: string;
  /** Raw QUIC carries the auth path in SETUP; WebTransport and WebSocket carry it in the URL. */
  setupPath?: string;
  priority?: number;
  ordered?: boolean;
}

const MAX_FRAME = 16 * 1024 * 1024;

/** Subscribe on `session` and count every group stream into `stats`. */
export async function view(session: Session, stats: ViewerStats, o: ViewOptions): Promise<void> {
  let newest = -1;
  session.onBidi = (b) => b.send.reset(0); // a viewer publishes nothing
  session.onUni = (recv) => acceptUni(recv, stats, (seq) => {
    if (seq < newest) stats.outOfOrder++;
    newest = Math.max(newest, seq);
  });
  const setup = await session.openUni();
  const w = new Writer(64).varint(Uni.Setup);
  new Setup({ origin: BigInt(1 + Math.floor(Math.random() * 2 ** 40)), path: o.setupPath, role: 2 }).encode(w, Version.Lite05);
  setup.write(w.finish());
  setup.end();
  const sub = await session.openBidi();
  const s = new Writer(128).varint(Bidi.Subscribe);
  new Subscribe(0, o.broadcast, o.track, { priority: o.priority ?? 0, ordered: o.ordered ?? false, maxLatency: 0 }).encode(s, Version.Lite05);
  sub.send.write(s.finish());
  sub.recv.onData = () => undefined; // SUBSCRIBE_START/END: not needed for counting
}

function acceptUni(recv: RecvStream, stats: ViewerStats, started: (seq: number) => void): void {
  let first = true;
  readGroup(
    recv,
    {
      header(h: GroupHeader) {
        started(h.sequence);
      },
      frame(_ts: number, payload: Uint8Array) {
        stats.frames++;
        stats.payloadBytes += payload.byteLength;
        const st = readStamp(payload);
        if (st === undefined) return;
        const lat = nowMs() - st.sent;
        stats.latency.add(Math.max(0, lat));
        if (first) {
          first = false;
          stats.groupStart.add(Math.max(0, lat));
        }
      },
    },
    (n) => (stats.bytes += n),
  );
  recv.onEnd = () => {
    if (!first) stats.groups++;
  };
  recv.onReset = (code) => stats.resets.set(code, (stats.resets.get(code) ?? 0) + 1);
}

/**
 * Parse a uni stream from the relay into `sink` when it carries a group; its first byte is the
 * stream type, and anything else (the relay's SETUP) is drained. `onBytes` sees every chunk.
 */
export function readGroup(recv: RecvStream, sink: GroupSink, onBytes?: (n: number) => void): void {
  let typed = false;
  const parser = new GroupParser(Version.Lite05, MAX_FRAME, sink);
  recv.onData = (chunk) => {
    onBytes?.(chunk.byteLength);
    if (!typed) {
      // The stream type is one varint byte: Group (0); the relay's SETUP (1) is just drained.
      typed = true;
      if (chunk[0] !== Uni.Group) {
        recv.onData = () => undefined;
        return;
      }
      chunk = chunk.subarray(1);
    }
    try {
      parser.push(chunk);
    } catch {
      recv.stop(1);
    }
  };
}

/** Run `fn` over `items` with at most `limit` in flight (handshake storms skew the start). */
export async function pooled<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export { detach };
