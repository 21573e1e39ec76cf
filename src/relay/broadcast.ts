// A broadcast: a path served through its best route (a publishing session or a peer relay), and
// the tracks viewers have asked for. Tracks are created on demand and forgotten once idle. When
// the best route changes the broadcast stays and its tracks move to the new source (reroute).
// close() withdraws the route currently serving it.
import { Track, type TrackEnv } from "./track.js";
import type { BroadcastSource } from "./types.js";

export class Broadcast {
  private readonly tracks = new Map<string, Track>();
  private closedFlag = false;
  private sourceRef: BroadcastSource;
  private hopsRef: readonly bigint[];

  constructor(
    readonly path: string,
    source: BroadcastSource,
    hops: readonly bigint[],
    private readonly env: TrackEnv,
    private readonly unannounce: (b: Broadcast, code: number | undefined) => void,
  ) {
    this.sourceRef = source;
    this.hopsRef = hops;
  }

  /** Who serves it now (the best route's publisher or peer). */
  get source(): BroadcastSource {
    return this.sourceRef;
  }

  /** Origin ids the serving route's announcement passed through, publisher first, excluding this relay. */
  get hops(): readonly bigint[] {
    return this.hopsRef;
  }

  /**
   * @internal the origin serves it through another route now: every track moves its upstream
   * there under its viewers.
   */
  reroute(source: BroadcastSource, hops: readonly bigint[]): void {
    if (this.closedFlag) return;
    // The chain starts at the publishing connection: another first hop is another publisher.
    const first = this.hopsRef[0];
    const publisherChanged = first === undefined || first === 0n || hops[0] !== first;
    this.sourceRef = source;
    this.hopsRef = hops;
    for (const t of this.tracks.values()) t.reroute(source, publisherChanged);
  }

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
   * Withdraw the route serving it (no-op once closed). With no other route left, viewers'
   * subscriptions end: cleanly when `code` is undefined, else with that MoQ error code.
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
