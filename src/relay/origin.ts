// Every broadcast the relay knows, by normalised path, and who wants to hear about them. A path may
// be reachable several ways (local publishers, cluster peers): each is a route, and the best one
// serves it. Switching routes (a better route, the serving one lost, a standby publisher taking
// over) keeps the broadcast: each track moves its one upstream to the new route under its viewers,
// who keep their subscriptions. Watchers hear of it only where the new hop chain changes what
// they may see (a peer must not be offered its own broadcasts back).
import type { CacheConfig, LimitsConfig } from "../config/types.js";
import { hasPrefix, isValid, normalize } from "../util/path.js";
import { Broadcast } from "./broadcast.js";
import { GroupCache } from "./cache.js";
import { RelayStats } from "./stats.js";
import type { TrackEnv } from "./track.js";
import type { BroadcastSource } from "./types.js";

/** Longest hop chain an announcement may carry (the Rust and JS MAX_HOPS). */
export const MAX_HOPS = 32;

export interface AnnounceListener {
  /** `b` is active (and visible to this watcher). */
  active(b: Broadcast): void;
  /** `b` is gone. */
  ended(b: Broadcast): void;
  /**
   * `b` (still visible to this watcher) is served through another route now: its hop chain
   * changed. Optional: viewers need not hear of it; peers re-announce the new chain.
   */
  rerouted?(b: Broadcast): void;
}

export interface WatchOptions {
  /** Per-watcher visibility (grants, not echoing a session's own broadcasts, loop prevention). */
  filter?: (b: Broadcast) => boolean;
}

export interface Watch {
  close(): void;
}

export interface OriginConfig {
  cache: CacheConfig;
  limits: Pick<LimitsConfig, "subscriber_queue_groups"> & Partial<Pick<LimitsConfig, "subscriber_max_latency">>;
}

export interface OriginOptions {
  /** Clock in ms (tests substitute their own). */
  now?: () => number;
  /** How often idle tracks drop expired groups (ms); groups also expire whenever a new one arrives. */
  sweepInterval?: number;
}

interface Watcher {
  prefix: string;
  listener: AnnounceListener;
  filter: ((b: Broadcast) => boolean) | undefined;
}

/** How a route is ranked against other routes to the same path. */
export interface RouteOptions {
  /**
   * Summed cost of reaching the publisher this way: 0 for a local publisher (the default), the
   * link cost plus one per further hop for a route learned from a cluster peer.
   */
  cost?: number;
  /** Origin id of the peer link this route came through; 0n = a local publisher. */
  via?: bigint;
}

/** One way to reach a broadcast (a publishing session, or a peer that knows one). */
interface Route {
  readonly path: string;
  readonly source: BroadcastSource;
  readonly hops: readonly bigint[];
  readonly cost: number;
  readonly via: bigint;
  /** Announce order: among equal local routes the newest wins (a reconnecting publisher). */
  readonly seq: number;
  /** Its link died: kept (ranked last) until the linger timer withdraws it. */
  lingering: boolean;
  timer: NodeJS.Timeout | undefined;
  removed: boolean;
}

/** Every route to one path, and the broadcast currently served through the best of them. */
interface Entry {
  routes: Route[];
  current: Route | undefined;
  broadcast: Broadcast | undefined;
}

/** A route's handle: withdraw it, at once or after a linger (its link died ungracefully). */
export interface RouteHandle {
  readonly path: string;
  /** Withdraw now. `code`: the MoQ code viewers get if this was the serving route and none is left. */
  close(code?: number): void;
  /** The link died: keep the broadcast announced up to `ms` in case it comes back, unless another route serves it. */
  linger(ms: number): void;
}

/**
 * Order routes best first: live before lingering, then lowest summed cost, then fewest hops,
 * then (between routes through peers) a deterministic order of the hop chains, so relays seeing
 * the same candidates agree, and last the newest announcement.
 */
export function compareRoutes(a: RankedRoute, b: RankedRoute): number {
  if (a.lingering !== b.lingering) return a.lingering ? 1 : -1;
  if (a.cost !== b.cost) return a.cost - b.cost;
  if (a.hops.length !== b.hops.length) return a.hops.length - b.hops.length;
  // Local publishers: the newest wins (a reconnecting publisher replaces its old session).
  if (a.via !== 0n && b.via !== 0n) {
    for (let i = 0; i < a.hops.length; i++) if (a.hops[i] !== b.hops[i]) return a.hops[i] < b.hops[i] ? -1 : 1;
  }
  return b.seq - a.seq;
}

type RankedRoute = Pick<Route, "lingering" | "cost" | "hops" | "seq" | "via">;

export class Origin {
  readonly stats = new RelayStats();
  readonly cache: GroupCache;
  private readonly entries = new Map<string, Entry>();
  private readonly watchers = new Set<Watcher>();
  private readonly env: TrackEnv;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sweepInterval: number;
  private routeSeq = 0;
  private liveCount = 0;

  constructor(cfg: OriginConfig, opts: OriginOptions = {}) {
    this.cache = new GroupCache(cfg.cache.max_bytes);
    const now = opts.now ?? Date.now;
    this.sweepInterval = opts.sweepInterval ?? 1000;
    this.env = {
      cache: this.cache,
      stats: this.stats,
      now,
      maxAge: cfg.cache.max_age,
      linger: cfg.cache.linger,
      queueGroups: Math.max(1, cfg.limits.subscriber_queue_groups),
      viewerLatency: cfg.limits.subscriber_max_latency ?? 0,
    };
  }

  /** Active broadcasts. */
  get size(): number {
    return this.liveCount;
  }

  /**
   * Make `path` active with `source` (a local publisher: it outranks routes through peers).
   * `hops`: the origins the announcement came through (not this relay). Replaces an active local
   * broadcast at the same path. Returns the broadcast; close() it to unannounce.
   */
  announce(path: string, source: BroadcastSource, hops: readonly bigint[] = []): Broadcast {
    const h = this.route(path, source, hops);
    const b = this.entries.get(normalize(path))?.broadcast;
    if (b === undefined || b.source !== source) throw new Error(`announce of "${h.path}" did not take effect`);
    return b;
  }

  /**
   * Add a route to `path`. The best route of a path (see compareRoutes) is what viewers get; a
   * better one arriving, or the serving one going away, switches the broadcast's upstreams over
   * at once, under its viewers. Returns the route's handle.
   */
  route(path: string, source: BroadcastSource, hops: readonly bigint[] = [], opts: RouteOptions = {}): RouteHandle {
    const p = normalize(path);
    if (!isValid(p)) throw new RangeError(`invalid broadcast path "${path}"`);
    if (hops.length > MAX_HOPS) throw new RangeError(`hop chain of ${hops.length} exceeds ${MAX_HOPS}`);
    const r: Route = { path: p, source, hops: [...hops], cost: opts.cost ?? 0, via: opts.via ?? 0n, seq: this.routeSeq++, lingering: false, timer: undefined, removed: false };
    let e = this.entries.get(p);
    if (e === undefined) {
      e = { routes: [], current: undefined, broadcast: undefined };
      this.entries.set(p, e);
    }
    e.routes.push(r);
    this.select(p, e, undefined);
    return {
      path: p,
      close: (code?: number) => this.remove(r, code),
      linger: (ms: number) => {
        if (r.removed || r.lingering) return;
        if (ms <= 0) return this.remove(r, undefined);
        r.lingering = true;
        r.timer = setTimeout(() => this.remove(r, undefined), ms);
        r.timer.unref();
        const ent = this.entries.get(p);
        if (ent !== undefined) this.select(p, ent, undefined);
      },
    };
  }

  /**
   * Withdraw the routes to `path` whose source is `source`: a publisher ending its own
   * announcement, whether or not it is the one serving the path now (Broadcast.close() withdraws
   * whichever route serves it).
   */
  withdraw(path: string, source: BroadcastSource, code?: number): void {
    const e = this.entries.get(normalize(path));
    if (e === undefined) return;
    for (const r of [...e.routes]) if (r.source === source) this.remove(r, code);
  }

  /** Routes known for `path` (best first): cost, hops, via, lingering. */
  routes(path: string): Array<{ cost: number; hops: readonly bigint[]; via: bigint; lingering: boolean; serving: boolean }> {
    const e = this.entries.get(normalize(path));
    if (e === undefined) return [];
    return [...e.routes].sort(compareRoutes).map((r) => ({ cost: r.cost, hops: r.hops, via: r.via, lingering: r.lingering, serving: r === e.current }));
  }

  /** Routes learned through the peer link `via`, over all paths. */
  routeCount(via: bigint): number {
    let n = 0;
    for (const e of this.entries.values()) for (const r of e.routes) if (r.via === via) n++;
    return n;
  }

  /** The active broadcast at `path`. */
  lookup(path: string): Broadcast | undefined {
    return this.entries.get(normalize(path))?.broadcast;
  }

  /** Active broadcasts under `prefix` (whole segments), optionally filtered. */
  list(prefix: string, filter?: (b: Broadcast) => boolean): Broadcast[] {
    const p = normalize(prefix);
    const out: Broadcast[] = [];
    for (const e of this.entries.values()) {
      const b = e.broadcast;
      if (b !== undefined && hasPrefix(b.path, p) && (filter === undefined || filter(b))) out.push(b);
    }
    return out;
  }

  /** Every active broadcast (for /nodes and metrics). */
  all(): Broadcast[] {
    return this.list("");
  }

  /**
   * Follow broadcasts under `prefix`: the current ones are delivered (as active, synchronously)
   * before this returns, then changes as they happen.
   */
  watch(prefix: string, listener: AnnounceListener, opts: WatchOptions = {}): Watch {
    const w: Watcher = { prefix: normalize(prefix), listener, filter: opts.filter };
    for (const b of this.list(w.prefix, w.filter)) listener.active(b);
    this.watchers.add(w);
    return { close: () => void this.watchers.delete(w) };
  }

  /** Number of live watches (sessions' announce streams). */
  get watchCount(): number {
    return this.watchers.size;
  }

  /** Drop every broadcast (shutdown). */
  close(): void {
    for (const [p, e] of [...this.entries]) {
      for (const r of e.routes) {
        r.removed = true;
        clearTimeout(r.timer);
      }
      e.routes = [];
      this.select(p, e, undefined);
    }
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private remove(r: Route, code: number | undefined): void {
    if (r.removed) return;
    r.removed = true;
    clearTimeout(r.timer);
    const e = this.entries.get(r.path);
    if (e === undefined) return;
    const i = e.routes.indexOf(r);
    if (i >= 0) e.routes.splice(i, 1);
    this.select(r.path, e, code);
  }

  /** Serve `p` through its best route: reroute it, withdraw it, or leave it. */
  private select(p: string, e: Entry, code: number | undefined): void {
    let best: Route | undefined;
    for (const r of e.routes) if (best === undefined || compareRoutes(r, best) < 0) best = r;
    if (best === e.current) return;
    const old = e.broadcast;
    e.current = best;
    if (best === undefined) {
      e.broadcast = undefined;
      this.entries.delete(p);
      if (old === undefined) return;
      this.liveCount--;
      this.stats.broadcasts--;
      for (const w of this.watchers) if (hasPrefix(p, w.prefix) && visible(w, old)) w.listener.ended(old);
      if (this.liveCount === 0) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = undefined;
      }
      old.shutdown(code);
      return;
    }
    if (old !== undefined) {
      this.reroute(p, old, best);
      return;
    }
    const b = new Broadcast(p, best.source, best.hops, this.env, (self, c) => {
      // Withdraws whichever route serves it now.
      const cur = this.entries.get(p);
      if (cur?.broadcast === self && cur.current !== undefined) this.remove(cur.current, c);
    });
    e.broadcast = b;
    this.stats.announces++;
    this.liveCount++;
    this.stats.broadcasts++;
    for (const w of this.watchers) if (hasPrefix(p, w.prefix) && visible(w, b)) w.listener.active(b);
    this.startSweep();
  }

  /** Serve `b` through `route` now: its tracks move their upstreams; watchers hear what changed for them. */
  private reroute(p: string, b: Broadcast, route: Route): void {
    this.stats.announces++;
    const before: Array<[Watcher, boolean]> = [];
    for (const w of this.watchers) if (hasPrefix(p, w.prefix)) before.push([w, visible(w, b)]);
    b.reroute(route.source, route.hops);
    for (const [w, was] of before) {
      if (!this.watchers.has(w)) continue;
      const now = visible(w, b);
      if (was && now) w.listener.rerouted?.(b);
      else if (was) w.listener.ended(b);
      else if (now) w.listener.active(b);
    }
  }

  private startSweep(): void {
    if (this.sweepTimer !== undefined || this.sweepInterval <= 0) return;
    this.sweepTimer = setInterval(() => {
      for (const e of this.entries.values()) e.broadcast?.forEachTrack((t) => t.expire());
    }, this.sweepInterval);
    this.sweepTimer.unref();
  }
}

function visible(w: Watcher, b: Broadcast): boolean {
  return w.filter === undefined || w.filter(b);
}
