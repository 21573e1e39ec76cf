// OBJECT_DATAGRAM (moq-transport §"Object Datagram"): one object in one QUIC / WebTransport /
// QMux datagram. `Type (i) · Track Alias (i) · Group ID (i) · [Object ID (i)] · [Publisher
// Priority (8)] · [Properties] · [Object Status (i)] · [Payload to the end]`. The type's bits:
// 0x01 properties present, 0x02 end of group, 0x04 object id 0 (field omitted), 0x08 default
// priority (field omitted; 15+), 0x20 a status instead of a payload. STATUS with END_OF_GROUP,
// and (draft-20) bit 0x10, are invalid; so is a properties block of length 0.
import { DecodeError, ShortRead } from "../../util/bytes.js";
import { MAX_EXTENSIONS, timestampOf } from "./object.js";
import { Draft } from "./version.js";
import { IetfReader, IetfWriter } from "./wire.js";

export const DatagramBit = { Properties: 0x01, EndOfGroup: 0x02, ZeroObjectId: 0x04, DefaultPriority: 0x08, Status: 0x20 } as const;

const PROP_TIMESTAMP = 0x10;

export class ObjectDatagram {
  constructor(
    readonly alias: number,
    readonly group: number,
    readonly object: number,
    /** Undefined when the type left it out (the subscription's priority applies). */
    readonly priority: number | undefined,
    readonly timestamp: number | undefined,
    /** Undefined for a status datagram. */
    readonly payload: Uint8Array | undefined,
    readonly endOfGroup = false,
    readonly status = 0,
  ) {}

  /** One datagram as its own buffer. */
  encode(v: Draft): Uint8Array {
    const w = new IetfWriter(v, (this.payload?.byteLength ?? 0) + 32);
    let type = 0;
    if (this.timestamp !== undefined) type |= DatagramBit.Properties;
    if (this.endOfGroup) type |= DatagramBit.EndOfGroup;
    if (this.object === 0) type |= DatagramBit.ZeroObjectId;
    if (this.priority === undefined) {
      if (v === Draft.D14) throw new RangeError("draft-14 datagrams always carry a priority");
      type |= DatagramBit.DefaultPriority;
    }
    if (this.payload === undefined) type |= DatagramBit.Status;
    w.varint(type).varint(this.alias).varint(this.group);
    if (this.object !== 0) w.varint(this.object);
    if (this.priority !== undefined) w.u8(this.priority);
    if (this.timestamp !== undefined) {
      const kv = new IetfWriter(v, 16);
      kv.varint(PROP_TIMESTAMP).varint(this.timestamp);
      w.varint(kv.pos).bytes(kv.view());
    }
    if (this.payload === undefined) w.varint(this.status);
    else w.bytes(this.payload);
    return w.finish();
  }

  /** Decode a whole datagram; the payload is a view into `data`. Throws DecodeError when malformed. */
  static decode(data: Uint8Array, v: Draft): ObjectDatagram {
    const r = new IetfReader(data, v);
    try {
      const type = r.varint();
      const allowed = v === Draft.D14 ? 0x27 : 0x2f;
      if ((type & ~allowed) !== 0) throw new DecodeError(`invalid datagram type 0x${type.toString(16)}`);
      if (type & DatagramBit.Status && type & DatagramBit.EndOfGroup) throw new DecodeError(`invalid datagram type 0x${type.toString(16)}`);
      // Draft-14 defines status only as 0x20/0x21 (object id present).
      if (v === Draft.D14 && type & DatagramBit.Status && type & DatagramBit.ZeroObjectId) throw new DecodeError(`invalid datagram type 0x${type.toString(16)}`);
      const alias = r.varint();
      const group = r.varint();
      const object = type & DatagramBit.ZeroObjectId ? 0 : r.varint();
      const priority = type & DatagramBit.DefaultPriority ? undefined : r.u8();
      let timestamp: number | undefined;
      if (type & DatagramBit.Properties) {
        const n = r.varint();
        if (n === 0) throw new DecodeError("a datagram's properties block is empty");
        if (n > MAX_EXTENSIONS) throw new DecodeError(`datagram properties of ${n} bytes`);
        timestamp = timestampOf(r.sub(n));
      }
      if (type & DatagramBit.Status) {
        const status = r.varint();
        if (r.remaining !== 0) throw new DecodeError("bytes after a datagram's status");
        if (status !== 0 && type & DatagramBit.Properties) throw new DecodeError("only a normal object has properties");
        return new ObjectDatagram(alias, group, object, priority, timestamp, undefined, false, status);
      }
      return new ObjectDatagram(alias, group, object, priority, timestamp, r.rest(), (type & DatagramBit.EndOfGroup) !== 0);
    } catch (e) {
      if (e instanceof ShortRead) throw new DecodeError("datagram shorter than its header");
      throw e;
    }
  }
}
