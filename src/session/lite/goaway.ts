// Goaway stream (bidi 0x5, lite-04+): either side asks the peer to open no new streams and,
// optionally, to reconnect elsewhere. The sender FINs when it is ready to close.
import { Reader, Writer } from "../../util/bytes.js";
import { readMessage, requireVersion, writeMessage } from "./message.js";
import { hasGoaway, type Version } from "./version.js";

/** GOAWAY: `New Session URI (s)`; "" = no redirect. */
export class Goaway {
  constructor(readonly uri: string = "") {}

  encode(w: Writer, v: Version): void {
    requireVersion(hasGoaway(v), "GOAWAY", v);
    writeMessage(w, (b) => b.string(this.uri));
  }

  static decode(r: Reader, v: Version): Goaway {
    requireVersion(hasGoaway(v), "GOAWAY", v);
    return readMessage(r, (b) => new Goaway(b.string(8192)));
  }
}
