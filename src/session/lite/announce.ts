// Announce stream (bidi 0x1): broadcast discovery.
//
//   subscriber → publisher   ANNOUNCE_REQUEST (called ANNOUNCE_PLEASE in lite-01..03)
//   publisher → subscriber   lite-05: ANNOUNCE_OK, then ANNOUNCE…
//                            lite-03/04: ANNOUNCE…
//                            lite-01/02: ANNOUNCE_INIT (the active set), then ANNOUNCE…
//
// Hop chains differ by version (the codec writes what it is given; the session decides the
// content): lite-05 lists the hops *excluding* the responder (whose id is in ANNOUNCE_OK);
// lite-04 lists them *including* the publisher's own origin as the last entry; lite-03 carries
// only their number (decoded as that many 0n placeholders); lite-01/02 carry nothing.
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { clip, hasDotSegment, MAX_SEGMENTS, normalize } from "../../util/path.js";
import { readMessage, requireVersion, writeMessage } from "./message.js";
import { hasAnnounceInit, hasAnnounceOk, hasAnnounceRestart, hasExcludeHop, hasHopCount, hasHopIds, type Version } from "./version.js";

/** Longest hop chain accepted (matches the Rust and JS MAX_HOPS). */
export const MAX_HOPS = 32;

export class AnnounceRequest {
  constructor(
    /** Path prefix to watch ("" = everything). */
    readonly prefix: string,
    /** Lite-04/05: the requester's origin; skip broadcasts whose chain contains it. 0n = none. */
    readonly excludeHop: bigint = 0n,
  ) {}

  encode(w: Writer, v: Version): void {
    writeMessage(w, (b) => {
      writePath(b, this.prefix);
      if (hasExcludeHop(v)) b.varBig(this.excludeHop);
    });
  }

  static decode(r: Reader, v: Version): AnnounceRequest {
    return readMessage(r, (b) => new AnnounceRequest(readPath(b), hasExcludeHop(v) ? b.varBig() : 0n));
  }
}

/** Lite-05: the publisher's first message: its origin and how many ANNOUNCEs the initial burst has. */
export class AnnounceOk {
  constructor(
    /** The responder's origin, which the receiver appends to every hop chain; 0n = unknown. */
    readonly hop: bigint,
    /** Number of ANNOUNCE(active) messages that follow immediately. */
    readonly active: number,
  ) {}

  encode(w: Writer, v: Version): void {
    requireVersion(hasAnnounceOk(v), "ANNOUNCE_OK", v);
    writeMessage(w, (b) => b.varBig(this.hop).varint(this.active));
  }

  static decode(r: Reader, v: Version): AnnounceOk {
    requireVersion(hasAnnounceOk(v), "ANNOUNCE_OK", v);
    return readMessage(r, (b) => new AnnounceOk(b.varBig(), b.varint()));
  }
}

export const AnnounceStatus = { Ended: 0, Active: 1, Restart: 2 } as const;
export type AnnounceStatus = (typeof AnnounceStatus)[keyof typeof AnnounceStatus];

export class Announce {
  constructor(
    /** Ended, Active, or (lite-05, decode only in practice) Restart, which means active. */
    readonly status: AnnounceStatus,
    /** Broadcast path relative to the request's prefix. */
    readonly suffix: string,
    /** Origins the announcement passed through (see the file comment for per-version meaning). */
    readonly hops: readonly bigint[] = [],
  ) {}

  static active(suffix: string, hops: readonly bigint[] = []): Announce {
    return new Announce(AnnounceStatus.Active, suffix, hops);
  }

  static ended(suffix: string): Announce {
    return new Announce(AnnounceStatus.Ended, suffix);
  }

  get active(): boolean {
    return this.status !== AnnounceStatus.Ended;
  }

  encode(w: Writer, v: Version): void {
    if (this.status === AnnounceStatus.Restart) requireVersion(hasAnnounceRestart(v), "ANNOUNCE restart", v);
    // An ended announcement carries no hops.
    const hops = this.active ? this.hops : [];
    if (hops.length > MAX_HOPS) throw new RangeError(`hop chain of ${hops.length} exceeds ${MAX_HOPS}`);
    writeMessage(w, (b) => {
      b.u8(this.status);
      writePath(b, this.suffix);
      if (hasHopIds(v)) {
        b.varint(hops.length);
        for (const h of hops) b.varBig(h);
      } else if (hasHopCount(v)) {
        b.varint(hops.length);
      }
    });
  }

  static decode(r: Reader, v: Version): Announce {
    return readMessage(r, (b) => {
      const status = b.u8();
      if (status !== AnnounceStatus.Ended && status !== AnnounceStatus.Active && !(status === AnnounceStatus.Restart && hasAnnounceRestart(v))) {
        throw new DecodeError(`invalid announce status ${status}`);
      }
      const suffix = readPath(b);
      const hops: bigint[] = [];
      if (hasHopCount(v)) {
        const n = b.varint();
        if (n > MAX_HOPS) throw new DecodeError(`hop count ${n} exceeds ${MAX_HOPS}`);
        for (let i = 0; i < n; i++) hops.push(hasHopIds(v) ? b.varBig() : 0n);
      }
      return new Announce(status, suffix, hops);
    });
  }
}

/** Lite-01/02: the broadcasts active under the prefix when the request arrived. */
export class AnnounceInit {
  constructor(readonly suffixes: readonly string[]) {}

  encode(w: Writer, v: Version): void {
    requireVersion(hasAnnounceInit(v), "ANNOUNCE_INIT", v);
    writeMessage(w, (b) => {
      b.varint(this.suffixes.length);
      for (const s of this.suffixes) writePath(b, s);
    });
  }

  static decode(r: Reader, v: Version): AnnounceInit {
    requireVersion(hasAnnounceInit(v), "ANNOUNCE_INIT", v);
    return readMessage(r, (b) => {
      const n = b.varint();
      // Each suffix takes at least one byte, so a count beyond the body is malformed.
      if (n > b.remaining) throw new DecodeError(`announce init count ${n} exceeds the message`);
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(readPath(b));
      return new AnnounceInit(out);
    });
  }
}

/** A path off the wire: normalised ("/a//b/" → "a/b"), at most MAX_SEGMENTS segments. */
export function readPath(r: Reader): string {
  const p = normalize(r.string());
  if (p !== "" && p.split("/").length > MAX_SEGMENTS) throw new DecodeError(`path has more than ${MAX_SEGMENTS} segments`);
  if (hasDotSegment(p)) throw new DecodeError(`path "${clip(p)}" has a "." or ".." segment`);
  return p;
}

export function writePath(w: Writer, path: string): void {
  w.string(path);
}
