// Stream type codes: the first varint on every moq-lite stream.
export const Bidi = {
  Session: 0x0,
  Announce: 0x1,
  Subscribe: 0x2,
  Fetch: 0x3,
  Probe: 0x4,
  Goaway: 0x5,
  Track: 0x6,
  ClientCompat: 0x20,
  ServerCompat: 0x21,
} as const;

export const Uni = {
  Group: 0x0,
  Setup: 0x1,
} as const;
