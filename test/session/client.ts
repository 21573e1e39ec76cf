// A moq-lite client driven by hand through the wire codecs, over one end of an in-memory session
// pair: it publishes (answers the relay's ANNOUNCE_REQUEST, TRACK and SUBSCRIBE, writes group
// streams on demand) and views (announce requests, TRACK, SUBSCRIBE, FETCH), recording everything
// it receives so tests can assert on the exact bytes.
import { Writer } from "../../src/util/bytes.js";
import { Announce, AnnounceInit, AnnounceOk, AnnounceRequest } from "../../src/session/lite/announce.js";
import { Fetch } from "../../src/session/lite/fetch.js";
import { Framer } from "../../src/session/lite/framer.js";
import { FrameEncoder, GroupHeader, GroupParser } from "../../src/session/lite/group.js";
import { Goaway } from "../../src/session/lite/goaway.js";
import { ClientSetup, ServerSetup, Setup } from "../../src/session/lite/setup.js";
import { Bidi, Uni } from "../../src/session/lite/stream.js";
import { decodeSubscribeResponse, Subscribe, SubscribeUpdate, type SubscribePrefs, type SubscribeResponse } from "../../src/session/lite/subscribe.js";
import { TrackInfo, TrackRequest } from "../../src/session/lite/track.js";
import { hasAnnounceInit, hasAnnounceOk, hasSetupStream, typedSubscribeResponses, Version } from "../../src/session/lite/version.js";
import type { BidiStream, RecvStream, SendStream } from "../../src/transport/session.js";
import type { MemSession } from "./pair.js";

const MAX = 64 * 1024;

export interface Frame {
  ts: number;
  payload: Uint8Array;
}

/** A group stream the client received. */
export interface ReceivedGroup {
  subscribe: number;
  sequence: number;
  frames: Frame[];
  done: boolean;
  reset: number | undefined;
}

/** A SUBSCRIBE the relay sent to this client (as publisher). */
export interface SubscribeRequest {
  msg: Subscribe;
  stream: BidiStream;
  updates: SubscribePrefs[];
  /** The relay unsubscribed (FIN) or reset. */
  closed: boolean;
}

export interface AnnounceWatch {
  ok: AnnounceOk | undefined;
  events: Array<{ suffix: string; active: boolean; hops: readonly bigint[] }>;
  /** Currently active suffixes. */
  active: Set<string>;
  stream: BidiStream;
}

export interface ViewerSub {
  id: number;
  responses: SubscribeResponse[];
  reset: number | undefined;
  fin: boolean;
  stream: BidiStream;
  update(prefs: SubscribePrefs): void;
  close(): void;
}

export interface Published {
  tracks: Map<string, TrackInfo>;
}

/** Write a whole message built by `fn` to a stream. */
function put(s: SendStream, fn: (w: Writer) => void): void {
  const w = new Writer(64);
  fn(w);
  s.write(w.finish());
}

/** Feed a stream's chunks to `data`, through a framer. */
function read(recv: RecvStream, data: (f: Framer) => void, end?: () => void, reset?: (code: number) => void): Framer {
  const f = new Framer(MAX);
  recv.onData = (c) => {
    f.push(c);
    data(f);
  };
  recv.onEnd = () => end?.();
  recv.onReset = (code) => reset?.(code);
  return f;
}

export class FakeClient {
  readonly origin: bigint;
  /** What this client publishes, by path (relative to its root). */
  readonly published = new Map<string, Published>();
  /** ANNOUNCE_REQUESTs the relay opened toward us. */
  readonly announceRequests: Array<{ req: AnnounceRequest; stream: BidiStream; sent: Set<string> }> = [];
  readonly subscribeRequests: SubscribeRequest[] = [];
  readonly trackRequests: TrackRequest[] = [];
  readonly groups: ReceivedGroup[] = [];
  /** Reset codes of uni streams reset before their GROUP header arrived. */
  readonly headlessResets: number[] = [];
  readonly goaways: string[] = [];
  relaySetup: Setup | undefined;
  /** Answer TRACK for unknown tracks with this reset code (default NotFound). */
  unknownTrackCode = 13;
  private nextSub = 0;

  constructor(
    readonly session: MemSession,
    readonly version: Version = Version.Lite05,
    origin = 0x0a11ce00n + BigInt(Math.floor(Math.random() * 1000)),
  ) {
    this.origin = origin;
    session.onBidi = (s) => this.bidi(s);
    session.onUni = (s) => this.uni(s);
  }

  /** Send our SETUP (lite-05) or run the legacy handshake (lite-01/02). */
  async start(opts: { path?: string; role?: number } = {}): Promise<void> {
    if (hasSetupStream(this.version)) {
      const s = await this.session.openUni();
      put(s, (w) => {
        w.varint(Uni.Setup);
        new Setup({ origin: this.origin, path: opts.path, role: opts.role }).encode(w, this.version);
      });
      s.end();
      return;
    }
    if (this.version > Version.Lite02) return;
    const bidi = await this.session.openBidi();
    put(bidi.send, (w) => {
      w.varint(Bidi.ClientCompat);
      new ClientSetup(this.version === Version.Lite01 ? [Version.Lite01] : [Version.Lite02, Version.Lite01, 0xff00000e]).encode(w);
    });
    await new Promise<void>((resolve, reject) => {
      let type: number | undefined;
      read(
        bidi.recv,
        (f) => {
          type ??= f.varint();
          if (type === undefined) return;
          if (type !== Bidi.ServerCompat) return reject(new Error(`unexpected ${type}`));
          const ss = f.take((r) => ServerSetup.decode(r));
          if (ss === undefined) return;
          if (ss.version !== this.version) reject(new Error(`server chose ${ss.version.toString(16)}`));
          else resolve();
        },
        () => reject(new Error("session stream ended")),
        (code) => reject(new Error(`session stream reset ${code}`)),
      );
    });
  }

  // --- publishing ----------------------------------------------------------------------------

  /** Publish (or re-publish) a broadcast; announced to every open ANNOUNCE_REQUEST. */
  publish(path: string, tracks: Record<string, TrackInfo> = { video: new TrackInfo(0, false, 5000, 1000) }): void {
    this.published.set(path, { tracks: new Map(Object.entries(tracks)) });
    for (const a of this.announceRequests) {
      const suffix = strip(path, a.req.prefix);
      if (suffix === undefined) continue;
      a.sent.add(suffix);
      put(a.stream.send, (w) => Announce.active(suffix, this.selfHops()).encode(w, this.version));
    }
  }

  unpublish(path: string): void {
    this.published.delete(path);
    for (const a of this.announceRequests) {
      const suffix = strip(path, a.req.prefix);
      if (suffix === undefined || !a.sent.delete(suffix)) continue;
      put(a.stream.send, (w) => Announce.ended(suffix).encode(w, this.version));
    }
  }

  /** Write one group on its own stream for a SUBSCRIBE we received. */
  async sendGroup(req: SubscribeRequest, sequence: number, frames: Frame[], finish = true): Promise<SendStream> {
    const s = await this.session.openUni();
    const enc = new FrameEncoder(this.version);
    put(s, (w) => {
      w.varint(Uni.Group);
      new GroupHeader(req.msg.id, sequence).encode(w, this.version);
      for (const f of frames) {
        enc.head(w, f.ts, f.payload.length);
        w.bytes(f.payload);
      }
    });
    if (finish) s.end();
    return s;
  }

  /** Raw bytes on a new bidi stream (malformed input tests). */
  async sendBidi(bytes: Uint8Array): Promise<BidiStream> {
    const s = await this.session.openBidi();
    s.send.write(bytes);
    read(s.recv, (f) => void f.drain());
    return s;
  }

  private selfHops(): bigint[] {
    // lite-05 names the responder in ANNOUNCE_OK; lite-04 puts it last in every chain.
    return hasAnnounceOk(this.version) ? [] : [this.origin];
  }

  // --- viewing -------------------------------------------------------------------------------

  async announced(prefix: string): Promise<AnnounceWatch> {
    const stream = await this.session.openBidi();
    const v = this.version;
    put(stream.send, (w) => {
      w.varint(Bidi.Announce);
      new AnnounceRequest(prefix, this.origin).encode(w, v);
    });
    const watch: AnnounceWatch = { ok: undefined, events: [], active: new Set(), stream };
    let gotOk = !hasAnnounceOk(v);
    let gotInit = !hasAnnounceInit(v);
    read(stream.recv, (f) => {
      if (!gotOk) {
        watch.ok = f.next((r) => AnnounceOk.decode(r, v));
        if (watch.ok === undefined) return;
        gotOk = true;
      }
      if (!gotInit) {
        const init = f.next((r) => AnnounceInit.decode(r, v));
        if (init === undefined) return;
        gotInit = true;
        for (const s of init.suffixes) {
          watch.events.push({ suffix: s, active: true, hops: [] });
          watch.active.add(s);
        }
      }
      for (let a; (a = f.next((r) => Announce.decode(r, v))) !== undefined; ) {
        watch.events.push({ suffix: a.suffix, active: a.active, hops: a.hops });
        if (a.active) watch.active.add(a.suffix);
        else watch.active.delete(a.suffix);
      }
    });
    return watch;
  }

  /** TRACK → TRACK_INFO, or the reset code. */
  async trackInfo(broadcast: string, track: string): Promise<{ info?: TrackInfo; reset?: number; fin?: boolean }> {
    const stream = await this.session.openBidi();
    put(stream.send, (w) => {
      w.varint(Bidi.Track);
      new TrackRequest(broadcast, track).encode(w, this.version);
    });
    return new Promise((resolve) => {
      const out: { info?: TrackInfo; reset?: number; fin?: boolean } = {};
      read(
        stream.recv,
        (f) => {
          out.info ??= f.next((r) => TrackInfo.decode(r, this.version));
        },
        () => {
          out.fin = true;
          resolve(out);
        },
        (code) => {
          out.reset = code;
          resolve(out);
        },
      );
    });
  }

  async subscribe(broadcast: string, track: string, prefs: SubscribePrefs = { priority: 0, ordered: false, maxLatency: 0 }): Promise<ViewerSub> {
    const stream = await this.session.openBidi();
    const v = this.version;
    const id = this.nextSub++;
    put(stream.send, (w) => {
      w.varint(Bidi.Subscribe);
      new Subscribe(id, broadcast, track, prefs).encode(w, v);
    });
    const sub: ViewerSub = {
      id,
      responses: [],
      reset: undefined,
      fin: false,
      stream,
      update: (p) => put(stream.send, (w) => new SubscribeUpdate(p).encode(w, v)),
      close: () => stream.send.end(),
    };
    read(
      stream.recv,
      (f) => {
        for (let m; (m = f.next((r) => decodeSubscribeResponse(r, v), typedSubscribeResponses(v))) !== undefined; ) sub.responses.push(m);
      },
      () => void (sub.fin = true),
      (code) => void (sub.reset = code),
    );
    return sub;
  }

  /** FETCH one group: its frames, or the reset code. */
  async fetch(broadcast: string, track: string, group: number): Promise<{ frames: Frame[]; reset?: number }> {
    const stream = await this.session.openBidi();
    put(stream.send, (w) => {
      w.varint(Bidi.Fetch);
      new Fetch(broadcast, track, 0, group).encode(w, this.version);
    });
    return new Promise((resolve) => {
      const frames: Frame[] = [];
      const parser = new GroupParser(this.version, 1 << 24, { header: () => undefined, frame: (ts, payload) => void frames.push({ ts, payload: payload.slice() }) }, false);
      stream.recv.onData = (c) => parser.push(c);
      stream.recv.onEnd = () => resolve({ frames });
      stream.recv.onReset = (code) => resolve({ frames, reset: code });
    });
  }

  /** Groups received for a subscription, by sequence. */
  groupsOf(sub: ViewerSub): ReceivedGroup[] {
    return this.groups.filter((g) => g.subscribe === sub.id);
  }

  // --- streams the relay opens ---------------------------------------------------------------

  private bidi(stream: BidiStream): void {
    const v = this.version;
    let type: number | undefined;
    let handled = false;
    const f = read(stream.recv, () => step());
    const step = (): void => {
      if (handled) return;
      type ??= f.varint();
      if (type === undefined) return;
      switch (type) {
        case Bidi.Announce: {
          const req = f.next((r) => AnnounceRequest.decode(r, v));
          if (req === undefined) return;
          handled = true;
          const sent = new Set<string>();
          const list = [...this.published.keys()].map((p) => strip(p, req.prefix)).filter((s): s is string => s !== undefined);
          put(stream.send, (w) => {
            if (hasAnnounceOk(v)) new AnnounceOk(this.origin, list.length).encode(w, v);
            if (hasAnnounceInit(v)) new AnnounceInit(list).encode(w, v);
            else for (const s of list) Announce.active(s, this.selfHops()).encode(w, v);
          });
          for (const s of list) sent.add(s);
          this.announceRequests.push({ req, stream, sent });
          return;
        }
        case Bidi.Track: {
          const req = f.next((r) => TrackRequest.decode(r, v));
          if (req === undefined) return;
          handled = true;
          this.trackRequests.push(req);
          const info = this.published.get(req.broadcast)?.tracks.get(req.track);
          if (info === undefined) {
            stream.send.reset(this.unknownTrackCode);
            return;
          }
          put(stream.send, (w) => info.encode(w, v));
          stream.send.end();
          return;
        }
        case Bidi.Subscribe: {
          const msg = f.next((r) => Subscribe.decode(r, v));
          if (msg === undefined) return;
          handled = true;
          if (this.published.get(msg.broadcast)?.tracks.get(msg.track) === undefined) {
            stream.send.reset(13);
            return;
          }
          const req: SubscribeRequest = { msg, stream, updates: [], closed: false };
          this.subscribeRequests.push(req);
          stream.recv.onData = (c) => {
            f.push(c);
            for (let u; (u = f.next((r) => SubscribeUpdate.decode(r, v))) !== undefined; ) req.updates.push(u.prefs);
          };
          stream.recv.onEnd = () => {
            req.closed = true;
            stream.send.end();
          };
          stream.recv.onReset = () => void (req.closed = true);
          return;
        }
        case Bidi.Goaway: {
          const g = f.next((r) => Goaway.decode(r, v));
          if (g === undefined) return;
          handled = true;
          this.goaways.push(g.uri);
          return;
        }
        default:
          handled = true;
          stream.send.reset(10);
      }
    };
  }

  private uni(recv: RecvStream): void {
    const v = this.version;
    let type: number | undefined;
    let group: ReceivedGroup | undefined;
    const parser = new GroupParser(v, 1 << 24, {
      header: (h) => {
        group = { subscribe: h.subscribe, sequence: h.sequence, frames: [], done: false, reset: undefined };
        this.groups.push(group);
      },
      frame: (ts, payload) => void group?.frames.push({ ts, payload: payload.slice() }),
    });
    const f = new Framer(MAX);
    recv.onData = (c) => {
      if (type === Uni.Group) return parser.push(c);
      f.push(c);
      type ??= f.varint();
      if (type === Uni.Group) parser.push(f.drain());
      else if (type === Uni.Setup) this.relaySetup ??= f.next((r) => Setup.decode(r, v));
    };
    recv.onEnd = () => {
      if (group !== undefined) group.done = true;
    };
    recv.onReset = (code) => {
      if (group !== undefined) group.reset = code;
      else this.headlessResets.push(code);
    };
  }
}

function strip(path: string, prefix: string): string | undefined {
  if (prefix === "") return path;
  if (path === prefix) return "";
  return path.startsWith(`${prefix}/`) ? path.slice(prefix.length + 1) : undefined;
}

/** Wait until `cond` holds (checked after each macrotask), or fail after `ms`. */
// 10 s, not 2: the in-memory relay is fast, but CI runs many test files at once on 2 cores, and a
// clean-clone run timed out at 2 s waiting for two viewers to see an announcement.
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
