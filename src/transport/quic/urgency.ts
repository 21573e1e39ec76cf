// Send order on one QUIC connection: our ranks (SendStream.priority, lower first) mapped onto
// quiche's urgency levels.
//
// quiche has 256 urgency levels and our ranks span ~2^52, so urgencies are handed out by dense
// rank among the connection's live data streams: the lowest rank gets 1, the next distinct rank
// 2, and so on (the least important share 255); control streams keep 0. Streams of equal rank
// (e.g. two tracks of equal priority) share a level and are sent round-robin (incremental). A
// stream leaves the set once it was reset or quiche has collected it (all data acknowledged).
import type { NativeConnection } from "./native.js";
import type { QuicSendHalf } from "./stream.js";

export class Urgencies {
  /** Data streams (rank > 0) whose bytes quiche may still hold. */
  private readonly ranked = new Set<QuicSendHalf>();
  /** A rank changed since the last assign(). */
  due = false;

  constructor(private readonly conn: NativeConnection) {}

  /** `s` has a new rank (0 = a control stream, always first). */
  reranked(s: QuicSendHalf): void {
    if (s.priority > 0) this.ranked.add(s);
    else if (this.ranked.delete(s)) s.urgency = 0;
    this.due = true;
  }

  /** Give every live data stream its level by dense rank; tell quiche about the ones it knows. */
  assign(): void {
    this.due = false;
    const live: QuicSendHalf[] = [];
    for (const s of this.ranked) {
      if (s.dead || (s.finSent && !this.holds(s))) {
        this.ranked.delete(s);
        continue;
      }
      live.push(s);
    }
    live.sort((a, b) => a.priority - b.priority);
    let level = 0;
    let prev = -1;
    for (const s of live) {
      if (s.priority !== prev) {
        level = Math.min(255, level + 1);
        prev = s.priority;
      }
      s.urgency = level;
      if (s.known && s.applied !== level) this.apply(s);
    }
  }

  /** Tell quiche `s`'s urgency (once it knows the stream). */
  apply(s: QuicSendHalf): void {
    s.applied = s.urgency;
    try {
      this.conn.streamPriority(s.id, s.urgency, s.urgency !== 0);
    } catch {
      // A finished or reset stream has nothing left to schedule.
    }
  }

  /** Whether quiche still tracks this stream (it forgets one once everything was acknowledged). */
  private holds(s: QuicSendHalf): boolean {
    try {
      this.conn.streamCapacity(s.id);
      return true;
    } catch {
      return false;
    }
  }
}
