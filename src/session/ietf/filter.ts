// SUBSCRIBE's LOCATION_FILTER (moq-wire §3.4). Through draft-19 it is a tagged value
// (1 NextGroup, 2 LargestObject, 3 AbsoluteStart, 4 AbsoluteRange with an end-group delta);
// draft-20 replaced it with up to four bare varints: none = unfiltered, one = the last N groups,
// two = a start location (0,0 = the next object), three or four = a range.
import { DecodeError } from "../../util/bytes.js";
import { hasFilterFields, type Draft } from "./version.js";
import { IetfReader, IetfWriter } from "./wire.js";

export type Filter =
  /** Every cached object from the first group on (draft-20 only; earlier drafts write Absolute 0,0). */
  | { kind: "unfiltered" }
  /** From the next object published: the relay starts viewers at the latest group. */
  | { kind: "nextObject" }
  /** Draft-20: the last `groups` groups (0 = the next group, which pre-20 drafts call NextGroup). */
  | { kind: "relative"; groups: number }
  | { kind: "absolute"; startGroup: number; startObject: number; endGroup?: number; endObject?: number };

const Tag = { NextGroup: 1, LargestObject: 2, AbsoluteStart: 3, AbsoluteRange: 4 } as const;

/** The filter as a SUBSCRIPTION_FILTER parameter value. */
export function encodeFilter(f: Filter, v: Draft): Uint8Array {
  const w = new IetfWriter(v, 16);
  if (hasFilterFields(v)) {
    switch (f.kind) {
      case "unfiltered":
        break;
      case "nextObject":
        w.varint(0).varint(0);
        break;
      case "relative":
        w.varint(f.groups);
        break;
      case "absolute":
        if (f.startGroup === 0 && f.startObject === 0 && f.endGroup === undefined) break;
        w.varint(f.startGroup).varint(f.startObject);
        if (f.endGroup !== undefined) {
          w.varint(endDelta(f.startGroup, f.endGroup));
          if (f.endObject !== undefined) w.varint(f.endObject);
        }
        break;
    }
    return w.finish();
  }
  writeTagged(w, f);
  return w.finish();
}

/** Inline (draft-14) or inside the parameter value (15–19): the tagged form. */
export function writeTagged(w: IetfWriter, f: Filter): void {
  switch (f.kind) {
    case "unfiltered":
      w.varint(Tag.AbsoluteStart).varint(0).varint(0);
      return;
    case "nextObject":
      w.varint(Tag.LargestObject);
      return;
    case "relative":
      if (f.groups !== 0) throw new RangeError("a relative filter needs draft-20");
      w.varint(Tag.NextGroup);
      return;
    case "absolute":
      if (f.endObject !== undefined) throw new RangeError("an object-bounded range needs draft-20");
      w.varint(f.endGroup === undefined ? Tag.AbsoluteStart : Tag.AbsoluteRange)
        .varint(f.startGroup)
        .varint(f.startObject);
      if (f.endGroup !== undefined) w.varint(endDelta(f.startGroup, f.endGroup));
  }
}

export function decodeFilter(data: Uint8Array, v: Draft): Filter {
  const r = new IetfReader(data, v);
  let f: Filter;
  try {
    if (hasFilterFields(v)) {
      const fields: number[] = [];
      while (r.remaining > 0) {
        if (fields.length === 4) throw new DecodeError("more than four LOCATION_FILTER fields");
        fields.push(r.varint());
      }
      f = fromFields(fields);
    } else f = readTagged(r);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError("truncated LOCATION_FILTER");
  }
  if (r.remaining !== 0) throw new DecodeError("trailing bytes in LOCATION_FILTER");
  return f;
}

export function readTagged(r: IetfReader): Filter {
  const tag = r.varint();
  switch (tag) {
    case Tag.NextGroup:
      return { kind: "relative", groups: 0 };
    case Tag.LargestObject:
      return { kind: "nextObject" };
    case Tag.AbsoluteStart:
      return { kind: "absolute", startGroup: r.varint(), startObject: r.varint() };
    case Tag.AbsoluteRange: {
      const startGroup = r.varint();
      const startObject = r.varint();
      return { kind: "absolute", startGroup, startObject, endGroup: startGroup + r.varint() };
    }
    default:
      throw new DecodeError(`unknown filter type ${tag}`);
  }
}

function fromFields(f: number[]): Filter {
  if (f.length === 0) return { kind: "unfiltered" };
  if (f.length === 1) return { kind: "relative", groups: f[0] };
  if (f.length === 2 && f[0] === 0 && f[1] === 0) return { kind: "nextObject" };
  const out: Filter = { kind: "absolute", startGroup: f[0], startObject: f[1] };
  if (f.length >= 3) out.endGroup = f[0] + f[2];
  if (f.length === 4) out.endObject = f[3];
  return out;
}

function endDelta(start: number, end: number): number {
  if (end < start) throw new RangeError(`filter range runs backwards: ${start} > ${end}`);
  return end - start;
}
