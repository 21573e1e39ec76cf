// IETF session termination codes (draft §"Termination") and how the relay's MoQ codes map onto
// them: a malformed message closes the session with PROTOCOL_VIOLATION (or the more specific code
// the draft names), never with a moq-lite number the peer cannot read.
import { DecodeError } from "../../util/bytes.js";
import { Code, MoqError } from "../error.js";

export const Termination = {
  NoError: 0x0,
  InternalError: 0x1,
  Unauthorized: 0x2,
  ProtocolViolation: 0x3,
  InvalidRequestId: 0x4,
  DuplicateTrackAlias: 0x5,
  KeyValueFormattingError: 0x6,
  TooManyRequests: 0x7,
  InvalidPath: 0x8,
  MalformedPath: 0x9,
  GoawayTimeout: 0x10,
  ControlMessageTimeout: 0x11,
  DataStreamTimeout: 0x12,
  VersionNegotiationFailed: 0x15,
} as const;

/** The termination code for `err` (anything a codec or handler threw). */
export function terminationCode(err: unknown): number {
  if (err instanceof DecodeError || err instanceof RangeError) return Termination.ProtocolViolation;
  if (!(err instanceof MoqError)) return Termination.InternalError;
  return fromMoq(err.code);
}

export function fromMoq(code: number): number {
  switch (code) {
    case Code.Cancel:
      return Termination.NoError;
    case Code.Unauthorized:
      return Termination.Unauthorized;
    case Code.Version:
      return Termination.VersionNegotiationFailed;
    case Code.Timeout:
      return Termination.ControlMessageTimeout;
    case Code.TooManyParameters:
      return Termination.KeyValueFormattingError;
    case Code.Duplicate:
      return Termination.DuplicateTrackAlias;
    default:
      return Termination.ProtocolViolation;
  }
}
