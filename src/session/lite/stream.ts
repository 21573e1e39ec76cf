// Stream type codes: the first varint on every moq-lite stream (moq-wire §2.2). Session code
// reads it with Framer.varint() and dispatches; an unknown type resets that stream only.

/** Bidirectional stream types. Either endpoint may open any of them. */
export const Bidi = {
  /** Lite-01/02 session stream; on 03+ an unexpected stream. */
  Session: 0x0,
  Announce: 0x1,
  Subscribe: 0x2,
  Fetch: 0x3,
  Probe: 0x4,
  Goaway: 0x5,
  /** Lite-05. */
  Track: 0x6,
  /** Legacy CLIENT_SETUP (the first client bidi stream when no protocol was negotiated). */
  ClientCompat: 0x20,
  /** Legacy SERVER_SETUP, written back on the same stream. */
  ServerCompat: 0x21,
} as const;
export type Bidi = (typeof Bidi)[keyof typeof Bidi];

/** Unidirectional stream types. */
export const Uni = {
  /** GROUP header, then FRAMEs until FIN. */
  Group: 0x0,
  /** Lite-05: one SETUP, then FIN. */
  Setup: 0x1,
} as const;
export type Uni = (typeof Uni)[keyof typeof Uni];
