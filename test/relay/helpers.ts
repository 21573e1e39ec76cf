// Test doubles for the relay core: a source the test drives by hand (standing in for a publishing
// session) and viewers that read like a fast or a stalled session would.
import { Origin } from "../../src/relay/origin.js";
import type { Group, GroupCursor } from "../../src/relay/group.js";
import type { BroadcastSource, TrackInfo, TrackSink, UpstreamPrefs, ViewerSink } from "../../src/relay/types.js";

export const MiB = 1024 * 1024;

export interface OriginOpts {
  budget?: number;
  maxAge?: number;
  linger?: number;
  queue?: number;
  /** [limits] subscriber_max_latency (ms; 0 = automatic). */
  latency?: number;
  now?: () => number;
}

export function makeOrigin(o: OriginOpts = {}): Origin {
  return new Origin(
    { cache: { max_bytes: o.budget ?? 64 * MiB, max_age: o.maxAge ?? 30_000, linger: o.linger ?? 0 }, limits: { subscriber_queue_groups: o.queue ?? 4, subscriber_max_latency: o.latency ?? 0 } },
    { now: o.now, sweepInterval: 0 },
  );
}

/** A manual clock. */
export function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export interface UpstreamRecord {
  track: string;
  sink: TrackSink;
  prefs: UpstreamPrefs;
  updates: UpstreamPrefs[];
  closed: boolean;
}

/** A source whose upstream subscriptions the test feeds by hand. */
export class ManualSource implements BroadcastSource {
  readonly upstreams: UpstreamRecord[] = [];
  infoCalls = 0;
  info: TrackInfo = { priority: 0, ordered: false, maxLatency: 5000, timescale: 1000 };
  /** Pending TRACK_INFO answers, resolved by answerInfo(). */
  private waiting: Array<{ resolve(i: TrackInfo): void; reject(e: unknown): void }> = [];
  /** Answer TRACK_INFO at once (default) or hold it until answerInfo(). */
  hold = false;

  trackInfo(): Promise<TrackInfo> {
    this.infoCalls++;
    if (!this.hold) return Promise.resolve(this.info);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  answerInfo(err?: unknown): void {
    for (const w of this.waiting.splice(0)) {
      if (err === undefined) w.resolve(this.info);
      else w.reject(err);
    }
  }

  subscribe(track: string, sink: TrackSink, prefs: UpstreamPrefs): { update(p: UpstreamPrefs): void; close(): void } {
    const rec: UpstreamRecord = { track, sink, prefs, updates: [], closed: false };
    this.upstreams.push(rec);
    return { update: (p) => void rec.updates.push(p), close: () => void (rec.closed = true) };
  }

  /** The live upstream for `track` (the last one opened and not closed). */
  live(track: string): UpstreamRecord {
    const r = this.upstreams.filter((u) => u.track === track && !u.closed).at(-1);
    if (r === undefined) throw new Error(`no live upstream for ${track}`);
    return r;
  }

  /** Write a whole group: `frames` payloads with timestamps 0, 1, 2… */
  writeGroup(track: string, sequence: number, frames: Uint8Array[], finish = true): Group | undefined {
    const g = this.live(track).sink.group(sequence);
    if (g === undefined) return undefined;
    frames.forEach((f, i) => g.append(i, f));
    if (finish) g.finish();
    return g;
  }
}

export function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

/**
 * A viewer as a session would be: it reads each group's frames through the cursor. A fast viewer
 * releases a group as soon as it has read it to the end; a stalled one never reads anything.
 */
export class TestViewer implements ViewerSink {
  readonly cursors: GroupCursor[] = [];
  /** Frames read, per group sequence. */
  readonly received = new Map<number, Uint8Array[]>();
  readonly dropped: number[] = [];
  endedAt: number | undefined;
  closedWith: Array<number | undefined> = [];

  constructor(readonly stalled = false) {}

  group(cursor: GroupCursor): void {
    this.cursors.push(cursor);
    this.received.set(cursor.sequence, []);
    cursor.onDrop = () => void this.dropped.push(cursor.sequence);
    if (this.stalled) return;
    cursor.onChange = () => this.read(cursor);
    this.read(cursor);
  }

  end(end: number): void {
    this.endedAt = end;
  }

  close(code: number | undefined): void {
    this.closedWith.push(code);
  }

  /** Sequences delivered, in delivery order. */
  get sequences(): number[] {
    return this.cursors.map((c) => c.sequence);
  }

  private read(c: GroupCursor): void {
    const out = this.received.get(c.sequence) ?? [];
    while (c.available > 0) out.push(c.group.payloads[c.index++]);
    if (c.finished) c.close();
  }
}
