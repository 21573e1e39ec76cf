// Every broadcast the relay knows, by path, and who wants to hear about them. Announcing a path
// that is already active replaces the old source atomically (a publisher reconnecting).
import type { CacheConfig } from "../config/types.js";
import { hasPrefix } from "../util/path.js";
import { Broadcast, type BroadcastSource } from "./broadcast.js";
import { GroupCache } from "./cache.js";

export type AnnounceListener = (path: string, broadcast: Broadcast | undefined) => void;

interface Watch {
  prefix: string;
  fn: AnnounceListener;
}

export class Origin {
  private readonly broadcasts = new Map<string, Broadcast>();
  private readonly watches = new Set<Watch>();
  readonly cache: GroupCache;

  constructor(private readonly cfg: CacheConfig) {
    this.cache = new GroupCache(cfg.max_bytes);
  }

  get size(): number {
    return this.broadcasts.size;
  }

  announce(path: string, source: BroadcastSource, hops: bigint[]): Broadcast {
    const b = new Broadcast(path, source, hops, this.cache, { maxAge: this.cfg.max_age, linger: this.cfg.linger });
    const old = this.broadcasts.get(path);
    this.broadcasts.set(path, b);
    old?.close(undefined);
    this.notify(path, b);
    return b;
  }

  /** Remove `b` if it is still the active broadcast at its path. */
  unannounce(b: Broadcast, code?: number): void {
    b.close(code);
    if (this.broadcasts.get(b.path) !== b) return;
    this.broadcasts.delete(b.path);
    this.notify(b.path, undefined);
  }

  get(path: string): Broadcast | undefined {
    return this.broadcasts.get(path);
  }

  /** Active broadcasts under `prefix`. */
  list(prefix: string): Broadcast[] {
    const out: Broadcast[] = [];
    for (const b of this.broadcasts.values()) if (hasPrefix(b.path, prefix)) out.push(b);
    return out;
  }

  /** Live changes under `prefix` (call `list` first for the current set). */
  watch(prefix: string, fn: AnnounceListener): () => void {
    const w = { prefix, fn };
    this.watches.add(w);
    return () => this.watches.delete(w);
  }

  private notify(path: string, b: Broadcast | undefined): void {
    for (const w of this.watches) if (hasPrefix(path, w.prefix)) w.fn(path, b);
  }

  /** Drop everything (shutdown). */
  close(): void {
    for (const b of [...this.broadcasts.values()]) this.unannounce(b);
  }
}
