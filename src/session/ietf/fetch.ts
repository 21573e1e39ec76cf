// FETCH and what answers it (moq-transport §"FETCH"): FETCH, FETCH_OK, FETCH_CANCEL (14–16), and
// the fetch stream (FETCH_HEADER, then objects that each name their group and object).
//
// - FETCH: `Req · [Required Request ID Delta (17)] · Fetch Type (i) · Standalone | Joining ·
//   Params`. Draft-14 puts Subscriber Priority (8) and Group Order (8) after the Request ID; 15+
//   carry them as parameters. Standalone = `Namespace · Name · Start · End` (the End Location is
//   "last object + 1", object 0 = the whole group); Joining = `Joining Request ID · Joining Start`.
//   Draft-20 drops the locations: the range is a LOCATION_FILTER parameter (absent = the whole
//   track) and a joining fetch's start is that filter's StartGroup.
// - FETCH_OK: `[Req (≤16)] · [Group Order (8) (14)] · End Of Track (8) · End Location · Params ·
//   [Track Properties (17+)]`.
// - Fetch objects: draft-14 writes every field; 15 prefixes a one-byte Serialization Flags
//   (then Object Status on an empty payload, as 14); 16/17 make the flags a varint and drop
//   Object Status; 18+ turn Group and Object IDs into deltas from the prior object.
import { DecodeError, ShortRead } from "../../util/bytes.js";
import { decodeFilter, encodeFilter, type Filter } from "./filter.js";
import { readBody } from "./message.js";
import { MAX_EXTENSIONS, timestampOf } from "./object.js";
import { decodeNamespace, encodeNamespace } from "./namespace.js";
import { ParamKey, Params } from "./params.js";
import { encodeProperties, type TrackProperties } from "./subscribe.js";
import { Draft, hasFilterFields, hasRequiredRequestIdDelta, hasResponseRequestId, hasTrackProperties } from "./version.js";
import { IetfReader, IetfWriter } from "./wire.js";

export const FetchType = { Standalone: 0x1, RelativeJoining: 0x2, AbsoluteJoining: 0x3 } as const;
export const FetchMessage = { Fetch: 0x16, FetchCancel: 0x17, FetchOk: 0x18, FetchError: 0x19 } as const;

export interface Location {
  group: number;
  object: number;
}

export interface FetchFields {
  requestId: number;
  fetchType: number;
  /** Standalone: the track. */
  namespace?: string;
  track?: string;
  /** Standalone, 14–19: the range (end = last object + 1; object 0 = the whole group). */
  start?: Location;
  end?: Location;
  /** Joining: the subscription joined and the start (groups back, or an absolute group). */
  joiningRequestId?: number;
  joiningStart?: number;
  /** Draft-20: the LOCATION_FILTER parameter (standalone range, or the joining start). */
  filter?: Filter;
  priority?: number;
  /** 0 = the publisher's order, 1 ascending, 2 descending. */
  groupOrder?: number;
  token?: Uint8Array;
}

export class Fetch implements FetchFields {
  static readonly type = FetchMessage.Fetch;
  requestId: number;
  fetchType: number;
  namespace?: string;
  track?: string;
  start?: Location;
  end?: Location;
  joiningRequestId?: number;
  joiningStart?: number;
  filter?: Filter;
  priority: number;
  groupOrder: number;
  token?: Uint8Array;

  constructor(f: FetchFields) {
    this.requestId = f.requestId;
    this.fetchType = f.fetchType;
    Object.assign(this, strip(f));
    this.priority = f.priority ?? 128;
    this.groupOrder = f.groupOrder ?? 0;
  }

  get joining(): boolean {
    return this.fetchType !== FetchType.Standalone;
  }

  encode(w: IetfWriter): void {
    const v = w.draft;
    w.varint(this.requestId);
    if (hasRequiredRequestIdDelta(v)) w.varint(0);
    if (v === Draft.D14) w.u8(this.priority).u8(this.groupOrder);
    w.varint(this.fetchType);
    if (!this.joining) {
      encodeNamespace(w, this.namespace ?? "");
      w.string(this.track ?? "");
      if (!hasFilterFields(v)) {
        const s = this.start ?? { group: 0, object: 0 };
        const e = this.end ?? { group: 0, object: 0 };
        w.varint(s.group).varint(s.object).varint(e.group).varint(e.object);
      }
    } else {
      w.varint(this.joiningRequestId ?? 0);
      if (!hasFilterFields(v)) w.varint(this.joiningStart ?? 0);
    }
    const p = new Params();
    if (v !== Draft.D14) {
      p.setVarint(ParamKey.SubscriberPriority, this.priority);
      if (this.groupOrder !== 0) p.setVarint(ParamKey.GroupOrder, this.groupOrder);
      if (hasFilterFields(v) && this.filter !== undefined) p.setBytes(ParamKey.SubscriptionFilter, encodeFilter(this.filter, v));
    }
    if (this.token !== undefined) p.setBytes(ParamKey.AuthorizationToken, this.token);
    p.encodeMessage(w);
  }

  static decode(r: IetfReader): Fetch {
    const v = r.draft;
    return readBody(r, (b) => {
      const requestId = b.varint();
      if (hasRequiredRequestIdDelta(v)) b.varint();
      const f: FetchFields = { requestId, fetchType: 0 };
      if (v === Draft.D14) {
        f.priority = b.u8();
        f.groupOrder = b.u8();
      }
      f.fetchType = b.varint();
      if (f.fetchType === FetchType.Standalone) {
        f.namespace = decodeNamespace(b);
        f.track = b.string(4096);
        if (!hasFilterFields(v)) {
          f.start = { group: b.varint(), object: b.varint() };
          f.end = { group: b.varint(), object: b.varint() };
        }
      } else if (f.fetchType === FetchType.RelativeJoining || f.fetchType === FetchType.AbsoluteJoining) {
        f.joiningRequestId = b.varint();
        if (!hasFilterFields(v)) f.joiningStart = b.varint();
      } else throw new DecodeError(`unknown fetch type ${f.fetchType}`);
      const p = Params.decodeMessage(b);
      if (v !== Draft.D14) {
        f.priority = p.vars.get(ParamKey.SubscriberPriority) ?? 128;
        f.groupOrder = p.vars.get(ParamKey.GroupOrder) ?? 0;
      }
      const raw = p.bytes.get(ParamKey.SubscriptionFilter);
      if (raw !== undefined && hasFilterFields(v)) f.filter = decodeFilter(raw, v);
      const token = p.bytes.get(ParamKey.AuthorizationToken);
      if (token !== undefined) f.token = token;
      if ((f.priority ?? 0) > 255) throw new DecodeError("subscriber priority exceeds 255");
      if ((f.groupOrder ?? 0) > 2) throw new DecodeError(`unknown group order ${f.groupOrder}`);
      return new Fetch(f);
    });
  }
}

function strip(f: FetchFields): Partial<FetchFields> {
  const out: Partial<FetchFields> = {};
  for (const k of ["namespace", "track", "start", "end", "joiningRequestId", "joiningStart", "filter", "token"] as const) {
    if (f[k] !== undefined) (out as Record<string, unknown>)[k] = f[k];
  }
  return out;
}

/** FETCH_OK. `end` uses the FETCH End Location's encoding on 14–19 (last object + 1). */
export class FetchOk {
  constructor(
    readonly requestId: number,
    readonly endOfTrack: boolean,
    readonly end: Location,
    readonly properties: TrackProperties = {},
    /** Draft-14: the order the objects come in (1 ascending, 2 descending). */
    readonly groupOrder = 1,
  ) {}

  encode(w: IetfWriter): void {
    const v = w.draft;
    if (hasResponseRequestId(v)) w.varint(this.requestId);
    if (v === Draft.D14) w.u8(this.groupOrder);
    w.u8(this.endOfTrack ? 1 : 0).varint(this.end.group).varint(this.end.object);
    new Params().encodeMessage(w);
    if (hasTrackProperties(v)) encodeProperties(w, this.properties);
  }

  static decode(r: IetfReader): FetchOk {
    const v = r.draft;
    return readBody(r, (b) => {
      const id = hasResponseRequestId(v) ? b.varint() : 0;
      const order = v === Draft.D14 ? b.u8() : 1;
      const eot = b.bool();
      const end = { group: b.varint(), object: b.varint() };
      Params.decodeMessage(b);
      // Track properties / extensions (16+) run to the end: the relay needs none of them.
      if (v >= Draft.D16) b.rest();
      return new FetchOk(id, eot, end, {}, order);
    });
  }
}

/** FETCH_CANCEL (14–16): the Request ID of the fetch. */
export class FetchCancel {
  constructor(readonly requestId: number) {}

  encode(w: IetfWriter): void {
    w.varint(this.requestId);
  }

  static decode(r: IetfReader): FetchCancel {
    return readBody(r, (b) => new FetchCancel(b.varint()));
  }
}

// --- the fetch stream ------------------------------------------------------------------------

const Flag = { SubgroupZero: 0x00, ObjectPresent: 0x04, GroupPresent: 0x08, PriorityPresent: 0x10, Properties: 0x20 } as const;

/** One object on a fetch stream, as the relay writes and reads it (subgroup 0 always). */
export interface FetchObject {
  group: number;
  object: number;
  priority: number;
  timestamp?: number;
  payload: Uint8Array;
}

/** The per-stream state a fetch object's deltas are taken against (18+). */
export class FetchObjectWriter {
  private prior: Location | undefined;

  constructor(readonly draft: Draft) {}

  /** Object head (everything before the payload bytes); the payload follows it. */
  head(w: IetfWriter, o: FetchObject): void {
    const v = this.draft;
    const props = o.timestamp !== undefined;
    if (v === Draft.D14) {
      w.varint(o.group).varint(0).varint(o.object).u8(o.priority);
      writeProps(w, o.timestamp);
      w.varint(o.payload.byteLength);
      if (o.payload.byteLength === 0) w.varint(0);
      return;
    }
    const prior = this.prior;
    this.prior = { group: o.group, object: o.object };
    let flags: number = Flag.SubgroupZero | Flag.PriorityPresent | (props ? Flag.Properties : 0);
    const deltas = v >= Draft.D18;
    const newGroup = prior === undefined || prior.group !== o.group;
    if (!deltas || newGroup) flags |= Flag.GroupPresent;
    if (!deltas || newGroup || o.object !== prior.object + 1) flags |= Flag.ObjectPresent;
    if (v === Draft.D15) w.u8(flags);
    else w.varint(flags);
    if (flags & Flag.GroupPresent) w.varint(!deltas || prior === undefined ? o.group : Math.abs(o.group - prior.group) - 1);
    if (flags & Flag.ObjectPresent) w.varint(!deltas || newGroup ? o.object : o.object - prior.object);
    w.u8(o.priority);
    if (props) writeProps(w, o.timestamp);
    w.varint(o.payload.byteLength);
    if (v === Draft.D15 && o.payload.byteLength === 0) w.varint(0);
  }
}

function writeProps(w: IetfWriter, timestamp: number | undefined): void {
  if (timestamp === undefined) return void w.varint(0);
  const kv = new IetfWriter(w.draft, 16);
  kv.varint(PROP_TIMESTAMP).varint(timestamp);
  w.varint(kv.pos).bytes(kv.view());
}

const PROP_TIMESTAMP = 0x10;

/**
 * Read a whole fetch stream body (after FETCH_HEADER's type and Request ID) in `descending`
 * group order or not. For tests and the fuzzer: the relay serves fetches, it never reads one.
 */
export function decodeFetchObjects(r: IetfReader, descending = false, max = 100_000): FetchObject[] {
  try {
    return readFetchObjects(r, descending, max);
  } catch (e) {
    if (e instanceof ShortRead) throw new DecodeError("fetch stream ended inside an object");
    throw e;
  }
}

function readFetchObjects(r: IetfReader, descending: boolean, max: number): FetchObject[] {
  const v = r.draft;
  const out: FetchObject[] = [];
  let prior: { group: number; object: number; subgroup: number; priority: number } | undefined;
  while (r.remaining > 0) {
    if (out.length >= max) throw new DecodeError("too many fetch objects");
    if (v === Draft.D14) {
      const group = r.varint();
      r.varint();
      const object = r.varint();
      const priority = r.u8();
      const timestamp = propsOf(r);
      const len = r.varint();
      if (len === 0) r.varint();
      out.push({ group, object, priority, ...(timestamp === undefined ? {} : { timestamp }), payload: r.bytes(len) });
      continue;
    }
    const flags = v === Draft.D15 ? r.u8() : r.varint();
    if (flags >= 0x80) {
      // End of a non-existent / unknown range: a location and nothing else.
      if (v < Draft.D16 || (flags !== 0x8c && flags !== 0x10c && flags !== 0x20c)) throw new DecodeError(`invalid serialization flags 0x${flags.toString(16)}`);
      const group = r.varint();
      const object = r.varint();
      prior = { group, object, subgroup: prior?.subgroup ?? 0, priority: prior?.priority ?? 0 };
      continue;
    }
    if (v < Draft.D16 && flags & 0xc0) throw new DecodeError(`invalid serialization flags 0x${flags.toString(16)}`);
    const deltas = v >= Draft.D18;
    const needsPrior = (flags & 0x03) === 0x01 || (flags & 0x03) === 0x02 || !(flags & Flag.GroupPresent) || !(flags & Flag.ObjectPresent) || !(flags & Flag.PriorityPresent);
    if (prior === undefined && needsPrior) throw new DecodeError("the first fetch object refers to a prior object");
    let group = prior?.group ?? 0;
    if (flags & Flag.GroupPresent) {
      const g = r.varint();
      group = !deltas || prior === undefined ? g : descending ? prior.group - g - 1 : prior.group + g + 1;
      if (group < 0) throw new DecodeError("fetch group id underflows");
    }
    const sub = flags & 0x40 ? 0 : (flags & 0x03) === 0x03 ? r.varint() : (flags & 0x03) === 0x00 ? 0 : (prior?.subgroup ?? 0) + (flags & 0x03) - 1;
    let object: number;
    if (flags & Flag.ObjectPresent) {
      const o = r.varint();
      object = !deltas || flags & Flag.GroupPresent ? o : (prior?.object ?? 0) + o;
    } else object = (prior?.object ?? -1) + 1;
    const priority = flags & Flag.PriorityPresent ? r.u8() : (prior?.priority ?? 0);
    const timestamp = flags & Flag.Properties ? propsOf(r) : undefined;
    const len = r.varint();
    if (len === 0 && v === Draft.D15) r.varint();
    prior = { group, object, subgroup: sub, priority };
    out.push({ group, object, priority, ...(timestamp === undefined ? {} : { timestamp }), payload: r.bytes(len) });
  }
  return out;
}

function propsOf(r: IetfReader): number | undefined {
  const n = r.varint();
  if (n > MAX_EXTENSIONS) throw new DecodeError(`object properties of ${n} bytes`);
  return timestampOf(r.sub(n));
}
