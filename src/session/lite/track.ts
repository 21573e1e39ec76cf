// Track stream (lite-05): TRACK asks for a track's immutable properties, TRACK_INFO answers.
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { path } from "./announce.js";
import { decodeMessage, encodeMessage } from "./message.js";

export class TrackRequest {
  constructor(
    readonly broadcast: string,
    readonly track: string,
  ) {}

  encode(w: Writer): void {
    encodeMessage(w, (b) => b.string(this.broadcast).string(this.track));
  }

  static decode(r: Reader, max: number): TrackRequest {
    return decodeMessage(r, max, (b) => new TrackRequest(path(b), b.string(1024)));
  }
}

export interface TrackInfo {
  priority: number;
  ordered: boolean;
  /** Publisher's max latency (ms): how long older groups stay useful. */
  maxLatency: number;
  /** Timestamp units per second. */
  timescale: number;
}

export const DEFAULT_TRACK_INFO: TrackInfo = { priority: 0, ordered: false, maxLatency: 5000, timescale: 1000 };

export function encodeTrackInfo(w: Writer, info: TrackInfo): void {
  encodeMessage(w, (b) => b.u8(info.priority).u8(info.ordered ? 1 : 0).varint(info.maxLatency).varint(info.timescale));
}

export function decodeTrackInfo(r: Reader, max: number): TrackInfo {
  return decodeMessage(r, max, (b) => {
    const info = { priority: b.u8(), ordered: b.u8() !== 0, maxLatency: b.varint(), timescale: b.varint() };
    if (info.timescale === 0) throw new DecodeError("track timescale must be non-zero");
    return info;
  });
}
