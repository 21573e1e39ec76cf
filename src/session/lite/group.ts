// Group stream (uni): stream type 0, GROUP header, then FRAMEs until FIN. Lite-05 frames carry a
// zigzag timestamp delta; earlier versions only a length. FRAME has no message length of its own.
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { MoqError, Code } from "../error.js";
import { ChunkBuffer } from "./buffer.js";
import { decodeMessage, encodeMessage } from "./message.js";
import { hasFrameTimestamps, type Version } from "./version.js";

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

export class GroupHeader {
  constructor(
    readonly subscribe: number,
    readonly sequence: number,
  ) {}

  encode(w: Writer): void {
    encodeMessage(w, (b) => b.varint(this.subscribe).varint(this.sequence));
  }

  static decode(r: Reader, max: number): GroupHeader {
    return decodeMessage(r, max, (b) => new GroupHeader(b.varint(), b.varint()));
  }
}

/** The bytes that precede a frame's payload; the payload itself is written separately, uncopied. */
export function encodeFrameHead(w: Writer, v: Version, tsDelta: number, length: number): void {
  if (hasFrameTimestamps(v)) w.varint(zigzag(tsDelta));
  w.varint(length);
}

export interface FrameSink {
  header(h: GroupHeader): void;
  /** `payload` may be a view into a transport chunk: keep it, don't mutate it. */
  frame(timestamp: number, payload: Uint8Array): void;
}

/** Incremental group-stream parser (after the stream type). */
export class GroupParser {
  private readonly input: ChunkBuffer;
  private headerDone = false;
  private ts = 0;

  constructor(
    private readonly version: Version,
    private readonly maxFrame: number,
    private readonly maxMessage: number,
    private readonly sink: FrameSink,
    /** Set for fetch responses, which have no GROUP header. */
    headerless = false,
  ) {
    this.input = new ChunkBuffer(maxFrame + 16);
    this.headerDone = headerless;
  }

  push(chunk: Uint8Array): void {
    this.input.push(chunk);
    if (!this.headerDone) {
      const h = this.input.take((r) => GroupHeader.decode(r, this.maxMessage));
      if (h === undefined) return;
      this.headerDone = true;
      this.sink.header(h);
    }
    const timestamps = hasFrameTimestamps(this.version);
    for (;;) {
      const frame = this.input.take((r) => {
        const delta = timestamps ? unzigzag(r.varint()) : 0;
        const len = r.varint();
        if (len > this.maxFrame) throw new MoqError(Code.FrameTooLarge, `frame of ${len} bytes exceeds ${this.maxFrame}`);
        return { delta, payload: r.bytes(len) };
      });
      if (frame === undefined) return;
      this.ts += frame.delta;
      this.sink.frame(this.ts, frame.payload);
    }
  }

  /** FIN: anything left over is a truncated frame. */
  end(): void {
    if (!this.headerDone || this.input.pending > 0) throw new DecodeError("group stream ended inside a message");
  }
}
