// Which Sec-WebSocket-Protocol to accept (moq-wire §4.1). Clients offer "{qmux version}.{MoQ
// ALPN}" pairs, then bare wire formats ("qmux-02", …, "webtransport") that mean "no app protocol,
// negotiate in the legacy in-band SETUP". We answer with exactly one offered value, chosen by OUR
// preference: the first of config.server.versions the client offers, on the newest QMux draft it
// offers for it. @moq/qmux's own selectSubprotocol implements exactly that order.
import { selectSubprotocol } from "@moq/qmux";

/** QMux drafts, newest (preferred) first. */
export const QMUX_VERSIONS = ["qmux-02", "qmux-01", "qmux-00"] as const;

/** The identifier that stands for the legacy in-band SETUP (moq-lite-02/-01). */
export const LEGACY_ALPN = "moql";

export type Choice =
  /** `subprotocol` is the value to echo (undefined: the client sent none); `protocol` its MoQ part. */
  | { ok: true; subprotocol: string | undefined; protocol: string }
  | { ok: false; reason: string };

/**
 * Choose from the raw Sec-WebSocket-Protocol header. Bare wire formats, and a request without the
 * header, only work when the legacy SETUP is enabled (`moql` among `versions`): otherwise the
 * session could never agree on a version.
 */
export function chooseSubprotocol(offered: string | undefined, versions: readonly string[]): Choice {
  const legacy = versions.includes(LEGACY_ALPN);
  if (offered === undefined || offered.trim() === "") {
    return legacy ? { ok: true, subprotocol: undefined, protocol: "" } : { ok: false, reason: "a Sec-WebSocket-Protocol naming a MoQ version is required" };
  }
  const chosen = selectSubprotocol(offered, {
    protocols: [...versions],
    // null: every QMux draft qmux knows, newest first.
    versions: Object.fromEntries(versions.map((v) => [v, null])),
    requireProtocol: !legacy,
  });
  if (chosen === undefined) return { ok: false, reason: `no offered subprotocol is supported; this relay speaks ${versions.join(", ")} over ${QMUX_VERSIONS.join(", ")}` };
  return { ok: true, subprotocol: chosen, protocol: appProtocol(chosen) };
}

/** The MoQ protocol inside a subprotocol: "qmux-02.moq-lite-05" → "moq-lite-05"; bare → "". */
export function appProtocol(subprotocol: string | undefined): string {
  if (subprotocol === undefined) return "";
  for (const v of QMUX_VERSIONS) {
    if (subprotocol.startsWith(`${v}.`)) return subprotocol.slice(v.length + 1);
  }
  return "";
}
