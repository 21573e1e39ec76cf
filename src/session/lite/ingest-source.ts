// A broadcast a client publishes, as the relay core sees it (BroadcastSource): TRACK_INFO, track
// subscriptions and group fetches, each one request stream toward the client.
import type { Group } from "../../relay/group.js";
import type { BroadcastSource, TrackInfo, TrackSink, Upstream, UpstreamPrefs } from "../../relay/types.js";
import { DEFAULT_TRACK_INFO } from "../../relay/types.js";
import type { BidiStream } from "../../transport/session.js";
import { Code, errorCode, MoqError } from "../error.js";
import { Fetch } from "./fetch.js";
import { Framer } from "./framer.js";
import { GroupParser } from "./group.js";
import { send } from "./io.js";
import type { Ingest } from "./ingest.js";
import { follow, guardRecv } from "./session-io.js";
import { Bidi } from "./stream.js";
import { decodeSubscribeResponse, Subscribe, SubscribeUpdate } from "./subscribe.js";
import { TrackInfo as TrackInfoMessage, TrackRequest } from "./track.js";
import { hasFetch, hasSubscribeRange, hasTrackStream, typedSubscribeResponses } from "./version.js";

/** How long the publisher gets to answer TRACK: viewers give up after 10 s, so answer before. */
export const TRACK_INFO_TIMEOUT = 8000;

export class LiteSource implements BroadcastSource {
  readonly fetch?: (track: string, sequence: number, into: Group) => { close(): void };

  constructor(
    /** The session half that announced it (a session never sees its own broadcasts echoed). */
    readonly ingest: Ingest,
    /** The broadcast's path as the client named it (relative to the session root). */
    readonly path: string,
  ) {
    if (hasFetch(ingest.s.version)) this.fetch = (track, sequence, into) => this.fetchGroup(track, sequence, into);
  }

  trackInfo(track: string): Promise<TrackInfo> {
    const s = this.ingest.s;
    const v = s.version;
    // Before lite-05 there is no TRACK stream: the publisher's defaults are all there is.
    if (!hasTrackStream(v)) return Promise.resolve({ ...DEFAULT_TRACK_INFO });
    return new Promise<TrackInfo>((resolve, reject) => {
      let stream: BidiStream | undefined;
      let settled = false;
      const settle = (err: MoqError | undefined, info?: TrackInfo): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== undefined) reject(err);
        else resolve(info as TrackInfo);
      };
      const timer = setTimeout(() => {
        stream?.send.reset(Code.Timeout);
        stream?.recv.stop(Code.Timeout);
        settle(new MoqError(Code.Timeout, `publisher did not answer TRACK for ${track}`));
      }, TRACK_INFO_TIMEOUT);
      timer.unref();
      s.transport.openBidi().then(
        (bidi) => {
          stream = bidi;
          if (settled) return void bidi.send.reset(Code.Cancel);
          send(bidi.send, (w) => {
            w.varint(Bidi.Track);
            new TrackRequest(this.path, track).encode(w, v);
          });
          follow(
            bidi.recv,
            new Framer(s.limits.max_message_size),
            {
              data: (f) => {
                if (settled) return void f.drain();
                const m = f.next((r) => TrackInfoMessage.decode(r, v));
                if (m !== undefined) settle(undefined, { priority: m.priority, ordered: m.ordered, maxLatency: m.maxLatency, timescale: m.timescale });
              },
              end: () => {
                bidi.send.end();
                settle(new MoqError(Code.ProtocolViolation, "TRACK stream ended without TRACK_INFO"));
              },
              reset: (code) => settle(new MoqError(code, `publisher refused track ${track}`)),
            },
            (err) => {
              settle(new MoqError(errorCode(err), "malformed TRACK_INFO"));
              s.fail(err);
            },
          );
        },
        () => settle(new MoqError(Code.Closed, "session closed")),
      );
    });
  }

  /** The same session's broadcast at the same path (re-announced with a new hop chain). */
  sameAs(other: BroadcastSource): boolean {
    return other instanceof LiteSource && other.ingest === this.ingest && other.path === this.path;
  }

  subscribe(track: string, sink: TrackSink, prefs: UpstreamPrefs): Upstream {
    return this.ingest.subscribe(this.path, track, sink, prefs);
  }

  private fetchGroup(track: string, sequence: number, into: Group): { close(): void } {
    const s = this.ingest.s;
    const v = s.version;
    let stream: BidiStream | undefined;
    let closed = false;
    s.transport.openBidi().then(
      (bidi) => {
        stream = bidi;
        if (closed) return void bidi.send.reset(Code.Cancel);
        send(bidi.send, (w) => {
          w.varint(Bidi.Fetch);
          new Fetch(this.path, track, 0, sequence).encode(w, v);
        });
        const parser = new GroupParser(v, s.limits.max_frame_size, { header: () => undefined, frame: (ts, payload) => into.append(ts, payload) }, false);
        guardRecv(
          bidi.recv,
          {
            data: (c) => parser.push(c),
            end: () => {
              parser.end();
              into.finish();
              bidi.send.end();
            },
            reset: (code) => into.abort(code),
          },
          (err) => {
            into.abort(errorCode(err));
            s.fail(err);
          },
        );
      },
      () => into.abort(Code.Closed),
    );
    return {
      close: () => {
        closed = true;
        stream?.send.reset(Code.Cancel);
        stream?.recv.stop(Code.Cancel);
      },
    };
  }
}

/** The relay's one subscription to a client's track (for all its viewers). */
export class UpstreamSub implements Upstream {
  private stream: BidiStream | undefined;
  /** We unsubscribed (or the session went away): the sink hears nothing more. */
  private closed = false;
  private pending: UpstreamPrefs | undefined;
  private finSent = false;

  constructor(
    private readonly ingest: Ingest,
    readonly id: number,
    private readonly path: string,
    private readonly track: string,
    readonly sink: TrackSink,
    prefs: UpstreamPrefs,
  ) {
    ingest.s.transport.openBidi().then(
      (stream) => this.opened(stream, prefs),
      () => this.ended(Code.Closed),
    );
  }

  get active(): boolean {
    return !this.closed;
  }

  update(prefs: UpstreamPrefs): void {
    if (this.closed) return;
    if (this.stream === undefined) {
      this.pending = prefs;
      return;
    }
    const v = this.ingest.s.version;
    // Lite-01/02 have no SUBSCRIBE_UPDATE.
    if (hasSubscribeRange(v)) send(this.stream.send, (w) => new SubscribeUpdate(prefs).encode(w, v));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ingest.forget(this.id);
    // FIN is the unsubscribe; the publisher closes its side in turn.
    this.fin();
  }

  /** The session is gone: forget everything, write nothing. */
  dispose(): void {
    this.closed = true;
  }

  private opened(stream: BidiStream, prefs: UpstreamPrefs): void {
    if (this.closed) {
      stream.send.reset(Code.Cancel);
      return;
    }
    this.stream = stream;
    const s = this.ingest.s;
    const v = s.version;
    send(stream.send, (w) => {
      w.varint(Bidi.Subscribe);
      // Upstream always starts at the latest group: the cache serves older ones.
      new Subscribe(this.id, this.path, this.track, { priority: prefs.priority, ordered: prefs.ordered, maxLatency: prefs.maxLatency }).encode(w, v);
    });
    if (this.pending !== undefined) this.update(this.pending);
    const typed = typedSubscribeResponses(v);
    follow(
      stream.recv,
      new Framer(s.limits.max_message_size),
      {
        data: (f) => {
          for (let m; (m = f.next((r) => decodeSubscribeResponse(r, v), typed)) !== undefined; ) {
            if (this.closed) continue;
            if (m.kind === "end") this.sink.end(m.group);
            else if (m.kind === "start") this.sink.start?.(m.group);
          }
        },
        end: () => this.ended(undefined),
        reset: (code) => this.ended(code),
      },
      (err) => {
        this.ended(errorCode(err));
        s.fail(err);
      },
    );
  }

  /** The publisher finished (FIN) or refused/aborted (`code`) the subscription. */
  private ended(code: number | undefined): void {
    if (this.closed) {
      this.ingest.forget(this.id);
      return;
    }
    // After a clean end, group streams may still be in flight: keep routing them until the relay
    // closes us. After a reset nothing more is wanted.
    if (code !== undefined) {
      this.closed = true;
      this.ingest.forget(this.id);
    }
    this.fin();
    this.sink.close(code);
  }

  private fin(): void {
    if (this.finSent || this.stream === undefined) return;
    this.finSent = true;
    this.stream.send.end();
  }
}
