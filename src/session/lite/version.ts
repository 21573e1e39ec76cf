// moq-lite versions, their identifiers, and what each one carries on the wire. Session code asks
// the predicates below instead of comparing version numbers, so adding a version means editing
// this file first and then each message whose layout changed.

export const Version = {
  Lite01: 0xff0dad01,
  Lite02: 0xff0dad02,
  Lite03: 0xff0dad03,
  Lite04: 0xff0dad04,
  Lite05: 0xff0dad05,
} as const;
export type Version = (typeof Version)[keyof typeof Version];

/** Every version we speak, newest first (the preference order). */
export const VERSIONS: readonly Version[] = [Version.Lite05, Version.Lite04, Version.Lite03, Version.Lite02, Version.Lite01];

/** ALPN / WebTransport / WebSocket protocol identifiers. */
export const Alpn = {
  Lite05: "moq-lite-05",
  Lite04: "moq-lite-04",
  Lite03: "moq-lite-03",
  /** Legacy: the version is negotiated in-band (CLIENT_SETUP / SERVER_SETUP). */
  Legacy: "moql",
} as const;

/** Preference order for a server choosing among offered identifiers. */
export const ALPNS: readonly string[] = [Alpn.Lite05, Alpn.Lite04, Alpn.Lite03, Alpn.Legacy];

/** Versions the legacy in-band SETUP may select, in our preference order. */
export const LEGACY_VERSIONS: readonly Version[] = [Version.Lite02, Version.Lite01];

/** Marker returned by versionFromAlpn when the version must come from the in-band SETUP. */
export const NEGOTIATE = "negotiate";

/**
 * What a negotiated protocol identifier means: a fixed version, NEGOTIATE (no protocol or "moql":
 * expect CLIENT_SETUP on the first bidi stream), or undefined (not moq-lite at all).
 */
export function versionFromAlpn(alpn: string): Version | typeof NEGOTIATE | undefined {
  switch (alpn) {
    case Alpn.Lite05:
      return Version.Lite05;
    case Alpn.Lite04:
      return Version.Lite04;
    case Alpn.Lite03:
      return Version.Lite03;
    case Alpn.Legacy:
    case "":
      return NEGOTIATE;
    default:
      return undefined;
  }
}

/** The identifier that selects `v` directly, or "moql" for the in-band negotiated ones. */
export function alpnFor(v: Version): string {
  switch (v) {
    case Version.Lite05:
      return Alpn.Lite05;
    case Version.Lite04:
      return Alpn.Lite04;
    case Version.Lite03:
      return Alpn.Lite03;
    default:
      return Alpn.Legacy;
  }
}

export function isVersion(n: number): n is Version {
  return (VERSIONS as readonly number[]).includes(n);
}

/**
 * The version a legacy CLIENT_SETUP selects: the first one in the client's list that we allow
 * (moq-lite-02 or -01), or undefined when there is none (close with Code.Version).
 */
export function selectLegacyVersion(offered: readonly number[], allowed: readonly Version[] = LEGACY_VERSIONS): Version | undefined {
  for (const v of offered) if (isVersion(v) && isLegacy(v) && allowed.includes(v)) return v;
  return undefined;
}

/** "moq-lite-05" etc., for logs. */
export function versionName(v: number): string {
  return isVersion(v) ? `moq-lite-0${v - 0xff0dad00}` : `unknown(0x${v.toString(16)})`;
}

const atLeast = (v: Version, min: Version): boolean => v >= min;

/** Lite-01/02: reached through the in-band SETUP; the SETUP stream stays open as the session stream. */
export const isLegacy = (v: Version): boolean => v <= Version.Lite02;
/** Lite-01/02: SESSION_INFO messages on the session (CLIENT_SETUP) stream. */
export const hasSessionStream = isLegacy;
/** Lite-01/02: ANNOUNCE_INIT lists the active broadcasts after ANNOUNCE_PLEASE. */
export const hasAnnounceInit = isLegacy;

/** Lite-05: each side sends SETUP on a uni stream (type 0x1). */
export const hasSetupStream = (v: Version): boolean => atLeast(v, Version.Lite05);
/** Lite-05: TRACK / TRACK_INFO on bidi type 0x6; subscribers ask before they SUBSCRIBE. */
export const hasTrackStream = (v: Version): boolean => atLeast(v, Version.Lite05);
/** Lite-05: every FRAME starts with a zigzag timestamp delta. */
export const hasFrameTimestamps = (v: Version): boolean => atLeast(v, Version.Lite05);
/** Lite-05: ANNOUNCE_OK opens the reply; hop lists exclude the responder (the receiver appends it). */
export const hasAnnounceOk = (v: Version): boolean => atLeast(v, Version.Lite05);
/** Lite-05: ANNOUNCE status 2 (restart) may be received; it means active. */
export const hasAnnounceRestart = (v: Version): boolean => atLeast(v, Version.Lite05);
/** Lite-04/05 only (removed again in 06): ANNOUNCE_REQUEST carries the requester's origin. */
export const hasExcludeHop = (v: Version): boolean => v === Version.Lite04 || v === Version.Lite05;
/** Lite-04+: ANNOUNCE carries hop ids. On 04 the publisher's own origin is the last entry. */
export const hasHopIds = (v: Version): boolean => atLeast(v, Version.Lite04);
/** Lite-03+: ANNOUNCE carries a hop count (03: the count alone). */
export const hasHopCount = (v: Version): boolean => atLeast(v, Version.Lite03);
/** Lite-03+: SUBSCRIBE / SUBSCRIBE_UPDATE carry ordered, max latency and the group range. */
export const hasSubscribeRange = (v: Version): boolean => atLeast(v, Version.Lite03);
/**
 * Lite-03+: each publisher response on a subscribe stream is `Type (i)` then the length-prefixed
 * body (pass this as `typed` to Framer.next). Lite-01/02 have a single untyped SUBSCRIBE_OK.
 */
export const typedSubscribeResponses = (v: Version): boolean => atLeast(v, Version.Lite03);
/** Lite-01..04: the publisher answers SUBSCRIBE with SUBSCRIBE_OK before anything else. */
export const hasSubscribeOk = (v: Version): boolean => v <= Version.Lite04;
/** Lite-05: acceptance is implicit; SUBSCRIBE_START / SUBSCRIBE_END carry the resolved range. */
export const hasSubscribeStartEnd = (v: Version): boolean => atLeast(v, Version.Lite05);
/** Lite-03+: SUBSCRIBE_DROP reports groups that will never be delivered. */
export const hasSubscribeDrop = (v: Version): boolean => atLeast(v, Version.Lite03);
/**
 * Lite-05: FETCH streams are served and sent (the JS client only fetches on 05, and Rust serves
 * 05 only); the FETCH codec itself also accepts 03/04 as the client's does.
 */
export const hasFetch = (v: Version): boolean => atLeast(v, Version.Lite05);
/** Lite-03+: PROBE streams exist. */
export const hasProbe = (v: Version): boolean => atLeast(v, Version.Lite03);
/** Lite-04+: PROBE carries an RTT after the bitrate. */
export const hasProbeRtt = (v: Version): boolean => atLeast(v, Version.Lite04);
/** Lite-04+: GOAWAY streams exist. */
export const hasGoaway = (v: Version): boolean => atLeast(v, Version.Lite04);
/** Lite-05: single-frame groups may travel as QUIC datagrams. */
export const hasDatagrams = (v: Version): boolean => atLeast(v, Version.Lite05);
