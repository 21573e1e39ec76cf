// Fetch stream (lite-05): one cached group, answered with bare FRAMEs then FIN.
import { Reader, Writer } from "../../util/bytes.js";
import { path } from "./announce.js";
import { decodeMessage, encodeMessage } from "./message.js";

export class Fetch {
  constructor(
    readonly broadcast: string,
    readonly track: string,
    readonly priority: number,
    readonly group: number,
  ) {}

  encode(w: Writer): void {
    encodeMessage(w, (b) => b.string(this.broadcast).string(this.track).u8(this.priority).varint(this.group));
  }

  static decode(r: Reader, max: number): Fetch {
    return decodeMessage(r, max, (b) => new Fetch(path(b), b.string(1024), b.u8(), b.varint()));
  }
}
