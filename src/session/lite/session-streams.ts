// Dispatch of the streams a client opens: read the stream type and the first message, then hand
// the stream to the half that serves it (Serve for requests, Ingest for group streams). Until the
// session is ready (a raw QUIC session waits for the SETUP that scopes it) requests wait, with a
// FIN or reset that arrives meanwhile replayed afterwards. Unknown stream types are refused, not
// fatal; a malformed first message is fatal to the session.
//
// Bytes a client sends after its request are never accumulated: TRACK, FETCH and GOAWAY expect
// nothing more but FIN, so more data is a protocol violation that stops that stream's read side
// (STOP_SENDING; the response still goes out). A request waiting for the session to be ready
// buffers at most one more message, and at most `max_pending_requests` requests wait.
import type { BidiStream, RecvStream } from "../../transport/session.js";
import { detach } from "../../util/async.js";
import { clip } from "../../util/path.js";
import { Code, errorCode, MoqError } from "../error.js";
import { AnnounceRequest } from "./announce.js";
import { Fetch } from "./fetch.js";
import { Framer } from "./framer.js";
import { Goaway } from "./goaway.js";
import { refuse } from "./session-io.js";
import type { LiteSession } from "./session.js";
import { ClientSetup, Setup } from "./setup.js";
import { Bidi, Uni } from "./stream.js";
import { Subscribe } from "./subscribe.js";
import { TrackRequest } from "./track.js";
import { hasFetch, hasGoaway, hasSetupStream, hasTrackStream } from "./version.js";

export function acceptBidi(s: LiteSession, stream: BidiStream): void {
  const framer = new Framer(s.limits.max_message_size);
  let type: number | undefined;
  /** Handed to a handler (which may run later, once the session is ready). */
  let handed = false;
  let early: { end: boolean; reset?: number } | undefined;
  /** The request is complete and nothing but FIN may follow (TRACK, FETCH, GOAWAY). */
  let sealed = false;
  /** The client sent bytes after a sealed request: its read side is stopped, the rest ignored. */
  let violated = false;
  const hand = (fn: () => void, seal = false): void => {
    handed = true;
    sealed = seal;
    if (!s.isReady && !s.admitPending()) {
      violated = true;
      refuse(stream, Code.BoundsExceeded);
      s.peerLog.write("warn", { limit: s.limits.max_pending_requests }, "request refused: too many before SETUP");
      return;
    }
    s.whenReady(() => {
      if (s.isClosed) return;
      fn();
      // Replay a FIN or reset that arrived while the request waited.
      if (early?.reset !== undefined) stream.recv.onReset?.(early.reset);
      else if (early?.end === true) stream.recv.onEnd?.();
    });
  };
  const step = (): void => {
    type ??= framer.varint();
    if (type === undefined) return;
    const v = s.version;
    if (!s.negotiated) {
      if (type !== Bidi.ClientCompat) throw new MoqError(Code.ProtocolViolation, "stream opened before SETUP");
      const setup = framer.take((r) => ClientSetup.decode(r));
      if (setup === undefined) return;
      handed = true;
      return s.legacySetup(stream, setup, framer);
    }
    switch (type) {
      case Bidi.Announce: {
        const m = framer.next((r) => AnnounceRequest.decode(r, v));
        if (m !== undefined) hand(() => s.serve.announce(stream, m, framer));
        return;
      }
      case Bidi.Subscribe: {
        const m = framer.next((r) => Subscribe.decode(r, v));
        if (m !== undefined) hand(() => s.serve.subscribe(stream, m, framer));
        return;
      }
      case Bidi.Track: {
        if (!hasTrackStream(v)) break;
        const m = framer.next((r) => TrackRequest.decode(r, v));
        if (m !== undefined) hand(() => detach(s.serve.track(stream, m), () => stream.send.reset(Code.Cancel)), true);
        return;
      }
      case Bidi.Fetch: {
        if (!hasFetch(v)) break;
        const m = framer.next((r) => Fetch.decode(r, v));
        if (m !== undefined) hand(() => s.serve.fetch(stream, m), true);
        return;
      }
      case Bidi.Goaway: {
        if (!hasGoaway(v)) break;
        const m = framer.next((r) => Goaway.decode(r, v));
        if (m === undefined) return;
        handed = true;
        sealed = true;
        s.peerLog.write("info", { uri: clip(m.uri) }, "client sent GOAWAY");
        return;
      }
      case Bidi.ClientCompat:
        throw new MoqError(Code.ProtocolViolation, "CLIENT_SETUP after the version was settled");
      case Bidi.Probe:
        // We advertise no probing: refuse, as a publisher at Probe None does.
        handed = true;
        return refuse(stream, Code.Unsupported);
    }
    // Unknown (or not in this version) stream types are refused, never fatal.
    handed = true;
    refuse(stream, Code.UnexpectedStream);
  };
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      refuse(stream, errorCode(err));
      s.fail(err);
    }
  };
  const overflow = (): void => {
    if (sealed) {
      // Nothing may follow the request: drop what came and stop the client's side.
      framer.drain();
      if (violated) return;
      violated = true;
      stream.recv.stop(Code.ProtocolViolation);
      s.peerLog.write("debug", {}, "data after a complete request: read side stopped");
    } else if (framer.pending > s.limits.max_message_size + 16) {
      throw new MoqError(Code.BoundsExceeded, `more than ${s.limits.max_message_size} bytes buffered behind a waiting request`);
    }
  };
  stream.recv.onData = (chunk) =>
    guard(() => {
      if (violated) return;
      framer.push(chunk);
      if (!handed) step();
      if (handed) overflow();
    });
  stream.recv.onEnd = () =>
    guard(() => {
      if (handed) return void ((early ??= { end: true }).end = true);
      // The client gave up before its request was complete.
      framer.end();
      stream.send.end();
    });
  stream.recv.onReset = (code) => {
    if (handed) (early ??= { end: false }).reset = code;
    else stream.send.reset(code);
  };
}

export function acceptUni(s: LiteSession, recv: RecvStream): void {
  const framer = new Framer(s.limits.max_message_size);
  let type: number | undefined;
  let done = false;
  const ignore = (code: number): void => {
    done = true;
    recv.stop(code);
  };
  recv.onData = (chunk) => {
    if (done) return;
    try {
      framer.push(chunk);
      type ??= framer.varint();
      if (type === undefined) return;
      if (!s.negotiated) return ignore(Code.UnexpectedStream);
      if (type === Uni.Group) {
        done = true;
        return s.ingest.groupStream(recv, framer.drain());
      }
      if (type === Uni.Setup && hasSetupStream(s.version)) {
        const setup = framer.next((r) => Setup.decode(r, s.version));
        if (setup === undefined) return;
        done = true;
        return s.clientSetup(setup);
      }
      ignore(Code.UnexpectedStream);
    } catch (err) {
      ignore(errorCode(err));
      s.fail(err);
    }
  };
  recv.onEnd = () => {
    if (done) return;
    // A SETUP stream cut short is malformed; an empty stream is merely odd.
    if (framer.pending > 0 || type !== undefined) s.fail(new MoqError(Code.Decode, "uni stream ended before its first message"));
  };
  recv.onReset = () => undefined;
}
