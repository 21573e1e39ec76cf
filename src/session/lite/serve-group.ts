// The data path toward a viewer: one downstream subscription (a SUBSCRIBE stream) and the group
// streams it opens, one uni stream per group, frames written by reference from the cache.
//
// Backpressure: a group stream stops pumping when the transport says its buffer is full and
// resumes on drain. A viewer that stays behind is skipped ahead by the relay core (its oldest
// group streams are reset with Old), so it never holds back the publisher or other viewers.
//
// Stream credit: a viewer may withhold uni-stream credit, so openUni() can wait indefinitely.
// Each subscription keeps at most one open in flight; groups wait in a short list (bounded by
// the subscription's in-flight limit, which drops the oldest), and a stream that arrives goes to
// the most wanted group still waiting. A group dropped while waiting never gets a stream, and
// nothing the transport queues holds a group.
import type { Group, GroupCursor } from "../../relay/group.js";
import type { RelayStats } from "../../relay/stats.js";
import type { Subscription } from "../../relay/subscription.js";
import type { Track } from "../../relay/track.js";
import type { ViewerPrefs, ViewerSink } from "../../relay/types.js";
import type { BidiStream, SendStream } from "../../transport/session.js";
import { Code } from "../error.js";
import { GroupHeader } from "./group.js";
import { send } from "./io.js";
import { toBytes } from "./message.js";
import { frameHead, groupRank } from "./session-io.js";
import type { LiteSession } from "./session.js";
import { Uni } from "./stream.js";
import { encodeSubscribeResponse, SubscribeEnd, SubscribeStart } from "./subscribe.js";
import { hasSubscribeStartEnd, type Version } from "./version.js";

/**
 * Writes one group's frames from a cursor to a stream (a group stream, or a FETCH response), as
 * fast as the transport takes them, then FINs (or resets with the upstream's code).
 */
export class FramePump {
  private out: SendStream | undefined;
  private blocked = false;
  private done = false;
  /** Code to reset with if the pump was aborted before its stream opened. */
  private abortCode: number = Code.Cancel;
  private prev = 0;
  private rankValue = 0;

  constructor(
    private readonly cursor: GroupCursor,
    private readonly v: Version,
    private readonly stats: RelayStats,
    private readonly onDone: (p: FramePump) => void,
  ) {
    cursor.onChange = () => {
      if (this.out !== undefined && !this.blocked) this.pump();
    };
    cursor.onDrop = (code) => this.abort(code);
  }

  get group(): Group {
    return this.cursor.group;
  }

  get isDone(): boolean {
    return this.done;
  }

  get rank(): number {
    return this.rankValue;
  }

  set rank(r: number) {
    this.rankValue = r;
    if (this.out !== undefined) this.out.priority = r;
  }

  /** The stream is open: write `header` (if any), then frames. */
  attach(out: SendStream, header?: Uint8Array): void {
    if (this.done) {
      out.reset(this.abortCode);
      return;
    }
    this.out = out;
    out.priority = this.rankValue;
    out.onDrain = () => {
      this.blocked = false;
      if (!this.done) this.pump();
    };
    // The viewer stopped reading (or the session closed): nothing to reset.
    out.onStop = () => this.finish();
    if (header !== undefined && !out.write(header)) this.blocked = true;
    if (!this.blocked) this.pump();
  }

  /** Give up on the group: reset the stream with `code`. */
  abort(code: number): void {
    if (this.done) return;
    this.abortCode = code;
    this.out?.reset(code);
    this.finish();
  }

  private pump(): void {
    const out = this.out as SendStream;
    const c = this.cursor;
    const g = c.group;
    while (c.index < g.payloads.length) {
      const i = c.index++;
      const payload = g.payloads[i];
      const ts = g.timestamps[i];
      out.write(frameHead(this.v, ts - this.prev, payload.byteLength));
      this.prev = ts;
      const ok = out.write(payload);
      this.stats.framesOut++;
      this.stats.bytesOut += payload.byteLength;
      if (!ok) {
        this.blocked = true;
        return;
      }
    }
    if (!g.done) return;
    if (g.error !== undefined) out.reset(g.error);
    else out.end();
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.cursor.onChange = null;
    this.cursor.close();
    this.onDone(this);
  }
}

/** One viewer's SUBSCRIBE: the relay subscription behind it and its group streams. */
export class Downstream implements ViewerSink {
  private sub: Subscription | undefined;
  private readonly pumps = new Set<FramePump>();
  private startSent = false;
  /** Exclusive end once the relay said no more groups will come. */
  private ending: number | undefined;
  /** Our side of the subscribe stream is finished (FIN or reset). */
  private finished = false;
  private highest = -1;
  /** Groups waiting for a stream, with their header bytes, in arrival order. */
  private readonly waiting: Array<{ pump: FramePump; header: Uint8Array }> = [];
  /** An openUni() is in flight (at most one per subscription). */
  private opening = false;
  /** A stream that opened after every waiting group was dropped, kept for the next one. */
  private spare: SendStream | undefined;

  constructor(
    private readonly s: LiteSession,
    private readonly stream: BidiStream,
    readonly id: number,
    private readonly track: Track,
    private prefs: ViewerPrefs,
    /** Our side of the stream is finished: the subscription no longer counts against the session. */
    private readonly onFinished: (d: Downstream) => void = () => undefined,
  ) {}

  /** Join the track; cached groups start flowing at once. */
  start(): void {
    this.sub = this.track.subscribe(this, this.prefs);
    this.maybeFinish();
  }

  /** SUBSCRIBE_UPDATE: new priority, latency or range; groups in flight are re-ranked. */
  update(prefs: ViewerPrefs): void {
    this.prefs = prefs;
    this.sub?.update(prefs);
    for (const p of this.pumps) p.rank = this.rank(p.group.sequence);
  }

  /** The viewer unsubscribed (FIN), or reset / stopped its stream (`code`). */
  unsubscribe(code?: number): void {
    this.sub?.close();
    for (const p of [...this.pumps]) p.abort(Code.Cancel);
    if (this.finished) return;
    if (code === undefined) this.stream.send.end();
    else this.stream.send.reset(code);
    this.finish();
  }

  /** The session is gone: release the relay side; the transport already killed the streams. */
  dispose(): void {
    this.finished = true;
    this.sub?.close();
    this.pumps.clear();
    this.waiting.length = 0;
    this.spare = undefined;
  }

  // --- ViewerSink ----------------------------------------------------------------------------

  group(cursor: GroupCursor): void {
    if (this.finished) {
      cursor.close();
      return;
    }
    const v = this.s.version;
    const seq = cursor.sequence;
    if (hasSubscribeStartEnd(v) && !this.startSent) {
      this.startSent = true;
      send(this.stream.send, (w) => encodeSubscribeResponse(w, new SubscribeStart(seq), v));
    }
    this.highest = Math.max(this.highest, seq);
    const pump = new FramePump(cursor, v, this.s.origin.stats, (p) => {
      this.pumps.delete(p);
      this.unwait(p);
      this.maybeFinish();
    });
    pump.rank = this.rank(seq);
    this.pumps.add(pump);
    this.s.origin.stats.groupsOut++;
    const header = toBytes((w) => {
      w.varint(Uni.Group);
      new GroupHeader(this.id, seq).encode(w, v);
    });
    const spare = this.spare;
    if (spare !== undefined) {
      this.spare = undefined;
      pump.attach(spare, header);
      return;
    }
    this.waiting.push({ pump, header });
    this.openNext();
  }

  /** Ask the transport for one stream if a group waits for one and none is being opened. */
  private openNext(): void {
    if (this.opening || this.waiting.length === 0 || this.finished) return;
    this.opening = true;
    this.s.transport.openUni().then(
      (out) => {
        this.opening = false;
        const next = this.takeWaiting();
        if (next !== undefined) next.pump.attach(out, next.header);
        else if (this.finished || this.spare !== undefined) out.reset(Code.Cancel);
        else this.spare = out;
        this.openNext();
      },
      () => {
        this.opening = false;
        for (const w of this.waiting.splice(0)) w.pump.abort(Code.Cancel);
      },
    );
  }

  /** The waiting group a new stream should carry: the best ranked (lowest rank) one. */
  private takeWaiting(): { pump: FramePump; header: Uint8Array } | undefined {
    let best = -1;
    for (let i = 0; i < this.waiting.length; i++) {
      if (best < 0 || this.waiting[i].pump.rank < this.waiting[best].pump.rank) best = i;
    }
    return best < 0 ? undefined : this.waiting.splice(best, 1)[0];
  }

  private unwait(p: FramePump): void {
    for (let i = 0; i < this.waiting.length; i++) {
      if (this.waiting[i].pump === p) {
        this.waiting.splice(i, 1);
        return;
      }
    }
  }

  end(end: number): void {
    if (this.finished || this.ending !== undefined) return;
    this.ending = end;
    const v = this.s.version;
    if (hasSubscribeStartEnd(v)) send(this.stream.send, (w) => encodeSubscribeResponse(w, new SubscribeEnd(end), v));
    this.maybeFinish();
  }

  close(code: number | undefined): void {
    if (this.finished) return;
    if (code === undefined) {
      this.end(this.ending ?? this.highest + 1);
      return;
    }
    for (const p of [...this.pumps]) p.abort(code);
    this.stream.send.reset(code);
    this.stream.recv.stop(code);
    this.finish();
  }

  // --- internals -----------------------------------------------------------------------------

  /** FIN once the end is known and every group has been sent or dropped. */
  private maybeFinish(): void {
    if (this.finished || this.ending === undefined || this.sub === undefined) return;
    if (this.pumps.size > 0 || this.sub.pendingCount > 0) return;
    this.stream.send.end();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.spare?.reset(Code.Cancel);
    this.spare = undefined;
    // Complete: leave the track (it may release its upstream) and free the session's slot.
    this.sub?.close();
    this.onFinished(this);
  }

  private rank(sequence: number): number {
    return groupRank(this.prefs.priority, this.track.info?.priority ?? 0, sequence, this.prefs.ordered);
  }
}
