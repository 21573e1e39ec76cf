// Every broadcast the relay knows, by normalised path, and who wants to hear about them. Announcing
// a path that is already active replaces the old source atomically (a publisher reconnecting):
// watchers see the new broadcast without an "ended" gap in between.
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
  /**
   * `b` is active. `restart`: it replaces a broadcast at the same path this watcher was already
   * shown (the old one is gone; no separate ended is delivered for it).
   */
  active(b: Broadcast, restart: boolean): void;
  /** `b` is gone. */
  ended(b: Broadcast): void;
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
  limits: Pick<LimitsConfig, "subscriber_queue_groups">;
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

export class Origin {
  readonly stats = new RelayStats();
  readonly cache: GroupCache;
  private readonly broadcasts = new Map<string, Broadcast>();
  private readonly watchers = new Set<Watcher>();
  private readonly env: TrackEnv;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sweepInterval: number;

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
    };
  }

  /** Active broadcasts. */
  get size(): number {
    return this.broadcasts.size;
  }

  /**
   * Make `path` active with `source`. `hops`: the origins the announcement came through (not this
   * relay). Replaces an active broadcast at the same path. Returns the handle; close() it to
   * unannounce.
   */
  announce(path: string, source: BroadcastSource, hops: readonly bigint[] = []): Broadcast {
    const p = normalize(path);
    if (!isValid(p)) throw new RangeError(`invalid broadcast path "${path}"`);
    if (hops.length > MAX_HOPS) throw new RangeError(`hop chain of ${hops.length} exceeds ${MAX_HOPS}`);
    const b = new Broadcast(p, source, [...hops], this.env, (x, code) => this.unannounce(x, code));
    const old = this.broadcasts.get(p);
    this.broadcasts.set(p, b);
    this.stats.announces++;
    if (old === undefined) this.stats.broadcasts++;
    for (const w of this.watchers) {
      if (!hasPrefix(p, w.prefix)) continue;
      const sawOld = old !== undefined && visible(w, old);
      if (visible(w, b)) w.listener.active(b, sawOld);
      else if (sawOld) w.listener.ended(old);
    }
    // After the watchers moved on, so the old viewers' endings cannot race the new announcement.
    old?.shutdown(undefined);
    this.startSweep();
    return b;
  }

  /** The active broadcast at `path`. */
  lookup(path: string): Broadcast | undefined {
    return this.broadcasts.get(normalize(path));
  }

  /** Active broadcasts under `prefix` (whole segments), optionally filtered. */
  list(prefix: string, filter?: (b: Broadcast) => boolean): Broadcast[] {
    const p = normalize(prefix);
    const out: Broadcast[] = [];
    for (const b of this.broadcasts.values()) if (hasPrefix(b.path, p) && (filter === undefined || filter(b))) out.push(b);
    return out;
  }

  /**
   * Follow broadcasts under `prefix`: the current ones are delivered (as active, synchronously)
   * before this returns, then changes as they happen.
   */
  watch(prefix: string, listener: AnnounceListener, opts: WatchOptions = {}): Watch {
    const w: Watcher = { prefix: normalize(prefix), listener, filter: opts.filter };
    for (const b of this.list(w.prefix, w.filter)) listener.active(b, false);
    this.watchers.add(w);
    return { close: () => void this.watchers.delete(w) };
  }

  /** Number of live watches (sessions' announce streams). */
  get watchCount(): number {
    return this.watchers.size;
  }

  /** Drop every broadcast (shutdown). */
  close(): void {
    for (const b of [...this.broadcasts.values()]) this.unannounce(b, undefined);
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private unannounce(b: Broadcast, code: number | undefined): void {
    if (this.broadcasts.get(b.path) === b) {
      this.broadcasts.delete(b.path);
      this.stats.broadcasts--;
      for (const w of this.watchers) if (hasPrefix(b.path, w.prefix) && visible(w, b)) w.listener.ended(b);
      if (this.broadcasts.size === 0) {
        clearInterval(this.sweepTimer);
        this.sweepTimer = undefined;
      }
    }
    b.shutdown(code);
  }

  private startSweep(): void {
    if (this.sweepTimer !== undefined || this.sweepInterval <= 0) return;
    this.sweepTimer = setInterval(() => {
      for (const b of this.broadcasts.values()) b.forEachTrack((t) => t.expire());
    }, this.sweepInterval);
    this.sweepTimer.unref();
  }
}

function visible(w: Watcher, b: Broadcast): boolean {
  return w.filter === undefined || w.filter(b);
}
