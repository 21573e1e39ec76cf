// The global byte budget for cached groups, shared by every track. Groups are queued in arrival
// order; while the total is over budget the oldest group that is not its track's newest is
// dropped, whatever track it belongs to. Each track separately drops groups older than its
// latency window (track.ts). The newest group of every track is always kept, so the total can
// exceed the budget by at most one (growing) group per track.
//
// Nothing here may keep a dropped group reachable: a group that leaves the cache (evicted,
// expired, or with its track) has its queue slot cleared at once, and the queue is compacted when
// cleared slots outnumber live ones, so `max_bytes` bounds the memory the cache holds.
import type { Group } from "./group.js";

export interface Evictable {
  readonly group: Group;
  /** Drop the group from its track; false if it is the track's newest (kept for late joiners). */
  evict(): boolean;
}

export class GroupCache {
  /** Entries in arrival order; undefined = a slot whose group left. */
  private queue: Array<Evictable | undefined> = [];
  /** First slot that may still hold an entry. */
  private head = 0;
  /** Absolute number of the slot at queue[0] (slots are numbered for the cache's life). */
  private base = 0;
  /** Where each cached group's entry sits (absolute slot number). */
  private readonly slots = new WeakMap<Group, number>();
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
    this.slots.set(entry.group, this.base + this.queue.length);
    this.queue.push(entry);
    this.count++;
    this.maybeCompact();
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
    const slot = this.slots.get(group);
    if (slot === undefined) return;
    this.slots.delete(group);
    const i = slot - this.base;
    if (i >= 0 && i < this.queue.length && this.queue[i]?.group === group) this.queue[i] = undefined;
    this.maybeCompact();
  }

  private shrink(): void {
    let kept: Evictable[] | undefined;
    while (this.total > this.budget && this.head < this.queue.length) {
      const e = this.queue[this.head];
      this.queue[this.head++] = undefined;
      if (e === undefined || !e.group.cached) continue; // already gone by age or with its track
      if (e.evict()) this.evictions++;
      else (kept ??= []).push(e); // a track's newest: revisit once it is superseded
    }
    if (this.total > this.budget) this.stuck = true;
    if (kept !== undefined) {
      for (const e of kept) {
        this.slots.set(e.group, this.base + this.queue.length);
        this.queue.push(e);
      }
    }
    this.maybeCompact();
  }

  /** Drop cleared slots once they outnumber live entries (amortised O(1) per group). */
  private maybeCompact(): void {
    if (this.queue.length > 64 && this.queue.length > 2 * this.count + 32) this.compact();
  }

  /** Drop cleared slots and entries of groups that already left, renumbering the rest. */
  compact(): void {
    const live: Evictable[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (e !== undefined && e.group.cached) live.push(e);
    }
    this.base += this.queue.length;
    this.queue = live;
    this.head = 0;
    for (let i = 0; i < live.length; i++) this.slots.set(live[i].group, this.base + i);
  }

  get queued(): number {
    return this.queue.length - this.head;
  }
}
