// Track stream (bidi 0x6, lite-05): TRACK asks for a track's immutable properties, the publisher
// answers TRACK_INFO and FINs (or resets when the broadcast or track is unknown).
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { readPath, writePath } from "./announce.js";
import { readMessage, requireVersion, writeMessage } from "./message.js";
import { hasTrackStream, type Version } from "./version.js";

/** TRACK: `Broadcast Path (s) · Track Name (s)`. */
export class TrackRequest {
  constructor(
    readonly broadcast: string,
    readonly track: string,
  ) {}

  encode(w: Writer, v: Version): void {
    requireVersion(hasTrackStream(v), "TRACK", v);
    writeMessage(w, (b) => {
      writePath(b, this.broadcast);
      b.string(this.track);
    });
  }

  static decode(r: Reader, v: Version): TrackRequest {
    requireVersion(hasTrackStream(v), "TRACK", v);
    return readMessage(r, (b) => new TrackRequest(readPath(b), b.string()));
  }
}

/** TRACK_INFO: `Priority (8) · Ordered (8) · Max Latency ms (i) · Timescale (i, non-zero)`. */
export class TrackInfo {
  constructor(
    /** Publisher priority: breaks ties between subscribers' priorities. */
    readonly priority: number,
    /** Publisher prefers groups in sequence order. */
    readonly ordered: boolean,
    /** Publisher max latency (ms): how long a non-latest group stays cached. */
    readonly maxLatency: number,
    /** Frame timestamp units per second. */
    readonly timescale: number,
  ) {}

  encode(w: Writer, v: Version): void {
    requireVersion(hasTrackStream(v), "TRACK_INFO", v);
    if (this.timescale === 0) throw new RangeError("track timescale must be non-zero");
    writeMessage(w, (b) => b.u8(this.priority).u8(this.ordered ? 1 : 0).varint(this.maxLatency).varint(this.timescale));
  }

  static decode(r: Reader, v: Version): TrackInfo {
    requireVersion(hasTrackStream(v), "TRACK_INFO", v);
    return readMessage(r, (b) => {
      const info = new TrackInfo(b.u8(), readBool(b), b.varint(), b.varint());
      if (info.timescale === 0) throw new DecodeError("track timescale must be non-zero");
      return info;
    });
  }
}

/** What @moq/net publishes by default: priority 0, unordered, 5000 ms, millisecond timestamps. */
export const DEFAULT_TRACK_INFO = new TrackInfo(0, false, 5000, 1000);

/** A boolean byte: 0 or 1, anything else is malformed. */
export function readBool(r: Reader): boolean {
  const b = r.u8();
  if (b > 1) throw new DecodeError(`invalid boolean ${b}`);
  return b === 1;
}
