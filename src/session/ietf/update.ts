// SUBSCRIBE_UPDATE (drafts 14–15) / REQUEST_UPDATE (16+), type 0x02, aimed at a subscription:
//
// - 14: `Req · Subscription Req · Start Location · End Group (+1, 0 = open) · Priority (8) · Forward (8) · Params`
// - 15–16: `Req · Subscription (15) / Existing (16) Req · Params`
// - 17: `Req · Required Request ID Delta · Params`, on the subscription's own stream
// - 18+: `Req · Params`, on the subscription's own stream
//
// From 15 the changes ride in parameters: SUBSCRIBER_PRIORITY, FORWARD and the subscription /
// location filter, each absent = unchanged. Every update consumes a Request ID of its own; 15+
// answer it with REQUEST_OK or REQUEST_ERROR (14: no answer).
import type { BidiStream, SendStream } from "../../transport/session.js";
import { DecodeError } from "../../util/bytes.js";
import { Code, MoqError } from "../error.js";
import { decodeFilter, encodeFilter } from "./filter.js";
import { control, readBody, type ControlFramer, type ControlMessage } from "./message.js";
import { RequestOk, RequestType } from "./request.js";
import { ParamKey, Params } from "./params.js";
import { SubscribeType } from "./subscribe.js";
import { Draft, hasRequiredRequestIdDelta, hasResponseRequestId } from "./version.js";
import type { IetfReader, IetfWriter } from "./wire.js";

export interface Location {
  group: number;
  object: number;
}

export interface UpdateFields {
  /** The update's own Request ID. */
  requestId: number;
  /** 14–16: the Request ID of the subscription it updates (17+: the stream says). */
  existing?: number;
  /** IETF subscriber priority (0 is the most urgent); undefined = unchanged. */
  priority?: number;
  forward?: boolean;
  /** The new start; undefined = unchanged. */
  start?: Location;
  /** The new last group (inclusive); null = open-ended, undefined = unchanged. */
  endGroup?: number | null;
}

export class SubscribeUpdate implements UpdateFields {
  readonly requestId: number;
  readonly existing?: number;
  readonly priority?: number;
  readonly forward?: boolean;
  readonly start?: Location;
  readonly endGroup?: number | null;

  constructor(f: UpdateFields) {
    this.requestId = f.requestId;
    if (f.existing !== undefined) this.existing = f.existing;
    if (f.priority !== undefined) this.priority = f.priority;
    if (f.forward !== undefined) this.forward = f.forward;
    if (f.start !== undefined) this.start = f.start;
    if (f.endGroup !== undefined) this.endGroup = f.endGroup;
  }

  encode(w: IetfWriter): void {
    const v = w.draft;
    w.varint(this.requestId);
    if (v === Draft.D14) {
      // Every field is present on 14: an update restates what it does not change.
      const start = this.start ?? { group: 0, object: 0 };
      const end = this.endGroup === undefined || this.endGroup === null ? 0 : this.endGroup + 1;
      w.varint(this.existing ?? 0).varint(start.group).varint(start.object).varint(end).u8(this.priority ?? 128).u8(this.forward === false ? 0 : 1);
      new Params().encodeMessage(w);
      return;
    }
    if (hasResponseRequestId(v)) w.varint(this.existing ?? 0);
    else if (hasRequiredRequestIdDelta(v)) w.varint(0);
    const p = new Params();
    if (this.priority !== undefined) p.setVarint(ParamKey.SubscriberPriority, this.priority);
    if (this.forward !== undefined) p.setVarint(ParamKey.Forward, this.forward ? 1 : 0);
    if (this.start !== undefined) {
      const { group, object } = this.start;
      const filter = this.endGroup === undefined || this.endGroup === null ? { kind: "absolute" as const, startGroup: group, startObject: object } : { kind: "absolute" as const, startGroup: group, startObject: object, endGroup: this.endGroup };
      p.setBytes(ParamKey.SubscriptionFilter, encodeFilter(filter, v));
    }
    p.encodeMessage(w);
  }

  static decode(r: IetfReader): SubscribeUpdate {
    const v = r.draft;
    return readBody(r, (b) => {
      const requestId = b.varint();
      if (v === Draft.D14) {
        const existing = b.varint();
        const start = { group: b.varint(), object: b.varint() };
        const end = b.varint();
        const priority = b.u8();
        const forward = b.bool();
        Params.decodeMessage(b);
        return new SubscribeUpdate({ requestId, existing, start, endGroup: end === 0 ? null : end - 1, priority, forward });
      }
      const f: UpdateFields = { requestId };
      if (hasResponseRequestId(v)) f.existing = b.varint();
      else if (hasRequiredRequestIdDelta(v)) b.varint();
      const p = Params.decodeMessage(b);
      const priority = p.vars.get(ParamKey.SubscriberPriority);
      if (priority !== undefined) {
        if (priority > 255) throw new DecodeError("subscriber priority exceeds 255");
        f.priority = priority;
      }
      const forward = p.vars.get(ParamKey.Forward);
      if (forward !== undefined) {
        if (forward > 1) throw new DecodeError(`invalid FORWARD value ${forward}`);
        f.forward = forward === 1;
      }
      const raw = p.bytes.get(ParamKey.SubscriptionFilter);
      if (raw !== undefined) {
        const filter = decodeFilter(raw, v);
        // An update narrows or moves a live subscription: only a location (or range) means
        // anything; "from the latest" restates the open end and keeps the start.
        if (filter.kind === "absolute") {
          f.start = { group: filter.startGroup, object: filter.startObject };
          f.endGroup = filter.endGroup ?? null;
        } else if (filter.kind === "unfiltered") {
          f.start = { group: 0, object: 0 };
          f.endGroup = null;
        } else f.endGroup = null;
      }
      return new SubscribeUpdate(f);
    });
  }
}

/** The relay core ranks viewers higher-first; IETF priorities are lower-first (0 most urgent). */
export function relayPriority(ietf: number): number {
  return 255 - Math.min(255, Math.max(0, ietf));
}

/** The other way: a relay (moq-lite) priority as an IETF one, for subgroup headers and upstream SUBSCRIBEs. */
export function ietfPriority(relay: number): number {
  return relayPriority(relay);
}

/**
 * A REQUEST_UPDATE (16+) of a request that is no subscription (FETCH, SUBSCRIBE_NAMESPACE,
 * PUBLISH_NAMESPACE, PUBLISH): the relay keeps no per-request parameters for these (it ignores
 * them in the request too), so the update is accepted as a no-op with REQUEST_OK rather than
 * failed, which draft-20 would make end the request. Anything else on such a stream is a
 * PROTOCOL_VIOLATION (thrown).
 */
export function acceptOtherUpdate(out: SendStream, m: ControlMessage, what: string): void {
  if (m.type !== SubscribeType.SubscribeUpdate) throw new MoqError(Code.ProtocolViolation, `unexpected message 0x${m.type.toString(16)} on a ${what} stream`);
  const v = m.body.draft;
  const u = SubscribeUpdate.decode(m.body);
  out.write(control(v, RequestType.RequestOk, (w) => new RequestOk(u.requestId).encode(w)));
}

/**
 * The request stream's reader once a request (FETCH, SUBSCRIBE_NAMESPACE) is under way: only
 * REQUEST_UPDATEs may follow, each answered by acceptOtherUpdate; anything else fails the session.
 */
export function updatesOnly(stream: BidiStream, framer: ControlFramer, what: string, fail: (err: unknown) => void): (chunk: Uint8Array) => void {
  return (chunk) => {
    try {
      framer.push(chunk);
      for (let m = framer.next(); m !== undefined; m = framer.next()) acceptOtherUpdate(stream.send, m, what);
    } catch (err) {
      fail(err);
    }
  };
}
