// Datagrams (lite-05): a whole single-frame group in one QUIC datagram, delivered over an existing
// subscription: `Subscribe ID (i) · Group Sequence (i) · Timestamp (i, absolute) · Payload`.
// No length prefix: the payload runs to the end of the datagram.
import { DecodeError, Reader, ShortRead, Writer } from "../../util/bytes.js";
import { requireVersion } from "./message.js";
import { hasDatagrams, type Version } from "./version.js";

export class Datagram {
  constructor(
    readonly subscribe: number,
    readonly sequence: number,
    /** Absolute, in the track's timescale. */
    readonly timestamp: number,
    readonly payload: Uint8Array,
  ) {}

  encode(w: Writer, v: Version): void {
    requireVersion(hasDatagrams(v), "datagrams", v);
    w.varint(this.subscribe).varint(this.sequence).varint(this.timestamp).bytes(this.payload);
  }

  /** One datagram, as its own buffer. */
  toBytes(v: Version): Uint8Array {
    const w = new Writer(this.payload.length + 24);
    this.encode(w, v);
    return w.finish();
  }

  /** Decode a whole datagram; the payload is a view into `data`. */
  static decode(data: Uint8Array, v: Version): Datagram {
    requireVersion(hasDatagrams(v), "datagrams", v);
    const r = new Reader(data);
    try {
      return new Datagram(r.varint(), r.varint(), r.varint(), r.rest());
    } catch (e) {
      if (e instanceof ShortRead) throw new DecodeError("datagram shorter than its header");
      throw e;
    }
  }
}
