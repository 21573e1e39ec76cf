// One moq-lite session: version negotiation (ALPN, or the legacy in-band SETUP), the lite-05 SETUP
// exchange, and dispatch of every stream the client opens. The relay is both subscriber (Ingest)
// and publisher (Serve) on every session. Malformed input closes this session only.
import type { Grant } from "../../auth/authorize.js";
import type { LimitsConfig } from "../../config/types.js";
import type { Origin } from "../../relay/origin.js";
import type { BidiStream, CloseInfo, RecvStream, Session } from "../../transport/session.js";
import { DecodeError, Writer } from "../../util/bytes.js";
import type { Logger } from "../../util/log.js";
import { Code, MoqError } from "../error.js";
import { AnnounceRequest } from "./announce.js";
import { Fetch } from "./fetch.js";
import { Ingest } from "./ingest.js";
import { readStream, send } from "./io.js";
import { Goaway } from "./misc.js";
import { Serve } from "./serve.js";
import { ClientSetup, ServerSetup, Setup } from "./setup.js";
import { Bidi, Uni } from "./stream.js";
import { Subscribe } from "./subscribe.js";
import { TrackRequest } from "./track.js";
import { hasFetch, hasSetupStream, hasTrackStream, Version, versionFromAlpn, versionName } from "./version.js";

export interface LiteContext {
  id: number;
  origin: Origin;
  grant: Grant;
  limits: LimitsConfig;
  /** The relay's hop id (origin) for loop prevention. */
  hop: bigint;
  log: Logger;
  /** Accept the legacy in-band SETUP (lite-02/01). */
  legacy: boolean;
  /**
   * Raw QUIC has no URL: the path and `?jwt=` ride in the client's lite-05 SETUP. When set, the
   * session waits for that SETUP and authorises it before serving anything.
   */
  authorizeSetup?: (pathAndQuery: string) => Promise<Grant>;
}

export class LiteSession {
  version: Version = Version.Lite05;
  readonly id: number;
  readonly origin: Origin;
  grant: Grant;
  readonly limits: LimitsConfig;
  readonly hop: bigint;
  readonly log: Logger;
  private readonly ingest: Ingest;
  private readonly serve: Serve;
  private negotiated = false;
  private closedInfo: CloseInfo | undefined;
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    readonly transport: Session,
    private readonly ctx: LiteContext,
  ) {
    this.id = ctx.id;
    this.origin = ctx.origin;
    this.grant = ctx.grant;
    this.limits = ctx.limits;
    this.hop = ctx.hop;
    this.log = ctx.log;
    this.ingest = new Ingest(this);
    this.serve = new Serve(this);
  }

  /** Run until the session closes; resolves with why. */
  async run(): Promise<CloseInfo> {
    const t = this.transport;
    t.onBidi = (s) => this.bidi(s);
    t.onUni = (s) => this.uni(s);
    t.onDatagram = null; // datagrams from clients are not forwarded yet; streams carry everything
    const alpn = versionFromAlpn(t.protocol);
    if (alpn !== undefined && this.ctx.authorizeSetup !== undefined && hasSetupStream(alpn)) {
      // Wait (bounded) for the SETUP that carries the path and token.
      this.version = alpn;
      const timer = setTimeout(() => {
        if (!this.negotiated) this.close(Code.Timeout, "no SETUP received");
      }, this.limits.handshake_timeout);
      timer.unref();
    } else if (alpn !== undefined) {
      this.version = alpn;
      this.ready();
    } else if (!this.ctx.legacy) {
      this.close(Code.Version, `protocol "${t.protocol}" is not enabled`);
    } else {
      // Legacy clients send CLIENT_SETUP on their first bidi stream; give them a bounded time.
      const timer = setTimeout(() => {
        if (!this.negotiated) this.close(Code.Timeout, "no SETUP received");
      }, this.limits.handshake_timeout);
      timer.unref();
    }
    this.armExpiry();
    const info = await t.closed;
    this.cleanup();
    return this.closedInfo ?? info;
  }

  /** Close the session when its token expires (checked again if the grant changes). */
  private armExpiry(): void {
    clearTimeout(this.expiry);
    if (this.grant.expiresAt === undefined) return;
    this.expiry = setTimeout(() => {
      this.log.info({ reason: "expired" }, "credential expired, closing session");
      this.close(Code.Unauthorized, "token expired");
    }, Math.max(0, this.grant.expiresAt - Date.now()));
    this.expiry.unref();
  }

  private ready(): void {
    this.negotiated = true;
    this.log.debug({ version: versionName(this.version) }, "session ready");
    if (hasSetupStream(this.version)) {
      this.transport.openUni().then(
        (s) => {
          send(s, (w) => {
            w.varint(Uni.Setup);
            new Setup(this.hop).encode(w);
          });
          s.end();
        },
        () => undefined,
      );
    }
    if (this.grant.publish.length > 0) this.ingest.start().catch((err: unknown) => this.fail(err));
  }

  /** A protocol error: close this session (only) with the matching code and log why. */
  fail(err: unknown): void {
    if (this.closedInfo !== undefined) return;
    const code = err instanceof MoqError ? err.code : err instanceof DecodeError || err instanceof RangeError ? Code.Decode : Code.ProtocolViolation;
    const reason = err instanceof Error ? err.message : String(err);
    this.log.warn({ err: reason, code }, "closing session on protocol error");
    this.close(code, reason);
  }

  close(code: number, reason: string): void {
    if (this.closedInfo !== undefined) return;
    this.closedInfo = { code, reason, remote: false };
    this.transport.close(code, reason);
    this.cleanup();
  }

  /** Tell the client to go elsewhere (or just away) before we shut down. */
  goaway(uri = ""): void {
    this.transport.openBidi().then(
      (s) => {
        send(s.send, (w) => {
          w.varint(Bidi.Goaway);
          new Goaway(uri).encode(w);
        });
      },
      () => undefined,
    );
  }

  private cleanup(): void {
    clearTimeout(this.expiry);
    this.serve.close();
    this.ingest.clear();
  }

  private bidi(stream: BidiStream): void {
    const max = this.limits.max_message_size;
    let type: number | undefined;
    let handled = false;
    readStream(
      stream.recv,
      max * 4,
      {
        data: (b) => {
          if (handled) return;
          type ??= b.take((r) => r.varint());
          if (type === undefined) return;
          if (!this.negotiated && type !== Bidi.ClientCompat) throw new MoqError(Code.ProtocolViolation, "stream before SETUP");
          if (this.negotiated && type === Bidi.ClientCompat) throw new MoqError(Code.UnexpectedStream, "SETUP after the version was negotiated");
          const v = this.version;
          switch (type) {
            case Bidi.ClientCompat: {
              const setup = b.take((r) => ClientSetup.decode(r));
              if (setup === undefined) return;
              handled = true;
              return this.legacySetup(stream, setup);
            }
            case Bidi.Announce: {
              const req = b.take((r) => AnnounceRequest.decode(r, v, max));
              if (req === undefined) return;
              handled = true;
              return this.serve.announce(stream, req);
            }
            case Bidi.Subscribe: {
              const msg = b.take((r) => Subscribe.decode(r, v, max));
              if (msg === undefined) return;
              handled = true;
              return this.serve.subscribe(stream, msg);
            }
            case Bidi.Track: {
              if (!hasTrackStream(v)) throw new MoqError(Code.UnexpectedStream, "TRACK stream on a version without it");
              const req = b.take((r) => TrackRequest.decode(r, max));
              if (req === undefined) return;
              handled = true;
              void this.serve.trackInfo(stream, req);
              return;
            }
            case Bidi.Fetch: {
              if (!hasFetch(v)) throw new MoqError(Code.UnexpectedStream, "FETCH on a version without it");
              const req = b.take((r) => Fetch.decode(r, max));
              if (req === undefined) return;
              handled = true;
              return this.serve.fetch(stream, req);
            }
            case Bidi.Goaway: {
              const g = b.take((r) => Goaway.decode(r, max));
              if (g === undefined) return;
              handled = true;
              this.log.info({ uri: g.uri }, "client sent GOAWAY");
              return;
            }
            case Bidi.Probe:
              // We advertise no probing; refuse politely (not fatal).
              handled = true;
              stream.send.reset(Code.Unsupported);
              stream.recv.stop(Code.Unsupported);
              return;
            default:
              // Unknown stream types are reset, not fatal (§2.2).
              handled = true;
              stream.send.reset(Code.UnexpectedStream);
              stream.recv.stop(Code.UnexpectedStream);
          }
        },
      },
      (err) => this.fail(err),
    );
  }

  private legacySetup(stream: BidiStream, setup: ClientSetup): void {
    const pick = [Version.Lite02, Version.Lite01].find((v) => setup.versions.includes(v));
    if (pick === undefined) {
      this.close(Code.Version, `no supported version in ${setup.versions.map((v) => `0x${v.toString(16)}`).join(", ")}`);
      return;
    }
    this.version = pick;
    const w = new Writer(32);
    new ServerSetup(pick).encode(w);
    stream.send.write(w.finish());
    // The stream stays open as the lite-01/02 session stream; its SESSION_INFO updates are ignored.
    stream.recv.onData = () => undefined;
    stream.recv.onEnd = () => this.close(0, "session stream closed");
    this.ready();
  }

  private uni(stream: RecvStream): void {
    let type: number | undefined;
    const max = this.limits.max_message_size;
    readStream(
      stream,
      max * 4,
      {
        data: (b) => {
          type ??= b.take((r) => r.varint());
          if (type === undefined) return;
          if (type === Uni.Group) {
            const head = b.take((r) => r.rest());
            this.ingest.group(stream, head);
          } else if (type === Uni.Setup && hasSetupStream(this.version)) {
            const setup = b.take((r) => Setup.decode(r, max));
            if (setup === undefined) return;
            this.log.debug({ origin: setup.origin.toString(), role: setup.role }, "client SETUP");
            stream.onData = () => undefined;
            const authorize = this.ctx.authorizeSetup;
            if (authorize !== undefined && !this.negotiated) {
              authorize(setup.path ?? "/").then(
                (grant) => {
                  this.grant = grant;
                  this.armExpiry();
                  this.ready();
                },
                (err: unknown) => {
                  this.log.warn({ reason: (err as { reason?: string }).reason ?? String(err) }, "session unauthorized");
                  this.close(Code.Unauthorized, err instanceof Error ? err.message : "unauthorized");
                },
              );
            }
          } else {
            stream.stop(Code.UnexpectedStream);
          }
        },
      },
      (err) => this.fail(err),
    );
  }
}
