// A track's TRACK_INFO as the relay knows it: asked of the current route once, shared by
// concurrent requests, kept for the track's life, and forgotten when the route moves to another
// publisher (whose answer may differ).
import type { RelayStats } from "./stats.js";
import type { TrackInfo } from "./types.js";

export interface TrackInfoHost {
  readonly stats: RelayStats;
  /** Ask the track's current route. */
  ask(): Promise<TrackInfo>;
  /** An answer arrived and is now the track's info. */
  learned(): void;
  /** The track may hold nothing any more (a failed request leaves nothing cached). */
  maybeIdle(): void;
}

export class TrackInfoCell {
  private promise: Promise<TrackInfo> | undefined;
  private current: TrackInfo | undefined;

  constructor(private readonly host: TrackInfoHost) {}

  /** The info once resolved. */
  get value(): TrackInfo | undefined {
    return this.current;
  }

  /** Asked (answered or not) and not forgotten since. */
  get asked(): boolean {
    return this.promise !== undefined;
  }

  request(): Promise<TrackInfo> {
    const stats = this.host.stats;
    stats.trackInfoRequests++;
    if (this.promise !== undefined) {
      if (this.current !== undefined) stats.trackInfoHits++;
      return this.promise;
    }
    const p = this.host.ask().then(
      (info) => {
        // An answer from a route the track has since left is not this track's info any more.
        if (this.promise !== p) return info;
        this.current = info;
        this.host.learned();
        return info;
      },
      (err: unknown) => {
        // Not cached: a later request may succeed (the publisher may add the track).
        if (this.promise === p) {
          this.promise = undefined;
          this.current = undefined;
        }
        this.host.maybeIdle();
        throw err;
      },
    );
    this.promise = p;
    return p;
  }

  /**
   * Forget what the previous route said. With `askAgain` (the track has viewers) it is asked
   * again at once and the old value stays until the answer replaces it, so the viewers' latency
   * window and priority keep working meanwhile; without, the next request asks the new route.
   */
  forget(askAgain: boolean): void {
    if (this.promise === undefined) return;
    this.promise = undefined;
    if (askAgain) return void this.request().catch(() => undefined);
    this.current = undefined;
    this.host.maybeIdle();
  }
}
