// The connection settings at the top of the page: relay URL (its path is the root the user's
// broadcast names live under), optional token, and the transport policy.
import { byId } from "./dom.js";

export type TransportMode = "auto" | "webtransport";

export interface Settings {
  /** The relay URL with its root path and, when given, ?jwt=<token>. */
  url(): URL;
  token(): string;
  /** The root path (no leading or trailing "/"). */
  root(): string;
  transport(): TransportMode;
  onChange(fn: () => void): void;
}

export function readSettings(): Settings {
  const relay = byId<HTMLInputElement>("relay");
  const token = byId<HTMLInputElement>("token");
  const transport = byId<HTMLSelectElement>("transport");
  const meta = document.querySelector<HTMLMetaElement>('meta[name="moq-root"]');
  const root = (meta?.content ?? "").replace(/^\/+|\/+$/g, "");
  relay.value = new URL(`/${root}`, location.origin).href;

  const parse = (): URL => {
    let u: URL;
    try {
      u = new URL(relay.value.trim());
    } catch {
      u = new URL(`/${root}`, location.origin);
    }
    u.search = "";
    u.hash = "";
    if (token.value.trim() !== "") u.searchParams.set("jwt", token.value.trim());
    return u;
  };
  return {
    url: parse,
    token: () => token.value.trim(),
    root: () => parse().pathname.replace(/^\/+|\/+$/g, ""),
    transport: () => (transport.value === "webtransport" ? "webtransport" : "auto"),
    onChange(fn) {
      for (const el of [relay, token, transport]) el.addEventListener("change", fn);
      byId<HTMLFormElement>("conn").addEventListener("submit", (e) => {
        e.preventDefault();
        fn();
      });
    },
  };
}

/** The transport label of an established @moq/net connection. */
export function describe(conn: { version: string; transport?: string } | undefined): string {
  if (conn === undefined) return "–";
  // @moq/net 0.2+ says which transport it used. 0.1.x (the publisher's line) does not, but its
  // QMux sessions negotiate no ALPN, so a moq-lite-03/04 version can only have come over WebTransport.
  const transport = conn.transport ?? (/^moq-lite-0[34]$/.test(conn.version) ? "webtransport" : "websocket");
  return `${conn.version} over ${transport === "webtransport" ? "WebTransport" : "WebSocket"}`;
}
