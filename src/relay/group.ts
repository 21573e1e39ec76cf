// A group as the relay holds it: frames appended as they arrive from upstream and shared by every
// viewer through its own cursor. Payloads are kept as the views the transport handed over (no
// copy), timestamps in a parallel array (no object per frame).

/** Told when a cursor is done with its group (the owner frees a queue slot). */
export interface CursorOwner {
  released(cursor: GroupCursor): void;
}

export class Group {
  readonly payloads: Uint8Array[] = [];
  /** Absolute, in the track's timescale; same index as `payloads`. */
  readonly timestamps: number[] = [];
  /** Payload bytes held. */
  bytes = 0;
  /** Finished (cleanly, or aborted when `error` is set): no more frames. */
  done = false;
  /** The MoQ code upstream reset the group with. */
  error: number | undefined;
  /** False once the cache let go of it: viewers already reading it may finish, nobody new finds it. */
  cached = true;
  /** It arrived as one datagram (a single-frame group): viewers that take datagrams may get it so. */
  datagram = false;
  /** Called with each appended payload's size (the track charges its byte budget). */
  onAppend: ((bytes: number) => void) | null = null;
  private readonly readers = new Set<GroupCursor>();

  constructor(
    readonly sequence: number,
    /** When the group began arriving (ms, the origin's clock). */
    readonly arrived: number,
  ) {}

  get frameCount(): number {
    return this.payloads.length;
  }

  /** Viewers currently reading it. */
  get readerCount(): number {
    return this.readers.size;
  }

  append(timestamp: number, payload: Uint8Array): void {
    if (this.done) return;
    // Dropped from the cache and nobody reading: keeping frames would only hold memory no one
    // accounts for.
    if (!this.cached && this.readers.size === 0) return;
    this.payloads.push(payload);
    this.timestamps.push(timestamp);
    this.bytes += payload.byteLength;
    this.onAppend?.(payload.byteLength);
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

  /** @internal cursors register themselves */
  attach(c: GroupCursor): void {
    this.readers.add(c);
  }

  /** @internal */
  detach(c: GroupCursor): void {
    this.readers.delete(c);
    // The last reader of a group the cache let go of: its frames go (once the reader's current
    // turn is over; it may still be looking at them).
    if (!this.cached && this.readers.size === 0 && this.payloads.length > 0) queueMicrotask(() => this.shed());
  }

  /**
   * Out of the cache and unread: drop the frames. The publisher's stream may still be open and
   * hold the group (a publisher that never finishes its groups), and must not pin what the cache
   * budget let go of; later frames are not kept either (append).
   */
  shed(): void {
    if (this.cached || this.readers.size > 0) return;
    this.payloads.length = 0;
    this.timestamps.length = 0;
  }

  private notify(): void {
    for (const c of this.readers) c.onChange?.();
  }
}

/**
 * One viewer's read position in a group. The session pumps frames `index..frameCount` to its
 * stream, waits for onChange when it has caught up, and calls close() once it is done (group
 * finished and written, or the stream died).
 */
export class GroupCursor {
  /** Next frame to read. */
  index = 0;
  /** New frames arrived, or the group finished or aborted. */
  onChange: (() => void) | null = null;
  /** The relay abandoned this group for this viewer (it fell behind): reset the stream with `code`. */
  onDrop: ((code: number) => void) | null = null;
  /**
   * Set by the session: the oldest frame it has not handed to the network yet (frames written to a
   * stream whose transport still queues them count as unsent). It may close() the cursor when the
   * group's last bytes have left. Unset: every frame read counts as sent.
   */
  onUnsent: (() => number) | null = null;
  private active = true;

  constructor(
    readonly group: Group,
    private readonly owner?: CursorOwner,
  ) {
    group.attach(this);
  }

  get sequence(): number {
    return this.group.sequence;
  }

  /** Frames cached but not read yet. */
  get available(): number {
    return this.group.payloads.length - this.index;
  }

  /** Every frame read and the group finished (check `group.error` for an abort). */
  get finished(): boolean {
    return this.group.done && this.index === this.group.payloads.length;
  }

  get isActive(): boolean {
    return this.active;
  }

  /** A subscription holds it and asks unsentFrom() as frames arrive (a fetch's cursor has no owner). */
  get polled(): boolean {
    return this.owner !== undefined;
  }

  /** The oldest frame not handed to the network yet (frameCount or more: none). */
  unsentFrom(): number {
    return this.onUnsent?.() ?? this.index;
  }

  /** The viewer is done with this group. Idempotent. */
  close(): void {
    if (!this.active) return;
    this.active = false;
    this.group.detach(this);
    this.owner?.released(this);
  }

  /** @internal the relay skips this group for this viewer. */
  drop(code: number): void {
    if (!this.active) return;
    this.active = false;
    this.group.detach(this);
    this.onDrop?.(code);
  }
}
