// Fuzz targets: every moq-lite message decoder, one target per version, through the same Framer
// and codecs the session uses. Byte 0 of the input picks the message kind; the rest is fed to a
// Framer (max 64 KiB messages, as the default limit) in two chunks split by byte 1, and messages
// are pulled until none is complete, then the stream "ends". Group streams and fetch responses
// go through the GroupParser, datagrams through Datagram.decode.
import type { FuzzTarget } from "../target.js";
import { DecodeError, Reader, Writer } from "../../src/util/bytes.js";
import { MoqError } from "../../src/session/error.js";
import { Announce, AnnounceInit, AnnounceOk, AnnounceRequest } from "../../src/session/lite/announce.js";
import { Datagram } from "../../src/session/lite/datagram.js";
import { Fetch } from "../../src/session/lite/fetch.js";
import { Framer } from "../../src/session/lite/framer.js";
import { Goaway } from "../../src/session/lite/goaway.js";
import { FrameEncoder, GroupHeader, GroupParser } from "../../src/session/lite/group.js";
import { Probe } from "../../src/session/lite/probe.js";
import { ClientSetup, ServerSetup, SessionInfo, Setup } from "../../src/session/lite/setup.js";
import { decodeSubscribeResponse, encodeSubscribeResponse, Subscribe, SubscribeOk, SubscribeUpdate } from "../../src/session/lite/subscribe.js";
import { TrackInfo, TrackRequest } from "../../src/session/lite/track.js";
import { typedSubscribeResponses, Version, VERSIONS, versionName } from "../../src/session/lite/version.js";

const MAX_MESSAGE = 64 * 1024;
// The parser allocates a declared payload up front: a small ceiling keeps inputs cheap.
const MAX_FRAME = 64 * 1024;

type Decode = (r: Reader, v: Version) => unknown;
/** Message kinds by byte 0; undefined entries are the non-framed kinds handled below. */
const KINDS: Array<Decode | undefined> = [
  (r, v) => AnnounceRequest.decode(r, v),
  (r, v) => AnnounceOk.decode(r, v),
  (r, v) => Announce.decode(r, v),
  (r, v) => AnnounceInit.decode(r, v),
  (r, v) => Subscribe.decode(r, v),
  (r, v) => SubscribeUpdate.decode(r, v),
  (r, v) => decodeSubscribeResponse(r, v),
  (r, v) => Fetch.decode(r, v),
  (r, v) => Goaway.decode(r, v),
  (r, v) => TrackRequest.decode(r, v),
  (r, v) => TrackInfo.decode(r, v),
  (r, v) => Probe.decode(r, v),
  (r, v) => Setup.decode(r, v),
  (r, v) => SessionInfo.decode(r, v),
  undefined, // 14: legacy CLIENT_SETUP (own framing)
  undefined, // 15: legacy SERVER_SETUP (own framing)
  undefined, // 16: group stream
  undefined, // 17: fetch response (bare frames)
  undefined, // 18: datagram
];

function decodeStream(kind: number, body: Uint8Array, split: number, v: Version): void {
  const cut = Math.min(split, body.length);
  const chunks = [body.subarray(0, cut), body.subarray(cut)];
  if (kind === 16 || kind === 17) {
    const p = new GroupParser(v, MAX_FRAME, { header: () => undefined, frame: () => undefined }, kind === 16);
    for (const c of chunks) p.push(c);
    return;
  }
  if (kind === 18) {
    Datagram.decode(body, v);
    return;
  }
  const f = new Framer(MAX_MESSAGE);
  const decode = KINDS[kind];
  for (const c of chunks) {
    f.push(c);
    if (kind === 14) while (f.take((r) => ClientSetup.decode(r)) !== undefined);
    else if (kind === 15) while (f.take((r) => ServerSetup.decode(r)) !== undefined);
    else if (decode !== undefined) {
      const typed = kind === 6 && typedSubscribeResponses(v);
      while (f.next((r) => decode(r, v), typed) !== undefined);
    }
  }
  f.end();
}

function seedsFor(v: Version): Uint8Array[] {
  const enc: Array<[number, (w: Writer) => void]> = [
    [0, (w) => new AnnounceRequest("room/a", 0x1234n).encode(w, v)],
    [1, (w) => new AnnounceOk(0x99n, 2).encode(w, v)],
    [2, (w) => Announce.active("cam", [1n, 2n]).encode(w, v)],
    [2, (w) => Announce.ended("cam").encode(w, v)],
    [3, (w) => new AnnounceInit(["a", "b/c"]).encode(w, v)],
    [4, (w) => new Subscribe(3, "room/cam", "video", { priority: 7, ordered: true, maxLatency: 500, start: 4, end: 9 }).encode(w, v)],
    [5, (w) => new SubscribeUpdate({ priority: 1, ordered: false, maxLatency: 100 }).encode(w, v)],
    [6, (w) => encodeSubscribeResponse(w, new SubscribeOk({ priority: 1, ordered: false, maxLatency: 0 }), v)],
    [7, (w) => new Fetch("room/cam", "video", 3, 42).encode(w, v)],
    [8, (w) => new Goaway("https://other.example/room").encode(w, v)],
    [9, (w) => new TrackRequest("room/cam", "video").encode(w, v)],
    [10, (w) => new TrackInfo(5, true, 2000, 90000).encode(w, v)],
    [11, (w) => new Probe({ bitrate: 1_000_000, rtt: 30 }).encode(w, v)],
    [12, (w) => new Setup({ origin: 0xabcn, path: "/room?jwt=x" }).encode(w, v)],
    [14, (w) => new ClientSetup([Version.Lite02, Version.Lite01]).encode(w)],
    [15, (w) => new ServerSetup(Version.Lite02).encode(w)],
    [
      16,
      (w) => {
        new GroupHeader(3, 17).encode(w, v);
        const e = new FrameEncoder(v);
        for (const p of ["one", "two!", ""]) {
          e.head(w, 10, p.length);
          w.bytes(new TextEncoder().encode(p));
        }
      },
    ],
    [
      17,
      (w) => {
        const e = new FrameEncoder(v);
        e.head(w, 5, 3);
        w.bytes(new Uint8Array([1, 2, 3]));
      },
    ],
    [18, (w) => new Datagram(0, 5, 7, new Uint8Array([9, 9])).encode(w, v)],
  ];
  const out: Uint8Array[] = [];
  for (const [kind, fn] of enc) {
    const w = new Writer(64);
    try {
      fn(w);
    } catch {
      continue; // not in this version
    }
    const body = w.finish();
    out.push(Uint8Array.of(kind, body.length >> 1, ...body));
    // Two messages back to back, for the framer's carry-over path.
    out.push(Uint8Array.of(kind, 3, ...body, ...body));
  }
  return out;
}

export const targets: FuzzTarget[] = VERSIONS.map((v) => ({
  name: `${versionName(v)}/messages`,
  seeds: seedsFor(v),
  run(input: Uint8Array): void {
    if (input.length === 0) return;
    const kind = input[0] % KINDS.length;
    const split = input.length > 1 ? input[1] : 0;
    decodeStream(kind, input.subarray(2), split, v);
  },
  expected: (err) => err instanceof DecodeError || err instanceof MoqError,
}));
