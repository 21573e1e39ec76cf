// One track of one broadcast: its immutable info, its cached groups, its viewers, and at most one
// upstream subscription however many viewers there are. The upstream starts with the first viewer
// and is kept warm for a linger period after the last one leaves.
import type { TrackInfo } from "../session/lite/track.js";
import type { GroupCache } from "./cache.js";
import { Group } from "./group.js";

export interface TrackSink {
  /** Upstream started a group; frames are appended to the returned Group. */
  beginGroup(sequence: number): Group;
  /** Upstream ended the track: no group at or after `end` will come. */
  end(end?: number): void;
  /** Upstream failed with a MoQ error code. */
  fail(code: number): void;
}

export interface Upstream {
  close(): void;
}

export interface TrackSource {
  trackInfo(track: string): Promise<TrackInfo>;
  subscribe(track: string, sink: TrackSink): Upstream;
}

export interface Viewer {
  /** A group this viewer should receive (cached or new), in arrival order. */
  group(g: Group): void;
  /** The track is over: `code` undefined = ended cleanly. */
  close(code: number | undefined): void;
}

export interface ViewerOptions {
  /** First group wanted; undefined = the latest cached group, else the next to arrive. */
  start?: number;
  /** Last group wanted (inclusive). */
  end?: number;
}

interface ViewerState {
  viewer: Viewer;
  start: number | undefined;
  end: number | undefined;
}

export interface TrackLimits {
  /** Ceiling on how long older groups are kept (ms). */
  maxAge: number;
  /** Keep the upstream warm this long after the last viewer (ms). */
  linger: number;
}

export class Track {
  private info: Promise<TrackInfo> | undefined;
  resolvedInfo: TrackInfo | undefined;
  /** Cached groups, ascending by sequence. */
  readonly groups: Group[] = [];
  private readonly viewers = new Set<ViewerState>();
  private upstream: Upstream | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed: { code: number | undefined } | undefined;

  constructor(
    readonly name: string,
    private readonly source: TrackSource,
    private readonly cache: GroupCache,
    private readonly limits: TrackLimits,
    private readonly onIdle: (t: Track) => void,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  get latest(): Group | undefined {
    return this.groups.at(-1);
  }

  /** TRACK_INFO, asked upstream once and shared by every concurrent request. */
  trackInfo(): Promise<TrackInfo> {
    this.info ??= this.source.trackInfo(this.name).then(
      (info) => (this.resolvedInfo = info),
      (err: unknown) => {
        this.info = undefined; // a later request may try again
        throw err;
      },
    );
    return this.info;
  }

  /** Cached group by sequence. */
  get(sequence: number): Group | undefined {
    for (let i = this.groups.length - 1; i >= 0; i--) if (this.groups[i].sequence === sequence) return this.groups[i];
    return undefined;
  }

  subscribe(viewer: Viewer, opts: ViewerOptions = {}): { close(): void } {
    if (this.closed) {
      queueMicrotask(() => viewer.close(this.closed?.code));
      return { close: () => undefined };
    }
    const state: ViewerState = { viewer, start: opts.start, end: opts.end };
    this.viewers.add(state);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    // Late joiners start at the latest cached group, from its first frame.
    const backlog = state.start === undefined ? (this.latest ? [this.latest] : []) : this.groups.filter((g) => g.sequence >= (state.start ?? 0));
    if (state.start === undefined && this.latest) state.start = this.latest.sequence;
    for (const g of backlog) if (state.end === undefined || g.sequence <= state.end) viewer.group(g);
    this.upstream ??= this.source.subscribe(this.name, this);
    return { close: () => this.unsubscribe(state) };
  }

  private unsubscribe(state: ViewerState): void {
    if (!this.viewers.delete(state) || this.viewers.size > 0) return;
    // Keep the upstream warm briefly so a returning viewer (or a reconnect) costs nothing.
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.viewers.size === 0) this.release();
    }, this.limits.linger);
    this.lingerTimer.unref();
  }

  private release(): void {
    this.upstream?.close();
    this.upstream = undefined;
    this.onIdle(this);
  }

  // --- TrackSink: the upstream side -------------------------------------------------------------

  beginGroup(sequence: number): Group {
    const existing = this.get(sequence);
    if (existing) return existing; // a duplicate (e.g. datagram + stream): keep the first
    const g: Group = new Group(sequence, (n) => {
      if (!g.evicted) this.cache.grew(n);
    });
    let i = this.groups.length;
    while (i > 0 && this.groups[i - 1].sequence > sequence) i--;
    this.groups.splice(i, 0, g);
    this.cache.added({ group: g, evict: () => this.evict(g) });
    this.expire();
    for (const s of this.viewers) {
      if (s.start === undefined) s.start = sequence;
      if (sequence >= s.start && (s.end === undefined || sequence <= s.end)) s.viewer.group(g);
    }
    return g;
  }

  end(): void {
    this.finish(undefined);
  }

  fail(code: number): void {
    this.finish(code);
  }

  /** The broadcast went away, or upstream ended: tell every viewer and forget the upstream. */
  finish(code: number | undefined): void {
    if (this.closed) return;
    this.closed = { code };
    clearTimeout(this.lingerTimer);
    for (const g of this.groups) if (!g.done) g.abort(code ?? 0);
    const viewers = [...this.viewers];
    this.viewers.clear();
    for (const s of viewers) s.viewer.close(code);
    this.upstream?.close();
    this.upstream = undefined;
    for (const g of this.groups) this.drop(g);
    this.groups.length = 0;
    this.onIdle(this);
  }

  /** Drop non-latest groups older than the publisher's latency window (capped by max_age). */
  private expire(): void {
    const window = Math.min(this.resolvedInfo?.maxLatency || this.limits.maxAge, this.limits.maxAge);
    const cutoff = Date.now() - window;
    while (this.groups.length > 1 && this.groups[0].arrived < cutoff) this.drop(this.groups.shift() as Group);
  }

  private evict(g: Group): boolean {
    if (g === this.latest) return false;
    const i = this.groups.indexOf(g);
    if (i >= 0) this.groups.splice(i, 1);
    this.drop(g);
    return true;
  }

  private drop(g: Group): void {
    if (g.evicted) return;
    g.evicted = true;
    this.cache.released(g);
  }
}
