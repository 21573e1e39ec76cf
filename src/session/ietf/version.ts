// IETF moq-transport drafts, their identifiers, and what each one carries on the wire. Session
// code and codecs ask the predicates below instead of comparing version numbers, so a new draft
// means editing this file first and then each message whose layout changed (moq-wire §3).

export const Draft = {
  D14: 0xff00000e,
  D15: 0xff00000f,
  D16: 0xff000010,
  D17: 0xff000011,
  D18: 0xff000012,
  D19: 0xff000013,
  D20: 0xff000014,
} as const;
export type Draft = (typeof Draft)[keyof typeof Draft];

/** Every draft we speak, newest first (the preference order). */
export const DRAFTS: readonly Draft[] = [Draft.D20, Draft.D19, Draft.D18, Draft.D17, Draft.D16, Draft.D15, Draft.D14];

/**
 * ALPN / WebTransport protocol / QMux app protocol per draft. Draft-14 has no identifier of its
 * own: `moq-00` (the Rust relay's) opens a CLIENT_SETUP whose version list picks it.
 */
export const IetfAlpn = {
  D20: "moqt-20",
  D19: "moqt-19",
  D18: "moqt-18",
  D17: "moqt-17",
  D16: "moqt-16",
  D15: "moqt-15",
  D14: "moq-00",
} as const;

/** Identifiers in our preference order. */
export const IETF_ALPNS: readonly string[] = [IetfAlpn.D20, IetfAlpn.D19, IetfAlpn.D18, IetfAlpn.D17, IetfAlpn.D16, IetfAlpn.D15, IetfAlpn.D14];

/** The draft an identifier pins; "moq-00" means draft-14 chosen in CLIENT_SETUP. */
export function draftFromAlpn(alpn: string): Draft | undefined {
  switch (alpn) {
    case IetfAlpn.D20:
      return Draft.D20;
    case IetfAlpn.D19:
      return Draft.D19;
    case IetfAlpn.D18:
      return Draft.D18;
    case IetfAlpn.D17:
      return Draft.D17;
    case IetfAlpn.D16:
      return Draft.D16;
    case IetfAlpn.D15:
      return Draft.D15;
    case IetfAlpn.D14:
      return Draft.D14;
    default:
      return undefined;
  }
}

export function isIetfAlpn(alpn: string): boolean {
  return draftFromAlpn(alpn) !== undefined;
}

export function isDraft(n: number): n is Draft {
  return (DRAFTS as readonly number[]).includes(n);
}

/** "moq-transport-18" etc., for logs. */
export function draftName(v: number): string {
  return isDraft(v) ? `moq-transport-${v - 0xff000000}` : `unknown(0x${v.toString(16)})`;
}

const atLeast = (v: Draft, min: Draft): boolean => v >= min;

/** 17+: every MoQ integer is a leading-ones varint (14–16: QUIC varints). */
export const leadingOnes = (v: Draft): boolean => atLeast(v, Draft.D17);
/** 17 only: the 7-byte leading-ones form (1111110x) is reserved. */
export const forbids7ByteVarint = (v: Draft): boolean => v === Draft.D17;
/** 17+: SETUP (0x2F00) on a uni stream per side; every request on its own bidi stream. */
export const hasUniSetup = (v: Draft): boolean => atLeast(v, Draft.D17);
/** 14–16: one bidi control stream with CLIENT_SETUP / SERVER_SETUP and every control message. */
export const hasControlStream = (v: Draft): boolean => !hasUniSetup(v);
/** 14: CLIENT_SETUP lists versions and SERVER_SETUP names one. */
export const hasSetupVersions = (v: Draft): boolean => v === Draft.D14;
/** 14–16: responses and follow-ups carry the Request ID (17+: the stream identifies the request). */
export const hasResponseRequestId = (v: Draft): boolean => !atLeast(v, Draft.D17);
/** 17 only: requests carry a Required Request ID Delta after the Request ID. */
export const hasRequiredRequestIdDelta = (v: Draft): boolean => v === Draft.D17;
/** 16+: parameter keys are delta-encoded. */
export const deltaParameterKeys = (v: Draft): boolean => atLeast(v, Draft.D16);
/** 17+: message parameters are typed by key (u8 / bool as a raw byte), not by key parity. */
export const typedParameters = (v: Draft): boolean => atLeast(v, Draft.D17);
/** 17+: setup options run to the end of the message (no count). */
export const setupOptionsToEnd = (v: Draft): boolean => atLeast(v, Draft.D17);
/** 16+: REQUEST_ERROR carries a Retry Interval. */
export const hasRetryInterval = (v: Draft): boolean => atLeast(v, Draft.D16);
/** 15+: REQUEST_OK / REQUEST_ERROR replace the per-message OK / ERROR types. */
export const hasRequestOk = (v: Draft): boolean => atLeast(v, Draft.D15);
/** 17+: SUBSCRIBE_OK (and REQUEST_OK on read) end with Track Properties. */
export const hasTrackProperties = (v: Draft): boolean => atLeast(v, Draft.D17);
/** 18+: SUBSCRIBE_NAMESPACE is 0x50 (14–17: 0x11). */
export const subscribeNamespaceType = (v: Draft): number => (atLeast(v, Draft.D18) ? 0x50 : 0x11);
/** 16–17: the 0x11 SUBSCRIBE_NAMESPACE carries Subscribe Options. */
export const hasSubscribeOptions = (v: Draft): boolean => v === Draft.D16 || v === Draft.D17;
/** 16+: discovery answers with NAMESPACE / NAMESPACE_DONE on the request's stream (14/15: PUBLISH_NAMESPACE). */
export const hasNamespaceEntries = (v: Draft): boolean => atLeast(v, Draft.D16);
/** 14–16: PUBLISH_NAMESPACE_DONE / UNSUBSCRIBE exist (17+: closing the stream says it). */
export const hasDoneMessages = (v: Draft): boolean => !atLeast(v, Draft.D17);
/** 17+: GOAWAY carries a timeout after the URI. */
export const hasGoawayTimeout = (v: Draft): boolean => atLeast(v, Draft.D17);
/** 18+: subgroup stream types may carry FIRST_OBJECT (0x40). */
export const hasFirstObjectBit = (v: Draft): boolean => atLeast(v, Draft.D18);
/** 16+: object property keys are delta-encoded. */
export const deltaPropertyKeys = (v: Draft): boolean => atLeast(v, Draft.D16);
/** 20: LOCATION_FILTER is a list of up to four varints; LARGEST_OBJECT in SUBSCRIBE_OK; FILL / INCLUDE_PROPERTIES. */
export const hasFilterFields = (v: Draft): boolean => v === Draft.D20;
/** 15+: subgroup types 0x30–0x3D omit the publisher priority. */
export const hasPriorityAbsentTypes = (v: Draft): boolean => atLeast(v, Draft.D15);
