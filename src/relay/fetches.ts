// A track's FETCH requests for groups it no longer caches: one request to the source per missing
// group however many viewers ask at once, the group's frames kept while it arrives, the request
// forgotten once it completes (a later FETCH asks again: the cache decides what stays).
import { Group, GroupCursor } from "./group.js";
import type { RelayStats } from "./stats.js";
import type { BroadcastSource } from "./types.js";

interface Inflight {
  group: Group;
  handle?: { close(): void };
}

export class Fetches {
  private readonly inflight = new Map<number, Inflight>();

  constructor(
    private readonly env: { now(): number; readonly stats: RelayStats },
    /** A fetch completed (the track may be idle now). */
    private readonly settled: () => void,
  ) {}

  get size(): number {
    return this.inflight.size;
  }

  /**
   * Group `sequence` (as viewers number it) from `source`, which numbers it `upstreamSeq`:
   * the request in flight, a new one, or undefined when the source cannot fetch.
   */
  request(source: BroadcastSource, track: string, sequence: number, upstreamSeq: number): Group | undefined {
    const inflight = this.inflight.get(sequence);
    if (inflight !== undefined) return inflight.group;
    if (source.fetch === undefined || upstreamSeq < 0) return undefined;
    const g = new Group(sequence, this.env.now());
    g.cached = false;
    g.onAppend = (n) => void (this.env.stats.bytesIn += n);
    const entry: Inflight = { group: g };
    this.inflight.set(sequence, entry);
    // A watcher keeps the group's frames while it arrives (an uncached group with no reader
    // discards them) and forgets the fetch once it completes.
    const watcher = new GroupCursor(g);
    watcher.onChange = () => {
      if (!g.done) return;
      watcher.close();
      if (this.inflight.get(sequence) === entry) this.inflight.delete(sequence);
      this.settled();
    };
    entry.handle = source.fetch(track, upstreamSeq, g);
    return g;
  }

  /** The track is gone: cancel every request and abort its group. */
  abortAll(code: number): void {
    const all = [...this.inflight.values()];
    this.inflight.clear();
    for (const f of all) {
      f.handle?.close();
      f.group.abort(code);
    }
  }
}
