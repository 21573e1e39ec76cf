// One track of one broadcast: its TRACK_INFO (asked upstream once), its cached groups, its viewers,
// and at most one upstream subscription however many viewers there are. The upstream starts with
// the first viewer and stays warm `linger` ms after the last one leaves; then it is released
// along with the cached groups. When the broadcast's route changes, the one upstream moves to the
// new route underneath the viewers (reroute): they keep their subscriptions and read on.
import type { GroupCache } from "./cache.js";
import { Fetches } from "./fetches.js";
import { Group } from "./group.js";
import type { RelayStats } from "./stats.js";
import { GroupPace, Subscription, type SubscriptionHost } from "./subscription.js";
import { TrackInfoCell } from "./track-info.js";
import { sameBytes, UpstreamPort, type PortHost } from "./port.js";
import type { BroadcastSource, TrackInfo, Upstream, UpstreamPrefs, ViewerPrefs, ViewerSink } from "./types.js";

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
  /** Latency budget (ms) for viewers that ask none; 0 = half the observed group interval. */
  readonly viewerLatency: number;
}

const DEFAULT_PREFS: ViewerPrefs = { priority: 0, ordered: false, maxLatency: 0 };

export class Track implements SubscriptionHost, PortHost {
  /** Cached groups, ascending by sequence; the last one is the newest and is always kept. */
  readonly groups: Group[] = [];
  private readonly infoCell: TrackInfoCell;
  private readonly viewers = new Set<Subscription>();
  private upstream: Upstream | undefined;
  /** The sink of the current upstream (undefined when there is none). */
  private port: UpstreamPort | undefined;
  /** Highest group sequence handed to viewers since the upstream started (-1 = none). */
  private highest = -1;
  /** An upstream subscription is wanted (set before asking the source, which may call back at once). */
  private live = false;
  private upstreamPrefs: UpstreamPrefs | undefined;
  /** Upstream said no group at or after this will come. */
  private endedAt: number | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly fetches: Fetches;
  private closed = false;
  private readonly pace = new GroupPace();

  constructor(
    readonly name: string,
    private source: BroadcastSource,
    private readonly env: TrackEnv,
    /** Called when the track holds nothing worth keeping (no viewers, no upstream, no info). */
    private readonly onIdle: (t: Track) => void,
  ) {
    this.fetches = new Fetches(env, () => this.maybeIdle());
    this.infoCell = new TrackInfoCell({
      stats: env.stats,
      ask: () => this.source.trackInfo(this.name),
      learned: () => this.refreshUpstream(),
      maybeIdle: () => this.maybeIdle(),
    });
  }

  get stats(): RelayStats {
    return this.env.stats;
  }

  now(): number {
    return this.env.now();
  }

  timescale(): number | undefined {
    return this.infoCell.value?.timescale;
  }

  defaultLatency(): number {
    return this.env.viewerLatency > 0 ? this.env.viewerLatency : this.pace.budget(this.window());
  }

  /** TRACK_INFO once resolved. */
  get info(): TrackInfo | undefined {
    return this.infoCell.value;
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
    return this.infoCell.request();
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
      this.openUpstream(-1);
      // Learn the publisher's latency window and priority even if no viewer asked for TRACK_INFO.
      if (!this.infoCell.asked) this.trackInfo().catch(() => undefined);
    } else {
      this.refreshUpstream();
    }
    return sub;
  }

  /**
   * The broadcast is now served through `source` (its best route changed). The one upstream moves
   * there: the old subscription is closed first, then the new one opened, so the track never has
   * two. Viewers keep reading; the new route's groups follow what they already got.
   * `publisherChanged`: the new route's hop chain starts at another publisher.
   */
  reroute(source: BroadcastSource, publisherChanged: boolean): void {
    if (this.closed || source === this.source) return;
    const same = this.source.sameAs?.(source) === true;
    this.source = source;
    // TRACK_INFO came from the old route's publisher: ask the new one.
    if (!same || publisherChanged) this.infoCell.forget(this.live);
    if (!this.live) return;
    if (same) {
      // The same upstream session under a new route (a peer whose own route changed): it switched
      // underneath and ours carries on, but another publisher's numbers are checked again.
      if (publisherChanged) this.port?.renumber(this.highest);
      return;
    }
    this.env.stats.reroutes++;
    this.env.stats.upstreamsTotal++;
    const old = this.upstream;
    this.upstream = undefined;
    this.port = undefined;
    old?.close();
    // A clean end from the old route no longer holds: the new one decides.
    this.endedAt = undefined;
    this.openUpstream(this.highest);
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
    // The cache numbers groups as viewers saw them; the current route numbers its own.
    const g = this.fetches.request(this.source, this.name, sequence, sequence - (this.port?.offset ?? 0));
    if (g === undefined) this.maybeIdle();
    return g;
  }


  // --- the upstream side (through the current UpstreamPort) -----------------------------------

  /** @internal upstream started group `sequence` (in its own numbering). */
  portGroup(port: UpstreamPort, upstreamSeq: number, datagram = false): Group | undefined {
    if (this.closed || !this.live || port !== this.port) return undefined;
    if (port.offset === undefined) {
      // The first group of a moved upstream. Moving forward: keep its numbers (a jump is fine).
      // Not: either the same publisher's group viewers already have, or another publisher's
      // numbering; its first frame tells which (probe).
      if (upstreamSeq + port.shift > this.highest) port.offset = port.shift;
      else return this.probe(port, upstreamSeq, datagram);
    }
    const sequence = upstreamSeq + port.offset;
    if (this.get(sequence) !== undefined) return undefined; // a duplicate (datagram + stream, or a moved route)
    if (sequence <= port.floor) return undefined; // viewers are past it (a straggler of a moved route)
    const g = new Group(sequence, this.env.now());
    g.datagram = datagram;
    this.admit(g);
    return g;
  }

  /**
   * Hold the first group of a moved upstream aside until its first frame: the same bytes as the
   * cached group of that number = the same publisher (a group viewers have: dropped, numbers kept);
   * else another publisher, whose groups are numbered on from the last one viewers got.
   */
  private probe(port: UpstreamPort, upstreamSeq: number, datagram: boolean): Group {
    const candidate = this.highest + 1;
    const g = new Group(candidate, this.env.now());
    g.datagram = datagram;
    port.probe = g;
    g.onAppend = () => {
      g.onAppend = null;
      if (port.probe !== g) return void (g.cached = false); // a later group superseded it
      port.probe = undefined;
      if (this.closed || port !== this.port || port.offset !== undefined || this.highest >= candidate) return void (g.cached = false);
      const twin = this.get(upstreamSeq + port.shift);
      if (twin !== undefined && twin.payloads.length > 0 && sameBytes(twin.payloads[0], g.payloads[0])) {
        port.offset = port.shift;
        g.cached = false; // nobody reads it: its frames are dropped as they come
        return;
      }
      port.offset = candidate - upstreamSeq;
      this.admit(g);
    };
    return g;
  }

  /** Cache a new group from upstream (frames it already holds included) and offer it to viewers. */
  private admit(g: Group): void {
    const sequence = g.sequence;
    g.onAppend = (n) => {
      this.env.stats.bytesIn += n;
      this.env.stats.framesIn++;
      if (g.cached) {
        this.env.stats.cacheBytes += n;
        this.env.cache.grew(n);
      }
      // Each frame of the newest group: viewers behind it drop what got too old to send.
      if (sequence === this.highest) for (const s of this.viewers) s.check();
    };
    let i = this.groups.length;
    while (i > 0 && this.groups[i - 1].sequence > sequence) i--;
    this.groups.splice(i, 0, g);
    if (sequence > this.highest) {
      this.highest = sequence;
      this.pace.arrived(g.arrived);
    }
    this.env.stats.groupsIn++;
    this.env.stats.bytesIn += g.bytes;
    this.env.stats.framesIn += g.frameCount;
    this.env.stats.cacheBytes += g.bytes;
    this.env.cache.added({ group: g, evict: () => this.evict(g) });
    if (g.bytes > 0) this.env.cache.grew(g.bytes);
    this.expire();
    for (const s of this.viewers) s.offer(g);
  }

  /** @internal the upstream's first group: viewers still waiting for theirs start there. */
  portStart(port: UpstreamPort, start: number): void {
    // A moved upstream's numbers are not settled yet; its viewers have started anyway.
    if (this.closed || port !== this.port || port.offset === undefined) return;
    const first = start + port.offset;
    if (first > port.floor) for (const s of this.viewers) s.upstreamStart(first);
  }

  /** @internal upstream promised nothing at or after `end` (its numbering). */
  portEnd(port: UpstreamPort, end: number): void {
    if (this.closed || port !== this.port || this.endedAt !== undefined) return;
    this.endedAt = end + (port.offset ?? 0);
    for (const s of this.viewers) s.trackEnded(this.endedAt);
  }

  /** @internal the upstream subscription is over (`code` undefined = cleanly). */
  portClose(port: UpstreamPort, code?: number): void {
    if (this.closed || !this.live || port !== this.port) return;
    if (code === undefined) {
      // Ended cleanly: what is cached stays servable until the viewers leave.
      this.portEnd(port, this.endedAt !== undefined ? this.endedAt - (port.offset ?? 0) : (this.latest?.sequence ?? -1) + 1 - (port.offset ?? 0));
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
    this.fetches.abortAll(code ?? 0);
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
    const publisher = this.infoCell.value?.maxLatency || DEFAULT_MAX_LATENCY;
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
    const info = this.infoCell.value;
    return { priority: info?.priority ?? 0, ordered: info?.ordered ?? false, maxLatency: unlimited ? 0 : latency };
  }

  private refreshUpstream(): void {
    if (this.upstream === undefined || this.viewers.size === 0) return;
    const next = this.mergedPrefs();
    const prev = this.upstreamPrefs;
    if (prev !== undefined && prev.priority === next.priority && prev.ordered === next.ordered && prev.maxLatency === next.maxLatency) return;
    this.upstreamPrefs = next;
    this.upstream.update(next);
  }

  /**
   * Subscribe to the current source through a new port (the source may fail it synchronously).
   * `floor`: the highest group viewers have had (-1 = none: the upstream's numbers are taken as is).
   */
  private openUpstream(floor: number): void {
    const port = new UpstreamPort(this, floor);
    this.port = port;
    const up = this.source.subscribe(this.name, port, this.upstreamPrefs ?? this.mergedPrefs());
    if (this.live && this.port === port) this.upstream = up;
    else up.close();
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
    g.shed();
  }

  /** Forget cached groups and the end state (upstream gone). */
  private reset(code: number | undefined): void {
    for (const g of this.groups) {
      if (!g.done) g.abort(code ?? 0);
      this.uncache(g);
    }
    this.groups.length = 0;
    this.endedAt = undefined;
    this.highest = -1;
  }

  private dropUpstream(unsubscribe: boolean): void {
    if (!this.live) return;
    this.live = false;
    this.env.stats.upstreams--;
    const up = this.upstream;
    this.upstream = undefined;
    this.port = undefined;
    this.upstreamPrefs = undefined;
    if (unsubscribe) up?.close();
  }

  private release(): void {
    this.dropUpstream(true);
    this.reset(undefined);
    this.maybeIdle();
  }

  private maybeIdle(): void {
    if (this.viewers.size === 0 && !this.live && this.fetches.size === 0 && this.infoCell.value === undefined && !this.infoCell.asked) this.onIdle(this);
  }
}
