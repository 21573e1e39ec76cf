// Group stream (uni 0x0): `GROUP { Message Length · Subscribe ID · Group Sequence }`, then FRAMEs
// until FIN. A FRAME has no message length of its own:
//   lite-05      Timestamp Delta zigzag (i) · Payload Length (i) · Payload
//   lite-01..04  Payload Length (i) · Payload
// The first delta is from 0, so it is the absolute timestamp. Fetch responses (lite-05) are the
// same FRAMEs with no GROUP header.
//
// This is the hot path: the parser below allocates nothing per frame except the payload view
// (and a copy only when a payload spans chunks), and never uses exceptions for "need more bytes".
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { Code, MoqError } from "../error.js";
import { readMessage, writeMessage } from "./message.js";
import { hasFrameTimestamps, type Version } from "./version.js";
import { PayloadAssembler } from "../payload.js";

/** Signed → unsigned: 0, -1, 1, -2, 2 … → 0, 1, 2, 3, 4 … */
export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

export class GroupHeader {
  constructor(
    /** The subscriber's Subscribe ID this group belongs to. */
    readonly subscribe: number,
    readonly sequence: number,
  ) {}

  encode(w: Writer, _v: Version): void {
    writeMessage(w, (b) => b.varint(this.subscribe).varint(this.sequence));
  }

  static decode(r: Reader, _v: Version): GroupHeader {
    return readMessage(r, (b) => new GroupHeader(b.varint(), b.varint()));
  }
}

/**
 * Write the bytes that precede a frame's payload; the caller writes the payload itself (by
 * reference, uncopied) right after.
 */
export function encodeFrameHead(w: Writer, v: Version, timestampDelta: number, length: number): void {
  if (hasFrameTimestamps(v)) w.varint(zigzag(timestampDelta));
  w.varint(length);
}

/** A whole FRAME, payload copied into `w` (tests, small messages; not the relay hot path). */
export function encodeFrame(w: Writer, v: Version, timestampDelta: number, payload: Uint8Array): void {
  encodeFrameHead(w, v, timestampDelta, payload.length);
  w.bytes(payload);
}

/** Frame heads for one group stream, from absolute timestamps (it keeps the previous one). */
export class FrameEncoder {
  private prev = 0;

  constructor(readonly version: Version) {}

  head(w: Writer, timestamp: number, length: number): void {
    encodeFrameHead(w, this.version, timestamp - this.prev, length);
    this.prev = timestamp;
  }
}

export interface GroupSink {
  /** Once, before any frame (never called for a headerless fetch response). */
  header(h: GroupHeader): void;
  /**
   * One frame. `timestamp` is absolute in the track's timescale (always 0 on versions without
   * frame timestamps). `payload` is a view into the chunk passed to push() when the frame fit in
   * it, else a fresh copy: keep it, never mutate it.
   */
  frame(timestamp: number, payload: Uint8Array): void;
}

/** Largest GROUP header body accepted (two varints fit in 16 bytes). */
const MAX_HEADER = 64;
const EMPTY = new Uint8Array(0);

const State = { HeaderLength: 0, HeaderBody: 1, Timestamp: 2, Length: 3, Payload: 4 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Incremental group-stream parser, fed everything after the stream type. Any error it throws
 * (DecodeError; MoqError FrameTooLarge / BoundsExceeded) leaves it unusable: reset the stream.
 */
export class GroupParser {
  private state: State;
  private readonly frameStart: State;
  private readonly r = new Reader(EMPTY);
  /** Partial varint or header bytes carried over from the previous chunk. */
  private readonly stash = new Uint8Array(MAX_HEADER);
  private stashLen = 0;
  private need = 0;
  private value = 0;
  private ts = 0;
  private len = 0;
  /** A payload being assembled across chunks. */
  private readonly assembler = new PayloadAssembler();

  constructor(
    version: Version,
    /** Largest payload accepted; a larger one is MoqError(FrameTooLarge). */
    readonly maxFrame: number,
    private readonly sink: GroupSink,
    /** False for fetch responses, which are bare FRAMEs. */
    header = true,
  ) {
    this.frameStart = hasFrameTimestamps(version) ? State.Timestamp : State.Length;
    this.state = header ? State.HeaderLength : this.frameStart;
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      switch (this.state) {
        case State.HeaderLength:
          pos = this.varint(chunk, pos);
          if (pos < 0) return;
          if (this.value > MAX_HEADER) throw new MoqError(Code.BoundsExceeded, `group header of ${this.value} bytes`);
          if (this.value === 0) throw new DecodeError("group header shorter than its fields");
          this.len = this.value;
          this.state = State.HeaderBody;
          break;
        case State.HeaderBody:
          pos = this.headerBody(chunk, pos);
          if (pos < 0) return;
          break;
        case State.Timestamp:
          pos = this.varint(chunk, pos);
          if (pos < 0) return;
          this.ts += unzigzag(this.value);
          this.state = State.Length;
          break;
        case State.Length:
          pos = this.varint(chunk, pos);
          if (pos < 0) return;
          if (this.value > this.maxFrame) throw new MoqError(Code.FrameTooLarge, `frame of ${this.value} bytes exceeds ${this.maxFrame}`);
          this.len = this.value;
          if (this.len === 0) this.emit(EMPTY);
          else this.state = State.Payload;
          break;
        case State.Payload:
          pos = this.payload(chunk, pos);
          break;
      }
    }
  }

  /** The stream finished (FIN): anything but a frame boundary is a truncated group. */
  end(): void {
    if (this.state === State.HeaderLength || this.state === State.HeaderBody) throw new DecodeError("group stream ended before its header");
    if (this.state !== this.frameStart || this.stashLen !== 0) throw new DecodeError("group stream ended inside a frame");
  }

  private emit(payload: Uint8Array): void {
    this.state = this.frameStart;
    this.sink.frame(this.ts, payload);
  }

  private payload(chunk: Uint8Array, pos: number): number {
    const end = this.assembler.take(chunk, pos, this.len);
    const done = this.assembler.complete;
    if (done !== undefined) {
      this.assembler.complete = undefined;
      this.emit(done);
    }
    return end;
  }

  /** Read a varint into this.value; returns the new position, or -1 after stashing a partial one. */
  private varint(chunk: Uint8Array, pos: number): number {
    if (this.stashLen === 0) {
      const need = 1 << (chunk[pos] >> 6);
      if (chunk.length - pos >= need) return this.readVarint(chunk, pos, pos + need);
      this.stash.set(chunk.subarray(pos));
      this.stashLen = chunk.length - pos;
      this.need = need;
      return -1;
    }
    const take = Math.min(this.need - this.stashLen, chunk.length - pos);
    this.stash.set(chunk.subarray(pos, pos + take), this.stashLen);
    this.stashLen += take;
    if (this.stashLen < this.need) return -1;
    this.stashLen = 0;
    this.readVarint(this.stash, 0, this.need);
    return pos + take;
  }

  private readVarint(buf: Uint8Array, pos: number, end: number): number {
    const r = this.r;
    r.buf = buf;
    r.pos = pos;
    r.end = end;
    this.value = r.varint();
    return r.pos;
  }

  private headerBody(chunk: Uint8Array, pos: number): number {
    if (this.stashLen === 0 && chunk.length - pos >= this.len) return this.header(chunk, pos, pos + this.len);
    const take = Math.min(this.len - this.stashLen, chunk.length - pos);
    this.stash.set(chunk.subarray(pos, pos + take), this.stashLen);
    this.stashLen += take;
    if (this.stashLen < this.len) return -1;
    this.stashLen = 0;
    this.header(this.stash, 0, this.len);
    return pos + take;
  }

  /** Decode a complete header body in buf[start, end); returns `end`. */
  private header(buf: Uint8Array, start: number, end: number): number {
    const r = new Reader(buf, start, end);
    let h: GroupHeader;
    try {
      h = new GroupHeader(r.varint(), r.varint());
    } catch (e) {
      if (e instanceof DecodeError) throw e;
      throw new DecodeError("group header shorter than its fields");
    }
    if (r.remaining !== 0) throw new DecodeError(`${r.remaining} trailing bytes in group header`);
    this.state = this.frameStart;
    this.sink.header(h);
    return end;
  }
}
