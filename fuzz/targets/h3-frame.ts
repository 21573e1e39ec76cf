// Fuzz targets: HTTP/3 frames as the relay reads them. "h3/request" is a request stream: the
// incremental FrameParser with the request-stream policy (first frame HEADERS, capped at 16 KiB,
// QPACK-decoded; DATA streamed into the capsule parser; others skipped). "h3/control" is a control
// stream: SETTINGS first (decoded), then anything but SETTINGS/DATA/HEADERS. Byte 0 of the input
// picks how the rest is split into chunks, so every chunk boundary gets exercised.
import type { FuzzTarget } from "../target.js";
import { DecodeError, Writer } from "../../src/util/bytes.js";
import { decodeSettings, encodeFrame, encodeSettings, Frame, H3Error, H3ProtocolError } from "../../src/transport/h3/frame.js";
import { CapsuleParser, FrameParser } from "../../src/transport/h3/parser.js";
import { decodeFieldSection, encodeFieldSection, QpackError } from "../../src/transport/h3/qpack.js";

const MAX_HEADER = 16 * 1024;
const MAX_CAPSULE = 64 * 1024;

/** Feed `data` in chunks whose sizes cycle from `seed` (1..16 bytes, or whole when 0). */
export function chunked(data: Uint8Array, seed: number, push: (c: Uint8Array) => void): void {
  if (seed === 0) return push(data);
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = 1 + ((seed * (i + 7)) % 16);
    push(data.subarray(at, at + n));
    at += n;
  }
}

const expected = (err: unknown): boolean => err instanceof H3ProtocolError || err instanceof QpackError || err instanceof DecodeError;

const connect = encodeFrame(
  Frame.Headers,
  encodeFieldSection([
    [":method", "CONNECT"],
    [":protocol", "webtransport"],
    [":scheme", "https"],
    [":authority", "relay.example"],
    [":path", "/room?jwt=x"],
    ["wt-available-protocols", '"moq-lite-05"'],
  ]),
);
const capsule = new Writer(32).varint(0x2843).varint(6).u8(0).u8(0).u8(0).u8(7).bytes(Buffer.from("ok")).finish();
const requestSeeds = [
  Uint8Array.of(0, ...connect),
  Uint8Array.of(3, ...connect, ...encodeFrame(Frame.Data, capsule)),
  Uint8Array.of(5, ...connect, ...encodeFrame(0x21, new Uint8Array(40)), ...encodeFrame(Frame.Data, capsule.subarray(0, 3)), ...encodeFrame(Frame.Data, capsule.subarray(3))),
];

function request(input: Uint8Array): void {
  let head = true;
  const capsules = new CapsuleParser(MAX_CAPSULE, (type, payload) => {
    if (type === 0x2843 && payload.byteLength < 4) throw new H3ProtocolError(H3Error.MessageError, "short close capsule");
  });
  const parser = new FrameParser({
    start: (type) => {
      if (head) {
        if (type !== Frame.Headers) throw new H3ProtocolError(H3Error.FrameUnexpected, "request stream must start with HEADERS");
        return { buffer: MAX_HEADER };
      }
      if (type === Frame.Data) return "stream";
      return type === Frame.Headers ? { buffer: MAX_HEADER } : "skip";
    },
    frame: (_type, payload) => {
      if (head) decodeFieldSection(payload, MAX_HEADER);
      head = false;
    },
    data: (_type, chunk) => capsules.push(chunk),
  });
  chunked(input.subarray(1), input[0] ?? 0, (c) => parser.push(c));
}

const settings = encodeSettings(new Map([[0x1, 0], [0x6, 16384], [0x8, 1], [0x33, 1], [0x2b603742, 1]]));
const controlSeeds = [Uint8Array.of(0, ...settings), Uint8Array.of(2, ...settings, ...encodeFrame(Frame.Goaway, Uint8Array.of(0))), Uint8Array.of(9, ...settings, ...encodeFrame(0x1f * 3 + 0x21, new Uint8Array(5)))];

function control(input: Uint8Array): void {
  let settled = false;
  const parser = new FrameParser({
    start: (type) => {
      if (!settled && type !== Frame.Settings) throw new H3ProtocolError(H3Error.MissingSettings, "no SETTINGS first");
      if (settled && (type === Frame.Settings || type === Frame.Data || type === Frame.Headers)) throw new H3ProtocolError(H3Error.FrameUnexpected, "unexpected frame");
      return type === Frame.Settings ? { buffer: MAX_HEADER } : "skip";
    },
    frame: (_type, payload) => {
      decodeSettings(payload);
      settled = true;
    },
  });
  chunked(input.subarray(1), input[0] ?? 0, (c) => parser.push(c));
}

export const targets: FuzzTarget[] = [
  { name: "h3/request", seeds: requestSeeds, run: request, expected },
  { name: "h3/control", seeds: controlSeeds, run: control, expected },
];
