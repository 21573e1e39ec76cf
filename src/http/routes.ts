// The relay's HTTP routes on its TCP port: certificate bootstrap for http:// clients, health and
// readiness for load balancers, and read-only views of the origin (/announced, /fetch) with the
// same authorisation as sessions.
import type { Logger } from "../util/log.js";
import { Code } from "../session/error.js";
import { withBearer } from "../util/bearer.js";
import type { Authenticator } from "../auth/authorize.js";
import { AuthError, canSubscribe } from "../auth/authorize.js";
import type { Config } from "../config/types.js";
import type { Origin } from "../relay/origin.js";
import { GroupCursor, type Group } from "../relay/group.js";
import type { CertStore } from "../transport/tls/cert.js";
import { hasDotSegment, join, normalize, stripPrefix } from "../util/path.js";
import { registerCertificateRoute } from "./certificate.js";
import { registerPage } from "./page.js";
import { registerStatus } from "./status.js";
import { json, text, type Router } from "./router.js";

export interface RouteContext {
  certs: CertStore;
  origin: Origin;
  auth: Authenticator;
  config: Config;
  ready(): boolean;
  sessions(): number;
  /** Cluster peers for /api/status, once clustering provides them. */
  peers?(): readonly { url: string; connected: boolean }[];
  log?: Logger;
}

const FETCH_SHAPE = "expected /fetch/<broadcast path>/<track>[?group=N|latest]";

export function registerRoutes(router: Router, ctx: RouteContext): void {
  registerCertificateRoute(router, ctx.certs);
  router.get("/health", (_req, res) => text(res, 200, "ok\n"));
  router.get("/ready", (_req, res) => (ctx.ready() ? text(res, 200, "ready\n") : text(res, 503, "draining\n")));
  registerStatus(router, { auth: ctx.auth, config: ctx.config, stats: ctx.origin.stats, sessions: ctx.sessions, ready: ctx.ready, ...(ctx.peers ? { peers: ctx.peers } : {}) });
  if (ctx.config.http.page) {
    registerPage(router, { root: () => ctx.config.auth.public.publish[0] ?? ctx.config.auth.public.subscribe[0] ?? "" });
  }

  // GET /announced/<prefix>: the broadcasts under <prefix> this caller may subscribe to.
  router.get("/announced/", async (req, res, url, rest) => {
    if (hasDotSegment(rest)) return text(res, 400, "the path has a \".\" or \"..\" segment\n");
    const prefix = normalize(rest);
    let grant;
    try {
      grant = await ctx.auth.authorize(withBearer(withPath(url, prefix), req.headers.authorization));
    } catch (e) {
      if (e instanceof AuthError) return text(res, e.status, `${e.message}\n`);
      throw e;
    }
    const paths = ctx.origin
      .list(prefix)
      .map((b) => stripPrefix(b.path, grant.root))
      .filter((p): p is string => p !== undefined && canSubscribe(grant, p))
      .map((p) => stripPrefix(join(grant.root, p), prefix) ?? p)
      .sort();
    json(res, 200, paths);
  });

  // GET /fetch/<broadcast>/<track>[?group=N]: the latest (or a given) cached group's frames.
  router.get("/fetch/", async (req, res, url, rest) => {
    if (hasDotSegment(rest)) return text(res, 400, "the path has a \".\" or \"..\" segment\n");
    const full = normalize(rest);
    const i = full.lastIndexOf("/");
    if (i <= 0 || i === full.length - 1) return text(res, 400, `${FETCH_SHAPE}\n`);
    const broadcast = full.slice(0, i);
    const trackName = full.slice(i + 1);
    const groupParam = url.searchParams.get("group");
    if (groupParam !== null && groupParam !== "latest" && !/^\d+$/.test(groupParam)) return text(res, 400, `group must be a number or latest; ${FETCH_SHAPE}\n`);
    let grant;
    try {
      grant = await ctx.auth.authorize(withBearer(withPath(url, broadcast), req.headers.authorization));
    } catch (e) {
      if (e instanceof AuthError) return text(res, e.status, `${e.message}\n`);
      throw e;
    }
    if (!canSubscribe(grant, "")) return text(res, 403, "not allowed to subscribe here\n");
    const b = ctx.origin.lookup(broadcast);
    if (b === undefined) return text(res, 404, "broadcast not found\n");
    // A track nobody asked for yet: ask the publisher first, briefly, instead of waiting out fetch_timeout.
    const isNew = b.peek(trackName) === undefined;
    const track = b.track(trackName);
    if (isNew && (await probe(track, Math.min(TRACK_PROBE_MS, ctx.config.http.fetch_timeout))) === "missing") {
      return text(res, 404, `track not found: the broadcast's publisher has no track ${JSON.stringify(trackName)} (or did not answer within ${TRACK_PROBE_MS} ms)\n`);
    }
    ctx.origin.stats.fetches++;
    ctx.log?.debug({ path: broadcast, track: trackName, group: groupParam ?? "latest" }, "http fetch");
    const group = await pickGroup(track, groupParam === null || groupParam === "latest" ? undefined : Number(groupParam), ctx.config.http.fetch_timeout);
    if (group === undefined) return text(res, 404, "group not found\n");
    await waitDone(group, ctx.config.http.fetch_timeout);
    if (group.error !== undefined) return text(res, 502, `group aborted with code ${group.error}\n`);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "X-Moq-Group": String(group.sequence), "X-Moq-Frames": String(group.payloads.length) });
    for (const p of group.payloads) res.write(p);
    res.end();
  });
}

/**
 * How long /fetch waits for a publisher to confirm a track the relay has not seen. Publishers
 * answer at once for tracks they have; a publisher that leaves an unknown track's request
 * pending (the @moq/net default) would otherwise hold the request for the whole fetch_timeout.
 */
const TRACK_PROBE_MS = 1500;

/** "found" when the publisher described the track, "missing" when it refused or stayed silent. */
function probe(track: TrackLike, ms: number): Promise<"found" | "missing" | "unknown"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("missing"), ms);
    track.trackInfo().then(
      () => {
        clearTimeout(timer);
        resolve("found");
      },
      (err: unknown) => {
        clearTimeout(timer);
        // Only a NotFound answer proves absence; other failures (an older protocol without
        // TRACK_INFO) leave it to the subscription below.
        resolve((err as { code?: unknown }).code === Code.NotFound ? "missing" : "unknown");
      },
    );
  });
}

function withPath(url: URL, path: string): URL {
  const u = new URL(url);
  u.pathname = `/${path}`;
  return u;
}

type TrackLike = NonNullable<ReturnType<Origin["lookup"]>> extends { track(n: string): infer T } ? T : never;

/** The requested cached group, or the latest, subscribing briefly if nothing is cached yet. */
function pickGroup(track: TrackLike, sequence: number | undefined, timeout: number): Promise<Group | undefined> {
  const cached = sequence === undefined ? track.latest : track.get(sequence);
  if (cached !== undefined) return Promise.resolve(cached);
  return new Promise((resolve) => {
    let settled = false;
    const box: { sub?: { close(): void } } = {};
    const timer = setTimeout(() => finish(undefined), timeout);
    function finish(g: Group | undefined): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      queueMicrotask(() => box.sub?.close());
      resolve(g);
    }
    box.sub = track.subscribe(
      {
        group: (cursor) => {
          const g = cursor.group;
          cursor.close();
          if (sequence === undefined || g.sequence === sequence) finish(g);
        },
        end: () => finish(undefined),
        close: () => finish(undefined),
      },
      { priority: 0, ordered: false, maxLatency: 0, ...(sequence === undefined ? {} : { start: sequence, end: sequence }) },
    );
  });
}

/** Wait (bounded) until every frame of `g` has arrived. */
function waitDone(g: Group, timeout: number): Promise<void> {
  if (g.done) return Promise.resolve();
  return new Promise((resolve) => {
    const cursor = new GroupCursor(g);
    const timer = setTimeout(done, timeout);
    cursor.onChange = () => {
      cursor.index = g.payloads.length;
      if (g.done) done();
    };
    function done(): void {
      clearTimeout(timer);
      cursor.close();
      resolve();
    }
  });
}
