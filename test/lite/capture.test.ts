// The byte captures of @moq/net@0.3.4 (moq-wire §2.15 for lite-05, §1.3 for the legacy SETUP):
// every message decodes to what the capture says and re-encodes to the identical bytes, whether
// the stream arrives in one chunk or one byte at a time.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Reader } from "../../src/util/bytes.js";
import { Framer } from "../../src/session/lite/framer.js";
import { Announce, AnnounceOk, AnnounceRequest, AnnounceStatus } from "../../src/session/lite/announce.js";
import { ClientSetup, LegacyParamKey, ServerSetup, Setup } from "../../src/session/lite/setup.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { decodeSubscribeResponse, Subscribe, SubscribeStart } from "../../src/session/lite/subscribe.js";
import { TrackInfo, TrackRequest } from "../../src/session/lite/track.js";
import { encodeFrame, GroupHeader, GroupParser } from "../../src/session/lite/group.js";
import { selectLegacyVersion, typedSubscribeResponses, Version } from "../../src/session/lite/version.js";
import { bytesOf, frameAll, hex } from "./wire.js";

const V = Version.Lite05;
const CLIENT_ORIGIN = 0x00010adbcdd0ed66n;
const RELAY_ORIGIN = 0x0006db27b4b2b2cbn;

/** A control stream: its type, then messages pulled by `read`; checked at several chunk sizes. */
function readStream<T>(bytes: Uint8Array, read: (f: Framer) => T | undefined): { type: number; messages: T[] } {
  let result: { type: number; messages: T[] } | undefined;
  for (const step of [bytes.length, 1, 3]) {
    let type: number | undefined;
    const messages = frameAll(bytes, step, (f: Framer) => {
      if (type === undefined) {
        type = f.varint();
        if (type === undefined) return undefined;
      }
      return read(f);
    });
    assert.ok(type !== undefined);
    if (result !== undefined) assert.deepEqual({ type, messages }, result, `chunk size ${step} changes the result`);
    result = { type, messages };
  }
  assert.ok(result);
  return result;
}

/** Shorthand for the common case: length-prefixed messages decoded by `decode`. */
const msgs =
  <T>(decode: (r: Reader) => T) =>
  (f: Framer): T | undefined =>
    f.next(decode);

test("lite-05 SETUP from the client and the relay: origin only, exact bytes back", () => {
  for (const [wire, origin] of [
    ["01 | 0b | 01 05 08 c0010adbcdd0ed66", CLIENT_ORIGIN],
    ["01 | 0b | 01 05 08 c006db27b4b2b2cb", RELAY_ORIGIN],
  ] as const) {
    const bytes = hex(wire);
    const { type, messages } = readStream(bytes, msgs((r) => Setup.decode(r, V)));
    assert.equal(type, Uni.Setup);
    assert.equal(messages.length, 1);
    assert.equal(messages[0].origin, origin);
    assert.equal(messages[0].path, undefined);
    assert.deepEqual(bytesOf((w) => new Setup({ origin }).encode(w.varint(Uni.Setup), V)), bytes);
  }
});

test("lite-05 announce streams in both directions: request, ANNOUNCE_OK, then the initial burst", () => {
  const request = hex(`01 | 0d | 04 "room" c0010adbcdd0ed66`);
  const req = readStream(request, msgs((r) => AnnounceRequest.decode(r, V)));
  assert.equal(req.type, Bidi.Announce);
  assert.deepEqual(req.messages, [new AnnounceRequest("room", CLIENT_ORIGIN)]);
  assert.deepEqual(bytesOf((w) => req.messages[0].encode(w.varint(Bidi.Announce), V)), request);

  const relayRequest = hex("01 | 09 | 00 c006db27b4b2b2cb");
  assert.deepEqual(bytesOf((w) => new AnnounceRequest("", RELAY_ORIGIN).encode(w.varint(Bidi.Announce), V)), relayRequest);

  const reply = hex(`09 | c006db27b4b2b2cb 01 ; 08 | 01 05 "alice" 00`);
  let ok: AnnounceOk | undefined;
  const announces = frameAll(reply, 1, (f) => {
    if (ok === undefined) {
      ok = f.next((r) => AnnounceOk.decode(r, V));
      return undefined;
    }
    return f.next((r) => Announce.decode(r, V));
  });
  assert.deepEqual(ok, new AnnounceOk(RELAY_ORIGIN, 1));
  assert.deepEqual(announces, [new Announce(AnnounceStatus.Active, "alice", [])]);
  assert.deepEqual(
    bytesOf((w) => {
      new AnnounceOk(RELAY_ORIGIN, 1).encode(w, V);
      Announce.active("alice").encode(w, V);
    }),
    reply,
  );

  const clientReply = hex(`09 | c0010adbcdd0ed66 01 ; 0b | 01 08 "room/bob" 00`);
  assert.deepEqual(
    bytesOf((w) => {
      new AnnounceOk(CLIENT_ORIGIN, 1).encode(w, V);
      Announce.active("room/bob").encode(w, V);
    }),
    clientReply,
  );
});

test("lite-05 TRACK and TRACK_INFO: the client's defaults, 5000 ms at millisecond timescale", () => {
  const track = hex(`06 | 10 | 0a "room/alice" 04 "chat"`);
  const t = readStream(track, msgs((r) => TrackRequest.decode(r, V)));
  assert.equal(t.type, Bidi.Track);
  assert.deepEqual(t.messages, [new TrackRequest("room/alice", "chat")]);
  assert.deepEqual(bytesOf((w) => t.messages[0].encode(w.varint(Bidi.Track), V)), track);

  const info = hex("06 | 00 00 5388 43e8");
  const [decoded] = frameAll(info, 1, (f) => f.next((r) => TrackInfo.decode(r, V)));
  assert.deepEqual(decoded, new TrackInfo(0, false, 5000, 1000));
  assert.deepEqual(bytesOf((w) => decoded.encode(w, V)), info);
});

test("lite-05 SUBSCRIBE for the latest group, answered by a typed SUBSCRIBE_START", () => {
  const sub = hex(`02 | 16 | 00 0a "room/alice" 04 "chat" 03 00 00 00 00`);
  const s = readStream(sub, msgs((r) => Subscribe.decode(r, V)));
  assert.equal(s.type, Bidi.Subscribe);
  const [msg] = s.messages;
  assert.equal(msg.id, 0);
  assert.equal(msg.broadcast, "room/alice");
  assert.equal(msg.track, "chat");
  assert.deepEqual(msg.prefs, { priority: 3, ordered: false, maxLatency: 0 });
  assert.deepEqual(bytesOf((w) => msg.encode(w.varint(Bidi.Subscribe), V)), sub);

  const start = hex("00 | 01 | 00");
  const responses = frameAll(start, 1, (f) => f.next((r) => decodeSubscribeResponse(r, V), typedSubscribeResponses(V)));
  assert.deepEqual(responses, [new SubscribeStart(0)]);
});

test("lite-05 group stream: GROUP sub 0 seq 0, one frame at timestamp 1858 with payload \"hi\"", () => {
  const group = hex(`00 | 02 | 00 00 | 4e84 02 "hi"`);
  for (const step of [group.length, 1, 2]) {
    // The session reads the stream type with a Framer, then hands the rest to a GroupParser.
    const framer = new Framer(64);
    const frames: Array<[number, string]> = [];
    let header: GroupHeader | undefined;
    let type: number | undefined;
    let parser: GroupParser | undefined;
    for (let i = 0; i < group.length; i += step) {
      const chunk = group.slice(i, i + step);
      if (parser !== undefined) {
        parser.push(chunk);
        continue;
      }
      framer.push(chunk);
      type = framer.varint();
      if (type === undefined) continue;
      parser = new GroupParser(V, 1024, {
        header: (h) => (header = h),
        frame: (ts, payload) => frames.push([ts, new TextDecoder().decode(payload)]),
      });
      parser.push(framer.drain());
    }
    assert.ok(parser);
    parser.end();
    assert.equal(type, Uni.Group);
    assert.deepEqual(header, new GroupHeader(0, 0));
    assert.deepEqual(frames, [[1858, "hi"]]);
  }
  assert.deepEqual(
    bytesOf((w) => {
      new GroupHeader(0, 0).encode(w.varint(Uni.Group), V);
      encodeFrame(w, V, 1858, new TextEncoder().encode("hi"));
    }),
    group,
  );
});

test("legacy CLIENT_SETUP from @moq/net selects moq-lite-02 and re-encodes byte for byte", () => {
  const wire = hex(`20 | 00 31 | 03 | c0000000ff0dad02 c0000000ff0dad01 c0000000ff00000e | 03 | 02 8000a455 | 80040b5a 01 | 07 0b "moq-lite-js"`);
  const { type, messages } = readStream(wire, (f) => f.take((r) => ClientSetup.decode(r)));
  assert.equal(type, Bidi.ClientCompat);
  const [setup] = messages;
  assert.deepEqual(setup.versions, [0xff0dad02, 0xff0dad01, 0xff00000e]);
  assert.deepEqual(setup.params, [
    { key: LegacyParamKey.MaxRequestId, value: 42069n },
    { key: LegacyParamKey.Solicit, value: 1n },
    { key: LegacyParamKey.Implementation, value: new TextEncoder().encode("moq-lite-js") },
  ]);
  assert.equal(selectLegacyVersion(setup.versions), Version.Lite02);
  assert.deepEqual(bytesOf((w) => setup.encode(w.varint(Bidi.ClientCompat))), wire);

  // The captured SERVER_SETUP's parameters were elided; the JS server sends the same three.
  const server = hex(`21 | 00 20 | c0000000ff0dad02 | 03 02 8000a455 80040b5a 01 07 0b "moq-lite-js"`);
  const reply = new ServerSetup(Version.Lite02, setup.params);
  assert.deepEqual(bytesOf((w) => reply.encode(w.varint(Bidi.ServerCompat))), server);
  const back = readStream(server, (f) => f.take((r) => ServerSetup.decode(r)));
  assert.deepEqual(back.messages, [reply]);
});
