// HTTP/3 frames (RFC 9114 §7), SETTINGS, error codes, and the WebTransport application error
// code mapping (draft-ietf-webtrans-http3 §4.3).
import { DecodeError, Reader, Writer } from "../../util/bytes.js";

export const Frame = { Data: 0x0, Headers: 0x1, CancelPush: 0x3, Settings: 0x4, PushPromise: 0x5, Goaway: 0x7, MaxPushId: 0xd, WebTransportStream: 0x41 } as const;

export const StreamType = { Control: 0x00, Push: 0x01, QpackEncoder: 0x02, QpackDecoder: 0x03, WebTransport: 0x54 } as const;

export const H3Error = {
  NoError: 0x100,
  GeneralProtocolError: 0x101,
  InternalError: 0x102,
  StreamCreationError: 0x103,
  ClosedCriticalStream: 0x104,
  FrameUnexpected: 0x105,
  FrameError: 0x106,
  ExcessiveLoad: 0x107,
  IdError: 0x108,
  SettingsError: 0x109,
  MissingSettings: 0x10a,
  RequestRejected: 0x10b,
  RequestCancelled: 0x10c,
  RequestIncomplete: 0x10d,
  MessageError: 0x10e,
  ConnectError: 0x10f,
  VersionFallback: 0x110,
  QpackDecompressionFailed: 0x200,
} as const;

export const Setting = {
  QpackMaxTableCapacity: 0x01,
  MaxFieldSectionSize: 0x06,
  QpackBlockedStreams: 0x07,
  EnableConnectProtocol: 0x08,
  H3Datagram: 0x33,
  H3DatagramDraft04: 0xffd277,
  WebTransportMaxSessions: 0xc671706a,
  EnableWebTransportDraft: 0x2b603742,
  WebTransportMaxSessionsDraft: 0x2b603743,
} as const;

export class H3ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  return new Writer(payload.length + 16).varint(type).varint(payload.length).bytes(payload).finish();
}

/** Incremental frame reader for control and request streams. */
export function readFrame(r: Reader, maxPayload: number): { type: number; payload: Uint8Array } {
  // GREASE frame types use the whole 62-bit space; unknown types are skipped, so precision is moot.
  const type = Number(r.varBig());
  const len = r.varint();
  if (len > maxPayload) throw new H3ProtocolError(H3Error.ExcessiveLoad, `frame of ${len} bytes exceeds ${maxPayload}`);
  return { type, payload: r.bytes(len) };
}

export function encodeSettings(settings: Map<number, number>): Uint8Array {
  const w = new Writer(64);
  for (const [k, v] of settings) w.varint(k).varint(v);
  return encodeFrame(Frame.Settings, w.finish());
}

export function decodeSettings(payload: Uint8Array): Map<number, number> {
  const r = new Reader(payload);
  const out = new Map<number, number>();
  try {
    while (r.remaining > 0) {
      // GREASE settings use 62-bit ids and values: read exactly, keep as (lossy) numbers.
      const k = Number(r.varBig());
      const v = Number(r.varBig());
      if (out.has(k)) throw new H3ProtocolError(H3Error.SettingsError, `duplicate setting 0x${k.toString(16)}`);
      if (k >= 0x2 && k <= 0x5) throw new H3ProtocolError(H3Error.SettingsError, `HTTP/2 setting 0x${k.toString(16)} in HTTP/3`);
      out.set(k, v);
    }
  } catch (e) {
    if (e instanceof H3ProtocolError) throw e;
    if (e instanceof DecodeError) throw new H3ProtocolError(H3Error.FrameError, e.message);
    throw new H3ProtocolError(H3Error.FrameError, "truncated SETTINGS");
  }
  return out;
}

const WT_FIRST = 0x52e4a40fa8db;
const WT_LAST = 0x52e5ac983162;

/** WebTransport application error → HTTP/3 error code space (skipping the GREASE code points). */
export function wtToH3(code: number): number {
  return WT_FIRST + code + Math.floor(code / 0x1e);
}

/** The inverse; undefined outside the WebTransport range or on a GREASE code point. */
export function h3ToWt(h3: number): number | undefined {
  if (h3 < WT_FIRST || h3 > WT_LAST) return undefined;
  if ((h3 - 0x21) % 0x1f === 0) return undefined;
  const shifted = h3 - WT_FIRST;
  return shifted - Math.floor(shifted / 0x1f);
}
