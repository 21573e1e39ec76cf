// The data path toward a viewer: one downstream subscription (a SUBSCRIBE stream) and the group
// streams it opens, one uni stream per group, frames written by reference from the cache.
//
// Backpressure: a group stream stops pumping when the transport says its buffer is full and
// resumes on drain. A viewer that stays behind is skipped ahead by the relay core (its oldest
// group streams are reset with Old), so it never holds back the publisher or other viewers.
//
// Stream credit: one openUni() in flight per subscription (UniOpener in ../pump.ts), so a viewer
// that withholds credit holds no more than its queue.
import type { GroupCursor } from "../../relay/group.js";
import type { RelayStats } from "../../relay/stats.js";
import type { Subscription } from "../../relay/subscription.js";
import type { Track } from "../../relay/track.js";
import type { ViewerPrefs, ViewerSink } from "../../relay/types.js";
import type { BidiStream, SendStream } from "../../transport/session.js";
import { Code } from "../error.js";
import { GroupPump, UniOpener } from "../pump.js";
import { GroupHeader } from "./group.js";
import { send } from "./io.js";
import { toBytes } from "./message.js";
import { frameHead, groupRank } from "./session-io.js";
import type { LiteSession } from "./session.js";
import { Uni } from "./stream.js";
import { encodeSubscribeResponse, SubscribeEnd, SubscribeStart } from "./subscribe.js";
import { hasSubscribeStartEnd, type Version } from "./version.js";

/** moq-lite frames: a head (timestamp delta and size) before each payload. */
export class FramePump extends GroupPump {
  private prev = 0;

  constructor(cursor: GroupCursor, private readonly v: Version, stats: RelayStats, onDone: (p: FramePump) => void) {
    super(cursor, stats, onDone as (p: GroupPump) => void);
  }

  protected frame(out: SendStream, timestamp: number, payload: Uint8Array): boolean {
    out.write(frameHead(this.v, timestamp - this.prev, payload.byteLength));
    this.prev = timestamp;
    return out.write(payload);
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
  private readonly opener: UniOpener;

  constructor(
    private readonly s: LiteSession,
    private readonly stream: BidiStream,
    readonly id: number,
    private readonly track: Track,
    private prefs: ViewerPrefs,
    /** Our side of the stream is finished: the subscription no longer counts against the session. */
    private readonly onFinished: (d: Downstream) => void = () => undefined,
  ) {
    this.opener = new UniOpener(() => s.transport.openUni());
  }

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
    this.opener.dispose();
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
      // The subscription's start, which is below this group when it came from upstream and the
      // burst is arriving newest first (the older groups follow).
      const first = Math.min(seq, this.sub?.startsAt ?? seq);
      send(this.stream.send, (w) => encodeSubscribeResponse(w, new SubscribeStart(first), v));
    }
    this.highest = Math.max(this.highest, seq);
    const pump = new FramePump(cursor, v, this.s.origin.stats, (p) => {
      this.pumps.delete(p);
      this.opener.remove(p);
      this.maybeFinish();
    });
    pump.rank = this.rank(seq);
    this.pumps.add(pump);
    this.s.origin.stats.groupsOut++;
    const header = toBytes((w) => {
      w.varint(Uni.Group);
      new GroupHeader(this.id, seq).encode(w, v);
    });
    this.opener.add(pump, header);
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
    this.opener.close();
    // Complete: leave the track (it may release its upstream) and free the session's slot.
    this.sub?.close();
    this.onFinished(this);
  }

  private rank(sequence: number): number {
    return groupRank(this.prefs.priority, this.track.info?.priority ?? 0, sequence, this.prefs.ordered);
  }
}
