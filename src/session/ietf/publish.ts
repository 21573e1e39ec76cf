// PUBLISH (a publisher pushes one track, naming its Track Alias) and its answer (moq-transport
// §"PUBLISH"):
// - PUBLISH: `Req · [Required Request ID Delta (17)] · Namespace · Name · Track Alias · …`;
//   draft-14 then has `Group Order (8) · Content Exists (8) · [Largest] · Forward (8) · Params`,
//   15+ carry those as parameters, and 16+ end with Track Properties (16: Track Extensions).
// - The answer: PUBLISH_OK (0x1E) through draft-17 (14: `Req · Forward (8) · Subscriber
//   Priority (8) · Group Order (8) · Filter · Params`; 15/16: `Req · Params`; 17: `Params`), and
//   REQUEST_OK from 18; draft-14 refuses with PUBLISH_ERROR (0x1F), later drafts REQUEST_ERROR.
import { DecodeError } from "../../util/bytes.js";
import { readTagged, writeTagged } from "./filter.js";
import { readBody } from "./message.js";
import { readTrackRequestHead, writeTrackRequestHead } from "./namespace.js";
import { ParamKey, Params } from "./params.js";
import { decodeLocation, decodeProperties, encodeLocation, encodeProperties, GroupOrder, type TrackProperties } from "./subscribe.js";
import { Draft, hasResponseRequestId } from "./version.js";
import type { IetfReader, IetfWriter } from "./wire.js";

export const PublishType = { Publish: 0x1d, PublishOk: 0x1e, PublishError: 0x1f } as const;

/** 16+: PUBLISH ends with Track Properties (Track Extensions on 16). */
const hasPublishProperties = (v: Draft): boolean => v >= Draft.D16;

export interface PublishFields {
  requestId: number;
  namespace: string;
  track: string;
  alias: number;
  groupOrder?: number;
  largest?: { group: number; object: number };
  forward?: boolean;
  properties?: TrackProperties;
}

export class Publish {
  readonly requestId: number;
  readonly namespace: string;
  readonly track: string;
  readonly alias: number;
  readonly groupOrder: number;
  readonly largest: { group: number; object: number } | undefined;
  readonly forward: boolean;
  readonly properties: TrackProperties;

  constructor(f: PublishFields) {
    this.requestId = f.requestId;
    this.namespace = f.namespace;
    this.track = f.track;
    this.alias = f.alias;
    this.groupOrder = f.groupOrder ?? GroupOrder.Descending;
    this.largest = f.largest;
    this.forward = f.forward ?? true;
    this.properties = f.properties ?? {};
  }

  encode(w: IetfWriter): void {
    const v = w.draft;
    writeTrackRequestHead(w, this);
    w.varint(this.alias);
    if (v === Draft.D14) {
      w.u8(this.groupOrder);
      if (this.largest === undefined) w.u8(0);
      else w.u8(1).varint(this.largest.group).varint(this.largest.object);
      w.bool(this.forward);
      new Params().encodeMessage(w);
      return;
    }
    const p = new Params();
    if (v === Draft.D15) p.setVarint(ParamKey.GroupOrder, this.groupOrder);
    p.setVarint(ParamKey.Forward, this.forward ? 1 : 0);
    if (this.largest !== undefined) p.setBytes(ParamKey.LargestObject, encodeLocation(v, this.largest.group, this.largest.object));
    p.encodeMessage(w);
    if (v >= Draft.D17) encodeProperties(w, { ...this.properties, groupOrder: this.properties.groupOrder ?? this.groupOrder });
  }

  static decode(r: IetfReader): Publish {
    const v = r.draft;
    return readBody(r, (b) => {
      const { requestId, namespace, track } = readTrackRequestHead(b);
      const alias = b.varint();
      if (v === Draft.D14) {
        const groupOrder = b.u8();
        const largest = b.bool() ? { group: b.varint(), object: b.varint() } : undefined;
        const forward = b.bool();
        Params.decodeMessage(b);
        if (groupOrder > 2) throw new DecodeError(`unknown group order ${groupOrder}`);
        return new Publish({ requestId, namespace, track, alias, groupOrder, forward, ...(largest === undefined ? {} : { largest }) });
      }
      const p = Params.decodeMessage(b);
      const props = hasPublishProperties(v) ? decodeProperties(b) : {};
      const loc = p.bytes.get(ParamKey.LargestObject);
      const groupOrder = props.groupOrder ?? p.vars.get(ParamKey.GroupOrder) ?? GroupOrder.Descending;
      if (groupOrder > 2) throw new DecodeError(`unknown group order ${groupOrder}`);
      const f: PublishFields = { requestId, namespace, track, alias, groupOrder, forward: (p.vars.get(ParamKey.Forward) ?? 1) !== 0, properties: props };
      if (loc !== undefined) f.largest = decodeLocation(v, loc);
      return new Publish(f);
    });
  }
}

/** PUBLISH_OK (14–17) / REQUEST_OK (18+): the relay always asks for everything, forwarded. */
export class PublishOk {
  constructor(readonly requestId: number) {}

  static type(v: Draft): number {
    return v >= Draft.D18 ? 0x07 : PublishType.PublishOk;
  }

  encode(w: IetfWriter): void {
    const v = w.draft;
    if (hasResponseRequestId(v)) w.varint(this.requestId);
    if (v === Draft.D14) {
      // Forward, subscriber priority 128, descending, Largest Object (the live edge).
      w.bool(true).u8(128).u8(GroupOrder.Descending);
      writeTagged(w, { kind: "nextObject" });
    }
    new Params().encodeMessage(w);
    if (v >= Draft.D18) encodeProperties(w, {});
  }

  static decode(r: IetfReader): PublishOk {
    const v = r.draft;
    return readBody(r, (b) => {
      const id = hasResponseRequestId(v) ? b.varint() : 0;
      if (v === Draft.D14) {
        b.bool();
        b.u8();
        b.u8();
        readTagged(b);
      }
      Params.decodeMessage(b);
      if (v >= Draft.D18) b.rest();
      return new PublishOk(id);
    });
  }
}
