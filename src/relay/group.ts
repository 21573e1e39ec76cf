// A group as the relay caches it: frames appended as they arrive from upstream, shared by every
// viewer through its own read cursor (no per-viewer copies), finished or aborted once.

export interface Frame {
  /** In the track's timescale. */
  timestamp: number;
  payload: Uint8Array;
}

export class Group {
  readonly frames: Frame[] = [];
  bytes = 0;
  done = false;
  /** Reset code when upstream aborted the group. */
  error: number | undefined;
  readonly arrived = Date.now();
  /** Set once the cache dropped this group (viewers already reading it may finish). */
  evicted = false;
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly sequence: number,
    private readonly onBytes: (n: number) => void = () => undefined,
  ) {}

  append(timestamp: number, payload: Uint8Array): void {
    if (this.done) return;
    this.frames.push({ timestamp, payload });
    this.bytes += payload.byteLength;
    this.onBytes(payload.byteLength);
    this.notify();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.notify();
  }

  abort(code: number): void {
    if (this.done) return;
    this.done = true;
    this.error = code;
    this.notify();
  }

  /** Called on every new frame and on completion; returns an unwatch function. */
  watch(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private notify(): void {
    for (const w of this.watchers) w();
  }
}
