// Fetch stream (bidi 0x3): one group, HTTP-like. The subscriber sends FETCH; the publisher answers
// with bare FRAMEs (as on a group stream, no GROUP header; parse with
// `new GroupParser(v, maxFrame, sink, false)`) and FINs, or resets on error.
import { Reader, Writer } from "../../util/bytes.js";
import { readPath, writePath } from "./announce.js";
import { readMessage, requireVersion, writeMessage } from "./message.js";
import { hasProbe, type Version } from "./version.js";

// The JS client's codec accepts FETCH from lite-03 on (its session only fetches on 05, see hasFetch).
const exists = hasProbe;

/** FETCH: `Broadcast (s) · Track (s) · Subscriber Priority (8) · Group Sequence (i)`. */
export class Fetch {
  constructor(
    readonly broadcast: string,
    readonly track: string,
    readonly priority: number,
    readonly group: number,
  ) {}

  encode(w: Writer, v: Version): void {
    requireVersion(exists(v), "FETCH", v);
    writeMessage(w, (b) => {
      writePath(b, this.broadcast);
      b.string(this.track).u8(this.priority).varint(this.group);
    });
  }

  static decode(r: Reader, v: Version): Fetch {
    requireVersion(exists(v), "FETCH", v);
    return readMessage(r, (b) => new Fetch(readPath(b), b.string(), b.u8(), b.varint()));
  }
}
