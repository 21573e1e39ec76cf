// Request streams (a real bidi stream from draft-17, a virtual one on the 14–16 control stream):
// the first message names the request, which is handed to Serve (SUBSCRIBE, SUBSCRIBE_NAMESPACE,
// FETCH, TRACK_STATUS) or Ingest (PUBLISH_NAMESPACE, PUBLISH) once the client's SETUP arrived.
// Refusals are REQUEST_ERROR, or on draft-14 the error message its request type pairs with.
import type { BidiStream } from "../../transport/session.js";
import { Code, MoqError } from "../error.js";
import { refuse } from "../lite/session-io.js";
import { AnnounceType, PublishNamespace, SubscribeNamespace } from "./announce.js";
import { Fetch, FetchType } from "./fetch.js";
import { ControlFramer, control } from "./message.js";
import { Publish, PublishType } from "./publish.js";
import { RequestCode, RequestError, RequestType } from "./request.js";
import type { IetfSession } from "./session.js";
import { Subscribe, SubscribeType } from "./subscribe.js";
import { TrackStatus, TrackStatusType } from "./track-status.js";
import { Draft, subscribeNamespaceType } from "./version.js";
import { IetfReader } from "./wire.js";

/** The request type each stream opened with: draft-14 answers refusals with a matching error type. */
const opened = new WeakMap<BidiStream, number>();

/** Draft-14 error message per request type (15+: REQUEST_ERROR for all). */
const D14_ERRORS: ReadonlyMap<number, number> = new Map([
  [SubscribeType.Subscribe, SubscribeType.SubscribeError],
  [AnnounceType.PublishNamespace, AnnounceType.Namespace /* PUBLISH_NAMESPACE_ERROR */],
  [AnnounceType.SubscribeNamespaceLegacy, 0x13 /* SUBSCRIBE_NAMESPACE_ERROR */],
  [Fetch.type, 0x19 /* FETCH_ERROR */],
  [TrackStatusType.TrackStatus, 0x0f /* TRACK_STATUS_ERROR */],
  [PublishType.Publish, PublishType.PublishError],
]);

/**
 * Draft-14 error codes per message: the relay's REQUEST_ERROR codes where the draft has them,
 * else INTERNAL_ERROR (draft-14 has no "duplicate"; its joining-fetch code is 0x7, not 0x32).
 */
export function requestCodeFor(v: Draft, requestType: number | undefined, code: number): number {
  if (v !== Draft.D14) return code;
  if (code === RequestCode.InvalidJoiningRequest) return requestType === Fetch.type ? 0x7 : RequestCode.InternalError;
  if (code === RequestCode.Duplicate || code === RequestCode.MalformedTrack) return RequestCode.InternalError;
  return code;
}

/** Answer a request with REQUEST_ERROR (draft-14: its own error type) and finish the stream. */
export function rejectRequest(s: IetfSession, stream: BidiStream, requestId: number, code: number, reason: string, retryMs = 0): void {
  const v = s.draft;
  const reqType = opened.get(stream);
  const type = v === Draft.D14 ? (D14_ERRORS.get(reqType ?? SubscribeType.Subscribe) ?? RequestType.RequestError) : RequestType.RequestError;
  stream.send.write(control(v, type, (w) => new RequestError(requestId, requestCodeFor(v, reqType, code), reason, retryMs).encode(w)));
  stream.send.end();
  stream.recv.onData = () => undefined;
  stream.recv.onEnd = null;
  stream.recv.onReset = null;
}

/**
 * Answers to what a client sends (REQUEST_OK per REQUEST_UPDATE, an error per refused request on
 * the 14–16 control stream) queue on the stream's send side while the client does not read them:
 * unchecked, 11 MiB of requests held 390 MiB of relay memory (a queued write costs far more than
 * its few bytes). So the answers written in one turn go out as one write, and once the send
 * queue passes the transport's high-water mark the client's side of the stream is not read until
 * it drains: the client's flow control then stops it, and the stream holds at most its receive
 * window of input and the answers to one chunk beyond the mark. The stream's onDrain is taken.
 */
export function readWhileDrained(stream: BidiStream): void {
  const send = stream.send;
  const write = send.write.bind(send);
  const end = send.end.bind(send);
  const reset = send.reset.bind(send);
  let pending: Uint8Array[] = [];
  let held = false;
  const flush = (): void => {
    if (pending.length === 0) return;
    const chunk = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending = [];
    if (!write(chunk) && !held) {
      held = true;
      stream.recv.pause();
    }
  };
  send.write = (chunk: Uint8Array): boolean => {
    if (pending.push(chunk) === 1) queueMicrotask(flush);
    return !held;
  };
  send.end = (): void => {
    flush();
    end();
  };
  send.reset = (code: number): void => {
    pending = [];
    reset(code);
  };
  send.onDrain = () => {
    if (!held) return;
    held = false;
    stream.recv.resume();
  };
}

/** Read the request that opens `stream` and hand it over once the session is ready. */
export function acceptRequest(s: IetfSession, stream: BidiStream): void {
  const v = s.draft;
  const adapter = s.controlAdapter;
  // A virtual stream's answers go onto the control stream, which is held as a whole.
  if (adapter === undefined || !adapter.owns(stream)) readWhileDrained(stream);
  const framer = new ControlFramer(v, s.limits.max_message_size);
  let handed = false;
  let early: { end: boolean; reset?: number } | undefined;
  const hand = (id: number, fn: () => void): void => {
    handed = true;
    // Until the client's SETUP scopes the session, a few requests wait (each a stream and its bytes).
    if (!s.admitPending()) {
      s.peerLog.write("warn", { limit: s.limits.max_pending_requests }, "request refused: too many before SETUP");
      return s.reject(stream, id, RequestCode.InternalError, "too many requests before SETUP", 1000);
    }
    s.whenReady(() => {
      if (s.isClosed) return;
      fn();
      if (early?.reset !== undefined) stream.recv.onReset?.(early.reset);
      else if (early?.end === true) stream.recv.onEnd?.();
    });
  };
  const step = (): void => {
    const m = framer.next();
    if (m === undefined) return;
    const id = peekRequestId(m.body);
    if (adapter !== undefined && !adapter.owns(stream) && !adapter.nativeRequest(id)) return void (handed = true);
    opened.set(stream, m.type);
    if (s.requests >= s.limits.max_subscriptions_per_session) {
      handed = true;
      s.peerLog.write("warn", { limit: s.limits.max_subscriptions_per_session }, "request refused: too many on this session");
      return s.reject(stream, id, RequestCode.InternalError, "too many requests", 1000);
    }
    switch (m.type) {
      case SubscribeType.Subscribe: {
        const msg = Subscribe.decode(m.body);
        return hand(msg.requestId, () => s.serve.subscribe(stream, msg, framer));
      }
      case subscribeNamespaceType(v): {
        const msg = SubscribeNamespace.decode(m.body);
        return hand(msg.requestId, () => s.serve.subscribeNamespace(stream, msg, framer));
      }
      case AnnounceType.PublishNamespace: {
        const msg = PublishNamespace.decode(m.body);
        return hand(msg.requestId, () => s.ingest.publishNamespace(stream, msg, framer));
      }
      case Fetch.type: {
        const msg = Fetch.decode(m.body);
        if (msg.fetchType !== FetchType.Standalone && msg.fetchType !== FetchType.RelativeJoining && msg.fetchType !== FetchType.AbsoluteJoining) {
          throw new MoqError(Code.ProtocolViolation, `unknown fetch type ${msg.fetchType}`);
        }
        return hand(msg.requestId, () => s.serve.fetches.fetch(stream, msg, framer));
      }
      case TrackStatusType.TrackStatus: {
        const msg = TrackStatus.decode(m.body);
        return hand(msg.requestId, () => s.serve.trackStatus(stream, msg));
      }
      case PublishType.Publish: {
        const msg = Publish.decode(m.body);
        return hand(msg.requestId, () => s.ingest.pushes.publish(stream, msg, framer));
      }
      default:
        throw new MoqError(Code.ProtocolViolation, `unexpected request type 0x${m.type.toString(16)}`);
    }
  };
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      refuse(stream, Code.ProtocolViolation);
      s.fail(err);
    }
  };
  stream.recv.onData = (chunk) =>
    guard(() => {
      framer.push(chunk);
      if (!handed) step();
      // A request waiting (for SETUP, or a joining FETCH for its subscription's answer) buffers
      // at most one more message: a client streaming bytes behind it must not fill our memory.
      else if (framer.pending > s.limits.max_message_size + 16) throw new MoqError(Code.BoundsExceeded, `more than ${s.limits.max_message_size} bytes buffered behind a waiting request`);
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

/** Every request message starts with its Request ID. */
function peekRequestId(body: IetfReader): number {
  const r = new IetfReader(body.buf, body.draft, body.pos, body.end);
  try {
    return r.varint();
  } catch {
    throw new MoqError(Code.ProtocolViolation, "a request without its Request ID");
  }
}
