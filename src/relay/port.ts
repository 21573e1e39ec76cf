// The sink of one upstream subscription of a track. A track's upstream can move to another route
// under its viewers (see Track.reroute); the port is how the track tells the calls of the current
// upstream from those of one it left, and how it maps the new route's group numbers onto the ones
// viewers already saw (a standby encoder counts its groups its own way).
import type { Group } from "./group.js";
import type { TrackSink } from "./types.js";

/** What a port needs from its track. */
export interface PortHost {
  portGroup(port: UpstreamPort, sequence: number, datagram?: boolean): Group | undefined;
  portEnd(port: UpstreamPort, end: number): void;
  portStart(port: UpstreamPort, start: number): void;
  portClose(port: UpstreamPort, code?: number): void;
}

export class UpstreamPort implements TrackSink {
  /**
   * Added to the upstream's group numbers to get the track's. undefined until the first group of
   * a moved upstream settles it.
   */
  offset: number | undefined;
  /** The offset in use before the numbers are checked again (0 for a new upstream). */
  shift = 0;
  /** Groups at or below this were passed to viewers before the move: stragglers are not sent. */
  floor: number;
  /** The first group of a moved upstream, held aside until its first frame shows whose it is. */
  probe: Group | undefined;

  constructor(
    private readonly host: PortHost,
    floor: number,
  ) {
    this.floor = floor;
    // Nothing delivered yet: the upstream's own numbers are the track's.
    if (floor < 0) this.offset = 0;
  }

  /** Another publisher may be behind this same upstream now: check its numbers again. */
  renumber(floor: number): void {
    if (this.offset === undefined) return;
    this.shift = this.offset;
    this.offset = undefined;
    this.floor = floor;
  }

  group(sequence: number, datagram?: boolean): Group | undefined {
    return this.host.portGroup(this, sequence, datagram);
  }
  end(end: number): void {
    this.host.portEnd(this, end);
  }
  start(start: number): void {
    this.host.portStart(this, start);
  }
  close(code?: number): void {
    this.host.portClose(this, code);
  }
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
