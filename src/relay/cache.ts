// The global byte budget for cached groups, shared by every track. Groups are queued in arrival
// order; while the total is over budget the oldest group that is not its track's newest is
// dropped, whatever track it belongs to. Each track separately drops groups older than its
// latency window (track.ts). The newest group of every track is always kept, so the total can
// exceed the budget by at most one (growing) group per track.
import type { Group } from "./group.js";

export interface Evictable {
  readonly group: Group;
  /** Drop the group from its track; false if it is the track's newest (kept for late joiners). */
  evict(): boolean;
}

export class GroupCache {
  private queue: Evictable[] = [];
  private head = 0;
  /** Payload bytes held by cached groups. */
  total = 0;
  /** Groups currently cached. */
  count = 0;
  evictions = 0;
  /**
   * Set when a shrink found nothing it may drop (every remaining group is some track's newest):
   * further growth cannot be helped until a new group arrives, so skip the scan until then.
   */
  private stuck = false;

  constructor(private budgetBytes: number) {}

  get budget(): number {
    return this.budgetBytes;
  }

  /** A new budget (config reload): shrinking evicts down to it at once. */
  setBudget(bytes: number): void {
    this.budgetBytes = bytes;
    this.stuck = false;
    if (this.total > this.budgetBytes) this.shrink();
  }

  added(entry: Evictable): void {
    this.queue.push(entry);
    this.count++;
    // Entries of groups that expired by age pile up when the budget is never reached.
    if (this.queue.length - this.head > 2 * this.count + 1024) this.compact();
    // The arrival may have made another group of the same track evictable.
    this.stuck = false;
    if (this.total > this.budget) this.shrink();
  }

  grew(bytes: number): void {
    this.total += bytes;
    if (this.total > this.budget && !this.stuck) this.shrink();
  }

  /** A group left the cache (expired, evicted, or its track went away). */
  released(group: Group): void {
    this.total -= group.bytes;
    this.count--;
  }

  private shrink(): void {
    let kept: Evictable[] | undefined;
    while (this.total > this.budget && this.head < this.queue.length) {
      const e = this.queue[this.head++];
      if (!e.group.cached) continue; // already gone by age or with its track
      if (e.evict()) this.evictions++;
      else (kept ??= []).push(e); // a track's newest: revisit once it is superseded
    }
    if (this.total > this.budget) this.stuck = true;
    // Compact the consumed head now and then instead of shifting on every eviction.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (kept !== undefined) for (const e of kept) this.queue.push(e);
  }

  /** Drop queue entries of groups that already left (keeps the queue from growing unbounded). */
  compact(): void {
    this.queue = this.queue.slice(this.head).filter((e) => e.group.cached);
    this.head = 0;
  }

  get queued(): number {
    return this.queue.length - this.head;
  }
}
