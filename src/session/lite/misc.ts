// Small messages: GOAWAY (either side, bidi type 5) and the datagram layout (lite-05).
import { Reader, Writer } from "../../util/bytes.js";
import { decodeMessage, encodeMessage } from "./message.js";

export class Goaway {
  constructor(readonly uri: string) {}

  encode(w: Writer): void {
    encodeMessage(w, (b) => b.string(this.uri));
  }

  static decode(r: Reader, max: number): Goaway {
    return decodeMessage(r, max, (b) => new Goaway(b.string(8192)));
  }
}

/** `Subscribe ID · Group Sequence · Timestamp · Payload`: a whole single-frame group. */
export interface Datagram {
  subscribe: number;
  sequence: number;
  timestamp: number;
  payload: Uint8Array;
}

export function decodeDatagram(data: Uint8Array): Datagram {
  const r = new Reader(data);
  return { subscribe: r.varint(), sequence: r.varint(), timestamp: r.varint(), payload: r.rest() };
}

export function encodeDatagram(d: Datagram): Uint8Array {
  return new Writer(d.payload.length + 24).varint(d.subscribe).varint(d.sequence).varint(d.timestamp).bytes(d.payload).finish();
}
