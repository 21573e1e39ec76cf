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

/**
 * Writes one group's frames from a cursor to a stream, as fast as the transport takes them, then
 * FINs (or resets with the upstream's code). Subclasses write each frame's head and payload.
 */
export abstract class GroupPump {
  private out: SendStream | undefined;
  private blocked = false;
  private done = false;
  /** Code to reset with if the pump was aborted before its stream opened. */
  private abortCode: number = Code.Cancel;
  private rankValue = 0;

  constructor(
    private readonly cursor: GroupCursor,
    protected readonly stats: RelayStats,
    private readonly onDone: (p: GroupPump) => void,
  ) {
    cursor.onChange = () => {
      if (this.out !== undefined && !this.blocked) this.pump();
    };
    cursor.onDrop = (code) => this.abort(code);
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
    this.out = out;
    out.priority = this.rankValue;
    out.onDrain = () => {
      this.blocked = false;
      if (!this.done) this.pump();
    };
    // The viewer stopped reading (or the session closed): nothing to reset.
    out.onStop = () => this.finish();
    if (header !== undefined && !out.write(header)) this.blocked = true;
    if (!this.blocked) this.pump();
  }

  /** Give up on the group: reset the stream with `code`. */
  abort(code: number): void {
    if (this.done) return;
    this.abortCode = code;
    this.out?.reset(code);
    this.finish();
  }

  /** Write frame `payload` (its head, then the payload itself); false when the stream is full. */
  protected abstract frame(out: SendStream, timestamp: number, payload: Uint8Array): boolean;

  private pump(): void {
    const out = this.out as SendStream;
    const c = this.cursor;
    const g = c.group;
    while (c.index < g.payloads.length) {
      const i = c.index++;
      const payload = g.payloads[i];
      const ok = this.frame(out, g.timestamps[i], payload);
      this.stats.framesOut++;
      this.stats.bytesOut += payload.byteLength;
      if (!ok) {
        this.blocked = true;
        return;
      }
    }
    if (!g.done) return;
    if (g.error !== undefined) out.reset(g.error);
    else out.end();
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.cursor.onChange = null;
    this.cursor.close();
    this.onDone(this);
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
