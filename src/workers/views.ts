// The main process's operations views over all workers: RelayStats and ServerCounters that read,
// whenever the exporter reads them, the main process's own numbers plus the latest snapshot of each
// worker (at most STATS_INTERVAL old). Sums, except the broadcasts gauge: the work of carrying a
// track from one worker to another (its upstream subscriptions, bytes, tracks) counts in each, as
// two cluster relays would each count it.
import { RelayStats } from "../relay/stats.js";
import { ServerCounters } from "../server/counters.js";
import { COUNTER_MAPS, type Snapshot } from "./messages.js";

export class WorkerViews {
  /** The latest snapshot of each worker, by index (undefined until its first). */
  readonly snapshots: Array<Snapshot | undefined>;

  constructor(count: number) {
    this.snapshots = Array.from({ length: count }, () => undefined);
  }

  private sum(key: string): number {
    let n = 0;
    for (const s of this.snapshots) n += s?.stats[key] ?? 0;
    return n;
  }

  /** Live sessions on the workers. */
  sessions(): number {
    let n = 0;
    for (const s of this.snapshots) n += s?.sessions ?? 0;
    return n;
  }

  /**
   * `main`'s numbers plus the workers', read live. Broadcasts are the main process's alone: every
   * worker announces its whole origin to it, so it holds each broadcast once.
   */
  stats(main: RelayStats): RelayStats {
    const view = new RelayStats();
    for (const key of Object.keys(view) as Array<keyof RelayStats>) {
      const read = key === "broadcasts" ? (): number => main[key] : (): number => main[key] + this.sum(key);
      Object.defineProperty(view, key, { enumerable: true, get: read });
    }
    return view;
  }

  /** `main`'s counter maps merged with the workers', read live (a view: never counted into). */
  counters(main: ServerCounters): ServerCounters {
    const view = new ServerCounters();
    for (const name of COUNTER_MAPS) {
      Object.defineProperty(view, name, {
        enumerable: true,
        get: () => {
          const merged = new Map(main[name]);
          for (const s of this.snapshots) for (const [k, n] of s?.counters[name] ?? []) merged.set(k, (merged.get(k) ?? 0) + n);
          return merged;
        },
      });
    }
    return view;
  }

  /** Tracks held by the workers' relay cores (a sum over workers). */
  trackCount(): number {
    return this.sum("trackCount");
  }

  /** What /nodes shows of each worker: its sessions and the tracks it holds an upstream for. */
  describe(): unknown[] {
    return this.snapshots.map((s, worker) => ({
      worker,
      sessions: s?.sessions ?? 0,
      broadcasts: s?.stats.broadcasts ?? 0,
      upstream_subscriptions: s?.stats.upstreams ?? 0,
      subscriptions: s?.stats.subscriptions ?? 0,
      tracks: (s?.tracks ?? []).map((t) => ({ ...t, upstreams: 1 })),
    }));
  }
}
