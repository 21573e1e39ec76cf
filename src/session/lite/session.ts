// One moq-lite session on any transport: the version (from the negotiated protocol, or the legacy
// in-band SETUP), the lite-05 SETUP exchange, and dispatch of every stream the client opens. The
// relay is both publisher (Serve) and subscriber (Ingest) on every session. Malformed input closes
// this session only, with the matching MoQ code.
import type { LimitsConfig } from "../../config/types.js";
import type { Origin } from "../../relay/origin.js";
import type { BidiStream, CloseInfo, Session } from "../../transport/session.js";
import type { Logger } from "../../util/log.js";
import { clip, hasDotSegment } from "../../util/path.js";
import { PeerLog, SharedRate } from "../../util/ratelog.js";
import { Code, errorCode, MoqError } from "../error.js";
import { Framer } from "./framer.js";
import { Goaway } from "./goaway.js";
import { Ingest } from "./ingest.js";
import { send } from "./io.js";
import { Serve } from "./serve.js";
import { follow } from "./session-io.js";
import { acceptBidi, acceptUni } from "./session-streams.js";
import { ClientSetup, Role, ServerSetup, SessionInfo, Setup } from "./setup.js";
import { Bidi, Uni } from "./stream.js";
import { hasGoaway, hasSetupStream, NEGOTIATE, selectLegacyVersion, Version, versionFromAlpn, versionName } from "./version.js";
import { ExpiryTimer } from "../expiry.js";

/** What a session may do (structurally the auth module's Grant): paths relative to `root`. */
export interface LiteGrant {
  root: string;
  publish: readonly string[];
  subscribe: readonly string[];
  /** ms since epoch: the session is closed with Unauthorized then. */
  expiresAt?: number;
  /** A peer relay: may publish reserved namespaces. */
  cluster?: boolean;
  /** No token: the grant comes from the public prefixes. */
  anonymous?: boolean;
}

/**
 * Query parameter a relay adds when it dials a cluster peer. A session that says it is a peer this
 * way must carry the cluster claim, or it is refused (an ordinary client never sends it).
 */
export const PEER_PARAM = "cluster";

/**
 * Refused peers log through a budget per kind of refusal (a handful of fixed kinds), shared by
 * all sessions: a misconfigured relay redials forever, and one kind must not silence another.
 */
const peerRefusals = new Map<string, SharedRate>();

export interface LiteContext {
  grant: LiteGrant;
  origin: Origin;
  config: { limits: LimitsConfig; server: { versions: readonly string[] } };
  log: Logger;
  /** This relay's origin id (hop id) for loop prevention. */
  hopId: bigint;
  /**
   * Raw QUIC only: the client's SETUP carries the request path (and `?jwt=`); the session is
   * re-authorised with it. Without this hook the grant from the connection stays.
   */
  authorize?: (url: URL) => Promise<LiteGrant>;
  /**
   * This relay dialed the session (a cluster link): over raw QUIC its SETUP carries `path` (with
   * `?jwt=`), and requests are served at once (the grant is ours, not the peer's to settle).
   */
  dial?: { path: string };
  /** A cluster link we dialed: routes learned on it cost this much, and linger when it dies. */
  link?: ClusterLink;
  /** An accepted session: its link when the final grant makes it a cluster peer (cluster claim). */
  linkFor?: (grant: LiteGrant) => ClusterLink | undefined;
}

/** What a cluster peer link tells its session. */
export interface ClusterLink {
  /** Cost of this link (added to every route learned through it). */
  readonly cost: number;
  /** How long routes learned on it stay announced after it dies (ms); 0 once closed cleanly. */
  linger(): number;
  /** The peer's SETUP named its origin id. */
  peer(origin: bigint): void;
}

/** Run a moq-lite session until it closes; resolves with why (never rejects). */
export function runLiteSession(session: Session, ctx: LiteContext): Promise<CloseInfo> {
  return new LiteSession(session, ctx).run();
}

export class LiteSession {
  version: Version = Version.Lite05;
  grant: LiteGrant;
  /** The client's origin from its SETUP (0 = none): its broadcasts are never echoed back. */
  peerOrigin = 0n;
  readonly ingest: Ingest;
  readonly serve: Serve;
  /** @internal the version is settled. */
  negotiated = false;
  /** Requests may be served (a raw QUIC session waits for the SETUP that scopes it). */
  private ready = false;
  private deferred: Array<() => void> = [];
  /** Requests admitted while not ready (bounded by max_pending_requests). */
  private pendingRequests = 0;
  /** Log lines the client can trigger, rate-limited per session. */
  readonly peerLog: PeerLog;
  private gotSetup = false;
  private role: number = Role.Both;
  private closeInfo: CloseInfo | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly expiry = new ExpiryTimer();
  private cleaned = false;
  private clusterLink: ClusterLink | undefined;

  constructor(
    readonly transport: Session,
    private readonly ctx: LiteContext,
  ) {
    this.grant = ctx.grant;
    this.peerLog = new PeerLog(ctx.log);
    this.ingest = new Ingest(this);
    this.serve = new Serve(this);
  }

  get origin(): Origin {
    return this.ctx.origin;
  }
  get hopId(): bigint {
    return this.ctx.hopId;
  }
  get limits(): LimitsConfig {
    return this.ctx.config.limits;
  }
  get log(): Logger {
    return this.ctx.log;
  }
  get link(): ClusterLink | undefined {
    return this.clusterLink;
  }
  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }
  /** Requests may be served now. */
  get isReady(): boolean {
    return this.ready;
  }

  /** @internal count a request that must wait for readiness; false once the cap is reached. */
  admitPending(): boolean {
    if (this.pendingRequests >= this.limits.max_pending_requests) return false;
    this.pendingRequests++;
    return true;
  }

  /** Serve the session until it closes; resolves with why. */
  async run(): Promise<CloseInfo> {
    const t = this.transport;
    t.onBidi = (s) => acceptBidi(this, s);
    t.onUni = (s) => acceptUni(this, s);
    t.onDatagram = (d) => this.ingest.datagram(d);
    this.armExpiry();
    const alpn = versionFromAlpn(t.protocol);
    if (alpn === undefined) {
      this.close(Code.Version, `protocol "${t.protocol}" is not moq-lite`);
    } else if (alpn === NEGOTIATE) {
      if (!this.ctx.config.server.versions.includes("moql")) this.close(Code.Version, "the legacy in-band SETUP is not enabled");
      else this.awaitHandshake("no CLIENT_SETUP received");
    } else {
      this.version = alpn;
      this.negotiated = true;
      this.started();
    }
    const info = await t.closed;
    this.cleanup();
    return this.closeInfo ?? info;
  }

  /** Ask the client to go away (drain): GOAWAY on lite-04+, nothing before. */
  goaway(uri = ""): void {
    if (this.closeInfo !== undefined || !this.negotiated || !hasGoaway(this.version)) return;
    const v = this.version;
    this.transport.openBidi().then(
      (s) => {
        send(s.send, (w) => {
          w.varint(Bidi.Goaway);
          new Goaway(uri).encode(w, v);
        });
        s.recv.onData = () => undefined;
      },
      () => undefined,
    );
  }

  /** A protocol error: close this session (only) with the matching code, and say why. */
  fail(err: unknown): void {
    if (this.closeInfo !== undefined) return;
    const code = err instanceof RangeError ? Code.ProtocolViolation : errorCode(err);
    const reason = err instanceof Error ? err.message : String(err);
    this.peerLog.write("warn", { err: clip(reason), code }, "closing session on protocol error");
    this.close(code, clip(reason, 200));
  }

  close(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = { code, reason, remote: false };
    this.transport.close(code, reason);
    this.cleanup();
  }

  // --- start-up ------------------------------------------------------------------------------

  /** The version is known. */
  private started(): void {
    const v = this.version;
    this.log.debug({ version: versionName(v) }, "moq-lite session started");
    if (!hasSetupStream(v)) {
      if (this.refusedAsPeer()) return;
      this.setReady();
      this.startIngest();
      return;
    }
    this.transport.openUni().then(
      (s) => {
        send(s, (w) => {
          w.varint(Uni.Setup);
          // The dialing side of raw QUIC names the path (and token) here; elsewhere the URL did.
          const path = this.ctx.dial !== undefined && this.transport.transport === "quic" ? this.ctx.dial.path : undefined;
          new Setup({ origin: this.hopId, path }).encode(w, v);
        });
        s.end();
      },
      () => undefined,
    );
    // The URL scoped WebTransport and WebSocket sessions already; raw QUIC waits for the path
    // (unless we dialed it: then the grant is ours).
    if (this.transport.transport !== "quic" || this.ctx.dial !== undefined) this.setReady();
    this.awaitHandshake("no SETUP received");
  }

  private awaitHandshake(reason: string): void {
    this.handshakeTimer = setTimeout(() => this.close(Code.Timeout, reason), this.limits.handshake_timeout);
    this.handshakeTimer.unref();
  }

  /** @internal the client's lite-05 SETUP arrived. */
  clientSetup(setup: Setup): void {
    if (this.gotSetup) throw new MoqError(Code.ProtocolViolation, "a second SETUP");
    this.gotSetup = true;
    clearTimeout(this.handshakeTimer);
    this.peerOrigin = setup.origin;
    this.role = setup.role;
    this.log.debug({ origin: setup.origin.toString(), role: setup.role }, "client SETUP");
    if (setup.path !== undefined && this.transport.transport === "quic" && this.ctx.dial === undefined) {
      // URL resolution would fold "a/../b" into "b" silently: refuse dot segments outright.
      if (hasDotSegment(setup.path)) {
        this.close(Code.Unauthorized, "the SETUP path has a \".\" or \"..\" segment");
        return;
      }
      const path = setup.path.startsWith("/") ? setup.path : `/${setup.path}`;
      const url = new URL(path, this.transport.url);
      this.transport.url = url;
      if (this.ctx.authorize !== undefined) {
        this.ctx.authorize(url).then(
          (g) => {
            this.grant = g;
            this.armExpiry();
            this.scoped();
          },
          (err: unknown) => {
            this.peerLog.write("info", { path: clip(url.pathname), err: clip(err instanceof Error ? err.message : String(err)) }, "session unauthorized");
            this.close(Code.Unauthorized, "unauthorized");
          },
        );
        return;
      }
    }
    this.scoped();
  }

  /** The grant is final: check the client's declared role and start both halves. */
  private scoped(): void {
    if (this.closeInfo !== undefined) return;
    const g = this.grant;
    if ((this.role === Role.Publisher && g.publish.length === 0) || (this.role === Role.Subscriber && g.subscribe.length === 0)) {
      this.close(Code.Unauthorized, "the declared role is not permitted");
      return;
    }
    if (this.refusedAsPeer()) return;
    // A cluster link learns the peer's identity now (it may be refused as a duplicate).
    this.clusterLink = this.ctx.link ?? this.ctx.linkFor?.(g);
    this.clusterLink?.peer(this.peerOrigin);
    if (this.closeInfo !== undefined) return;
    this.setReady();
    if (this.role !== Role.Subscriber) this.startIngest();
  }

  private setReady(): void {
    if (this.ready) return;
    this.ready = true;
    this.pendingRequests = 0;
    for (const fn of this.deferred.splice(0)) fn();
  }

  private startIngest(): void {
    if (this.grant.publish.length > 0 && this.closeInfo === undefined) this.ingest.start();
  }

  /** @internal run `fn` once requests may be served. */
  whenReady(fn: () => void): void {
    if (this.ready) fn();
    else this.deferred.push(fn);
  }

  /** @internal CLIENT_SETUP arrived on the first bidi stream (no protocol was negotiated). */
  legacySetup(stream: BidiStream, setup: ClientSetup, framer: Framer): void {
    const pick = selectLegacyVersion(setup.versions);
    if (pick === undefined) {
      this.close(Code.Version, "no common moq-lite version in CLIENT_SETUP");
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.version = pick;
    this.negotiated = true;
    send(stream.send, (w) => {
      w.varint(Bidi.ServerCompat);
      new ServerSetup(pick).encode(w);
    });
    // The stream lives on as the lite-01/02 session stream; its SESSION_INFOs are informational.
    follow(
      stream.recv,
      framer,
      {
        data: (f) => {
          while (f.next((r) => SessionInfo.decode(r, pick)) !== undefined);
        },
        end: () => this.close(Code.Cancel, "session stream closed"),
        reset: (code) => this.close(code, "session stream reset"),
      },
      (err) => this.fail(err),
    );
    this.started();
  }

  /** Dialing in as a cluster peer takes the cluster claim; anything less is refused. */
  private refusedAsPeer(): boolean {
    const g = this.grant;
    if (this.ctx.dial !== undefined || g.cluster === true || !this.transport.url.searchParams.has(PEER_PARAM)) return false;
    this.refusePeer(g.anonymous === true ? "missing-token" : "not-a-cluster-token", "dialed as a cluster peer");
    return true;
  }

  /**
   * The session acts as a cluster peer (dials as one, relays others' announcements) without the
   * cluster claim in its token: close it with Unauthorized and say why (rate-limited).
   */
  refusePeer(reason: "missing-token" | "not-a-cluster-token", how: "dialed as a cluster peer" | "relayed announcement (hop chain)"): void {
    if (this.closeInfo !== undefined) return;
    const kind = `${reason} ${how}`;
    let rate = peerRefusals.get(kind);
    if (rate === undefined) peerRefusals.set(kind, (rate = new SharedRate()));
    rate.write(this.log, "warn", { reason, how, remote: this.transport.remote, origin: this.peerOrigin.toString(), code: Code.Unauthorized }, "cluster peer refused");
    this.close(Code.Unauthorized, `not a cluster peer (${reason}): the token must carry the cluster claim`);
  }

  // --- teardown ------------------------------------------------------------------------------

  private armExpiry(): void {
    if (this.closeInfo !== undefined) return this.expiry.clear();
    this.expiry.arm(this.grant.expiresAt, () => {
      this.log.info({ reason: "expired" }, "credential expired: closing session");
      this.close(Code.Unauthorized, "token expired");
    });
  }

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    clearTimeout(this.handshakeTimer);
    this.expiry.clear();
    this.deferred = [];
    this.serve.close();
    this.ingest.close();
  }
}
