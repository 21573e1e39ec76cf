// The global byte budget for cached groups. Groups are queued in arrival order; while the total is
// over budget the oldest group that is not its track's newest is dropped, whatever track it
// belongs to. Each track separately drops groups older than its latency window.
import type { Group } from "./group.js";

export interface Evictable {
  group: Group;
  /** Drop the group from its track; returns false if it is the track's newest (kept). */
  evict(): boolean;
}

export class GroupCache {
  private queue: Evictable[] = [];
  private head = 0;
  total = 0;
  evictions = 0;

  constructor(readonly budget: number) {}

  added(entry: Evictable): void {
    this.queue.push(entry);
  }

  grew(bytes: number): void {
    this.total += bytes;
    if (this.total > this.budget) this.shrink();
  }

  released(group: Group): void {
    this.total -= group.bytes;
  }

  private shrink(): void {
    let skipped: Evictable[] | undefined;
    while (this.total > this.budget && this.head < this.queue.length) {
      const e = this.queue[this.head++];
      if (e.group.evicted) continue;
      if (e.evict()) this.evictions++;
      else (skipped ??= []).push(e); // a track's newest group stays; revisit it later
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (skipped) this.queue.push(...skipped);
  }
}
