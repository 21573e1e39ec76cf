// A lean raw client built from the project's own IETF codecs (no @moq/net, no OpenMOQ), for what
// the real clients hide: draft-14 refusals arrive as the error message their request pairs with
// (SUBSCRIBE_ERROR, PUBLISH_NAMESPACE_ERROR, FETCH_ERROR, TRACK_STATUS_ERROR) with draft-14's
// codes, a joining FETCH naming no subscription gets INVALID_JOINING_REQUEST_ID, a malformed
// FETCH closes only that session with PROTOCOL_VIOLATION, and the per-session fetch limits hold.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import QmuxSession from "@moq/qmux";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";
import { AnnounceType, PublishNamespace } from "../../src/session/ietf/announce.js";
import { Termination } from "../../src/session/ietf/errors.js";
import { Fetch, FetchType } from "../../src/session/ietf/fetch.js";
import { control, ControlFramer, type ControlMessage } from "../../src/session/ietf/message.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { RequestError, RequestType } from "../../src/session/ietf/request.js";
import { ClientSetup, SetupType } from "../../src/session/ietf/setup.js";
import { Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { TrackStatus, TrackStatusType } from "../../src/session/ietf/track-status.js";
import { Draft } from "../../src/session/ietf/version.js";
import { IetfWriter } from "../../src/session/ietf/wire.js";

const relay = await startTestRelay();
after(() => relay.close());

/** A draft-14 session: CLIENT_SETUP on the control stream, then one message at a time. */
async function d14(): Promise<{ send(bytes: Uint8Array): Promise<void>; next(what: string): Promise<ControlMessage>; s: QmuxSession }> {
  const s = new QmuxSession(relay.url("anon"), { protocols: ["qmux-01.moq-00"], versions: {}, requireProtocol: true });
  await within(s.ready, 5000, "the raw QMux handshake");
  const bidi = await s.createBidirectionalStream();
  const w = bidi.writable.getWriter();
  const r = (bidi.readable as ReadableStream<Uint8Array>).getReader();
  const framer = new ControlFramer(Draft.D14, 65535);
  const next = async (what: string): Promise<ControlMessage> => {
    for (;;) {
      const m = framer.next();
      // MAX_REQUEST_ID grants come as requests finish: not what the tests wait for.
      if (m !== undefined && m.type !== RequestType.MaxRequestId) return m;
      if (m !== undefined) continue;
      const { value, done } = await within(r.read(), 5000, what);
      if (done) throw new Error(`the control stream ended waiting for ${what}`);
      framer.push(value);
    }
  };
  await w.write(control(Draft.D14, SetupType.Client, (x) => new ClientSetup([Draft.D14], new Params().setVarint(SetupKey.MaxRequestId, 100)).encode(x)));
  assert.equal((await next("SERVER_SETUP")).type, SetupType.Server);
  return { send: (bytes) => w.write(bytes), next, s };
}

/** Draft-18: the QMux handshake, then our SETUP on a uni stream (no options). */
async function setup18(s: QmuxSession): Promise<void> {
  await within(s.ready, 5000, "the raw QMux handshake");
  const setup = await s.createUnidirectionalStream();
  const sw = setup.getWriter();
  const body = new IetfWriter(Draft.D18);
  new Params().encodeSetup(body);
  await sw.write(new IetfWriter(Draft.D18).varint(SetupType.Setup).u16(body.pos).bytes(body.view()).finish());
  sw.releaseLock();
}

test("draft-14: refusals use the request's own error message and draft-14 codes", async () => {
  const c = await d14();
  const expect = async (type: number, code: number, id: number, what: string): Promise<void> => {
    const m = await c.next(what);
    assert.equal(m.type, type, `${what}: message type`);
    const e = RequestError.decode(m.body);
    assert.deepEqual([e.requestId, e.code], [id, code], what);
  };
  await c.send(control(Draft.D14, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: "nobody", track: "video" }).encode(w)));
  await expect(SubscribeType.SubscribeError, 0x4, 0, "SUBSCRIBE_ERROR (TRACK_DOES_NOT_EXIST)");
  await c.send(control(Draft.D14, TrackStatusType.TrackStatus, (w) => new TrackStatus(2, "nobody", "video").encode(w)));
  await expect(TrackStatusType.TrackStatusError, 0x4, 2, "TRACK_STATUS_ERROR");
  await c.send(control(Draft.D14, Fetch.type, (w) => new Fetch({ requestId: 4, fetchType: FetchType.Standalone, namespace: "nobody", track: "video", start: { group: 0, object: 0 }, end: { group: 1, object: 0 } }).encode(w)));
  await expect(0x19, 0x4, 4, "FETCH_ERROR (TRACK_DOES_NOT_EXIST)");
  await c.send(control(Draft.D14, Fetch.type, (w) => new Fetch({ requestId: 6, fetchType: FetchType.RelativeJoining, joiningRequestId: 100, joiningStart: 1 }).encode(w)));
  await expect(0x19, 0x7, 6, "FETCH_ERROR (INVALID_JOINING_REQUEST_ID)");
  await c.send(control(Draft.D14, AnnounceType.PublishNamespace, (w) => new PublishNamespace(8, "raw-d14").encode(w)));
  assert.equal((await c.next("PUBLISH_NAMESPACE_OK")).type, AnnounceType.PublishNamespaceOk);
  await c.send(control(Draft.D14, AnnounceType.PublishNamespace, (w) => new PublishNamespace(10, "raw-d14").encode(w)));
  // Draft-14 has no DUPLICATE code for PUBLISH_NAMESPACE_ERROR: INTERNAL_ERROR.
  await expect(AnnounceType.Namespace /* PUBLISH_NAMESPACE_ERROR on 14 */, 0x0, 10, "PUBLISH_NAMESPACE_ERROR");
  c.s.close();
});

test("draft-18: a joining FETCH naming no subscription gets INVALID_JOINING_REQUEST_ID (0x32)", async () => {
  const s = new QmuxSession(relay.url("anon"), { protocols: ["qmux-01.moqt-18"], versions: {}, requireProtocol: true });
  await setup18(s);
  const bidi = await s.createBidirectionalStream();
  const w = bidi.writable.getWriter();
  await w.write(control(Draft.D18, Fetch.type, (x) => new Fetch({ requestId: 0, fetchType: FetchType.AbsoluteJoining, joiningRequestId: 40, joiningStart: 0 }).encode(x)));
  const framer = new ControlFramer(Draft.D18, 65535);
  const r = (bidi.readable as ReadableStream<Uint8Array>).getReader();
  let m: ControlMessage | undefined;
  while ((m = framer.next()) === undefined) {
    const { value, done } = await within(r.read(), 5000, "REQUEST_ERROR");
    if (done) throw new Error("the request stream ended without an answer");
    framer.push(value);
  }
  assert.equal(m.type, RequestType.RequestError);
  assert.equal(RequestError.decode(m.body).code, 0x32);
  // A FETCH with an unknown Fetch Type is malformed: PROTOCOL_VIOLATION, for this session only.
  const bad = await s.createBidirectionalStream();
  const bw = bad.writable.getWriter();
  const junk = new IetfWriter(Draft.D18).varint(2).varint(0x9).varint(0).finish();
  await bw.write(new IetfWriter(Draft.D18).varint(Fetch.type).u16(junk.length).bytes(junk).finish());
  const info = await within(s.closed, 5000, "the relay closing the session");
  assert.equal(info.closeCode, Termination.ProtocolViolation);
});

test("FETCH limits: limits.max_fetches_per_session at once (REQUEST_ERROR past it), and a fetch the viewer does not drain is reset after limits.fetch_timeout", async () => {
  const small = await startTestRelay({ "limits.max_fetches_per_session": 1, "limits.fetch_timeout": "400ms" });
  const pub = await connect(small.url("anon"), { protocol: "qmux-01.moqt-18" });
  const viewer = await connect(small.url("anon"));
  const s = new QmuxSession(small.url("anon"), { protocols: ["qmux-01.moqt-18"], versions: {}, requireProtocol: true, config: { maxStreamDataUni: 16384n } });
  try {
    // One cached group far larger than the raw client's 16 KiB stream window.
    const p = publish(pub, "fetch-limits", "video");
    await waitAnnounced(viewer, "fetch-limits");
    const r = subscribe(viewer, "fetch-limits", "video");
    await servingLive(small, "anon/fetch-limits", "video", { publisher: p });
    p.group(Array.from({ length: 4 }, (_, i) => "z".repeat(64 * 1024 + i)));
    assert.equal((await r.nextGroup()).frames.length, 4);

    await setup18(s);
    // The fetch streams are never read: the first one stalls on flow control.
    const fetch = async (id: number): Promise<ControlMessage> => {
      const bidi = await s.createBidirectionalStream();
      const w = bidi.writable.getWriter();
      await w.write(control(Draft.D18, Fetch.type, (x) => new Fetch({ requestId: id, fetchType: FetchType.Standalone, namespace: "fetch-limits", track: "video", start: { group: 0, object: 0 }, end: { group: 1, object: 0 } }).encode(x)));
      const rd = (bidi.readable as ReadableStream<Uint8Array>).getReader();
      const framer = new ControlFramer(Draft.D18, 65535);
      let m: ControlMessage | undefined;
      while ((m = framer.next()) === undefined) {
        const { value, done } = await within(rd.read(), 5000, `the answer to FETCH ${id}`);
        if (done) throw new Error(`FETCH ${id}'s stream ended without an answer`);
        framer.push(value);
      }
      return m;
    };
    assert.equal((await fetch(0)).type, 0x18, "the first FETCH is answered FETCH_OK");
    const refused = await fetch(2);
    assert.equal(refused.type, RequestType.RequestError, "a second FETCH at once is refused");
    const e = RequestError.decode(refused.body);
    assert.deepEqual([e.code, e.reason, e.retryInterval], [0x0, "too many fetches", 1000]);
    // After fetch_timeout the stalled fetch is reset and its slot is free again.
    let answer: ControlMessage | undefined;
    const deadline = Date.now() + 5000;
    for (let id = 4; answer?.type !== 0x18; id += 2) {
      if (Date.now() > deadline) throw new Error("the stalled fetch never gave its slot back");
      answer = await fetch(id);
    }
  } finally {
    s.close();
    viewer.close();
    pub.close();
    await small.close();
  }
});

test("draft-18: a malformed object datagram (STATUS with END_OF_GROUP) closes that session with PROTOCOL_VIOLATION", async () => {
  const s = new QmuxSession(relay.url("anon"), { protocols: ["qmux-01.moqt-18"], versions: {}, requireProtocol: true });
  await setup18(s);
  // A request round trip first: SETUP has been processed once its answer arrives.
  const bidi = await s.createBidirectionalStream();
  const w = bidi.writable.getWriter();
  await w.write(control(Draft.D18, TrackStatusType.TrackStatus, (x) => new TrackStatus(0, "nobody", "video").encode(x)));
  const rd = (bidi.readable as ReadableStream<Uint8Array>).getReader();
  await within(rd.read(), 5000, "the answer to TRACK_STATUS");
  const dw = s.datagrams.writable.getWriter();
  await dw.write(new IetfWriter(Draft.D18).varint(0x22).varint(0).varint(0).u8(0).varint(0).finish());
  const info = await within(s.closed, 5000, "the relay closing the session");
  assert.equal(info.closeCode, Termination.ProtocolViolation);
});
