// Small writes to a send stream gathered into one. Each write a transport queues costs some 300
// bytes of heap whatever its size (the WHATWG stream's queue entry and promise, on QMux), and
// the high-water mark counts bytes: a viewer pump writing a head and a tiny payload per frame
// queued thousands of writes per stream (a burst of 16-byte objects held 230 MiB for one
// session). BatchedSend holds chunks up to SMALL bytes and writes them as one, BATCH bytes at a
// time (or before a larger chunk, which goes by reference, or on flush()); a lone chunk goes as
// it is, so a live frame costs no copy. writableLength counts the held bytes, so callers that
// account for queued bytes see them as queued.
import type { SendStream } from "../transport/session.js";

/** Chunks up to this size are held for the batch. */
const SMALL = 1024;
/** A batch is written once it holds this much. */
const BATCH = 16 * 1024;

export class BatchedSend implements SendStream {
  private held: Uint8Array[] = [];
  private len = 0;

  constructor(readonly out: SendStream) {}

  get id(): number {
    return this.out.id;
  }

  get writableLength(): number {
    return this.out.writableLength + this.len;
  }

  get priority(): number {
    return this.out.priority;
  }

  set priority(p: number) {
    this.out.priority = p;
  }

  get onDrain(): (() => void) | null {
    return this.out.onDrain;
  }

  set onDrain(fn: (() => void) | null) {
    this.out.onDrain = fn;
  }

  get onStop(): ((code: number) => void) | null {
    return this.out.onStop;
  }

  set onStop(fn: ((code: number) => void) | null) {
    this.out.onStop = fn;
  }

  /** Hold a small chunk (true until a batch is written into a full stream), else write it after the held ones. */
  write(chunk: Uint8Array): boolean {
    if (chunk.byteLength > SMALL) {
      this.flush();
      return this.out.write(chunk);
    }
    this.held.push(chunk);
    this.len += chunk.byteLength;
    return this.len >= BATCH ? this.flush() : true;
  }

  /** Write what is held, as one chunk; false when the stream is above its high-water mark. */
  flush(): boolean {
    if (this.held.length === 0) return true;
    const chunk = this.held.length === 1 ? this.held[0] : join(this.held, this.len);
    this.held = [];
    this.len = 0;
    return this.out.write(chunk);
  }

  end(): void {
    this.flush();
    this.out.end();
  }

  reset(code: number): void {
    this.held = [];
    this.len = 0;
    this.out.reset(code);
  }
}

/** One plain Uint8Array (not a Buffer: readers downstream see the bytes as the transports hand them over). */
function join(parts: readonly Uint8Array[], len: number): Uint8Array {
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
