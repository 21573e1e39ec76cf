// One IETF moq-transport session (drafts 14–20) on any transport. The ALPN / wt-protocol / QMux
// subprotocol pins the draft ("moq-00": draft-14, chosen in CLIENT_SETUP). From draft-17 each side
// opens a uni stream with SETUP (0x2F00) that stays open for GOAWAY, and every request travels on
// its own bidi stream; drafts 14–16 share one control stream (ControlAdapter splits it). The relay maps the session onto
// the same core as moq-lite: Serve answers the client's SUBSCRIBE_NAMESPACE / SUBSCRIBE, Ingest
// takes its PUBLISH_NAMESPACEs and pulls tracks with SUBSCRIBE. Malformed input closes this
// session only, with the draft's termination code.
import type { LimitsConfig } from "../../config/types.js";
import type { Origin } from "../../relay/origin.js";
import type { BidiStream, CloseInfo, RecvStream, SendStream, Session } from "../../transport/session.js";
import type { Logger } from "../../util/log.js";
import { clip } from "../../util/path.js";
import { PeerLog } from "../../util/ratelog.js";
import { Code, MoqError } from "../error.js";
import type { LiteContext, LiteGrant } from "../lite/session.js";
import { refuse } from "../lite/session-io.js";
import { Termination, terminationCode } from "./errors.js";
import { IetfIngest } from "./ingest.js";
import { ControlFramer, control } from "./message.js";
import { Params, SetupKey } from "./params.js";
import { Goaway, RequestCode, RequestType } from "./request.js";
import { acceptRequest, readWhileDrained, rejectRequest } from "./requests.js";
import { IetfServe } from "./serve.js";
import { ClientSetup, ServerSetup, Setup, SetupType } from "./setup.js";
import { ControlAdapter } from "./control.js";
import { FETCH_HEADER, isSubgroupType } from "./object.js";
import { type Draft, draftFromAlpn, draftName, hasControlStream, hasUniSetup, isDraft } from "./version.js";
import { IetfWriter } from "./wire.js";
import { ExpiryTimer } from "../expiry.js";

export type IetfContext = LiteContext;

/** Run an IETF session until it closes; resolves with why (never rejects). */
export function runIetfSession(session: Session, ctx: IetfContext): Promise<CloseInfo> {
  return new IetfSession(session, ctx).run();
}

export class IetfSession {
  readonly draft: Draft;
  grant: LiteGrant;
  readonly serve: IetfServe;
  readonly ingest: IetfIngest;
  /** Drafts 14–16: the control stream, split into one virtual stream per request. */
  private adapter: ControlAdapter | undefined;
  /** Our SETUP stream: stays open (closing it ends the session for @moq/net) and carries GOAWAY. */
  private setupOut: SendStream | undefined;
  private gotSetup = false;
  private ready = false;
  private deferred: Array<() => void> = [];
  private closeInfo: CloseInfo | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly expiry = new ExpiryTimer();
  private cleaned = false;
  /** Requests in flight on this session (bidi streams we are serving). */
  requests = 0;
  /** Requests admitted while not ready (bounded by limits.max_pending_requests). */
  private pendingRequests = 0;
  /** Log lines the client can trigger go through this budget, client strings clipped. */
  readonly peerLog: PeerLog;

  constructor(
    readonly transport: Session,
    private readonly ctx: IetfContext,
  ) {
    this.grant = ctx.grant;
    this.peerLog = new PeerLog(ctx.log);
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
  /** Drafts 14–16: the control stream's request splitter (undefined before CLIENT_SETUP and from 17). */
  get controlAdapter(): ControlAdapter | undefined {
    return this.adapter;
  }

  async run(): Promise<CloseInfo> {
    const t = this.transport;
    const v = this.draft;
    t.onBidi = (s) => this.acceptBidi(s);
    t.onUni = (s) => this.acceptUni(s);
    t.onDatagram = (d) => {
      if (this.ready) this.ingest.datagram(d);
    };
    this.armExpiry();
    if (!isDraft(v)) {
      this.close(Code.Version, `${t.protocol || "no protocol"} is not an IETF moq-transport draft`);
    } else if (!hasUniSetup(v)) {
      this.log.debug({ protocol: draftName(v) }, "moq-transport session started");
      this.handshakeTimer = setTimeout(() => this.close(Code.Timeout, "no CLIENT_SETUP received"), this.limits.handshake_timeout);
      this.handshakeTimer.unref();
    } else {
      this.log.debug({ version: draftName(v) }, "moq-transport session started");
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
    if (this.closeInfo !== undefined) return;
    const msg = control(this.draft, RequestType.Goaway, (w) => new Goaway(uri).encode(w));
    if (this.adapter !== undefined) this.adapter.write(msg);
    else this.setupOut?.write(msg);
  }

  /** A stream for a request we send: a bidi stream from draft-17, a virtual one before. */
  openRequest(requestId: number, farewell?: Uint8Array): Promise<BidiStream> {
    if (this.adapter === undefined) return this.transport.openBidi();
    try {
      return Promise.resolve(this.adapter.open(requestId, farewell));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** A protocol error: close this session with the draft's code, and say why. */
  fail(err: unknown): void {
    if (this.closeInfo !== undefined) return;
    const reason = err instanceof Error ? err.message : String(err);
    const code = terminationCode(err);
    this.peerLog.write("warn", { err: clip(reason), code }, "closing session on protocol error");
    this.closeRaw(code, reason.slice(0, 256));
  }

  /** Close with a relay (moq-lite) code, translated to the draft's termination code. */
  close(code: number, reason: string): void {
    this.closeRaw(code === 0 ? Termination.NoError : terminationCode(new MoqError(code, reason)), reason);
  }

  /** @internal close with a termination code of the draft's own. */
  closeWith(code: number, reason: string): void {
    this.peerLog.write("warn", { code, reason: clip(reason) }, "closing session");
    this.closeRaw(code, reason);
  }

  private closeRaw(code: number, reason: string): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = { code, reason, remote: false };
    this.transport.close(code, reason);
    this.cleanup();
  }

  /** @internal count a request that must wait for readiness: true when ready, or while under the cap. */
  admitPending(): boolean {
    if (this.ready) return true;
    if (this.pendingRequests >= this.limits.max_pending_requests) return false;
    this.pendingRequests++;
    return true;
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
        // The relay never sends FETCH, so no FETCH_HEADER stream answers one of ours.
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
    this.peerLog.write("debug", { implementation: impl === undefined ? undefined : clip(new TextDecoder().decode(impl)) }, "client SETUP");
    // The SETUP stream lives on: the client may send GOAWAY on it.
    recv.onData = (chunk) => {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m !== undefined; m = framer.next()) {
          if (m.type === RequestType.Goaway) this.peerLog.write("info", { uri: clip(Goaway.decode(m.body).uri) }, "client sent GOAWAY");
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
        this.peerLog.write("info", { err: clip(err instanceof Error ? err.message : String(err)) }, "session unauthorized");
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
    const usePath = path !== undefined && this.transport.transport === "quic";
    if (this.ctx.authorize === undefined || (!usePath && token === undefined)) return;
    const url = new URL(this.transport.url.href);
    if (usePath) {
      const s = new TextDecoder().decode(path as Uint8Array);
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

  /** Drafts 14–16: the first bidi stream carries CLIENT_SETUP and becomes the control stream. */
  private controlStream(stream: BidiStream): void {
    const v = this.draft;
    const framer = new ControlFramer(v, this.limits.max_message_size);
    const onData = (chunk: Uint8Array): void => {
      try {
        framer.push(chunk);
        const m = framer.next();
        if (m === undefined) return;
        if (m.type !== SetupType.Client) throw new MoqError(Code.ProtocolViolation, `expected CLIENT_SETUP, got 0x${m.type.toString(16)}`);
        const setup = ClientSetup.decode(m.body);
        if (!setup.versions.includes(v)) {
          this.closeWith(Termination.VersionNegotiationFailed, `CLIENT_SETUP does not offer ${draftName(v)}`);
          return;
        }
        clearTimeout(this.handshakeTimer);
        this.gotSetup = true;
        const window = Math.min(this.limits.max_subscriptions_per_session, 1024);
        const adapter = new ControlAdapter(this, stream, setup.params.vars.get(SetupKey.MaxRequestId) ?? 0, window);
        this.adapter = adapter;
        const p = new Params().setVarint(SetupKey.MaxRequestId, adapter.grantedMax).setBytes(SetupKey.Implementation, new TextEncoder().encode("moq-relay-ts"));
        stream.send.write(control(v, SetupType.Server, (w) => new ServerSetup(v, p).encode(w)));
        adapter.follow(framer);
        this.authorizeSetup(setup.params).then(
          () => this.setReady(),
          (err: unknown) => {
            this.peerLog.write("info", { err: clip(err instanceof Error ? err.message : String(err)) }, "session unauthorized");
            this.close(Code.Unauthorized, "unauthorized");
          },
        );
      } catch (err) {
        this.fail(err);
      }
    };
    readWhileDrained(stream);
    stream.recv.onData = onData;
    stream.recv.onEnd = () => this.close(Code.ProtocolViolation, "the control stream ended before CLIENT_SETUP");
    stream.recv.onReset = () => this.close(Code.ProtocolViolation, "the control stream was reset");
  }

  /** @internal a request stream: a real bidi stream, or a virtual one from the control stream. */
  acceptBidi(stream: BidiStream): void {
    const v = this.draft;
    if (hasControlStream(v) && this.adapter === undefined) {
      if (this.gotSetup) return void refuse(stream, Code.ProtocolViolation);
      return this.controlStream(stream);
    }
    acceptRequest(this, stream);
  }

  /** Answer a request with REQUEST_ERROR (draft-14: the request's own error message) and finish the stream. */
  reject(stream: BidiStream, requestId: number, code: number, reason: string, retryMs = 0): void {
    rejectRequest(this, stream, requestId, code, reason, retryMs);
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
    this.adapter?.close();
    this.serve.close();
    this.ingest.close();
  }
}
