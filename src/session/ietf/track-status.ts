// TRACK_STATUS and its answer (moq-transport §"TRACK_STATUS"). The request has SUBSCRIBE's
// layout (draft-14 with its fixed fields, 15+ without the delivery parameters). The answer is what a SUBSCRIBE_OK would say:
// - draft-14: TRACK_STATUS_OK (0x0E), SUBSCRIBE_OK's layout with Track Alias 0;
// - 15–17: REQUEST_OK with LARGEST_OBJECT (when the track has content);
// - 18+: REQUEST_OK with LARGEST_OBJECT, then Track Properties.
import { readBody } from "./message.js";
import { readTrackRequestHead, writeTrackRequestHead } from "./namespace.js";
import { ParamKey, Params } from "./params.js";
import { decodeLocation, decodeProperties, encodeLocation, encodeProperties, GroupOrder, SubscribeOk, type TrackProperties } from "./subscribe.js";
import { DecodeError } from "../../util/bytes.js";
import { Draft, hasResponseRequestId, typedParameters } from "./version.js";
import { IetfReader, type IetfWriter } from "./wire.js";

export const TrackStatusType = { TrackStatus: 0x0d, TrackStatusOk: 0x0e, TrackStatusError: 0x0f } as const;

/** 18+: REQUEST_OK ends with Track Properties. */
const okHasProperties = (v: Draft): boolean => v >= Draft.D18;

/** TRACK_STATUS as a client writes it (the relay reads it with Subscribe.decode). */
export class TrackStatus {
  constructor(
    readonly requestId: number,
    readonly namespace: string,
    readonly track: string,
  ) {}

  encode(w: IetfWriter): void {
    const v = w.draft;
    writeTrackRequestHead(w, this);
    // Draft-14: SUBSCRIBE's fixed fields (priority 0, descending, forward 0, Largest Object).
    if (v === Draft.D14) w.u8(0).u8(GroupOrder.Descending).u8(0).varint(0x2);
    new Params().encodeMessage(w);
  }

  static decode(r: IetfReader): TrackStatus {
    const v = r.draft;
    return readBody(r, (b) => {
      const h = readTrackRequestHead(b);
      // Draft-14 says SUBSCRIBE's layout (what @moq/net writes); OpenMOQ writes draft-15's (no
      // fixed fields). Both are read: the fixed fields need at least five bytes, a bare empty
      // parameter list is one.
      if (v === Draft.D14 && !onlyParams(b)) {
        b.u8();
        b.u8();
        b.bool();
        const filter = b.varint();
        if (filter === 3 || filter === 4) {
          b.varint();
          b.varint();
          if (filter === 4) b.varint();
        }
      }
      Params.decodeMessage(b);
      return new TrackStatus(h.requestId, h.namespace, h.track);
    });
  }
}

/** Is the rest of `r` exactly one parameter list? */
function onlyParams(r: IetfReader): boolean {
  const probe = new IetfReader(r.buf, r.draft, r.pos, r.end);
  try {
    Params.decodeMessage(probe);
    return probe.remaining === 0;
  } catch {
    return false;
  }
}

/** The answer to TRACK_STATUS (its message type is `TrackStatusOk.type(v)`). */
export class TrackStatusOk {
  constructor(
    readonly requestId: number,
    readonly largest: { group: number; object: number } | undefined,
    readonly properties: TrackProperties = {},
  ) {}

  static type(v: Draft): number {
    return v === Draft.D14 ? TrackStatusType.TrackStatusOk : 0x07;
  }

  encode(w: IetfWriter): void {
    const v = w.draft;
    if (v === Draft.D14) return new SubscribeOk(this.requestId, 0, this.properties, this.largest).encode(w);
    if (hasResponseRequestId(v)) w.varint(this.requestId);
    if (this.largest === undefined) w.varint(0);
    else if (typedParameters(v)) {
      // 17+: a Location parameter is two bare varints (the drafts' typed values; OpenMOQ reads
      // it so). @moq/net writes a length first, but never asks for TRACK_STATUS.
      w.varint(1).varint(ParamKey.LargestObject).varint(this.largest.group).varint(this.largest.object);
    } else new Params().setBytes(ParamKey.LargestObject, encodeLocation(v, this.largest.group, this.largest.object)).encodeMessage(w);
    if (okHasProperties(v)) encodeProperties(w, this.properties);
  }

  static decode(r: IetfReader): TrackStatusOk {
    const v = r.draft;
    if (v === Draft.D14) {
      const ok = SubscribeOk.decode(r);
      return new TrackStatusOk(ok.requestId, ok.largest, ok.properties);
    }
    return readBody(r, (b) => {
      const id = hasResponseRequestId(v) ? b.varint() : 0;
      let largest: { group: number; object: number } | undefined;
      if (typedParameters(v)) {
        // The relay writes at most LARGEST_OBJECT, as a bare Location.
        const n = b.varint();
        if (n > 1 || (n === 1 && b.varint() !== ParamKey.LargestObject)) throw new DecodeError("unexpected TRACK_STATUS_OK parameter");
        if (n === 1) largest = { group: b.varint(), object: b.varint() };
      } else {
        const loc = Params.decodeMessage(b).bytes.get(ParamKey.LargestObject);
        if (loc !== undefined) largest = decodeLocation(v, loc);
      }
      const props = okHasProperties(v) ? decodeProperties(b) : {};
      return new TrackStatusOk(id, largest, props);
    });
  }
}
