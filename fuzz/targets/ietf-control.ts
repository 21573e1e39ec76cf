// Fuzz target: every IETF control-message decoder, as the session meets them. Byte 0 of the
// input picks the draft; the rest is a stream of framed control messages (type, u16 length,
// body), each decoded by the decoder its type selects for that draft.
import type { FuzzTarget } from "../target.js";
import { DecodeError } from "../../src/util/bytes.js";
import { MoqError } from "../../src/session/error.js";
import { AnnounceType, NamespaceDone, NamespaceEntry, PublishNamespace, PublishNamespaceDone, RequestIdOnly, SubscribeNamespace } from "../../src/session/ietf/announce.js";
import { control, ControlFramer } from "../../src/session/ietf/message.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { Goaway, RequestError, RequestIdMessage, RequestOk, RequestType } from "../../src/session/ietf/request.js";
import { ClientSetup, ServerSetup, Setup, SetupType } from "../../src/session/ietf/setup.js";
import { PublishDone, Subscribe, SubscribeOk, SubscribeType, Unsubscribe } from "../../src/session/ietf/subscribe.js";
import { SubscribeUpdate } from "../../src/session/ietf/update.js";
import { Fetch, FetchCancel, FetchMessage, FetchOk, FetchType } from "../../src/session/ietf/fetch.js";
import { Publish, PublishOk, PublishType } from "../../src/session/ietf/publish.js";
import { TrackStatus, TrackStatusOk, TrackStatusType } from "../../src/session/ietf/track-status.js";
import { DRAFTS, Draft, subscribeNamespaceType } from "../../src/session/ietf/version.js";
import { IetfReader } from "../../src/session/ietf/wire.js";

function decoderFor(type: number, v: Draft): ((r: IetfReader) => unknown) | undefined {
  if (type === subscribeNamespaceType(v)) return SubscribeNamespace.decode;
  switch (type) {
    case Fetch.type:
      return Fetch.decode;
    case FetchMessage.FetchOk:
      return FetchOk.decode;
    case FetchMessage.FetchCancel:
      return FetchCancel.decode;
    case TrackStatusType.TrackStatus:
      return TrackStatus.decode;
    case PublishType.Publish:
      return Publish.decode;
    case PublishType.PublishOk:
      return PublishOk.decode;
    case SetupType.Setup:
      return Setup.decode;
    case SetupType.Client:
      return ClientSetup.decode;
    case SetupType.Server:
      return ServerSetup.decode;
    case SubscribeType.Subscribe:
      return Subscribe.decode;
    case SubscribeType.SubscribeOk:
      return SubscribeOk.decode;
    case SubscribeType.SubscribeUpdate:
      return SubscribeUpdate.decode;
    case SubscribeType.Unsubscribe:
      return Unsubscribe.decode;
    case SubscribeType.PublishDone:
      return PublishDone.decode;
    case RequestType.RequestOk:
      // REQUEST_OK also answers TRACK_STATUS (with a Location parameter from 17): both readers.
      return (r) => {
        try {
          RequestOk.decode(new IetfReader(r.buf, r.draft, r.pos, r.end));
        } catch (err) {
          if (!(err instanceof DecodeError || err instanceof MoqError)) throw err;
        }
        return TrackStatusOk.decode(r);
      };
    case RequestType.RequestError:
      return RequestError.decode;
    case RequestType.Goaway:
      return Goaway.decode;
    case RequestType.MaxRequestId:
    case RequestType.RequestsBlocked:
      return RequestIdMessage.decode;
    case AnnounceType.PublishNamespace:
      return PublishNamespace.decode;
    case AnnounceType.PublishNamespaceDone:
      return PublishNamespaceDone.decode;
    case AnnounceType.Namespace:
      return NamespaceEntry.decode;
    case AnnounceType.NamespaceDone:
      return v === Draft.D14 ? TrackStatusOk.decode : NamespaceDone.decode;
    case AnnounceType.SubscribeNamespaceOk:
    case AnnounceType.UnsubscribeNamespace:
      return RequestIdOnly.decode;
    default:
      return undefined;
  }
}

function seeds(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [i, v] of DRAFTS.entries()) {
    const p = new Params().setVarint(SetupKey.MaxRequestId, 100).setBytes(SetupKey.Path, new TextEncoder().encode("/anon"));
    const msgs = [
      v >= 0xff000011 ? control(v, SetupType.Setup, (w) => new Setup(p).encode(w)) : control(v, SetupType.Client, (w) => new ClientSetup([v], p).encode(w)),
      control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 2, namespace: "room/a", track: "video", filter: { kind: "absolute", startGroup: 3, startObject: 0, endGroup: 7 } }).encode(w)),
      control(v, SubscribeType.SubscribeOk, (w) => new SubscribeOk(2, 2, { timescale: 1000, groupOrder: 2 }).encode(w)),
      control(v, SubscribeType.SubscribeUpdate, (w) => new SubscribeUpdate({ requestId: 16, existing: 2, priority: 7, forward: false, start: { group: 4, object: 0 }, endGroup: 6 }).encode(w)),
      control(v, AnnounceType.PublishNamespace, (w) => new PublishNamespace(4, "room/a").encode(w)),
      control(v, subscribeNamespaceType(v), (w) => new SubscribeNamespace(6, "room").encode(w)),
      control(v, RequestType.RequestError, (w) => new RequestError(2, 4, "nope", 100).encode(w)),
      control(v, SubscribeType.PublishDone, (w) => new PublishDone(2, 2, "done").encode(w)),
      control(v, RequestType.Goaway, (w) => new Goaway("https://b.example/").encode(w)),
      control(v, Fetch.type, (w) => new Fetch({ requestId: 8, fetchType: FetchType.Standalone, namespace: "room/a", track: "video", start: { group: 1, object: 0 }, end: { group: 4, object: 0 }, filter: { kind: "absolute", startGroup: 1, startObject: 0, endGroup: 4 } }).encode(w)),
      control(v, Fetch.type, (w) => new Fetch({ requestId: 10, fetchType: FetchType.RelativeJoining, joiningRequestId: 2, joiningStart: 3 }).encode(w)),
      control(v, FetchMessage.FetchOk, (w) => new FetchOk(8, false, { group: 4, object: 2 }, { timescale: 1000 }).encode(w)),
      control(v, TrackStatusType.TrackStatus, (w) => new TrackStatus(12, "room/a", "video").encode(w)),
      control(v, TrackStatusOk.type(v), (w) => new TrackStatusOk(12, { group: 4, object: 2 }, { timescale: 1000 }).encode(w)),
      control(v, PublishType.Publish, (w) => new Publish({ requestId: 14, namespace: "room/a", track: "audio", alias: 3, largest: { group: 2, object: 1 }, properties: { timescale: 48000 } }).encode(w)),
      control(v, PublishOk.type(v), (w) => new PublishOk(14).encode(w)),
      ...(v <= Draft.D16 ? [control(v, FetchMessage.FetchCancel, (w) => new FetchCancel(8).encode(w))] : []),
    ];
    const total = msgs.reduce((n, m) => n + m.length, 1);
    const buf = new Uint8Array(total);
    buf[0] = i;
    let off = 1;
    for (const m of msgs) {
      buf.set(m, off);
      off += m.length;
    }
    out.push(buf);
  }
  return out;
}

export const target: FuzzTarget = {
  name: "ietf/control",
  seeds: seeds(),
  run(input: Uint8Array): void {
    if (input.length === 0) return;
    const v = DRAFTS[input[0] % DRAFTS.length];
    const f = new ControlFramer(v, 16384);
    f.push(input.subarray(1));
    for (let m = f.next(); m !== undefined; m = f.next()) decoderFor(m.type, v)?.(m.body);
  },
  expected(err: unknown): boolean {
    // Malformed bytes are DecodeError; limits and protocol rules are MoqError.
    return err instanceof DecodeError || err instanceof MoqError;
  },
};
