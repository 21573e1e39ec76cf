// Announce stream: ANNOUNCE_REQUEST (subscriber → publisher), ANNOUNCE_OK (lite-05), ANNOUNCE, and
// the lite-01/02 ANNOUNCE_INIT. Hop encoding differs by version: ids (04+), a count (03), none.
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { MAX_SEGMENTS, normalize } from "../../util/path.js";
import { decodeMessage, encodeMessage } from "./message.js";
import { hasExcludeHop, hasHopCount, hasHopIds, hasAnnounceOk, type Version } from "./version.js";

export const MAX_HOPS = 32;

export class AnnounceRequest {
  constructor(
    readonly prefix: string,
    readonly excludeHop: bigint = 0n,
  ) {}

  encode(w: Writer, v: Version): void {
    encodeMessage(w, (b) => {
      b.string(this.prefix);
      if (hasExcludeHop(v)) b.varBig(this.excludeHop);
    });
  }

  static decode(r: Reader, v: Version, max: number): AnnounceRequest {
    return decodeMessage(r, max, (b) => new AnnounceRequest(path(b), hasExcludeHop(v) ? b.varBig() : 0n));
  }
}

export class AnnounceOk {
  constructor(
    readonly hop: bigint,
    readonly active: number,
  ) {}

  encode(w: Writer): void {
    encodeMessage(w, (b) => b.varBig(this.hop).varint(this.active));
  }

  static decode(r: Reader, max: number): AnnounceOk {
    return decodeMessage(r, max, (b) => new AnnounceOk(b.varBig(), b.varint()));
  }
}

export class Announce {
  constructor(
    readonly active: boolean,
    readonly suffix: string,
    /** Origin ids the announcement passed through (lite-03: placeholders 0n for each hop). */
    readonly hops: bigint[] = [],
  ) {}

  encode(w: Writer, v: Version): void {
    encodeMessage(w, (b) => {
      b.u8(this.active ? 1 : 0).string(this.suffix);
      const hops = this.active ? this.hops : [];
      if (hasHopIds(v)) {
        b.varint(hops.length);
        for (const h of hops) b.varBig(h);
      } else if (hasHopCount(v)) {
        b.varint(hops.length);
      }
    });
  }

  static decode(r: Reader, v: Version, max: number): Announce {
    return decodeMessage(r, max, (b) => {
      const status = b.u8();
      // Status 2 (restart) is only decoded, on lite-05, and means active.
      if (status > 2 || (status === 2 && !hasAnnounceOk(v))) throw new DecodeError(`invalid announce status ${status}`);
      const suffix = path(b);
      const hops: bigint[] = [];
      if (hasHopCount(v)) {
        const n = b.varint();
        if (n > MAX_HOPS) throw new DecodeError(`hop count ${n} exceeds ${MAX_HOPS}`);
        for (let i = 0; i < n; i++) hops.push(hasHopIds(v) ? b.varBig() : 0n);
      }
      return new Announce(status !== 0, suffix, hops);
    });
  }
}

/** Lite-01/02: the broadcasts active when the request arrived. */
export class AnnounceInit {
  constructor(readonly suffixes: string[]) {}

  encode(w: Writer): void {
    encodeMessage(w, (b) => {
      b.varint(this.suffixes.length);
      for (const s of this.suffixes) b.string(s);
    });
  }

  static decode(r: Reader, max: number): AnnounceInit {
    return decodeMessage(r, max, (b) => {
      const n = b.varint();
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(path(b));
      return new AnnounceInit(out);
    });
  }
}

/** A path on the wire: normalised, bounded. */
export function path(b: Reader): string {
  const p = normalize(b.string(4096));
  if (p !== "" && p.split("/").length > MAX_SEGMENTS) throw new DecodeError(`path has more than ${MAX_SEGMENTS} segments`);
  return p;
}
