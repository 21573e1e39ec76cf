// SUBSCRIBE and what answers or ends it (moq-wire §3.4): SUBSCRIBE_OK with its Track Properties,
// UNSUBSCRIBE (14–16) and PUBLISH_DONE (SUBSCRIBE_UPDATE / REQUEST_UPDATE: update.ts).
import { DecodeError } from "../../util/bytes.js";
import { decodeFilter, encodeFilter, readTagged, writeTagged, type Filter } from "./filter.js";
import { readBody } from "./message.js";
import { readTrackRequestHead, writeTrackRequestHead } from "./namespace.js";
import { ParamKey, Params } from "./params.js";
import { Draft, hasFilterFields, hasResponseRequestId, hasTrackProperties } from "./version.js";
import { IetfReader, IetfWriter } from "./wire.js";

export const SubscribeType = {
  SubscribeUpdate: 0x02,
  Subscribe: 0x03,
  SubscribeOk: 0x04,
  /** Draft-14 SUBSCRIBE_ERROR: REQUEST_ERROR's type and draft-14 layout. */
  SubscribeError: 0x05,
  Unsubscribe: 0x0a,
  PublishDone: 0x0b,
} as const;

/** Group order: 1 ascending, 2 descending (the default). */
export const GroupOrder = { Ascending: 1, Descending: 2 } as const;

/** PUBLISH_DONE status codes, drafts 14–17. */
export const DoneStatus = { InternalError: 0x0, Unauthorized: 0x1, TrackEnded: 0x2, SubscriptionEnded: 0x3, GoingAway: 0x4, Expired: 0x5, TooFarBehind: 0x6, UpdateFailed: 0x8 } as const;

/**
 * The PUBLISH_DONE table a draft uses. Draft-18 swapped EXPIRED and TOO_FAR_BEHIND; draft-20
 * unassigned SUBSCRIPTION_ENDED (0x3), and since its receivers read an unknown code as
 * INTERNAL_ERROR, a subscription that reached its end group ends there as TRACK_ENDED, the one
 * non-error "no more objects" code left.
 */
export function doneStatus(v: Draft): Record<keyof typeof DoneStatus, number> {
  if (v < Draft.D18) return DoneStatus;
  return { ...DoneStatus, Expired: 0x6, TooFarBehind: 0x5, SubscriptionEnded: v >= Draft.D20 ? DoneStatus.TrackEnded : DoneStatus.SubscriptionEnded };
}

export interface SubscribeFields {
  requestId: number;
  namespace: string;
  track: string;
  /** 0–255, default 128. */
  priority?: number;
  groupOrder?: number;
  forward?: boolean;
  filter?: Filter;
  /** Draft-20 FILL_PARAMETERS, raw (a joining backfill request). */
  fill?: Uint8Array;
  /** Draft-20 INCLUDE_PROPERTIES (absent = true). */
  includeProperties?: boolean;
  /** Draft-19+: AUTHORIZATION_TOKEN parameter, raw. */
  token?: Uint8Array;
}

export class Subscribe implements SubscribeFields {
  requestId: number;
  namespace: string;
  track: string;
  priority: number;
  groupOrder: number;
  forward: boolean;
  filter: Filter;
  fill?: Uint8Array;
  includeProperties: boolean;
  token?: Uint8Array;

  constructor(f: SubscribeFields) {
    this.requestId = f.requestId;
    this.namespace = f.namespace;
    this.track = f.track;
    this.priority = f.priority ?? 128;
    this.groupOrder = f.groupOrder ?? GroupOrder.Descending;
    this.forward = f.forward ?? true;
    this.filter = f.filter ?? { kind: "nextObject" };
    if (f.fill !== undefined) this.fill = f.fill;
    this.includeProperties = f.includeProperties ?? true;
    if (f.token !== undefined) this.token = f.token;
  }

  encode(w: IetfWriter): void {
    const v = w.draft;
    writeTrackRequestHead(w, this);
    if (v === Draft.D14) {
      w.u8(this.priority).u8(this.groupOrder).u8(this.forward ? 1 : 0);
      writeTagged(w, this.filter);
      new Params().encodeMessage(w);
      return;
    }
    // Insertion order matters on draft-15 (absolute keys): as @moq/net writes them.
    const p = new Params().setVarint(ParamKey.SubscriberPriority, this.priority).setVarint(ParamKey.GroupOrder, this.groupOrder).setVarint(ParamKey.Forward, this.forward ? 1 : 0);
    p.setBytes(ParamKey.SubscriptionFilter, encodeFilter(this.filter, v));
    if (hasFilterFields(v)) {
      if (this.fill !== undefined) p.setBytes(ParamKey.FillParameters, this.fill);
      if (!this.includeProperties) p.setBytes(ParamKey.IncludeProperties, Uint8Array.of(0));
    }
    if (this.token !== undefined) p.setBytes(ParamKey.AuthorizationToken, this.token);
    p.encodeMessage(w);
  }

  static decode(r: IetfReader): Subscribe {
    const v = r.draft;
    return readBody(r, (b) => {
      const { requestId, namespace, track } = readTrackRequestHead(b);
      if (v === Draft.D14) {
        const priority = b.u8();
        const groupOrder = b.u8();
        const forward = b.bool();
        const filter = readTagged(b);
        const p = Params.decodeMessage(b);
        return new Subscribe({ requestId, namespace, track, priority, groupOrder, forward, filter, ...tokenOf(p) });
      }
      const p = Params.decodeMessage(b);
      const raw = p.bytes.get(ParamKey.SubscriptionFilter);
      const fill = p.bytes.get(ParamKey.FillParameters);
      const inc = p.bytes.get(ParamKey.IncludeProperties);
      if ((fill !== undefined || inc !== undefined) && !hasFilterFields(v)) throw new DecodeError("FILL_PARAMETERS and INCLUDE_PROPERTIES need draft-20");
      if (inc !== undefined && (inc.length !== 1 || inc[0] > 1)) throw new DecodeError("invalid INCLUDE_PROPERTIES");
      const fields: SubscribeFields = {
        requestId,
        namespace,
        track,
        priority: p.vars.get(ParamKey.SubscriberPriority) ?? 128,
        groupOrder: p.vars.get(ParamKey.GroupOrder) ?? GroupOrder.Descending,
        forward: (p.vars.get(ParamKey.Forward) ?? 1) !== 0,
        filter: raw === undefined ? { kind: "nextObject" } : decodeFilter(raw, v),
        ...tokenOf(p),
      };
      if (fields.priority! > 255) throw new DecodeError("subscriber priority exceeds 255");
      if (fields.groupOrder! > 2) throw new DecodeError(`unknown group order ${fields.groupOrder}`);
      if (fill !== undefined) fields.fill = fill;
      if (inc !== undefined) fields.includeProperties = inc[0] === 1;
      return new Subscribe(fields);
    });
  }
}

function tokenOf(p: Params): { token?: Uint8Array } {
  const t = p.bytes.get(ParamKey.AuthorizationToken);
  return t === undefined ? {} : { token: t };
}

/** Track Properties (17+): delta-encoded pairs to the end of the message. */
export interface TrackProperties {
  timescale?: number;
  groupOrder?: number;
}

const Prop = { Timescale: 0x08, GroupOrder: 0x22 } as const;

export function encodeProperties(w: IetfWriter, p: TrackProperties): void {
  let prev = 0;
  if (p.timescale !== undefined) {
    w.varint(Prop.Timescale - prev).varint(p.timescale);
    prev = Prop.Timescale;
  }
  if (p.groupOrder !== undefined) w.varint(Prop.GroupOrder - prev).varint(p.groupOrder);
}

export function decodeProperties(r: IetfReader): TrackProperties {
  const out: TrackProperties = {};
  let prev = 0;
  let n = 0;
  while (r.remaining > 0) {
    if (++n > 64) throw new DecodeError("too many track properties");
    const key = prev + r.varint();
    prev = key;
    if (key % 2 === 0) {
      const val = r.varint();
      if (key === Prop.Timescale && val > 0) out.timescale = val;
      else if (key === Prop.GroupOrder) {
        if (val < 1 || val > 2) throw new DecodeError(`unknown group order ${val}`);
        out.groupOrder = val;
      }
    } else r.bytes(r.varint());
  }
  return out;
}

export class SubscribeOk {
  constructor(
    readonly requestId: number,
    readonly alias: number,
    readonly properties: TrackProperties = {},
    /** Draft-20 LARGEST_OBJECT (draft-14: Largest Location when content exists). */
    readonly largest?: { group: number; object: number },
  ) {}

  encode(w: IetfWriter): void {
    const v = w.draft;
    if (hasResponseRequestId(v)) w.varint(this.requestId);
    w.varint(this.alias);
    if (v === Draft.D14) {
      w.varint(0).u8(this.properties.groupOrder ?? GroupOrder.Descending);
      if (this.largest === undefined) w.u8(0);
      else w.u8(1).varint(this.largest.group).varint(this.largest.object);
      new Params().encodeMessage(w);
      return;
    }
    const p = new Params();
    if (v === Draft.D15 && this.properties.groupOrder !== undefined) p.setVarint(ParamKey.GroupOrder, this.properties.groupOrder);
    if (this.largest !== undefined && hasFilterFields(v)) p.setBytes(ParamKey.LargestObject, encodeLocation(v, this.largest.group, this.largest.object));
    p.encodeMessage(w);
    if (hasTrackProperties(v)) encodeProperties(w, this.properties);
  }

  static decode(r: IetfReader): SubscribeOk {
    const v = r.draft;
    return readBody(r, (b) => {
      const id = hasResponseRequestId(v) ? b.varint() : 0;
      const alias = b.varint();
      if (v === Draft.D14) {
        if (b.varint() !== 0) throw new DecodeError("unsupported expires");
        const order = b.u8();
        const largest = b.bool() ? { group: b.varint(), object: b.varint() } : undefined;
        Params.decodeMessage(b);
        return new SubscribeOk(id, alias, { groupOrder: order }, largest);
      }
      const p = Params.decodeMessage(b);
      const loc = p.bytes.get(ParamKey.LargestObject);
      const largest = loc === undefined ? undefined : decodeLocation(v, loc);
      const props = v >= Draft.D16 ? decodeProperties(b) : {};
      return new SubscribeOk(id, alias, props, largest);
    });
  }
}

export function encodeLocation(v: Draft, group: number, object: number): Uint8Array {
  const w = new IetfWriter(v, 16);
  w.varint(group).varint(object);
  return w.finish();
}

export function decodeLocation(v: Draft, data: Uint8Array): { group: number; object: number } {
  const r = new IetfReader(data, v);
  return readBody(r, (b) => ({ group: b.varint(), object: b.varint() }));
}

/** UNSUBSCRIBE (14–16): the Request ID of the subscription. */
export class Unsubscribe {
  constructor(readonly requestId: number) {}

  encode(w: IetfWriter): void {
    w.varint(this.requestId);
  }

  static decode(r: IetfReader): Unsubscribe {
    return readBody(r, (b) => new Unsubscribe(b.varint()));
  }
}

/** PUBLISH_DONE: `[Req (≤16)] · Status (i) · Stream Count (i) · Reason (s)`. */
export class PublishDone {
  constructor(
    readonly requestId: number,
    readonly status: number,
    readonly reason: string,
    readonly streamCount = 0,
  ) {}

  encode(w: IetfWriter): void {
    if (hasResponseRequestId(w.draft)) w.varint(this.requestId);
    w.varint(this.status).varint(this.streamCount).string(this.reason);
  }

  static decode(r: IetfReader): PublishDone {
    return readBody(r, (b) => {
      const id = hasResponseRequestId(b.draft) ? b.varint() : 0;
      const status = b.varint();
      const count = b.varint();
      return new PublishDone(id, status, b.string(1024), count);
    });
  }
}
