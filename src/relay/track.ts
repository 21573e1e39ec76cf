// One track of one broadcast: its TRACK_INFO (asked upstream once), its cached groups, its viewers,
// and at most one upstream subscription however many viewers there are. The upstream starts with
// the first viewer and stays warm `linger` ms after the last one leaves; then it is released
// along with the cached groups.
import type { GroupCache } from "./cache.js";
import { Group, GroupCursor } from "./group.js";
import type { RelayStats } from "./stats.js";
import { Subscription, type SubscriptionHost } from "./subscription.js";
import type { BroadcastSource, TrackInfo, TrackSink, Upstream, UpstreamPrefs, ViewerPrefs, ViewerSink } from "./types.js";

/** Cache window when the publisher's max latency is not known (the @moq/net and Rust default). */
export const DEFAULT_MAX_LATENCY = 5000;

export interface TrackEnv {
  readonly cache: GroupCache;
  readonly stats: RelayStats;
  now(): number;
  /** Ceiling on how long a non-latest group is kept (ms), whatever the publisher asks. */
  readonly maxAge: number;
  /** Keep the upstream warm this long after the last viewer leaves (ms). */
  readonly linger: number;
  /** Groups in flight per viewer before it skips ahead. */
  readonly queueGroups: number;
}

const DEFAULT_PREFS: ViewerPrefs = { priority: 0, ordered: false, maxLatency: 0 };

export class Track implements TrackSink, SubscriptionHost {
  /** Cached groups, ascending by sequence; the last one is the newest and is always kept. */
  readonly groups: Group[] = [];
  private infoPromise: Promise<TrackInfo> | undefined;
  private infoValue: TrackInfo | undefined;
  private readonly viewers = new Set<Subscription>();
  private upstream: Upstream | undefined;
  /** An upstream subscription is wanted (set before asking the source, which may call back at once). */
  private live = false;
  private upstreamPrefs: UpstreamPrefs | undefined;
  /** Upstream said no group at or after this will come. */
  private endedAt: number | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly fetches = new Map<number, { group: Group; handle?: { close(): void } }>();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly source: BroadcastSource,
    private readonly env: TrackEnv,
    /** Called when the track holds nothing worth keeping (no viewers, no upstream, no info). */
    private readonly onIdle: (t: Track) => void,
  ) {}

  get stats(): RelayStats {
    return this.env.stats;
  }

  now(): number {
    return this.env.now();
  }

  timescale(): number | undefined {
    return this.infoValue?.timescale;
  }

  /** TRACK_INFO once resolved. */
  get info(): TrackInfo | undefined {
    return this.infoValue;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  get hasUpstream(): boolean {
    return this.live;
  }

  /** The highest-sequence cached group (possibly still arriving). */
  get latest(): Group | undefined {
    return this.groups.at(-1);
  }

  /** Cached group by sequence. */
  get(sequence: number): Group | undefined {
    for (let i = this.groups.length - 1; i >= 0; i--) if (this.groups[i].sequence === sequence) return this.groups[i];
    return undefined;
  }

  /** TRACK_INFO: asked upstream once, shared by concurrent requests, cached for the track's life. */
  trackInfo(): Promise<TrackInfo> {
    this.env.stats.trackInfoRequests++;
    if (this.infoPromise !== undefined) {
      if (this.infoValue !== undefined) this.env.stats.trackInfoHits++;
      return this.infoPromise;
    }
    const p = this.source.trackInfo(this.name).then(
      (info) => {
        this.infoValue = info;
        this.refreshUpstream();
        return info;
      },
      (err: unknown) => {
        // Not cached: a later request may succeed (the publisher may add the track).
        if (this.infoPromise === p) this.infoPromise = undefined;
        this.maybeIdle();
        throw err;
      },
    );
    this.infoPromise = p;
    return p;
  }

  /**
   * Add a viewer. Cached groups it wants are handed to `sink` before this returns (from frame 0
   * of the latest group for a late joiner), live ones as they arrive. Close the returned
   * subscription when the viewer leaves.
   */
  subscribe(sink: ViewerSink, prefs: ViewerPrefs = DEFAULT_PREFS): Subscription {
    const sub = new Subscription(this, sink, { ...prefs }, this.env.queueGroups);
    if (this.closed) {
      queueMicrotask(() => sub.terminate(undefined));
      return sub;
    }
    this.viewers.add(sub);
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.expire();
    const latest = this.latest;
    if (sub.start === undefined && latest !== undefined) sub.start = latest.sequence;
    const start = sub.start;
    if (start !== undefined) sub.backfill(this.groups.filter((g) => g.sequence >= start));
    if (this.endedAt !== undefined) {
      sub.trackEnded(this.endedAt);
    } else if (!this.live) {
      this.upstreamPrefs = this.mergedPrefs();
      this.live = true;
      this.env.stats.upstreams++;
      this.env.stats.upstreamsTotal++;
      const up = this.source.subscribe(this.name, this, this.upstreamPrefs);
      // The source may have failed synchronously (sink.close) before returning its handle.
      if (this.live) this.upstream = up;
      else up.close();
      // Learn the publisher's latency window and priority even if no viewer asked for TRACK_INFO.
      if (this.infoPromise === undefined) this.trackInfo().catch(() => undefined);
    } else {
      this.refreshUpstream();
    }
    return sub;
  }

  /** @internal a viewer updated its preferences. */
  prefsChanged(): void {
    this.refreshUpstream();
  }

  /** @internal a viewer left (Subscription.close). */
  detach(sub: Subscription): void {
    if (!this.viewers.delete(sub)) return;
    if (this.viewers.size > 0) {
      this.refreshUpstream();
      return;
    }
    if (this.env.linger <= 0) {
      this.release();
      return;
    }
    // Keep the upstream warm briefly so a returning viewer (a reload, a reconnect) costs nothing.
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      if (this.viewers.size === 0) this.release();
    }, this.env.linger);
    this.lingerTimer.unref();
  }

  /**
   * One past group for FETCH: the cached one, else one the source fetches (shared by concurrent
   * requests), else undefined.
   */
  fetch(sequence: number): Group | undefined {
    const cached = this.get(sequence);
    if (cached !== undefined || this.closed) return cached;
    const inflight = this.fetches.get(sequence);
    if (inflight !== undefined) return inflight.group;
    if (this.source.fetch === undefined) {
      this.maybeIdle();
      return undefined;
    }
    const g = new Group(sequence, this.env.now());
    g.cached = false;
    g.onAppend = (n) => void (this.env.stats.bytesIn += n);
    const entry: { group: Group; handle?: { close(): void } } = { group: g };
    this.fetches.set(sequence, entry);
    // A watcher keeps the group's frames while it arrives (an uncached group with no reader
    // discards them) and forgets the fetch once it completes; later requests re-fetch.
    const watcher = new GroupCursor(g);
    watcher.onChange = () => {
      if (!g.done) return;
      watcher.close();
      if (this.fetches.get(sequence) === entry) this.fetches.delete(sequence);
      this.maybeIdle();
    };
    entry.handle = this.source.fetch(this.name, sequence, g);
    return g;
  }

  // --- TrackSink: the upstream side ----------------------------------------------------------

  group(sequence: number, datagram = false): Group | undefined {
    if (this.closed || !this.live) return undefined;
    if (this.get(sequence) !== undefined) return undefined; // a duplicate (datagram + stream)
    const g = new Group(sequence, this.env.now());
    g.datagram = datagram;
    g.onAppend = (n) => {
      this.env.stats.bytesIn += n;
      this.env.stats.framesIn++;
      if (g.cached) {
        this.env.stats.cacheBytes += n;
        this.env.cache.grew(n);
      }
    };
    let i = this.groups.length;
    while (i > 0 && this.groups[i - 1].sequence > sequence) i--;
    this.groups.splice(i, 0, g);
    this.env.stats.groupsIn++;
    this.env.cache.added({ group: g, evict: () => this.evict(g) });
    this.expire();
    for (const s of this.viewers) s.offer(g);
    return g;
  }

  end(end: number): void {
    if (this.closed || this.endedAt !== undefined) return;
    this.endedAt = end;
    for (const s of this.viewers) s.trackEnded(end);
  }

  close(code?: number): void {
    if (this.closed || !this.live) return;
    if (code === undefined) {
      // Ended cleanly: what is cached stays servable until the viewers leave.
      this.end(this.endedAt ?? (this.latest?.sequence ?? -1) + 1);
      return;
    }
    // Upstream failed: viewers hear why; a later viewer tries again from scratch.
    this.dropUpstream(false);
    for (const s of [...this.viewers]) s.terminate(code);
    this.viewers.clear();
    this.reset(code);
    this.maybeIdle();
  }

  /** The broadcast went away: end every viewer and drop everything. */
  shutdown(code: number | undefined): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.lingerTimer);
    this.dropUpstream(true);
    for (const s of [...this.viewers]) s.terminate(code);
    this.viewers.clear();
    this.reset(code);
    for (const f of [...this.fetches.values()]) {
      f.handle?.close();
      f.group.abort(code ?? 0);
    }
    this.fetches.clear();
  }

  /** Drop non-latest groups older than the publisher's window (capped by max_age). */
  expire(): void {
    if (this.groups.length < 2) return;
    const cutoff = this.env.now() - this.window();
    const newest = this.groups.length - 1;
    for (let i = newest - 1; i >= 0; i--) {
      const g = this.groups[i];
      if (g.arrived < cutoff) {
        this.groups.splice(i, 1);
        this.uncache(g);
      }
    }
  }

  // --- internals -----------------------------------------------------------------------------

  private window(): number {
    const publisher = this.infoValue?.maxLatency || DEFAULT_MAX_LATENCY;
    return Math.min(publisher, this.env.maxAge);
  }

  /** Upstream preferences: the publisher's priority, a latency covering every viewer (0 = none). */
  private mergedPrefs(): UpstreamPrefs {
    let latency = 0;
    let unlimited = this.viewers.size === 0;
    for (const s of this.viewers) {
      if (s.prefs.maxLatency <= 0) unlimited = true;
      else latency = Math.max(latency, s.prefs.maxLatency);
    }
    return { priority: this.infoValue?.priority ?? 0, ordered: this.infoValue?.ordered ?? false, maxLatency: unlimited ? 0 : latency };
  }

  private refreshUpstream(): void {
    if (this.upstream === undefined || this.viewers.size === 0) return;
    const next = this.mergedPrefs();
    const prev = this.upstreamPrefs;
    if (prev !== undefined && prev.priority === next.priority && prev.ordered === next.ordered && prev.maxLatency === next.maxLatency) return;
    this.upstreamPrefs = next;
    this.upstream.update(next);
  }

  private evict(g: Group): boolean {
    if (g === this.latest) return false;
    const i = this.groups.indexOf(g);
    if (i >= 0) this.groups.splice(i, 1);
    this.env.stats.evictions++;
    this.uncache(g);
    return true;
  }

  private uncache(g: Group): void {
    if (!g.cached) return;
    g.cached = false;
    this.env.stats.cacheBytes -= g.bytes;
    this.env.cache.released(g);
    for (const s of this.viewers) s.forget(g);
  }

  /** Forget cached groups and the end state (upstream gone). */
  private reset(code: number | undefined): void {
    for (const g of this.groups) {
      if (!g.done) g.abort(code ?? 0);
      this.uncache(g);
    }
    this.groups.length = 0;
    this.endedAt = undefined;
  }

  private dropUpstream(unsubscribe: boolean): void {
    if (!this.live) return;
    this.live = false;
    this.env.stats.upstreams--;
    const up = this.upstream;
    this.upstream = undefined;
    this.upstreamPrefs = undefined;
    if (unsubscribe) up?.close();
  }

  private release(): void {
    this.dropUpstream(true);
    this.reset(undefined);
    this.maybeIdle();
  }

  private maybeIdle(): void {
    if (this.viewers.size === 0 && !this.live && this.fetches.size === 0 && this.infoValue === undefined && this.infoPromise === undefined) this.onIdle(this);
  }
}
