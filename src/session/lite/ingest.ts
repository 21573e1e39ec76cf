// The relay as a subscriber toward a publishing client. moq-lite publishing is pull based: we ask
// the client what it announces (ANNOUNCE_REQUEST, prefix ""), register each broadcast in the
// origin, and pull tracks (TRACK, SUBSCRIBE) only when some viewer wants them.
import { canPublish } from "../../auth/authorize.js";
import type { BidiStream, RecvStream } from "../../transport/session.js";
import { join, stripPrefix } from "../../util/path.js";
import type { Broadcast, BroadcastSource } from "../../relay/broadcast.js";
import type { TrackSink, Upstream } from "../../relay/track.js";
import type { Group } from "../../relay/group.js";
import { Code, MoqError } from "../error.js";
import { Announce, AnnounceInit, AnnounceOk, AnnounceRequest } from "./announce.js";
import type { ChunkBuffer } from "./buffer.js";
import { GroupParser } from "./group.js";
import { guardStream, readStream, send } from "./io.js";
import type { LiteSession } from "./session.js";
import { Bidi } from "./stream.js";
import { decodeSubscribeResponse, Subscribe } from "./subscribe.js";
import { DEFAULT_TRACK_INFO, decodeTrackInfo, TrackRequest, type TrackInfo } from "./track.js";
import { hasAnnounceOk, hasFrameTimestamps, hasTrackStream, isLegacy } from "./version.js";

interface UpstreamSub {
  sink: TrackSink;
  stream: BidiStream | undefined;
  closed: boolean;
}

export class Ingest {
  readonly session: number;
  private readonly announced = new Map<string, Broadcast>();
  private readonly subs = new Map<number, UpstreamSub>();
  private nextSub = 0;
  private peerHop = 0n;

  constructor(private readonly s: LiteSession) {
    this.session = s.id;
  }

  /** Ask the client what it publishes. */
  async start(): Promise<void> {
    const stream = await this.s.transport.openBidi();
    const v = this.s.version;
    send(stream.send, (w) => {
      w.varint(Bidi.Announce);
      new AnnounceRequest("", this.s.hop).encode(w, v);
    });
    let expectOk = hasAnnounceOk(v);
    let expectInit = isLegacy(v);
    const max = this.s.limits.max_message_size;
    readStream(
      stream.recv,
      max * 4,
      {
        data: (buf: ChunkBuffer) => {
          for (;;) {
            if (expectOk) {
              const ok = buf.take((r) => AnnounceOk.decode(r, max));
              if (ok === undefined) return;
              this.peerHop = ok.hop;
              expectOk = false;
            } else if (expectInit) {
              const init = buf.take((r) => AnnounceInit.decode(r, max));
              if (init === undefined) return;
              for (const suffix of init.suffixes) this.active(suffix, []);
              expectInit = false;
            } else {
              const a = buf.take((r) => Announce.decode(r, v, max));
              if (a === undefined) return;
              if (a.active) this.active(a.suffix, hasAnnounceOk(v) && this.peerHop !== 0n ? [...a.hops, this.peerHop] : a.hops);
              else this.ended(a.suffix);
            }
          }
        },
        end: () => this.clear(),
        reset: () => this.clear(),
      },
      (err) => this.s.fail(err),
    );
  }

  private active(suffix: string, hops: bigint[]): void {
    const log = this.s.log;
    if (!canPublish(this.s.grant, suffix)) {
      log.warn({ path: suffix, reason: "not-permitted" }, "announce refused: the token does not allow publishing here");
      return;
    }
    if (hops.includes(this.s.hop)) return; // our own announcement came back: a loop
    if (!this.announced.has(suffix) && this.announced.size >= this.s.limits.max_broadcasts_per_session) {
      log.warn({ path: suffix, limit: this.s.limits.max_broadcasts_per_session }, "announce refused: too many broadcasts on this session");
      return;
    }
    const path = join(this.s.grant.root, suffix);
    const source: BroadcastSource = {
      session: this.session,
      trackInfo: (track) => this.trackInfo(track, path),
      subscribe: (track, sink) => this.subscribe(track, sink, path),
    };
    const b = this.s.origin.announce(path, source, hops);
    this.announced.set(suffix, b);
    log.info({ path }, "broadcast announced");
  }

  private ended(suffix: string): void {
    const b = this.announced.get(suffix);
    if (b === undefined) return;
    this.announced.delete(suffix);
    this.s.origin.unannounce(b);
    this.s.log.info({ path: b.path }, "broadcast ended");
  }

  /** Everything this session published is gone (stream or session closed). */
  clear(): void {
    for (const suffix of [...this.announced.keys()]) this.ended(suffix);
    for (const sub of this.subs.values()) {
      sub.closed = true;
      sub.sink.fail(Code.Closed);
    }
    this.subs.clear();
  }

  /** Broadcast path as this client knows it (relative to its root). */
  private local(broadcast: string): string {
    return stripPrefix(broadcast, this.s.grant.root) ?? broadcast;
  }

  // --- BroadcastSource --------------------------------------------------------------------------

  private trackInfo(track: string, broadcast: string): Promise<TrackInfo> {
    if (!hasTrackStream(this.s.version)) return Promise.resolve(DEFAULT_TRACK_INFO);
    return new Promise<TrackInfo>((resolve, reject) => {
      this.s.transport.openBidi().then((stream) => {
        send(stream.send, (w) => {
          w.varint(Bidi.Track);
          new TrackRequest(this.local(broadcast), track).encode(w);
        });
        stream.send.end();
        const max = this.s.limits.max_message_size;
        readStream(
          stream.recv,
          max,
          {
            data: (buf) => {
              const info = buf.take((r) => decodeTrackInfo(r, max));
              if (info !== undefined) resolve(info);
            },
            end: () => reject(new MoqError(Code.NotFound, "track info stream ended without an answer")),
            reset: (code) => reject(new MoqError(code, "publisher refused the track")),
          },
          reject,
        );
      }, reject);
    });
  }

  private subscribe(track: string, sink: TrackSink, broadcast: string): Upstream {
    const id = this.nextSub++;
    const sub: UpstreamSub = { sink, stream: undefined, closed: false };
    this.subs.set(id, sub);
    const v = this.s.version;
    const max = this.s.limits.max_message_size;
    this.s.transport.openBidi().then(
      (stream) => {
        if (sub.closed) {
          stream.send.reset(Code.Cancel);
          return;
        }
        sub.stream = stream;
        send(stream.send, (w) => {
          w.varint(Bidi.Subscribe);
          new Subscribe(id, this.local(broadcast), track, { priority: 0, ordered: false, maxLatency: 0 }).encode(w, v);
        });
        readStream(
          stream.recv,
          max,
          {
            data: (buf) => {
              for (let r = buf.take((x) => decodeSubscribeResponse(x, v, max)); r !== undefined; r = buf.take((x) => decodeSubscribeResponse(x, v, max))) {
                if (r.kind === "end") this.finish(id, undefined);
              }
            },
            end: () => this.finish(id, undefined),
            reset: (code) => this.finish(id, code),
          },
          (err) => this.s.fail(err),
        );
      },
      () => this.finish(id, Code.Closed),
    );
    return {
      close: () => {
        if (sub.closed) return;
        sub.closed = true;
        this.subs.delete(id);
        sub.stream?.send.end();
      },
    };
  }

  private finish(id: number, code: number | undefined): void {
    const sub = this.subs.get(id);
    if (sub === undefined) return;
    this.subs.delete(id);
    sub.closed = true;
    if (code === undefined) sub.sink.end();
    else sub.sink.fail(code);
  }

  /** A uni Group stream from the client; `head` holds bytes that followed the stream type. */
  group(recv: RecvStream, head: Uint8Array | undefined): void {
    const timestamps = hasFrameTimestamps(this.s.version);
    let group: Group | undefined;
    const parser = new GroupParser(this.s.version, this.s.limits.max_frame_size, this.s.limits.max_message_size, {
      header: (h) => {
        const sub = this.subs.get(h.subscribe);
        if (sub === undefined) throw new MoqError(Code.Cancel, "group for an unknown subscription");
        group = sub.sink.beginGroup(h.sequence);
      },
      // Lite-04 and older carry no timestamps: stamp arrival time in ms (timescale 1000).
      frame: (ts, payload) => group?.append(timestamps ? ts : Date.now(), payload),
    });
    const feed = guardStream(
      recv,
      {
        data: (chunk) => parser.push(chunk),
        end: () => {
          parser.end();
          group?.finish();
        },
        reset: (code) => group?.abort(code),
      },
      (err) => {
        if (err instanceof MoqError && err.code === Code.Cancel) return; // unknown subscription: just stop it
        group?.abort(Code.Decode);
        this.s.fail(err);
      },
    );
    if (head !== undefined && head.length > 0) feed(head);
  }
}
