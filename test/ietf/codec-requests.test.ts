// The request families added after SUBSCRIBE (TRACK_STATUS, PUBLISH, FETCH, object datagrams and
// fetch objects), byte for byte against @moq/net@0.3.4's encoders where it has them
// (TRACK_STATUS, PUBLISH, PUBLISH_ERROR, FETCH_HEADER; its FETCH / FETCH_OK throw "not supported"),
// and round-tripped through our own decoders on every draft.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ClientTrack from "../../node_modules/@moq/net/ietf/track.js";
import { ObjectDatagram } from "../../src/session/ietf/datagram.js";
import { decodeFetchObjects, Fetch, FetchCancel, FetchObjectWriter, FetchOk, FetchType, type FetchObject } from "../../src/session/ietf/fetch.js";
import { control, ControlFramer } from "../../src/session/ietf/message.js";
import { FETCH_HEADER } from "../../src/session/ietf/object.js";
import { Publish, PublishOk, PublishType } from "../../src/session/ietf/publish.js";
import { RequestError } from "../../src/session/ietf/request.js";
import { TrackStatus, TrackStatusOk, TrackStatusType } from "../../src/session/ietf/track-status.js";
import { Draft, draftName, hasFilterFields } from "../../src/session/ietf/version.js";
import { IetfReader, IetfWriter } from "../../src/session/ietf/wire.js";
import { Client, clientEncode, clientReader, hexOf } from "./wire.js";

const ALL = [Draft.D14, Draft.D15, Draft.D16, Draft.D17, Draft.D18, Draft.D19, Draft.D20] as const;

function body<T>(v: Draft, bytes: Uint8Array, decode: (r: IetfReader) => T): T {
  const f = new ControlFramer(v, 65535);
  f.push(bytes);
  const m = f.next();
  assert.ok(m !== undefined);
  return decode(m.body);
}

async function theirBytes(v: Draft, type: number, fn: (w: Parameters<Parameters<typeof clientEncode>[1]>[0]) => Promise<void>): Promise<Uint8Array> {
  return clientEncode(v, async (w) => {
    await w.u53(type);
    await fn(w);
  });
}

for (const v of ALL) {
  const name = draftName(v);

  test(`${name}: TRACK_STATUS matches @moq/net; its answer round-trips`, async () => {
    const mine = control(v, TrackStatusType.TrackStatus, (w) => new TrackStatus(6, "room/a", "video").encode(w));
    const theirs = await theirBytes(v, TrackStatusType.TrackStatus, (w) => new ClientTrack.TrackStatusRequest({ requestId: 6n, trackNamespace: "room/a" as never, trackName: "video" }).encode(w as never, v as never));
    assert.equal(hexOf(mine), hexOf(theirs));
    const back = body(v, theirs, TrackStatus.decode);
    assert.deepEqual([back.requestId, back.namespace, back.track], [6, "room/a", "video"]);
    const r = clientReader(mine, v);
    await r.u53();
    const cl = await ClientTrack.TrackStatusRequest.decode(r as never, v as never);
    assert.equal(cl.trackName, "video");
    for (const largest of [undefined, { group: 300, object: 9 }]) {
      const ok = control(v, TrackStatusOk.type(v), (w) => new TrackStatusOk(6, largest, { timescale: 1000, groupOrder: 2 }).encode(w));
      const got = body(v, ok, TrackStatusOk.decode);
      assert.deepEqual(got.largest, largest);
    }
  });

  test(`${name}: PUBLISH matches @moq/net both ways; PUBLISH_OK and draft-14 PUBLISH_ERROR round-trip`, async () => {
    for (const largest of [undefined, { group: 70, object: 3 }]) {
      const mine = control(v, PublishType.Publish, (w) => new Publish({ requestId: 8, namespace: "room/b", track: "audio", alias: 8, groupOrder: 2, forward: true, ...(largest ? { largest } : {}) }).encode(w));
      const theirs = await theirBytes(v, PublishType.Publish, (w) =>
        new Client.Publish({
          requestId: 8n,
          trackNamespace: "room/b" as never,
          trackName: "audio",
          trackAlias: 8n,
          groupOrder: 2,
          contentExists: largest !== undefined,
          largest: largest === undefined ? undefined : { groupId: BigInt(largest.group), objectId: BigInt(largest.object) },
          forward: true,
        } as never).encode(w as never, v as never),
      );
      assert.equal(hexOf(mine), hexOf(theirs), `largest ${JSON.stringify(largest)}`);
      const back = body(v, theirs, Publish.decode);
      assert.deepEqual([back.requestId, back.namespace, back.track, back.alias, back.groupOrder, back.forward, back.largest], [8, "room/b", "audio", 8, 2, true, largest]);
    }
    const ok = control(v, PublishOk.type(v), (w) => new PublishOk(8).encode(w));
    assert.equal(body(v, ok, PublishOk.decode).requestId, v <= Draft.D16 ? 8 : 0);
    if (v === Draft.D14) {
      const mine = control(v, PublishType.PublishError, (w) => new RequestError(8, 1, "nope").encode(w));
      const theirs = await theirBytes(v, PublishType.PublishError, (w) => new Client.PublishError({ requestId: 8n, errorCode: 1, reasonPhrase: "nope" }).encode(w as never, v as never));
      assert.equal(hexOf(mine), hexOf(theirs));
    }
  });

  test(`${name}: FETCH (standalone and both joinings), FETCH_OK and FETCH_CANCEL round-trip`, () => {
    const cases: Fetch[] = [
      new Fetch({ requestId: 10, fetchType: FetchType.Standalone, namespace: "room/c", track: "video", start: { group: 3, object: 1 }, end: { group: 9, object: 0 }, priority: 7, groupOrder: 1 }),
      new Fetch({ requestId: 12, fetchType: FetchType.RelativeJoining, joiningRequestId: 2, joiningStart: 4, priority: 128, groupOrder: 2 }),
      new Fetch({ requestId: 14, fetchType: FetchType.AbsoluteJoining, joiningRequestId: 2, joiningStart: 40, priority: 0, groupOrder: 0 }),
    ];
    if (hasFilterFields(v)) {
      cases[0] = new Fetch({ requestId: 10, fetchType: FetchType.Standalone, namespace: "room/c", track: "video", filter: { kind: "absolute", startGroup: 3, startObject: 1, endGroup: 9 }, priority: 7, groupOrder: 1 });
      cases[1] = new Fetch({ requestId: 12, fetchType: FetchType.RelativeJoining, joiningRequestId: 2, filter: { kind: "relative", groups: 4 }, groupOrder: 2 });
      cases[2] = new Fetch({ requestId: 14, fetchType: FetchType.AbsoluteJoining, joiningRequestId: 2, priority: 0 });
    }
    for (const f of cases) {
      const back = body(v, control(v, Fetch.type, (w) => f.encode(w)), Fetch.decode);
      assert.deepEqual({ ...back }, { ...f });
    }
    const ok = body(v, control(v, 0x18, (w) => new FetchOk(10, false, { group: 9, object: 3 }, { timescale: 1000 }).encode(w)), FetchOk.decode);
    assert.deepEqual([ok.endOfTrack, ok.end], [false, { group: 9, object: 3 }]);
    if (v <= Draft.D16) assert.equal(body(v, control(v, 0x17, (w) => new FetchCancel(10).encode(w)), FetchCancel.decode).requestId, 10);
  });

  test(`${name}: fetch stream objects round-trip (ascending and descending); FETCH_HEADER matches @moq/net`, async () => {
    const header = new IetfWriter(v).varint(FETCH_HEADER).varint(10).finish();
    const theirs = await clientEncode(v, async (w) => {
      await w.u53(Client.FetchHeader.type);
      await new Client.FetchHeader({ requestId: 10n }).encode(w as never, v as never);
    });
    assert.equal(hexOf(header), hexOf(theirs));
    const objs: FetchObject[] = [
      { group: 3, object: 1, priority: 5, timestamp: 1000, payload: new TextEncoder().encode("a") },
      { group: 3, object: 2, priority: 5, timestamp: 1001, payload: new Uint8Array(0) },
      { group: 5, object: 0, priority: 5, payload: new TextEncoder().encode("bb") },
      { group: 5, object: 4, priority: 5, payload: new TextEncoder().encode("c") },
    ];
    for (const descending of [false, true]) {
      const list = descending ? [...objs.slice(2), ...objs.slice(0, 2)] : objs;
      const ow = new FetchObjectWriter(v);
      const w = new IetfWriter(v);
      for (const o of list) {
        ow.head(w, o);
        w.bytes(o.payload);
      }
      const got = decodeFetchObjects(new IetfReader(w.finish(), v), descending);
      // Draft-14 always carries the properties block; an absent timestamp reads back absent.
      assert.deepEqual(got, list);
    }
  });

  test(`${name}: object datagrams round-trip; malformed types are refused`, () => {
    const withTs = new ObjectDatagram(9, 41, 0, 3, 90_000, new TextEncoder().encode("dg"), true);
    const back = ObjectDatagram.decode(withTs.encode(v), v);
    assert.deepEqual([back.alias, back.group, back.object, back.priority, back.timestamp, Buffer.from(back.payload!).toString(), back.endOfGroup], [9, 41, 0, 3, 90_000, "dg", true]);
    const plain = ObjectDatagram.decode(new ObjectDatagram(9, 42, 5, 0, undefined, new Uint8Array(0)).encode(v), v);
    assert.deepEqual([plain.object, plain.timestamp, plain.payload?.length], [5, undefined, 0]);
    // STATUS together with END_OF_GROUP, and bit 0x10, are not datagram types.
    for (const type of [0x22, 0x10]) assert.throws(() => ObjectDatagram.decode(new IetfWriter(v).varint(type).varint(1).varint(1).u8(0).finish(), v), /invalid datagram type/);
    assert.throws(() => ObjectDatagram.decode(new IetfWriter(v).varint(0x05).varint(1).varint(1).u8(0).varint(0).finish(), v), /empty/);
  });
}
