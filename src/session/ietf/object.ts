// Subgroup streams (moq-wire §3.5): a header naming the track alias, group and subgroup, then
// objects `Object ID Delta (i) · [Extensions Length (i) · Extensions] · Payload Length (i) ·
// [Status (i) when empty] · Payload`. The relay maps one group to one subgroup (id 0) and each
// object to one frame; the frame timestamp travels as object property 0x10 in the track's
// timescale (0x06, LOC's older key, is read too).
//
// ObjectParser is the hot path: fed a stream's chunks after the type, it hands out payloads as
// views into the chunk when they fit and copies only a payload that spans chunks.
import { DecodeError, ShortRead } from "../../util/bytes.js";
import { Code, MoqError } from "../error.js";
import { deltaPropertyKeys, hasFirstObjectBit, hasPriorityAbsentTypes, type Draft } from "./version.js";
import { IetfReader, IetfWriter } from "./wire.js";
import { PayloadAssembler } from "../payload.js";

/** Header flag bits (the type minus its 0x10 / 0x30 base). */
export const SubgroupFlag = { Extensions: 0x01, SubgroupIsFirstObject: 0x02, ExplicitSubgroup: 0x04, EndOfGroup: 0x08 } as const;
export const FIRST_OBJECT = 0x40;
export const FETCH_HEADER = 0x05;

/** Object statuses carried by an empty object. */
export const ObjectStatus = { Normal: 0, DoesNotExist: 1, EndOfGroup: 3, EndOfTrack: 4 } as const;

const PROP_TIMESTAMP = 0x10;
const PROP_TIMESTAMP_LOC03 = 0x06;
/** Largest extension block accepted per object. */
export const MAX_EXTENSIONS = 4096;

export interface SubgroupHeader {
  alias: number;
  group: number;
  subgroup: number;
  /** Publisher priority; 128 when the type omits it. */
  priority: number;
  flags: number;
  /** 18+: the stream starts at the group's first object (always true before 18). */
  firstObject: boolean;
}

/** Is `type` a subgroup stream type on draft `v`? */
export function isSubgroupType(type: number, v: Draft): boolean {
  const t = hasFirstObjectBit(v) ? type & ~FIRST_OBJECT : type;
  const base = t & 0xf0;
  if (base !== 0x10 && !(base === 0x30 && hasPriorityAbsentTypes(v))) return false;
  // Subgroup "= first object id" and "explicit" together are not a defined layout.
  return (t & 0x06) !== 0x06 && t <= base + 0x0d;
}

/** The stream type we write: priority present, end of group at FIN, subgroup 0, FIRST_OBJECT on 18+. */
export function subgroupType(v: Draft, extensions: boolean): number {
  let t = 0x10 | SubgroupFlag.EndOfGroup;
  if (extensions) t |= SubgroupFlag.Extensions;
  if (hasFirstObjectBit(v)) t |= FIRST_OBJECT;
  return t;
}

/** Header fields after the type (already read by the stream dispatcher). */
export function encodeSubgroupHeader(w: IetfWriter, type: number, alias: number, group: number, priority: number): void {
  w.varint(type).varint(alias).varint(group);
  const t = hasFirstObjectBit(w.draft) ? type & ~FIRST_OBJECT : type;
  if (t & SubgroupFlag.ExplicitSubgroup) w.varint(0);
  if ((t & 0xf0) === 0x10) w.u8(priority);
}

/** Object head for object `delta` (see the parser), optional timestamp, then the payload length. */
export function encodeObjectHead(w: IetfWriter, delta: number, extensions: boolean, timestamp: number | undefined, length: number): void {
  w.varint(delta);
  if (extensions) {
    if (timestamp === undefined) w.varint(0);
    else {
      const kv = new IetfWriter(w.draft, 16);
      kv.varint(PROP_TIMESTAMP).varint(timestamp);
      w.varint(kv.pos).bytes(kv.view());
    }
  }
  w.varint(length);
  if (length === 0) w.varint(ObjectStatus.Normal);
}

export interface ObjectSink {
  header(h: SubgroupHeader): void;
  /** One object: `timestamp` when it carried one, `payload` a view or a fresh copy (keep it). */
  object(id: number, timestamp: number | undefined, payload: Uint8Array): void;
  /** An END_OF_GROUP / END_OF_TRACK status object: nothing more follows. */
  ended?(status: number): void;
}

const State = { Header: 0, Head: 1, Payload: 2, Done: 3 } as const;
type State = (typeof State)[keyof typeof State];
const EMPTY = new Uint8Array(0);

export class ObjectParser {
  private state: State = State.Header;
  private stash: Uint8Array = new Uint8Array(64);
  private stashLen = 0;
  private readonly r: IetfReader;
  private type: number;
  private flags = 0;
  private nextId = 0;
  private first = true;
  private len = 0;
  private id = 0;
  private ts: number | undefined;
  private assembler = new PayloadAssembler();
  /** Bytes of the current object's payload received so far (0 between objects). */
  private taken = 0;
  private discarded = false;

  constructor(
    private readonly v: Draft,
    /** The stream type, already read. */
    type: number,
    readonly maxFrame: number,
    private readonly sink: ObjectSink,
  ) {
    this.r = new IetfReader(EMPTY, v);
    this.type = type;
    if (!isSubgroupType(type, v)) throw new MoqError(Code.ProtocolViolation, `0x${type.toString(16)} is not a subgroup stream type`);
  }

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && !this.discarded) {
      if (this.state === State.Payload) pos = this.payload(chunk, pos);
      else if (this.state === State.Done) throw new DecodeError("bytes after the end-of-group object");
      else pos = this.parseHead(chunk, pos);
      if (pos < 0) return;
    }
  }

  /** FIN: only an object boundary is a clean end. */
  end(): void {
    if (this.discarded) return;
    if (this.state === State.Header) throw new DecodeError("subgroup stream ended before its header");
    if (this.state === State.Payload || this.stashLen !== 0) throw new DecodeError("subgroup stream ended inside an object");
  }

  /** Parse a header or object head from stash + chunk[pos..]; returns the new pos, or -1 (waiting). */
  private parseHead(chunk: Uint8Array, pos: number): number {
    if (this.stashLen === 0) {
      const r = this.r;
      r.buf = chunk;
      r.pos = pos;
      r.end = chunk.length;
      if (this.tryParse(r)) return r.pos;
      this.save(chunk.subarray(pos));
      return -1;
    }
    // Carry-over: add bytes to the stash a little at a time until the head parses.
    while (pos < chunk.length) {
      const before = this.stashLen;
      const take = Math.min(chunk.length - pos, 256);
      this.save(chunk.subarray(pos, pos + take));
      const r = new IetfReader(this.stash, this.v, 0, this.stashLen);
      if (this.tryParse(r)) {
        const used = r.pos - before; // bytes of this chunk the head consumed
        this.stashLen = 0;
        return pos + used;
      }
      pos += take;
    }
    return -1;
  }

  private save(bytes: Uint8Array): void {
    const need = this.stashLen + bytes.length;
    if (need > MAX_EXTENSIONS + 64) throw new MoqError(Code.BoundsExceeded, "object header exceeds its limit");
    if (need > this.stash.length) {
      const next = new Uint8Array(Math.max(need, this.stash.length * 2));
      next.set(this.stash.subarray(0, this.stashLen));
      this.stash = next;
    }
    this.stash.set(bytes, this.stashLen);
    this.stashLen = need;
  }

  /** True when a whole header / head was read (r.pos after it); false on a short read. */
  private tryParse(r: IetfReader): boolean {
    try {
      if (this.state === State.Header) this.readHeader(r);
      else this.readHead(r);
      return true;
    } catch (e) {
      if (e instanceof ShortRead) return false;
      throw e;
    }
  }

  private readHeader(r: IetfReader): void {
    const v = this.v;
    const raw = this.type;
    const firstObject = !hasFirstObjectBit(v) || (raw & FIRST_OBJECT) !== 0;
    const t = hasFirstObjectBit(v) ? raw & ~FIRST_OBJECT : raw;
    const flags = t & 0x0f;
    const alias = r.varint();
    const group = r.varint();
    const subgroup = flags & SubgroupFlag.ExplicitSubgroup ? r.varint() : 0;
    const priority = (t & 0xf0) === 0x10 ? r.u8() : 128;
    this.flags = flags;
    this.state = State.Head;
    this.sink.header({ alias, group, subgroup, priority, flags, firstObject });
  }

  private readHead(r: IetfReader): void {
    const delta = r.varint();
    let ts: number | undefined;
    if (this.flags & SubgroupFlag.Extensions) {
      const n = r.varint();
      if (n > MAX_EXTENSIONS) throw new MoqError(Code.BoundsExceeded, `object extensions of ${n} bytes`);
      ts = timestampOf(new IetfReader(r.bytes(n), this.v));
    }
    const len = r.varint();
    let status = ObjectStatus.Normal as number;
    if (len === 0) status = r.varint();
    if (len > this.maxFrame) throw new MoqError(Code.FrameTooLarge, `object of ${len} bytes exceeds ${this.maxFrame}`);
    const id = this.first ? delta : this.nextId + delta;
    this.first = false;
    this.nextId = id + 1;
    this.id = id;
    this.ts = ts;
    if (len > 0) {
      this.len = len;
      this.state = State.Payload;
      return;
    }
    switch (status) {
      case ObjectStatus.Normal:
        this.sink.object(id, ts, EMPTY);
        return;
      case ObjectStatus.DoesNotExist:
        return;
      case ObjectStatus.EndOfGroup:
      case ObjectStatus.EndOfTrack:
        this.state = State.Done;
        this.sink.ended?.(status);
        return;
      default:
        throw new DecodeError(`unknown object status ${status}`);
    }
  }

  /** Payload bytes held for an object not complete yet (what an unfinished object costs us). */
  get partial(): number {
    return this.taken;
  }

  /** Give up on the stream: drop what an unfinished object holds; nothing more is parsed. */
  discard(): void {
    this.assembler = new PayloadAssembler();
    this.taken = 0;
    this.stashLen = 0;
    this.discarded = true;
  }

  private payload(chunk: Uint8Array, pos: number): number {
    const end = this.assembler.take(chunk, pos, this.len);
    this.taken += end - pos;
    const done = this.assembler.complete;
    if (done !== undefined) {
      this.assembler.complete = undefined;
      this.taken = 0;
      this.emit(done);
    }
    return end;
  }

  private emit(payload: Uint8Array): void {
    this.state = State.Head;
    this.sink.object(this.id, this.ts, payload);
  }
}

/** The timestamp property in an object's extension (property) block, if any. */
export function timestampOf(r: IetfReader): number | undefined {
  const delta = deltaPropertyKeys(r.draft);
  let ts: number | undefined;
  let prev = 0;
  try {
    while (r.remaining > 0) {
      const key = delta ? prev + r.varint() : r.varint();
      prev = key;
      if (key % 2 === 0) {
        const val = r.varint();
        if (key === PROP_TIMESTAMP || key === PROP_TIMESTAMP_LOC03) ts = val;
      } else r.bytes(r.varint());
    }
  } catch (e) {
    if (e instanceof ShortRead) throw new DecodeError("truncated object extensions");
    throw e;
  }
  return ts;
}
