// Key-value parameters: SETUP options and message parameters (moq-wire §3.1).
//
// - Count: setup options carry one through draft-16 and run to the end of the message from 17;
//   message parameters always carry one.
// - Keys: absolute through draft-15, delta-encoded in ascending order from 16.
// - Values: even key → one varint, odd key → length + bytes. From draft-17 a few message
//   parameters are typed instead: priorities and group order are one raw byte, FORWARD a raw
//   boolean (what @moq/net and the Rust relay write).
import { DecodeError } from "../../util/bytes.js";
import { Code, MoqError } from "../error.js";
import { deltaParameterKeys, setupOptionsToEnd, typedParameters, type Draft } from "./version.js";
import type { IetfReader, IetfWriter } from "./wire.js";

/** More parameters than this in one message is a protocol violation, not a reason to allocate. */
export const MAX_PARAMS = 64;

export const SetupKey = {
  Path: 0x01,
  MaxRequestId: 0x02,
  AuthorizationToken: 0x03,
  MaxAuthTokenCacheSize: 0x04,
  Authority: 0x05,
  Implementation: 0x07,
  /** moq-rs cluster extension: the peer's hop id. */
  RelayHops: 0x40b55,
  /** moq-rs solicit extension: advertisements to the sender must be asked for. */
  Solicit: 0x40b5a,
} as const;

export const ParamKey = {
  DeliveryTimeout: 0x02,
  AuthorizationToken: 0x03,
  MaxCacheDuration: 0x04,
  SubgroupDeliveryTimeout: 0x06,
  Expires: 0x08,
  LargestObject: 0x09,
  PublisherPriority: 0x0e,
  Forward: 0x10,
  SubscriberPriority: 0x20,
  SubscriptionFilter: 0x21,
  GroupOrder: 0x22,
  FillParameters: 0x23,
  IncludeProperties: 0x35,
} as const;

/** Message parameters whose draft-17+ value is one raw byte. */
const BYTE_KEYS: ReadonlySet<number> = new Set([ParamKey.PublisherPriority, ParamKey.SubscriberPriority, ParamKey.GroupOrder, ParamKey.Forward]);

/** A parameter list: varint values under even keys, byte values under odd keys. */
export class Params {
  /** In insertion order: drafts 14/15 write them that way (varints first, then bytes). */
  readonly vars = new Map<number, number>();
  readonly bytes = new Map<number, Uint8Array>();

  get size(): number {
    return this.vars.size + this.bytes.size;
  }

  setVarint(key: number, v: number): this {
    if (key % 2 !== 0) throw new RangeError(`parameter ${key} is odd: it takes bytes`);
    this.vars.set(key, v);
    return this;
  }

  setBytes(key: number, v: Uint8Array): this {
    if (key % 2 !== 1) throw new RangeError(`parameter ${key} is even: it takes a varint`);
    this.bytes.set(key, v);
    return this;
  }

  /** Setup options: count-prefixed through 16, to the end of the message from 17. */
  encodeSetup(w: IetfWriter): void {
    this.encodeWith(w, !setupOptionsToEnd(w.draft), false);
  }

  /** Message parameters (always count-prefixed; typed values from 17). */
  encodeMessage(w: IetfWriter): void {
    this.encodeWith(w, true, typedParameters(w.draft));
  }

  static decodeSetup(r: IetfReader): Params {
    const v = r.draft;
    const p = new Params();
    if (setupOptionsToEnd(v)) {
      let prev = 0;
      while (r.remaining > 0) {
        if (p.size >= MAX_PARAMS) throw new MoqError(Code.TooManyParameters, `more than ${MAX_PARAMS} setup options`);
        prev = p.readOne(r, prev, true, false);
      }
      return p;
    }
    readCounted(r, p, deltaParameterKeys(v), false);
    return p;
  }

  static decodeMessage(r: IetfReader): Params {
    const p = new Params();
    readCounted(r, p, deltaParameterKeys(r.draft), typedParameters(r.draft));
    return p;
  }

  private encodeWith(w: IetfWriter, counted: boolean, typed: boolean): void {
    const v: Draft = w.draft;
    if (counted) w.varint(this.size);
    if (!deltaParameterKeys(v)) {
      for (const [k, val] of this.vars) w.varint(k).varint(val);
      for (const [k, val] of this.bytes) w.varint(k).varint(val.length).bytes(val);
      return;
    }
    const keys = [...this.vars.keys(), ...this.bytes.keys()].sort((a, b) => a - b);
    let prev = 0;
    for (const k of keys) {
      w.varint(k - prev);
      prev = k;
      if (k % 2 === 0) {
        const val = this.vars.get(k) as number;
        if (typed && BYTE_KEYS.has(k)) {
          if (val > 0xff) throw new RangeError(`parameter ${k} is one byte, not ${val}`);
          w.u8(val);
        } else w.varint(val);
      } else {
        const val = this.bytes.get(k) as Uint8Array;
        w.varint(val.length).bytes(val);
      }
    }
  }

  /** Read one key-value pair (key absolute or a delta from `prev`); returns the absolute key. */
  readOne(r: IetfReader, prev: number, delta: boolean, typed: boolean): number {
    const key = delta ? prev + r.varint() : r.varint();
    if (!Number.isSafeInteger(key)) throw new DecodeError("parameter key overflows");
    if (this.vars.has(key) || this.bytes.has(key)) throw new MoqError(Code.ProtocolViolation, `duplicate parameter 0x${key.toString(16)}`);
    if (key % 2 === 0) {
      if (typed && BYTE_KEYS.has(key)) {
        const b = r.u8();
        if (key === ParamKey.Forward && b > 1) throw new DecodeError(`invalid FORWARD value ${b}`);
        this.vars.set(key, b);
      } else this.vars.set(key, r.varint());
    } else {
      const n = r.varint();
      this.bytes.set(key, r.bytes(n));
    }
    return key;
  }
}

function readCounted(r: IetfReader, p: Params, delta: boolean, typed: boolean): void {
  const count = r.varint();
  if (count > MAX_PARAMS) throw new MoqError(Code.TooManyParameters, `${count} parameters exceed ${MAX_PARAMS}`);
  let prev = 0;
  for (let i = 0; i < count; i++) prev = p.readOne(r, prev, delta, typed);
}
