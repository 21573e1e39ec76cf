// Incremental parsers for HTTP/3 frames (RFC 9114 §7.1) and capsules (RFC 9297 §3.2) as bytes
// arrive on a stream. Each length is checked against its cap as soon as its header is complete,
// before any payload is buffered, so a declared 2^30-byte capsule is refused at once; bodies are
// buffered only up to the cap, and never by gluing chunks together one at a time.
import { ByteQueue } from "../../util/byte-queue.js";
import { H3Error, H3ProtocolError } from "./frame.js";

/** What a frame's payload is for: buffered whole (with a cap), passed through as it arrives, or dropped. */
export type PayloadUse = { buffer: number } | "stream" | "skip";

export interface FrameHandler {
  /** A frame header arrived: how should its payload be treated? May throw H3ProtocolError. */
  start(type: number, length: number): PayloadUse;
  /** A buffered frame, complete. */
  frame?(type: number, payload: Uint8Array): void;
  /** A piece of a streamed frame's payload (the pieces of one frame arrive in order). */
  data?(type: number, chunk: Uint8Array): void;
}

/** HTTP/3 frames on one stream. push() throws H3ProtocolError on malformed or oversized input. */
export class FrameParser {
  private readonly q = new ByteQueue();
  private type = -1;
  private left = 0;
  private use: PayloadUse = "skip";
  private paused = false;

  constructor(private readonly handler: FrameHandler) {}

  /** Stop handing out frames (bytes still queue) until resume(): e.g. while a request is vetted. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.push(new Uint8Array(0));
  }

  /** Bytes received but not yet part of a handled frame (a partial header or buffered body). */
  get buffered(): number {
    return this.q.length;
  }

  /** True between frames (a stream may only end here). */
  get atBoundary(): boolean {
    return this.type < 0 && this.q.length === 0;
  }

  push(chunk: Uint8Array): void {
    this.q.push(chunk);
    while (!this.paused) {
      if (this.type < 0) {
        const t = this.q.peekVarint(0);
        const l = t && this.q.peekVarint(t.size);
        if (t === undefined || l === undefined) return;
        this.q.skip(t.size + l.size);
        this.type = t.value;
        this.left = l.value;
        this.use = this.handler.start(t.value, l.value);
        if (typeof this.use === "object" && l.value > this.use.buffer) {
          throw new H3ProtocolError(H3Error.ExcessiveLoad, `frame 0x${t.value.toString(16)} of ${l.value} bytes exceeds ${this.use.buffer}`);
        }
      }
      if (typeof this.use === "object") {
        if (this.q.length < this.left) return;
        const payload = this.q.take(this.left);
        const type = this.type;
        this.type = -1;
        this.handler.frame?.(type, payload);
        continue;
      }
      while (this.left > 0 && this.q.length > 0 && !this.paused) {
        const piece = this.q.takeSome(this.left);
        this.left -= piece.byteLength;
        if (this.use === "stream") this.handler.data?.(this.type, piece);
      }
      if (this.left > 0) return;
      this.type = -1;
    }
  }
}

/** Capsules carried in the DATA frames of an extended CONNECT stream. */
export class CapsuleParser {
  private readonly q = new ByteQueue();
  private type = -1;
  private length = 0;

  constructor(
    private readonly maxCapsule: number,
    private readonly onCapsule: (type: number, payload: Uint8Array) => void,
  ) {}

  push(chunk: Uint8Array): void {
    this.q.push(chunk);
    for (;;) {
      if (this.type < 0) {
        const t = this.q.peekVarint(0);
        const l = t && this.q.peekVarint(t.size);
        if (t === undefined || l === undefined) return;
        if (l.value > this.maxCapsule) throw new H3ProtocolError(H3Error.ExcessiveLoad, `capsule of ${l.value} bytes exceeds ${this.maxCapsule}`);
        this.q.skip(t.size + l.size);
        this.type = t.value;
        this.length = l.value;
      }
      if (this.q.length < this.length) return;
      const type = this.type;
      this.type = -1;
      this.onCapsule(type, this.q.take(this.length));
    }
  }
}
