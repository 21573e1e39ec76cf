// Probe stream (bidi 0x4, lite-03+): the subscriber may send target PROBEs, the publisher reports
// its view of the connection. A relay that advertises no Probe level simply resets these streams.
import { Reader, Writer } from "../../util/bytes.js";
import { readMessage, requireVersion, writeMessage } from "./message.js";
import { hasProbe, hasProbeRtt, type Version } from "./version.js";

/** PROBE: `Bitrate bps (i)` and, lite-04+, `RTT ms (i)`; 0 = unknown on the wire. */
export class Probe {
  /** Estimated bitrate in bits per second; undefined = unknown. */
  readonly bitrate: number | undefined;
  /** Smoothed RTT in ms (lite-04+); undefined = unknown. */
  readonly rtt: number | undefined;

  // Named fields: both are numbers, so positional arguments could be swapped silently.
  constructor(init: { bitrate?: number; rtt?: number } = {}) {
    this.bitrate = init.bitrate;
    this.rtt = init.rtt;
  }

  encode(w: Writer, v: Version): void {
    requireVersion(hasProbe(v), "PROBE", v);
    // A measured 0 becomes 1, since 0 means unknown.
    writeMessage(w, (b) => {
      b.varint(this.bitrate === undefined ? 0 : Math.max(1, this.bitrate));
      if (hasProbeRtt(v)) b.varint(this.rtt === undefined ? 0 : Math.max(1, this.rtt));
    });
  }

  static decode(r: Reader, v: Version): Probe {
    requireVersion(hasProbe(v), "PROBE", v);
    return readMessage(r, (b) => {
      const bitrate = b.varint();
      const rtt = hasProbeRtt(v) ? b.varint() : 0;
      return new Probe({ bitrate: bitrate === 0 ? undefined : bitrate, rtt: rtt === 0 ? undefined : rtt });
    });
  }
}
