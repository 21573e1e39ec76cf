// Relay status from GET /api/status (the relay's own JSON, read from its counters), refreshed every
// second. Readable from loopback or with a token that may subscribe to the whole relay; otherwise
// the panel says why and polls slowly.
import { bitrate, byId, bytes, duration, every, setText } from "./dom.js";
import type { Settings } from "./settings.js";

interface Snapshot {
  time: number;
  uptime: number;
  draining: boolean;
  sessions: number;
  broadcasts: number;
  subscriptions: number;
  bytesIn: number;
  bytesOut: number;
  cache: { bytes: number; max: number; evictions: number };
  peers: { url: string; connected: boolean }[] | null;
}

export function setupStatus(settings: Settings): void {
  const info = byId("status-info");
  let last: Snapshot | undefined;
  let denied = 0;
  every(1000, async () => {
    // After a refusal, ask again only every 5 s (a token may have been typed in meanwhile).
    if (denied > 0 && denied++ % 5 !== 0) return;
    const headers: Record<string, string> = {};
    if (settings.token() !== "") headers.Authorization = `Bearer ${settings.token()}`;
    const res = await fetch(new URL("/api/status", settings.url().origin), { headers, cache: "no-store" });
    if (!res.ok) {
      denied = denied === 0 ? 1 : denied;
      info.hidden = true;
      setText("status-note", `not shown: ${(await res.text()).trim()} (HTTP ${res.status})`);
      return;
    }
    denied = 0;
    const s = (await res.json()) as Snapshot;
    info.hidden = false;
    setText("status-note", s.draining ? "draining: new sessions are refused" : "live, refreshed every second");
    setText("st-sessions", String(s.sessions));
    setText("st-broadcasts", String(s.broadcasts));
    setText("st-subscriptions", String(s.subscriptions));
    const dt = last === undefined ? 0 : (s.time - last.time) / 1000;
    const rate = (now: number, then: number | undefined): string => (then === undefined || dt <= 0 ? "–" : bitrate(((now - then) * 8) / dt));
    setText("st-egress", `${rate(s.bytesOut, last?.bytesOut)} (${bytes(s.bytesOut)} total)`);
    setText("st-ingress", `${rate(s.bytesIn, last?.bytesIn)} (${bytes(s.bytesIn)} total)`);
    const pct = s.cache.max > 0 ? ` (${((100 * s.cache.bytes) / s.cache.max).toFixed(1)} %)` : "";
    setText("st-cache", `${bytes(s.cache.bytes)} of ${bytes(s.cache.max)}${pct}, ${s.cache.evictions} evictions`);
    setText("st-peers", s.peers === null || s.peers.length === 0 ? "none" : s.peers.map((p) => `${p.url}${p.connected ? "" : " (down)"}`).join(", "));
    setText("st-uptime", duration(s.uptime));
    last = s;
  });
}
