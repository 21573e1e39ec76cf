// Drafts 14–16 put every control message on one bidi stream, with Request IDs tying responses
// and follow-ups to their request (moq-wire §3.3). ControlAdapter turns that stream back into one
// virtual bidi stream per request, so Serve and Ingest handle every draft the same way (as the
// Rust relay's adapter does). It also runs request flow control: the client's Request IDs must
// be even, consecutive and below the MAX_REQUEST_ID we granted; each finished request grants one
// more. Our own requests stay below the client's MAX_REQUEST_ID.
import type { BidiStream, RecvStream, SendStream } from "../../transport/session.js";
import { Code, MoqError } from "../error.js";
import { AnnounceType } from "./announce.js";
import { FetchCancel, FetchMessage } from "./fetch.js";
import { Termination } from "./errors.js";
import { control, type ControlFramer, type ControlMessage } from "./message.js";
import { decodeNamespace } from "./namespace.js";
import { Goaway, RequestCode, RequestError, RequestIdMessage, RequestOk, RequestType } from "./request.js";
import type { IetfSession } from "./session.js";
import { SubscribeType, Unsubscribe } from "./subscribe.js";
import { SubscribeUpdate } from "./update.js";
import { Draft } from "./version.js";
import { clip } from "../../util/path.js";
import { IetfReader } from "./wire.js";

/** Messages that open a request (the client's Request ID comes first in each). */
const REQUESTS: ReadonlySet<number> = new Set([SubscribeType.Subscribe, AnnounceType.PublishNamespace, AnnounceType.SubscribeNamespaceLegacy, 0x0d, 0x16, 0x1d]);

export class ControlAdapter {
  private readonly streams = new Map<number, VirtualStream>();
  /** PUBLISH_NAMESPACE request ids by namespace (14/15 end them by namespace). */
  private readonly namespaces = new Map<string, number>();
  /** The client may use Request IDs below this. */
  private maxIn: number;
  /** The highest Request ID the client has used (-2: none yet). */
  private highestIn = -2;
  /** We may use Request IDs below this (the client's MAX_REQUEST_ID). */
  maxOut: number;
  private closed = false;

  constructor(
    private readonly s: IetfSession,
    readonly stream: BidiStream,
    clientMax: number,
    /** Requests the client may have open at once. */
    private readonly window: number,
  ) {
    this.maxIn = 2 * window;
    this.maxOut = clientMax;
  }

  get draft(): Draft {
    return this.s.draft;
  }

  /** What SERVER_SETUP grants the client. */
  get grantedMax(): number {
    return this.maxIn;
  }

  /** Route every message the control stream delivers until it ends. */
  follow(framer: ControlFramer): void {
    const recv = this.stream.recv;
    recv.onData = (chunk) => {
      if (this.closed) return;
      try {
        framer.push(chunk);
        for (let m = framer.next(); m !== undefined && !this.closed; m = framer.next()) this.route(m);
      } catch (err) {
        this.s.fail(err);
      }
    };
    recv.onEnd = () => this.s.close(Code.ProtocolViolation, "the control stream ended");
    recv.onReset = () => this.s.close(Code.ProtocolViolation, "the control stream was reset");
    if (framer.pending > 0) recv.onData(new Uint8Array(0));
  }

  /** Is `stream` one of ours (a request carried on the control stream)? */
  owns(stream: BidiStream): boolean {
    return stream instanceof VirtualStream;
  }

  /** A virtual stream for a request we send with `requestId`. */
  open(requestId: number, farewell?: Uint8Array): BidiStream {
    if (requestId >= this.maxOut) throw new MoqError(Code.BoundsExceeded, `the client allows request ids below ${this.maxOut}`);
    const v = new VirtualStream(this, requestId, true, farewell ?? control(this.draft, SubscribeType.Unsubscribe, (w) => new Unsubscribe(requestId).encode(w)));
    this.streams.set(requestId, v);
    return v;
  }

  /** Write whole control messages onto the shared stream. */
  write(bytes: Uint8Array): void {
    if (!this.closed) this.stream.send.write(bytes);
  }

  close(): void {
    this.closed = true;
    for (const v of this.streams.values()) v.kill();
    this.streams.clear();
  }

  /** @internal a request finished on both sides: forget it; a client request frees a slot. */
  finished(v: VirtualStream): void {
    if (this.streams.get(v.id) !== v) return;
    this.streams.delete(v.id);
    for (const [ns, id] of this.namespaces) if (id === v.id) this.namespaces.delete(ns);
    if (!v.ours) this.grant();
  }

  private route(m: ControlMessage): void {
    const v = this.s.draft;
    if (REQUESTS.has(m.type)) return this.request(m);
    switch (m.type) {
      case SubscribeType.SubscribeOk:
      case RequestType.RequestOk:
        return this.target(m)?.deliver(m.raw, false);
      case RequestType.RequestError:
        return this.target(m)?.deliver(m.raw, true);
      case SubscribeType.PublishDone: {
        // Ends our SUBSCRIBE, or a track the client pushed with PUBLISH.
        const r = new IetfReader(m.body.buf, m.body.draft, m.body.pos, m.body.end);
        return this.streams.get(r.varint())?.deliver(m.raw, true);
      }
      case FetchMessage.FetchCancel:
        return this.streams.get(FetchCancel.decode(m.body).requestId)?.remoteReset(Code.Cancel);
      case SubscribeType.Unsubscribe:
        return this.streams.get(Unsubscribe.decode(m.body).requestId)?.remoteEnd();
      case AnnounceType.UnsubscribeNamespace:
        return this.streams.get(RequestIdMessage.decode(m.body).requestId)?.remoteEnd();
      case AnnounceType.PublishNamespaceDone: {
        const id = v === Draft.D16 ? RequestIdMessage.decode(m.body).requestId : this.namespaces.get(decodeNamespace(m.body));
        if (id !== undefined) this.streams.get(id)?.remoteEnd();
        return;
      }
      case RequestType.MaxRequestId: {
        const max = RequestIdMessage.decode(m.body).requestId;
        if (max < this.maxOut) throw new MoqError(Code.ProtocolViolation, "MAX_REQUEST_ID went down");
        this.maxOut = max;
        return;
      }
      case RequestType.Goaway:
        this.s.peerLog.write("info", { uri: clip(Goaway.decode(m.body).uri) }, "client sent GOAWAY");
        return;
      case SubscribeType.SubscribeUpdate:
        return this.update(m);
      case AnnounceType.PublishNamespaceCancel:
      case RequestType.RequestsBlocked:
        return;
      default:
        throw new MoqError(Code.ProtocolViolation, `unexpected control message 0x${m.type.toString(16)}`);
    }
  }

  /**
   * Check a client Request ID: even, below what we granted, not in use. IDs need not arrive in
   * order: draft-16 sends SUBSCRIBE_NAMESPACE on its own stream, which may overtake the control
   * stream. Returns false after closing the session.
   */
  admit(id: number): boolean {
    if (id % 2 !== 0 || this.streams.has(id)) {
      this.s.closeWith(Termination.InvalidRequestId, `invalid request id ${id}`);
      return false;
    }
    if (id >= this.maxIn) {
      this.s.closeWith(Termination.TooManyRequests, `request id ${id} is not below MAX_REQUEST_ID ${this.maxIn}`);
      return false;
    }
    this.highestIn = Math.max(this.highestIn, id);
    return true;
  }

  /** A draft-16 request on its own stream used up an id: grant the next one at once. */
  nativeRequest(id: number): boolean {
    if (!this.admit(id)) return false;
    this.grant();
    return true;
  }

  private grant(): void {
    this.maxIn += 2;
    this.write(control(this.s.draft, RequestType.MaxRequestId, (w) => new RequestIdMessage(this.maxIn).encode(w)));
  }

  private request(m: ControlMessage): void {
    const r = new IetfReader(m.body.buf, m.body.draft, m.body.pos, m.body.end);
    const id = r.varint();
    if (!this.admit(id)) return;
    if (m.type === AnnounceType.PublishNamespace) {
      if (m.body.draft === Draft.D17) r.varint();
      this.namespaces.set(decodeNamespace(r), id);
    }
    const vs = new VirtualStream(this, id, false, undefined, m.type);
    this.streams.set(id, vs);
    this.s.acceptBidi(vs);
    vs.deliver(m.raw, false);
  }

  /**
   * SUBSCRIBE_UPDATE (14–15) / REQUEST_UPDATE (16): it uses a Request ID of its own (granted back
   * at once: it finishes here) and names the request it changes. A subscription gets it on its
   * stream; on 16 another kind of request gets REQUEST_OK (see acceptOtherUpdate). Naming a
   * request that never existed, or (14–15) one that is no subscription, is a PROTOCOL_VIOLATION;
   * one that already finished is answered (15–16) or dropped (14) instead, since the update may
   * have crossed its PUBLISH_DONE.
   */
  private update(m: ControlMessage): void {
    const v = this.s.draft;
    const u = SubscribeUpdate.decode(new IetfReader(m.body.buf, m.body.draft, m.body.pos, m.body.end));
    if (!this.admit(u.requestId)) return;
    this.grant();
    const id = u.existing ?? -1;
    const target = this.streams.get(id);
    const existed = id >= 0 && id % 2 === 0 && id <= this.highestIn && id !== u.requestId;
    if (target === undefined || target.ours) {
      if (!existed || target?.ours === true) return this.s.closeWith(Termination.ProtocolViolation, `update for unknown request id ${id}`);
      if (v !== Draft.D14) this.write(control(v, RequestType.RequestError, (w) => new RequestError(u.requestId, RequestCode.DoesNotExist, "no such open request").encode(w)));
      return;
    }
    if (target.kind !== SubscribeType.Subscribe) {
      if (v !== Draft.D16) return this.s.closeWith(Termination.ProtocolViolation, `SUBSCRIBE_UPDATE for request ${id}, which is not a SUBSCRIBE`);
      // Nothing the relay keeps per request changes for the other kinds: accepted (update.ts).
      this.write(control(v, RequestType.RequestOk, (w) => new RequestOk(u.requestId).encode(w)));
      return;
    }
    target.deliver(m.raw, false);
  }

  private target(m: ControlMessage): VirtualStream | undefined {
    const r = new IetfReader(m.body.buf, m.body.draft, m.body.pos, m.body.end);
    const v = this.streams.get(r.varint());
    // A response to a request we already gave up on: nothing to do.
    return v?.ours === true ? v : undefined;
  }
}

/** One request on the control stream, shaped like a transport bidi stream. */
class VirtualStream implements BidiStream, SendStream, RecvStream {
  readonly send = this;
  readonly recv = this;
  writableLength = 0;
  priority = 0;
  onDrain: (() => void) | null = null;
  onStop: ((code: number) => void) | null = null;
  onData: ((chunk: Uint8Array) => void) | null = null;
  onEnd: (() => void) | null = null;
  onReset: ((code: number) => void) | null = null;
  private localDone = false;
  private remoteDone = false;

  constructor(
    private readonly adapter: ControlAdapter,
    readonly id: number,
    /** We opened it (our SUBSCRIBE upstream), rather than the client. */
    readonly ours: boolean,
    /** Ours: what ending our side sends (UNSUBSCRIBE, PUBLISH_NAMESPACE_DONE). */
    private readonly farewell?: Uint8Array,
    /** The client's: the message type that opened it. */
    readonly kind?: number,
  ) {}

  // --- SendStream ----------------------------------------------------------------------------

  write(chunk: Uint8Array): boolean {
    if (!this.localDone) this.adapter.write(chunk);
    return true;
  }

  end(): void {
    if (this.localDone) return;
    this.localDone = true;
    // Our side of a subscription we hold ends with UNSUBSCRIBE (unless the publisher ended it).
    if (this.ours && !this.remoteDone && this.farewell !== undefined) this.adapter.write(this.farewell);
    // Once our side is over the request is: a late response or follow-up for it is ignored.
    this.adapter.finished(this);
  }

  reset(): void {
    this.end();
  }

  // --- RecvStream ----------------------------------------------------------------------------

  pause(): void {}
  resume(): void {}

  stop(): void {
    this.remoteDone = true;
    this.onData = null;
  }

  /** @internal a message for this request (and whether it is the last). */
  deliver(raw: Uint8Array, last: boolean): void {
    if (this.remoteDone) return;
    // The raw view points into a transport chunk the framer may keep: hand over a copy.
    this.onData?.(raw.slice());
    if (last) this.remoteEnd();
  }

  /** @internal the client ended its side (UNSUBSCRIBE, PUBLISH_NAMESPACE_DONE, a final response). */
  remoteEnd(): void {
    if (this.remoteDone) return;
    this.remoteDone = true;
    this.onEnd?.();
  }

  /** @internal the client cancelled the request (FETCH_CANCEL). */
  remoteReset(code: number): void {
    if (this.remoteDone) return;
    this.remoteDone = true;
    this.onReset?.(code);
  }

  /** @internal the session is gone. */
  kill(): void {
    this.localDone = this.remoteDone = true;
    this.onStop?.(Code.Closed);
    this.onReset?.(Code.Closed);
  }
}
