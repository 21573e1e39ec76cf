// MoQ error codes (moq-wire §2.12; the Rust relay's `error.rs` at the snapshot the clients run):
// sent as stream reset codes and session close codes. Application code n travels as n + 64.
import { DecodeError } from "../util/bytes.js";

export const Code = {
  Cancel: 0,
  RequiredExtension: 1,
  Old: 2,
  Timeout: 3,
  Transport: 4,
  Decode: 5,
  Unauthorized: 6,
  Version: 9,
  UnexpectedStream: 10,
  BoundsExceeded: 11,
  Duplicate: 12,
  NotFound: 13,
  WrongSize: 14,
  ProtocolViolation: 15,
  UnexpectedMessage: 16,
  Unsupported: 17,
  Encode: 18,
  TooManyParameters: 19,
  InvalidRole: 20,
  UnknownAlpn: 21,
  Dropped: 24,
  Closed: 25,
  Lagged: 26,
  FrameTooLarge: 27,
  TimestampMismatch: 29,
  Unroutable: 30,
  Evicted: 31,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** First code of the application range: app code n is sent as APP_CODE_BASE + n. */
export const APP_CODE_BASE = 64;

/** A failure with the MoQ code it should be reported with (reset / close code). */
export class MoqError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "MoqError";
  }

  get reason(): string {
    return this.message;
  }
}

/**
 * The code to reset a stream or close a session with for `err`: its own code for a MoqError,
 * Decode for malformed bytes, ProtocolViolation for anything else.
 */
export function errorCode(err: unknown): number {
  if (err instanceof MoqError) return err.code;
  if (err instanceof DecodeError) return Code.Decode;
  return Code.ProtocolViolation;
}
