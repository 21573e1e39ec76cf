// A broadcast: a path announced by one source (a publishing session or a peer relay), and the
// tracks viewers have asked for. Tracks are created on demand and forgotten once idle. The
// Broadcast is also the announcer's handle: close() unannounces it.
import { Track, type TrackEnv } from "./track.js";
import type { BroadcastSource } from "./types.js";

export class Broadcast {
  private readonly tracks = new Map<string, Track>();
  private closedFlag = false;

  constructor(
    readonly path: string,
    readonly source: BroadcastSource,
    /** Origin ids the announcement passed through, publisher first, excluding this relay. */
    readonly hops: readonly bigint[],
    private readonly env: TrackEnv,
    private readonly unannounce: (b: Broadcast, code: number | undefined) => void,
  ) {}

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The track by name, created (without contacting the source yet) if new. */
  track(name: string): Track {
    let t = this.tracks.get(name);
    if (t === undefined) {
      t = new Track(name, this.source, this.env, (idle) => {
        if (this.tracks.get(name) === idle) this.tracks.delete(name);
      });
      if (this.closedFlag) t.shutdown(undefined);
      else this.tracks.set(name, t);
    }
    return t;
  }

  /** An existing track, without creating one. */
  peek(name: string): Track | undefined {
    return this.tracks.get(name);
  }

  get trackCount(): number {
    return this.tracks.size;
  }

  /** @internal periodic expiry sweep */
  forEachTrack(fn: (t: Track) => void): void {
    for (const t of this.tracks.values()) fn(t);
  }

  /**
   * Unannounce (no-op if already replaced or closed). Viewers' subscriptions end: cleanly when
   * `code` is undefined, else with that MoQ error code.
   */
  close(code?: number): void {
    this.unannounce(this, code);
  }

  /** @internal the origin dropped it (unannounced or replaced): end every track. */
  shutdown(code: number | undefined): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const tracks = [...this.tracks.values()];
    this.tracks.clear();
    for (const t of tracks) t.shutdown(code);
  }
}
