// The viewer pump shared by moq-lite and IETF: one group's frames written from the cache to a uni
// stream (GroupPump), and the stream opener a viewer subscription puts its groups behind
// (UniOpener). The protocols differ only in the bytes around each frame.
//
// Stream credit: a viewer may withhold uni-stream credit, so openUni() can wait indefinitely.
// Each subscription keeps at most one open in flight; groups wait in a short list (bounded by
// the subscription's in-flight limit in the relay core, which drops the oldest), and a stream
// that arrives goes to the most wanted group still waiting. A group dropped while waiting never
// gets a stream, and nothing the transport queues holds a group.
import type { Group, GroupCursor } from "../relay/group.js";
import type { RelayStats } from "../relay/stats.js";
import type { SendStream } from "../transport/session.js";
import { Code } from "./error.js";
import { BatchedSend } from "./batch.js";

/**
 * Writes one group's frames from a cursor to a stream, as fast as the transport takes them, then
 * FINs (or resets with the upstream's code). Subclasses write each frame's head and payload.
 *
 * The relay core decides when a viewer is behind from what has not left yet (cursor.onUnsent):
 * frames not written, and frames written but still queued in the transport (writableLength).
 * So after the FIN the cursor stays open while bytes are queued (the "tail"): the core can still
 * drop the group, and the stream is then reset rather than sending stale frames late.
 */
export abstract class GroupPump {
  /** The stream, with the small writes of one pump() run gathered (batch.ts). */
  private out: BatchedSend | undefined;
  private blocked = false;
  private done = false;
  /** FIN written with bytes still queued in the transport: the cursor stays open until they leave. */
  private tail = false;
  /** Code to reset with if the pump was aborted before its stream opened. */
  private abortCode: number = Code.Cancel;
  private rankValue = 0;
  /** Bytes written to the stream (header and frames). */
  private written = 0;
  /** `written` after each frame: frame i has left once written - writableLength >= ends[i]. */
  private readonly ends: number[] = [];
  /** Frames known to have left (ends[0..sent) are behind the transport's queue). */
  private sent = 0;

  constructor(
    private readonly cursor: GroupCursor,
    protected readonly stats: RelayStats,
    private readonly onDone: (p: GroupPump) => void,
  ) {
    cursor.onChange = () => {
      if (this.out !== undefined && !this.blocked) this.pump();
    };
    cursor.onDrop = (code) => this.abort(code);
    cursor.onUnsent = () => this.unsentFrom();
  }

  get group(): Group {
    return this.cursor.group;
  }

  get sequence(): number {
    return this.cursor.sequence;
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Lower is sent first (SendStream.priority); kept until the stream opens. */
  get rank(): number {
    return this.rankValue;
  }

  set rank(r: number) {
    this.rankValue = r;
    if (this.out !== undefined) this.out.priority = r;
  }

  /** The stream is open: write `header` (if any), then frames. */
  attach(out: SendStream, header?: Uint8Array): void {
    if (this.done) {
      out.reset(this.abortCode);
      return;
    }
    this.out = new BatchedSend(out);
    out.priority = this.rankValue;
    out.onDrain = () => {
      this.blocked = false;
      if (!this.done) this.pump();
    };
    // The viewer stopped reading (or the session closed): nothing to reset.
    out.onStop = () => this.finish();
    if (header !== undefined) {
      const before = this.out.writableLength;
      if (!this.out.write(header)) this.blocked = true;
      this.written += this.out.writableLength - before;
    }
    if (!this.blocked) this.pump();
  }

  /** Give up on the group: reset the stream with `code` (also after the FIN, while bytes are queued). */
  abort(code: number): void {
    if (this.done) {
      if (!this.tail) return;
      this.tail = false;
      this.out?.reset(code);
      this.cursor.close();
      return;
    }
    this.abortCode = code;
    this.out?.reset(code);
    this.finish();
  }

  /** Write frame `payload` (its head, then the payload itself); false when the stream is full. */
  protected abstract frame(out: SendStream, timestamp: number, payload: Uint8Array): boolean;

  private pump(): void {
    const out = this.out as BatchedSend;
    const c = this.cursor;
    const g = c.group;
    this.frames(out);
    // What the run gathered goes out now (a frame must not wait for the next one).
    if (!out.flush()) this.blocked = true;
    if (this.blocked || !g.done) return;
    if (g.error !== undefined) out.reset(g.error);
    else {
      out.end();
      // Only a subscription's cursor is asked again later; nobody would release a fetch's tail.
      this.tail = this.cursor.polled && out.writableLength > 0;
    }
    this.finish();
  }

  /** Write the frames that have arrived, until the stream is full. */
  private frames(out: BatchedSend): void {
    const c = this.cursor;
    const g = c.group;
    while (c.index < g.payloads.length) {
      const i = c.index++;
      const payload = g.payloads[i];
      // Writes are counted synchronously by every transport, so the difference is this frame's size.
      const before = out.writableLength;
      const ok = this.frame(out, g.timestamps[i], payload);
      this.written += out.writableLength - before;
      this.ends.push(this.written);
      this.stats.framesOut++;
      this.stats.bytesOut += payload.byteLength;
      if (!ok) {
        this.blocked = true;
        return;
      }
    }
  }

  /** cursor.onUnsent: the oldest frame still queued or unwritten; a drained tail lets go of the cursor. */
  private unsentFrom(): number {
    const out = this.out;
    if (out === undefined) return this.cursor.index;
    const queued = out.writableLength;
    if (this.tail && queued <= 0) {
      this.release();
      return this.cursor.group.payloads.length;
    }
    const left = this.written - queued;
    while (this.sent < this.ends.length && this.ends[this.sent] <= left) this.sent++;
    return this.sent;
  }

  /** The session is done with the group (FIN or reset written, or the stream died). */
  private finish(): void {
    if (this.done) return this.release();
    this.done = true;
    this.cursor.onChange = null;
    if (!this.tail) this.cursor.close();
    this.onDone(this);
  }

  /** The tail's bytes left (or its stream died): free the viewer's slot. */
  private release(): void {
    if (!this.tail) return;
    this.tail = false;
    this.cursor.close();
  }
}

/**
 * One viewer subscription's uni streams: at most one openUni() in flight, groups waiting for a
 * stream with their header bytes, the best ranked served first.
 */
export class UniOpener {
  private readonly waiting: Array<{ pump: GroupPump; header: Uint8Array }> = [];
  /** An openUni() is in flight. */
  private opening = false;
  /** A stream that opened after every waiting group was dropped, kept for the next one. */
  private spare: SendStream | undefined;
  private closed = false;

  constructor(private readonly openUni: () => Promise<SendStream>) {}

  /** `pump` wants a stream that starts with `header`. */
  add(pump: GroupPump, header: Uint8Array): void {
    if (this.closed) return void pump.abort(Code.Cancel);
    const spare = this.spare;
    if (spare !== undefined) {
      this.spare = undefined;
      pump.attach(spare, header);
      return;
    }
    this.waiting.push({ pump, header });
    this.openNext();
  }

  /** `pump` finished or was dropped: it no longer wants a stream. */
  remove(pump: GroupPump): void {
    for (let i = 0; i < this.waiting.length; i++) {
      if (this.waiting[i].pump === pump) {
        this.waiting.splice(i, 1);
        return;
      }
    }
  }

  /** No more groups: reset the spare stream, forget the waiting ones (their owner aborts them). */
  close(): void {
    this.closed = true;
    this.spare?.reset(Code.Cancel);
    this.spare = undefined;
    this.waiting.length = 0;
  }

  /** The session is gone: the transport already killed the streams. */
  dispose(): void {
    this.closed = true;
    this.spare = undefined;
    this.waiting.length = 0;
  }

  private openNext(): void {
    if (this.opening || this.waiting.length === 0 || this.closed) return;
    this.opening = true;
    this.openUni().then(
      (out) => {
        this.opening = false;
        const next = this.take();
        if (next !== undefined) next.pump.attach(out, next.header);
        else if (this.closed || this.spare !== undefined) out.reset(Code.Cancel);
        else this.spare = out;
        this.openNext();
      },
      () => {
        this.opening = false;
        for (const w of this.waiting.splice(0)) w.pump.abort(Code.Cancel);
      },
    );
  }

  /** The waiting group a new stream should carry: the best ranked (lowest rank) one. */
  private take(): { pump: GroupPump; header: Uint8Array } | undefined {
    let best = -1;
    for (let i = 0; i < this.waiting.length; i++) {
      if (best < 0 || this.waiting[i].pump.rank < this.waiting[best].pump.rank) best = i;
    }
    return best < 0 ? undefined : this.waiting.splice(best, 1)[0];
  }
}
