// One viewer's subscription to a track: which groups it gets and how many it may have in flight.
//
// A viewer reads shared cached groups through cursors. Two rules skip a viewer that falls behind
// to the newest group, each dropping groups through cursor.onDrop (the session resets the stream
// with code Old). A slow viewer costs only its own quality, never the publisher's or other
// viewers' pace.
// - Latency: a group older than the newest whose oldest frame not yet sent (unwritten, or still
//   queued in the transport: cursor.unsentFrom) is older than the viewer's budget is dropped.
//   The budget is the viewer's max latency, else the track's (the relay's setting, or half the
//   observed group interval). Checked when a group arrives and on each frame of the newest group,
//   so a standing backlog never builds behind the newest group. A group whose frames have all
//   left is never dropped, so a FIN arriving after the next group's first frame costs nothing.
// - Count: at most `limit` groups are in flight (handed to the session and not yet released).
//   When a newer group arrives while the viewer is that far behind, queued groups are forgotten
//   and, once the current burst of arrivals has been handed out, the oldest in flight dropped.
import { GroupCursor, type CursorOwner, type Group } from "./group.js";
import type { RelayStats } from "./stats.js";
import type { ViewerPrefs, ViewerSink } from "./types.js";

/** MoQ code for a group skipped because it got too old to be useful. */
export const CODE_OLD = 2;

/** What a subscription needs from its track. */
export interface SubscriptionHost {
  now(): number;
  /** The track's timescale once known (to compare frame timestamps), else undefined. */
  timescale(): number | undefined;
  /** Latency budget (ms) for viewers that ask none; 0 = none (yet). */
  defaultLatency(): number;
  detach(sub: Subscription): void;
  /** A viewer's preferences changed (the upstream may need a longer latency). */
  prefsChanged(): void;
  readonly stats: RelayStats;
}

export class Subscription implements CursorOwner {
  /** First group this viewer gets: requested, else the latest cached, else the first to arrive. */
  start: number | undefined;
  private readonly inFlight: GroupCursor[] = [];
  /** Groups accepted but not handed out yet (the queue was full), ascending. */
  private pending: Group[] = [];
  /** Highest sequence accepted so far. */
  private newest = -1;
  /** Exclusive end reported to the sink (groups below it may still arrive late). */
  private endAt: number | undefined;
  private closed = false;
  private delivered = false;
  /** The start came from upstream (its SUBSCRIBE_START): the first group to arrive does not move it. */
  private startFromUpstream = false;
  private trimScheduled = false;

  constructor(
    private readonly host: SubscriptionHost,
    readonly sink: ViewerSink,
    public prefs: ViewerPrefs,
    private readonly limit: number,
  ) {
    this.start = prefs.start;
    host.stats.subscriptions++;
    host.stats.subscribesTotal++;
  }

  get inFlightCount(): number {
    return this.inFlight.length;
  }

  /** Groups accepted but not handed out yet. */
  get pendingCount(): number {
    return this.pending.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The first group this viewer may get, once its first group was handed out (else undefined). */
  get startsAt(): number | undefined {
    return this.delivered ? this.start : undefined;
  }

  /**
   * Upstream's groups begin at `first`. A viewer that has had nothing yet starts there (or at its
   * own start, if later) instead of at the first group to arrive, so a burst that arrives newest
   * first reaches it whole.
   */
  upstreamStart(first: number): void {
    if (this.closed || this.delivered) return;
    this.start = Math.max(this.start ?? first, first);
    this.startFromUpstream = true;
  }

  /** The viewer changed its preferences (SUBSCRIBE_UPDATE). */
  update(prefs: ViewerPrefs): void {
    if (this.closed) return;
    const start = prefs.start;
    this.prefs = { ...prefs };
    // Moving the start forward forgets what is queued below it; moving it back cannot un-skip.
    if (start !== undefined && (this.start === undefined || start > this.start)) {
      this.start = start;
      this.pending = this.pending.filter((g) => g.sequence >= start);
    }
    if (prefs.end !== undefined && this.newest >= prefs.end) this.sendEnd(prefs.end + 1);
    this.host.prefsChanged();
  }

  /** The viewer left: release every cursor. The sink is not called again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    for (const c of this.inFlight.splice(0)) c.close();
    this.host.stats.subscriptions--;
    this.host.detach(this);
  }

  // --- called by the track -------------------------------------------------------------------

  /** Cached groups at subscribe time (ascending, all ≥ start): hand out what the queue allows. */
  backfill(groups: readonly Group[]): void {
    for (const g of groups) {
      if (this.closed) return;
      if (!this.wants(g)) continue;
      this.start ??= g.sequence;
      this.newest = Math.max(this.newest, g.sequence);
      if (this.inFlight.length < this.limit) this.deliver(g);
      else this.pending.push(g);
      this.checkEnd(g.sequence);
    }
  }

  /** A group began arriving from upstream. */
  offer(g: Group): void {
    if (this.closed) return;
    this.start ??= g.sequence;
    if (!this.wants(g)) {
      this.checkEnd(g.sequence);
      return;
    }
    if (g.sequence > this.newest) {
      this.newest = g.sequence;
      if (this.inFlight.length >= this.limit) this.forgetPending();
      this.check();
      this.deliver(g);
      // Trim to the limit a moment later: groups that arrived in one burst are written out at once
      // by a viewer that keeps up; only one that does not is behind.
      if (this.inFlight.length > this.limit) this.scheduleTrim();
    } else if (this.inFlight.length + this.pending.length < this.limit) {
      // A straggler (out-of-order arrival) while there is room: deliver it in order.
      let i = this.pending.length;
      while (i > 0 && this.pending[i - 1].sequence > g.sequence) i--;
      this.pending.splice(i, 0, g);
      this.pump();
    }
    this.checkEnd(g.sequence);
  }

  /** The cache dropped `g`: never hand it out late. */
  forget(g: Group): void {
    const i = this.pending.indexOf(g);
    if (i >= 0) this.pending.splice(i, 1);
  }

  /** Upstream will produce nothing at or after `end`. */
  trackEnded(end: number): void {
    if (this.closed) return;
    const mine = this.prefs.end !== undefined ? Math.min(end, this.prefs.end + 1) : end;
    this.sendEnd(mine);
  }

  /** The track is gone (broadcast ended, upstream failed). */
  terminate(code: number | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    this.host.stats.subscriptions--;
    // In-flight cursors stay with the session: it finishes or resets those streams itself.
    this.inFlight.length = 0;
    this.sink.close(code);
  }

  // --- CursorOwner ---------------------------------------------------------------------------

  released(c: GroupCursor): void {
    const i = this.inFlight.indexOf(c);
    if (i >= 0) this.inFlight.splice(i, 1);
    if (!this.closed) this.pump();
  }

  // --- internals -----------------------------------------------------------------------------

  private wants(g: Group): boolean {
    if (this.start !== undefined && g.sequence < this.start) return false;
    if (this.endAt !== undefined && g.sequence >= this.endAt) return false;
    return this.prefs.end === undefined || g.sequence <= this.prefs.end;
  }

  private checkEnd(sequence: number): void {
    const end = this.prefs.end;
    if (end !== undefined && sequence >= end) this.sendEnd(end + 1);
  }

  private sendEnd(end: number): void {
    if (this.endAt !== undefined) return;
    this.endAt = end;
    this.sink.end(end);
  }

  private deliver(g: Group): void {
    if (!this.delivered) {
      // The first group handed out is the viewer's start (SUBSCRIBE_START promises nothing
      // older follows), so a straggler below it is not sent later.
      this.delivered = true;
      if (this.start === undefined || (g.sequence > this.start && !this.startFromUpstream)) this.start = g.sequence;
    }
    const c = new GroupCursor(g, this);
    let i = this.inFlight.length;
    while (i > 0 && this.inFlight[i - 1].sequence > g.sequence) i--;
    this.inFlight.splice(i, 0, c);
    this.sink.group(c);
  }

  private pump(): void {
    while (!this.closed && this.inFlight.length < this.limit && this.pending.length > 0) {
      this.deliver(this.pending.shift() as Group);
    }
  }

  /** Queued groups are older than a newer arrival the viewer has no room for: never send them. */
  private forgetPending(): void {
    this.host.stats.groupsDropped += this.pending.length;
    this.pending = [];
  }

  private scheduleTrim(): void {
    if (this.trimScheduled) return;
    this.trimScheduled = true;
    // After the current turn of the event loop, so streams opened for the burst got their chance.
    setImmediate(() => {
      this.trimScheduled = false;
      // Still behind: skip ahead, dropping the oldest groups in flight.
      while (!this.closed && this.inFlight.length > this.limit) this.dropCursor(0);
    });
  }

  /**
   * The latency rule: drop each group older than the newest whose oldest unsent frame is older
   * than the budget. Called by the track on each frame of its newest group, and on a new group.
   */
  check(): void {
    const n = this.inFlight.length;
    if (this.closed || n === 0 || (n === 1 && this.inFlight[0].sequence >= this.newest)) return;
    const budget = this.prefs.maxLatency > 0 ? this.prefs.maxLatency : this.host.defaultLatency();
    const now = this.host.now();
    const scale = this.host.timescale();
    // A copy: asking a cursor may release it (its tail left), which may hand out a queued group.
    for (const c of n === 1 ? this.inFlight : this.inFlight.slice()) {
      if (c.sequence >= this.newest || !c.isActive) continue;
      const from = c.unsentFrom();
      const g = c.group;
      if (budget <= 0 || !c.isActive || from >= g.payloads.length) continue;
      if (now - arrivedAt(g, from, scale, now) > budget) this.dropCursor(this.inFlight.indexOf(c));
    }
  }

  private dropCursor(i: number): void {
    const [c] = this.inFlight.splice(i, 1);
    this.host.stats.groupsDropped++;
    c.drop(CODE_OLD);
  }
}

/** The least latency budget the group interval may set (ms). */
export const MIN_BUDGET_MS = 500;

/** How often a track's groups start, and the latency budget that follows for viewers that ask none. */
export class GroupPace {
  /** Smoothed time between new groups (ms; 0 = not seen yet). */
  private interval = 0;
  private last: number | undefined;

  /** A group newer than all before it began arriving at `at` (ms). */
  arrived(at: number): void {
    const gap = this.last === undefined ? 0 : at - this.last;
    this.last = at;
    if (gap > 0) this.interval = this.interval > 0 ? this.interval * 0.75 + gap * 0.25 : gap;
  }

  /**
   * Half a group, at most `ceiling` (the cache window); 0 = no interval yet. At least 500 ms: a
   * publisher that writes groups in a burst (or short audio groups) makes the interval tiny, and a
   * viewer that is merely slow to take its first streams (a busy browser) must not lose them.
   */
  budget(ceiling: number): number {
    return this.interval > 0 ? Math.min(ceiling, Math.max(MIN_BUDGET_MS, this.interval / 2)) : 0;
  }
}

/**
 * When frame `i` of `g` arrived, as far as the relay can tell: the group's arrival plus the frame's
 * media time into the group (frames come in real time), never later than `now`.
 */
function arrivedAt(g: Group, i: number, scale: number | undefined, now: number): number {
  if (scale === undefined || i === 0 || g.timestamps.length <= i) return g.arrived;
  const offset = ((g.timestamps[i] - g.timestamps[0]) * 1000) / scale;
  return offset > 0 ? Math.min(now, g.arrived + offset) : g.arrived;
}
