// A broadcast: a path announced by one source (a publishing session or a peer relay), and the
// tracks viewers have asked for. Tracks are created on demand and forgotten once idle.
import type { GroupCache } from "./cache.js";
import { Track, type TrackLimits, type TrackSource } from "./track.js";

export interface BroadcastSource extends TrackSource {
  /** Id of the session that announced it; viewers on that session never see it echoed back. */
  readonly session: number;
}

export class Broadcast {
  private readonly tracks = new Map<string, Track>();
  closed = false;

  constructor(
    readonly path: string,
    readonly source: BroadcastSource,
    /** Origin ids the announcement passed through, nearest last. */
    readonly hops: bigint[],
    private readonly cache: GroupCache,
    private readonly limits: TrackLimits,
  ) {}

  track(name: string): Track {
    let t = this.tracks.get(name);
    if (t === undefined) {
      t = new Track(name, this.source, this.cache, this.limits, (idle) => {
        if (this.tracks.get(name) === idle && idle.viewerCount === 0) this.tracks.delete(name);
      });
      this.tracks.set(name, t);
    }
    return t;
  }

  /** Existing track, without creating one. */
  peek(name: string): Track | undefined {
    return this.tracks.get(name);
  }

  get trackCount(): number {
    return this.tracks.size;
  }

  /** The source went away: end every track (viewers see the subscription end). */
  close(code: number | undefined): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of [...this.tracks.values()]) t.finish(code);
    this.tracks.clear();
  }
}
