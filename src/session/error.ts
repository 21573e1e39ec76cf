// MoQ error codes (moq-lite and the Rust relay agree on these); sent as stream reset codes and
// session close codes.
export const Code = {
  Cancel: 0,
  Old: 2,
  Timeout: 3,
  Decode: 5,
  Unauthorized: 6,
  Version: 9,
  UnexpectedStream: 10,
  BoundsExceeded: 11,
  Duplicate: 12,
  NotFound: 13,
  ProtocolViolation: 15,
  UnexpectedMessage: 16,
  Unsupported: 17,
  Dropped: 24,
  Closed: 25,
  Lagged: 26,
  FrameTooLarge: 27,
  Unroutable: 30,
  Evicted: 31,
} as const;

export class MoqError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
