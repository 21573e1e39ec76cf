// Log lines a remote peer can trigger (a GOAWAY, a refused request, malformed input) go through a
// per-session token bucket, so one client cannot flood the log: a burst is written, then at most a
// steady trickle; the next line written says how many were suppressed. Client-supplied strings
// in those lines are clipped (util/path.ts clip) by the caller.
import type { Logger } from "./log.js";

export type PeerLevel = "debug" | "info" | "warn";

export class PeerLog {
  private tokens: number;
  private last: number;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    /** Lines written back to back before limiting starts. */
    private readonly burst = 20,
    /** Lines per second once the burst is spent. */
    private readonly rate = 1,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Lines dropped since the last one written. */
  get dropped(): number {
    return this.suppressed;
  }

  /** Write `msg` at `level` unless this peer's budget is spent; true if it was written. */
  write(level: PeerLevel, fields: Record<string, unknown>, msg: string): boolean {
    if (!this.log.isLevelEnabled(level)) return false;
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
    this.log[level](fields, msg);
    return true;
  }
}

/**
 * A token bucket shared by every session (PeerLog's is per session): for lines a whole class of
 * peers can trigger, e.g. a misconfigured relay redialing every few seconds from new sessions.
 */
export class SharedRate {
  private tokens: number;
  private last: number;
  private suppressed = 0;

  constructor(
    private readonly burst = 5,
    /** Lines per second once the burst is spent. */
    private readonly rate = 0.2,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Write `msg` through `log` unless the budget is spent; true if it was written. */
  write(log: Logger, level: PeerLevel, fields: Record<string, unknown>, msg: string): boolean {
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
