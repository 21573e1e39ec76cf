// Malformed and hostile input: every case fails with DecodeError (session code 5) or a MoqError
// carrying the code the session should reset or close with, never with a crash or a hang.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DecodeError, Reader, Writer } from "../../src/util/bytes.js";
import { Code, errorCode, MoqError } from "../../src/session/error.js";
import { Announce, AnnounceRequest } from "../../src/session/lite/announce.js";
import { Framer } from "../../src/session/lite/framer.js";
import { GroupParser } from "../../src/session/lite/group.js";
import { ClientSetup, Setup } from "../../src/session/lite/setup.js";
import { decodeSubscribeResponse, Subscribe } from "../../src/session/lite/subscribe.js";
import { TrackInfo } from "../../src/session/lite/track.js";
import { Version } from "../../src/session/lite/version.js";
import { hex } from "./wire.js";

const V = Version.Lite05;

const isDecode = (msg?: RegExp) => (e: unknown) => e instanceof DecodeError && errorCode(e) === Code.Decode && (msg === undefined || msg.test(e.message));
const isMoq = (code: number) => (e: unknown) => e instanceof MoqError && e.code === code && errorCode(e) === code;

/** Push `bytes` into a fresh Framer and pull one message with `decode`. */
function frame<T>(bytes: Uint8Array, decode: (r: Reader) => T, max = 1024, typed = false): T | undefined {
  const f = new Framer(max);
  f.push(bytes);
  return f.next(decode, typed);
}

test("a body shorter than its fields is a decode error, not a wait for more bytes", () => {
  // Length 2 covers the id and a path length of 1, but not the path byte.
  const bytes = hex("02 | 00 01");
  assert.throws(() => frame(bytes, (r) => Subscribe.decode(r, V)), isDecode(/shorter than its fields/));
  assert.throws(() => Subscribe.decode(new Reader(bytes), V), isDecode(/shorter than its fields/));
});

test("trailing bytes inside a message are a decode error", () => {
  // Lite-03 ANNOUNCE_REQUEST is just the prefix; the extra byte would be lite-04's exclude hop.
  const bytes = hex(`05 | 03 "a/b" 00`);
  assert.throws(() => frame(bytes, (r) => AnnounceRequest.decode(r, Version.Lite03)), isDecode(/1 trailing bytes/));
  assert.deepEqual(frame(bytes, (r) => AnnounceRequest.decode(r, Version.Lite04)), new AnnounceRequest("a/b", 0n));
});

test("a stream that ends inside a message is a decode error at FIN", () => {
  const f = new Framer(1024);
  f.push(hex(`05 | 03 "a`));
  assert.equal(
    f.next((r) => AnnounceRequest.decode(r, Version.Lite03)),
    undefined,
  );
  assert.throws(() => f.end(), isDecode(/ended inside a message/));
});

test("an oversized message is refused as soon as its length arrives: BoundsExceeded", () => {
  const f = new Framer(16);
  f.push(hex("40")); // first byte of a 2-byte length: not known yet
  assert.equal(
    f.next((r) => AnnounceRequest.decode(r, V)),
    undefined,
  );
  f.push(hex("11")); // 17 > 16
  assert.throws(() => f.next((r) => AnnounceRequest.decode(r, V)), isMoq(Code.BoundsExceeded));
  // Typed responses: the type comes first, the limit still applies to the length.
  assert.throws(() => frame(hex("00 | 4400"), (r) => decodeSubscribeResponse(r, V), 16, true), isMoq(Code.BoundsExceeded));
});

test("a raw (legacy SETUP) read that never completes is bounded too", () => {
  const f = new Framer(32);
  f.push(hex("ffff")); // a u16 length of 65535
  assert.equal(
    f.take((r) => ClientSetup.decode(r)),
    undefined,
  );
  f.push(new Uint8Array(60));
  assert.throws(() => f.take((r) => ClientSetup.decode(r)), isMoq(Code.BoundsExceeded));
});

test("invalid UTF-8 in a path, a track name or the SETUP path is a decode error", () => {
  assert.throws(() => frame(hex("03 | 02 ff fe"), (r) => AnnounceRequest.decode(r, Version.Lite03)), isDecode(/UTF-8/));
  assert.throws(() => frame(hex(`06 | 00 01 "a" 01 c3 03`), (r) => Subscribe.decode(r, Version.Lite02)), isDecode(/UTF-8/));
  assert.throws(() => frame(hex("05 | 01 02 02 c3 28"), (r) => Setup.decode(r, V)), isDecode(/UTF-8/));
});

test("SETUP: duplicate parameters, too many, and a varint parameter with extra bytes are refused", () => {
  assert.throws(() => frame(hex("07 | 02 03 01 01 03 01 02"), (r) => Setup.decode(r, V)), isDecode(/duplicate setup parameter 3/));
  assert.throws(() => frame(hex("02 | 4041"), (r) => Setup.decode(r, V)), isDecode(/65 setup parameters/));
  assert.throws(() => frame(hex("05 | 01 03 02 01 00"), (r) => Setup.decode(r, V)), isDecode(/trailing bytes after a varint/));
});

test("SETUP: unknown parameters are skipped, unknown role and probe values fall back", () => {
  const s = frame(hex("0c | 03 3f 03 aa bb cc 03 01 07 01 01 09"), (r) => Setup.decode(r, V));
  assert.ok(s);
  assert.equal(s.role, 0, "unknown role 7 means Both");
  assert.equal(s.probe, 2, "unknown probe 9 saturates to Increase");
  assert.equal(s.origin, 0n);
});

test("legacy CLIENT_SETUP: duplicate keys and bytes left in the u16 body are refused", () => {
  assert.throws(() => ClientSetup.decode(new Reader(hex("00 07 | 01 01 | 02 02 01 02 02"))), isDecode(/duplicate/));
  assert.throws(() => ClientSetup.decode(new Reader(hex("00 04 | 01 01 | 00 ff"))), isDecode(/trailing/));
  assert.throws(() => ClientSetup.decode(new Reader(hex("00 02 | 05 01"))), isDecode(/malformed legacy SETUP/));
});

test("announcements: a bad status, more than 32 hops, or more than 32 path segments are refused", () => {
  assert.throws(() => frame(hex(`04 | 03 01 "a" 00`), (r) => Announce.decode(r, V)), isDecode(/invalid announce status 3/));
  const tooMany = hex(`04 | 01 01 "a" 21`); // count 33 on lite-03
  assert.throws(() => frame(tooMany, (r) => Announce.decode(r, Version.Lite03)), isDecode(/hop count 33/));
  const deep = Array.from({ length: 33 }, () => "x").join("/");
  const w = new Writer();
  new AnnounceRequest(deep).encode(w, Version.Lite03);
  assert.throws(() => frame(w.finish(), (r) => AnnounceRequest.decode(r, Version.Lite03)), isDecode(/more than 32 segments/));
});

test("TRACK_INFO with a zero timescale or a boolean byte of 2 is refused", () => {
  assert.throws(() => frame(hex("04 | 00 00 00 00"), (r) => TrackInfo.decode(r, V)), isDecode(/timescale/));
  assert.throws(() => frame(hex("04 | 00 02 00 01"), (r) => TrackInfo.decode(r, V)), isDecode(/invalid boolean/));
});

test("an unknown subscribe response type is refused (lite-05 knows 0-2, lite-03/04 know 0-1)", () => {
  assert.throws(() => frame(hex("03 | 01 | 00"), (r) => decodeSubscribeResponse(r, V), 64, true), isDecode(/unknown subscribe response type 3/));
  assert.throws(() => frame(hex("02 | 03 | 00 00 00"), (r) => decodeSubscribeResponse(r, Version.Lite04), 64, true), isDecode(/type 2/));
});

test("a varint beyond 2^53 in a numeric field is a decode error", () => {
  assert.throws(() => frame(hex("0b | ffffffffffffffff 00 00 00"), (r) => Subscribe.decode(r, Version.Lite02)), isDecode(/2\^53/));
});

test("a frame over the size limit fails with FrameTooLarge before its payload arrives", () => {
  const parser = new GroupParser(V, 1000, { header: () => undefined, frame: () => assert.fail("no frame expected") });
  parser.push(hex("02 | 00 00 | 00"));
  assert.throws(() => parser.push(hex("4fe9")), isMoq(Code.FrameTooLarge)); // 4073 bytes
  // Exactly at the limit is fine.
  let got = 0;
  const ok = new GroupParser(Version.Lite04, 3, { header: () => undefined, frame: (_ts, p) => (got = p.length) });
  ok.push(hex("02 | 00 00 | 03 aabbcc"));
  ok.end();
  assert.equal(got, 3);
});

test("group streams: FIN before the header or inside a frame, an oversized or padded header", () => {
  const sink = { header: () => undefined, frame: () => undefined };
  const early = new GroupParser(V, 100, sink);
  early.push(hex("02 00"));
  assert.throws(() => early.end(), isDecode(/before its header/));

  const cut = new GroupParser(V, 100, sink);
  cut.push(hex("02 | 00 00 | 00 05 aabb"));
  assert.throws(() => cut.end(), isDecode(/inside a frame/));

  const cutHead = new GroupParser(V, 100, sink);
  cutHead.push(hex("02 | 00 00 | 40"));
  assert.throws(() => cutHead.end(), isDecode(/inside a frame/));

  assert.throws(() => new GroupParser(V, 100, sink).push(hex("41 00")), isMoq(Code.BoundsExceeded));
  assert.throws(() => new GroupParser(V, 100, sink).push(hex("03 | 00 00 00")), isDecode(/trailing bytes in group header/));
  assert.throws(() => new GroupParser(V, 100, sink).push(hex("01 | 00")), isDecode(/shorter/));
  assert.throws(() => new GroupParser(V, 100, sink).push(hex("00")), isDecode(/shorter/));
});

test("errorCode: MoqError keeps its code, DecodeError is Decode, anything else a protocol violation", () => {
  assert.equal(errorCode(new MoqError(Code.NotFound, "x")), 13);
  assert.equal(errorCode(new DecodeError("x")), 5);
  assert.equal(errorCode(new Error("x")), 15);
  assert.equal(new MoqError(Code.Unroutable, "no route").reason, "no route");
});

test("a frame that spans chunks holds memory for the bytes that arrived, not for its declared length", () => {
  // 200 streams each declaring a 16 MiB frame and sending one byte would pin 3.2 GB if the parser
  // allocated the declared length up front.
  const before = process.memoryUsage().arrayBuffers;
  const parsers: GroupParser[] = [];
  for (let i = 0; i < 200; i++) {
    const p = new GroupParser(Version.Lite04, 16 * 1024 * 1024, { header: () => undefined, frame: () => assert.fail("the frame is incomplete") });
    p.push(hex("02 | 00 00 | 81000000 | aa"));
    parsers.push(p);
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 64 * 1024 * 1024, `200 one-byte partial frames hold ${grown} bytes`);
  // The frame still assembles intact when the rest arrives, in uneven chunks.
  let got: Uint8Array | undefined;
  const whole = new GroupParser(Version.Lite04, 1 << 20, { header: () => undefined, frame: (_ts, p) => (got = p) });
  const len = 300_000;
  const body = new Uint8Array(len).map((_, i) => i % 251);
  whole.push(hex("02 | 00 00 | 800493e0"));
  for (let off = 0; off < len; off += 7_919) whole.push(body.subarray(off, Math.min(len, off + 7_919)));
  whole.end();
  assert.equal(got?.length, len);
  assert.deepEqual(got, body);
  assert.equal(parsers.length, 200);
});
