// moq-lite versions and what each one carries on the wire. Session code asks these predicates
// instead of comparing version numbers, so adding a version touches this file first.

export const Version = {
  Lite01: 0xff0dad01,
  Lite02: 0xff0dad02,
  Lite03: 0xff0dad03,
  Lite04: 0xff0dad04,
  Lite05: 0xff0dad05,
} as const;
export type Version = (typeof Version)[keyof typeof Version];

const ALPN: Record<string, Version> = { "moq-lite-05": Version.Lite05, "moq-lite-04": Version.Lite04, "moq-lite-03": Version.Lite03 };

/** The version an ALPN / subprotocol selects; undefined = negotiate in-band (legacy SETUP). */
export function versionFromAlpn(alpn: string): Version | undefined {
  return ALPN[alpn];
}

export function versionName(v: Version): string {
  return `moq-lite-0${v - 0xff0dad00}`;
}

const at = (v: Version, min: Version): boolean => v >= min;

/** Lite-05: a uni SETUP stream from each side. */
export const hasSetupStream = (v: Version): boolean => at(v, Version.Lite05);
/** Lite-05: TRACK/TRACK_INFO streams and per-frame timestamps. */
export const hasTrackStream = (v: Version): boolean => at(v, Version.Lite05);
export const hasFrameTimestamps = hasTrackStream;
/** Lite-05: ANNOUNCE_OK first on announce streams; hop lists exclude the sender. */
export const hasAnnounceOk = (v: Version): boolean => at(v, Version.Lite05);
/** Lite-04/05: ANNOUNCE_REQUEST carries the requester's origin. */
export const hasExcludeHop = (v: Version): boolean => v === Version.Lite04 || v === Version.Lite05;
/** Hop ids on announcements (lite-04+); lite-03 carries only a count; 01/02 nothing. */
export const hasHopIds = (v: Version): boolean => at(v, Version.Lite04);
export const hasHopCount = (v: Version): boolean => at(v, Version.Lite03);
/** Lite-01/02: ANNOUNCE_INIT lists the current broadcasts; SUBSCRIBE has only a priority. */
export const isLegacy = (v: Version): boolean => v <= Version.Lite02;
export const hasFetch = (v: Version): boolean => at(v, Version.Lite05);
export const hasDatagrams = (v: Version): boolean => at(v, Version.Lite05);
export const hasProbeRtt = (v: Version): boolean => at(v, Version.Lite04);
