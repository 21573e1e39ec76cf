// One IETF moq-transport session (drafts 17–20) on any transport. The ALPN / wt-protocol / QMux
// subprotocol pins the draft; each side opens a uni stream with SETUP (0x2F00) that stays open
// for GOAWAY, and every request travels on its own bidi stream. The relay maps the session onto
// the same core as moq-lite: Serve answers the client's SUBSCRIBE_NAMESPACE / SUBSCRIBE, Ingest
// takes its PUBLISH_NAMESPACEs and pulls tracks with SUBSCRIBE. Malformed input closes this
// session only, with the draft's termination code.
import type { LimitsConfig } from "../../config/types.js";
import type { Origin } from "../../relay/origin.js";
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session } from "../../transport/session.js";
import type { Logger } from "../../util/log.js";
import { Code, MoqError } from "../error.js";
import type { LiteContext, LiteGrant } from "../lite/session.js";
import { refuse } from "../lite/session-io.js";
import { AnnounceType, PublishNamespace, SubscribeNamespace } from "./announce.js";
import { Termination, terminationCode } from "./errors.js";
import { IetfIngest } from "./ingest.js";
import { ControlFramer, control } from "./message.js";
import { Params, SetupKey } from "./params.js";
import { Goaway, RequestCode, RequestError, RequestType } from "./request.js";
import { IetfServe } from "./serve.js";
import { Setup, SetupType } from "./setup.js";
import { Subscribe, SubscribeType } from "./subscribe.js";
import { FETCH_HEADER, isSubgroupType } from "./object.js";
import { type Draft, draftFromAlpn, draftName, hasUniSetup, subscribeNamespaceType } from "./version.js";
import { IetfWriter } from "./wire.js";

export type IetfContext = LiteContext;

const TRACK_STATUS = 0x0d;
const PUBLISH = 0x1d;
const FETCH = 0x16;

/** Run an IETF session until it closes; resolves with why (never rejects). */
export function runIetfSession(session: Session, ctx: IetfContext): Promise<CloseInfo> {
  return new IetfSession(session, ctx).run();
}

export class IetfSession {
  readonly draft: Draft;
  grant: LiteGrant;
  readonly serve: IetfServe;
  readonly ingest: IetfIngest;
  /** Our SETUP stream: stays open (closing it ends the session for @moq/net) and carries GOAWAY. */
  private setupOut: SendStream | undefined;
  private gotSetup = false;
  private ready = false;
  private deferred: Array<() => void> = [];
  private closeInfo: CloseInfo | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private cleaned = false;
  /** Requests in flight on this session (bidi streams we are serving). */
  requests = 0;

  constructor(
    readonly transport: Session,
    private readonly ctx: IetfContext,
  ) {
    this.grant = ctx.grant;
    this.draft = draftFromAlpn(transport.protocol) ?? (0 as Draft);
    this.serve = new IetfServe(this);
    this.ingest = new IetfIngest(this);
  }

  get origin(): Origin {
    return this.ctx.origin;
  }
  get limits(): LimitsConfig {
    return this.ctx.config.limits;
  }
  get log(): Logger {
    return this.ctx.log;
  }
  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  async run(): Promise<CloseInfo> {
    const t = this.transport;
    const v = this.draft;
    t.onBidi = (s) => this.acceptBidi(s);
    t.onUni = (s) => this.acceptUni(s);
    t.onDatagram = () => undefined;
    this.armExpiry();
    if (!hasUniSetup(v)) {
      this.close(Code.Version, `${t.protocol || "no protocol"} is not served as IETF moq-transport here (drafts 17-20 are)`);
    } else {
      this.log.debug({ protocol: draftName(v) }, "moq-transport session started");
      t.openUni().then(
        (s) => {
          this.setupOut = s;
          const p = new Params().setBytes(SetupKey.Implementation, new TextEncoder().encode("moq-relay-ts"));
          const w = new IetfWriter(v);
          w.varint(SetupType.Setup);
          const body = new IetfWriter(v);
          new Setup(p).encode(body);
          w.u16(body.pos).bytes(body.view());
          s.write(w.finish());
        },
        () => undefined,
      );
      this.handshakeTimer = setTimeout(() => this.close(Code.Timeout, "no SETUP received"), this.limits.handshake_timeout);
      this.handshakeTimer.unref();
    }
    const info = await t.closed;
    this.cleanup();
    return this.closeInfo ?? info;
  }

  /** Ask the client to move (drain): GOAWAY with the new session URI on our SETUP stream. */
  goaway(uri = ""): void {
    if (this.closeInfo !== undefined || this.setupOut === undefined) return;
    this.setupOut.write(control(this.draft, RequestType.Goaway, (w) => new Goaway(uri).encode(w)));
  }

  /** A protocol error: close this session with the draft's code, and say why. */
  fail(err: unknown): void {
    if (this.closeInfo !== undefined) return;
    const reason = err instanceof Error ? err.message : String(err);
    const code = terminationCode(err);
    this.log.warn({ err: reason, code }, "closing session on protocol error");
    this.closeRaw(code, reason.slice(0, 256));
  }

  /** Close with a relay (moq-lite) code, translated to the draft's termination code. */
  close(code: number, reason: string): void {
    this.closeRaw(code === 0 ? Termination.NoError : terminationCode(new MoqError(code, reason)), reason);
  }

  private closeRaw(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = { code, reason, remote: false };
    this.transport.close(code, reason);
    this.cleanup();
  }

  /** @internal run `fn` once the client's SETUP arrived (requests wait for it). */
  whenReady(fn: () => void): void {
    if (this.ready) fn();
    else this.deferred.push(fn);
  }

  // --- streams the client opens ----------------------------------------------------------------

  private acceptUni(recv: RecvStream): void {
    const v = this.draft;
    const framer = new ControlFramer(v, this.limits.max_message_size);
    let type: number | undefined;
    let done = false;
    const stop = (code: number): void => {
      done = true;
      recv.stop(code);
    };
    recv.onData = (chunk) => {
      if (done) return;
      try {
        framer.push(chunk);
        type ??= framer.varint();
        if (type === undefined) return;
        if (type === SetupType.Setup) {
          if (this.gotSetup) throw new MoqError(Code.ProtocolViolation, "a second SETUP stream");
          // SETUP is framed like a control message whose type is the stream type.
          const m = this.readSetup(framer);
          if (m === undefined) return;
          done = true;
          this.clientSetup(m, recv, framer);
          return;
        }
        if (!this.gotSetup) throw new MoqError(Code.ProtocolViolation, "a data stream before SETUP");
        if (isSubgroupType(type, v)) {
          done = true;
          return this.ingest.subgroupStream(recv, type, framer.drain());
        }
        if (type === FETCH_HEADER) return stop(RequestCode.NotSupported);
        throw new MoqError(Code.ProtocolViolation, `unknown uni stream type 0x${type.toString(16)}`);
      } catch (err) {
        stop(Code.ProtocolViolation);
        this.fail(err);
      }
    };
    recv.onEnd = () => {
      if (!done && type !== undefined) this.fail(new MoqError(Code.Decode, "uni stream ended before its header"));
    };
    recv.onReset = () => undefined;
  }

  private readSetup(framer: ControlFramer): Setup | undefined {
    // The stream type was consumed: what follows is `Length (u16) · options`.
    const body = framer.body();
    return body === undefined ? undefined : Setup.decode(body);
  }

  private clientSetup(setup: Setup, recv: RecvStream, framer: ControlFramer): void {
    this.gotSetup = true;
    clearTimeout(this.handshakeTimer);
    const impl = setup.params.bytes.get(SetupKey.Implementation);
    this.log.debug({ implementation: impl === undefined ? undefined : new TextDecoder().decode(impl) }, "client SETUP");
    // The SETUP stream lives on: the client may send GOAWAY on it.
    recv.onData = (chunk) => {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m !== undefined; m = framer.next()) {
          if (m.type === RequestType.Goaway) this.log.info({ uri: Goaway.decode(m.body).uri }, "client sent GOAWAY");
          else throw new MoqError(Code.ProtocolViolation, `unexpected message 0x${m.type.toString(16)} on the SETUP stream`);
        }
      } catch (err) {
        this.fail(err);
      }
    };
    recv.onEnd = () => this.close(Code.Cancel, "client closed its SETUP stream");
    recv.onReset = () => this.close(Code.Cancel, "client reset its SETUP stream");
    this.authorizeSetup(setup.params).then(
      () => this.setReady(),
      (err: unknown) => {
        this.log.info({ err: err instanceof Error ? err.message : String(err) }, "session unauthorized");
        this.close(Code.Unauthorized, "unauthorized");
      },
    );
    if (framer.pending > 0) recv.onData(new Uint8Array(0));
  }

  /**
   * Raw QUIC carries the path in SETUP (Path); any transport may carry a token
   * (AUTHORIZATION_TOKEN). Either re-authorises the session with the same rules as `?jwt=`.
   */
  private async authorizeSetup(p: Params): Promise<void> {
    const path = p.bytes.get(SetupKey.Path);
    const token = p.bytes.get(SetupKey.AuthorizationToken);
    if (this.ctx.authorize === undefined || (path === undefined && token === undefined)) return;
    const url = new URL(this.transport.url.href);
    if (path !== undefined && this.transport.transport === "quic") {
      const s = new TextDecoder().decode(path);
      const u = new URL(s.startsWith("/") ? s : `/${s}`, url);
      url.pathname = u.pathname;
      for (const [k, val] of u.searchParams) url.searchParams.set(k, val);
    }
    if (token !== undefined) url.searchParams.set("jwt", new TextDecoder().decode(token));
    this.transport.url = url;
    this.grant = await this.ctx.authorize(url);
    this.armExpiry();
  }

  private setReady(): void {
    if (this.ready || this.closeInfo !== undefined) return;
    this.ready = true;
    for (const fn of this.deferred.splice(0)) fn();
  }

  private acceptBidi(stream: BidiStream): void {
    const v = this.draft;
    const framer = new ControlFramer(v, this.limits.max_message_size);
    let handed = false;
    let early: { end: boolean; reset?: number } | undefined;
    const hand = (fn: () => void): void => {
      handed = true;
      this.whenReady(() => {
        if (this.isClosed) return;
        fn();
        if (early?.reset !== undefined) stream.recv.onReset?.(early.reset);
        else if (early?.end === true) stream.recv.onEnd?.();
      });
    };
    const step = (): void => {
      const m = framer.next();
      if (m === undefined) return;
      if (this.requests >= this.limits.max_subscriptions_per_session) {
        handed = true;
        this.log.warn({ limit: this.limits.max_subscriptions_per_session }, "request refused: too many on this session");
        return this.reject(stream, RequestCode.InternalError, "too many requests", 1000);
      }
      switch (m.type) {
        case SubscribeType.Subscribe: {
          const msg = Subscribe.decode(m.body);
          return hand(() => this.serve.subscribe(stream, msg, framer));
        }
        case subscribeNamespaceType(v): {
          const msg = SubscribeNamespace.decode(m.body);
          return hand(() => this.serve.subscribeNamespace(stream, msg, framer));
        }
        case AnnounceType.PublishNamespace: {
          const msg = PublishNamespace.decode(m.body);
          return hand(() => this.ingest.publishNamespace(stream, msg, framer));
        }
        case TRACK_STATUS:
        case PUBLISH:
        case FETCH:
          handed = true;
          return this.reject(stream, RequestCode.NotSupported, "not supported by this relay");
        default:
          throw new MoqError(Code.ProtocolViolation, `unexpected request type 0x${m.type.toString(16)}`);
      }
    };
    const guard = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        refuse(stream, Code.ProtocolViolation);
        this.fail(err);
      }
    };
    stream.recv.onData = (chunk) =>
      guard(() => {
        framer.push(chunk);
        if (!handed) step();
      });
    stream.recv.onEnd = () =>
      guard(() => {
        if (handed) return void ((early ??= { end: true }).end = true);
        framer.end();
        stream.send.end();
      });
    stream.recv.onReset = (code) => {
      if (handed) (early ??= { end: false }).reset = code;
      else stream.send.reset(code);
    };
  }

  /** Answer a request with REQUEST_ERROR and finish the stream. */
  reject(stream: BidiStream, code: number, reason: string, retryMs = 0): void {
    stream.send.write(control(this.draft, RequestType.RequestError, (w) => new RequestError(0, code, reason, retryMs).encode(w)));
    stream.send.end();
    stream.recv.onData = () => undefined;
    stream.recv.onEnd = null;
    stream.recv.onReset = null;
  }

  // --- teardown ------------------------------------------------------------------------------

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    const at = this.grant.expiresAt;
    if (at === undefined || this.closeInfo !== undefined) return;
    const ms = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => {
      if (Date.now() < at) return this.armExpiry();
      this.log.info({ reason: "expired" }, "credential expired: closing session");
      this.close(Code.Unauthorized, "token expired");
    }, ms);
    this.expiryTimer.unref();
  }

  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.expiryTimer);
    this.deferred = [];
    this.serve.close();
    this.ingest.close();
  }
}
