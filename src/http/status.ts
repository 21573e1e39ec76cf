// GET /api/status: the relay's counters as JSON, for the page's status panel (refreshed every
// second) and anyone else who wants numbers without parsing Prometheus text. It reads the relay
// core's own counters (RelayStats) and owns no state. Who may read it: a loopback client (the
// operator on the machine), or a token that may subscribe to the whole tree or is a cluster token.
// Behind a reverse proxy on the same host every request looks like loopback: proxies should not
// forward /api/ (see README).
import type { IncomingMessage } from "node:http";
import { AuthError, canSubscribe, type Authenticator } from "../auth/authorize.js";
import type { Config } from "../config/types.js";
import type { RelayStats } from "../relay/stats.js";
import { withBearer } from "../util/bearer.js";
import { json, text, type Router } from "./router.js";

export interface StatusSource {
  auth: Authenticator;
  config: Config;
  stats: RelayStats;
  sessions(): number;
  ready(): boolean;
  /** Cluster peers, when clustering is built in; undefined = no cluster support. */
  peers?(): readonly { url: string; connected: boolean }[];
}

export interface StatusSnapshot {
  time: number;
  uptime: number;
  draining: boolean;
  sessions: number;
  broadcasts: number;
  subscriptions: number;
  upstreams: number;
  announces: number;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  framesOut: number;
  groupsIn: number;
  groupsOut: number;
  groupsDropped: number;
  cache: { bytes: number; max: number; evictions: number };
  /** null when this relay has no cluster support; [] when it has no peers. */
  peers: { url: string; connected: boolean }[] | null;
}

export function registerStatus(router: Router, src: StatusSource): void {
  const started = Date.now();
  router.get("/api/status", async (req, res, url) => {
    const refusal = await mayRead(req, url, src.auth);
    if (refusal !== undefined) return text(res, refusal.status, `${refusal.message}\n`);
    json(res, 200, snapshot(src, started));
  });
}

export function snapshot(src: StatusSource, started: number): StatusSnapshot {
  const s = src.stats;
  const now = Date.now();
  return {
    time: now,
    uptime: Math.round((now - started) / 1000),
    draining: !src.ready(),
    sessions: src.sessions(),
    broadcasts: s.broadcasts,
    subscriptions: s.subscriptions,
    upstreams: s.upstreams,
    announces: s.announces,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    framesIn: s.framesIn,
    framesOut: s.framesOut,
    groupsIn: s.groupsIn,
    groupsOut: s.groupsOut,
    groupsDropped: s.groupsDropped,
    cache: { bytes: s.cacheBytes, max: src.config.cache.max_bytes, evictions: s.evictions },
    peers: src.peers === undefined ? null : src.peers().map((p) => ({ url: p.url, connected: p.connected })),
  };
}

/** undefined when the caller may read the status; otherwise the status and reason to refuse with. */
async function mayRead(req: IncomingMessage, url: URL, auth: Authenticator): Promise<{ status: number; message: string } | undefined> {
  // The same token sources as every other route: ?jwt= or Authorization: Bearer (the query wins).
  const token = withBearer(url, req.headers.authorization).searchParams.getAll("jwt").filter((t) => t !== "").at(-1) ?? "";
  if (token === "") {
    if (isLoopback(req.socket.remoteAddress)) return undefined;
    return { status: 401, message: "relay status needs a token that may subscribe to the whole relay (or a loopback client)" };
  }
  const check = new URL("http://relay/");
  check.searchParams.set("jwt", token);
  try {
    const grant = await auth.authorize(check);
    if (grant.cluster || canSubscribe(grant, "")) return undefined;
    return { status: 403, message: "this token may not read the relay status (it needs subscribe on the root or cluster)" };
  } catch (e) {
    if (e instanceof AuthError) return { status: e.status, message: e.message };
    throw e;
  }
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  return a === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}
