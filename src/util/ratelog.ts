// Log lines a remote peer can trigger (a GOAWAY, a refused request, malformed input) go through a
// token bucket, so one client cannot flood the log: a burst is written, then at most a steady
// trickle; the next line written says how many were suppressed. Client-supplied strings in those
// lines are clipped (util/path.ts clip) by the caller. PeerLog is one session's bucket;
// SharedRate is one bucket for lines a whole class of peers can trigger.
import type { Logger } from "./log.js";

export type PeerLevel = "debug" | "info" | "warn";

/**
 * A token bucket for log lines, not tied to a logger: shared by every session for lines any of
 * them can trigger (e.g. a misconfigured relay redialing every few seconds from new sessions).
 */
export class SharedRate {
  private tokens: number;
  private last: number;
  private suppressed = 0;

  constructor(
    /** Lines written back to back before limiting starts. */
    private readonly burst = 5,
    /** Lines per second once the burst is spent. */
    private readonly rate = 0.2,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Lines dropped since the last one written. */
  get dropped(): number {
    return this.suppressed;
  }

  /** Write `msg` through `log` at `level` unless the budget is spent; true if it was written. */
  write(log: Logger, level: PeerLevel, fields: Record<string, unknown>, msg: string): boolean {
    if (!log.isLevelEnabled(level)) return false;
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) {
      this.suppressed++;
      return false;
    }
    this.tokens--;
    if (this.suppressed > 0) {
      fields = { ...fields, suppressed: this.suppressed };
      this.suppressed = 0;
    }
    log[level](fields, msg);
    return true;
  }
}

/** One session's budget of peer-triggered log lines. */
export class PeerLog {
  private readonly bucket: SharedRate;

  constructor(
    private readonly log: Logger,
    burst = 20,
    rate = 1,
    now: () => number = Date.now,
  ) {
    this.bucket = new SharedRate(burst, rate, now);
  }

  /** Lines dropped since the last one written. */
  get dropped(): number {
    return this.bucket.dropped;
  }

  /** Write `msg` at `level` unless this peer's budget is spent; true if it was written. */
  write(level: PeerLevel, fields: Record<string, unknown>, msg: string): boolean {
    return this.bucket.write(this.log, level, fields, msg);
  }
}
