// The relay as a publisher toward a viewing client: announcements from the origin, TRACK_INFO,
// subscriptions (one uni stream per group, frames copied by reference from the cache), fetches.
// A slow viewer never holds anyone up: past a few groups in flight its oldest stream is reset
// with Old and it carries on from the newest.
import { canSubscribe } from "../../auth/authorize.js";
import type { BidiStream, SendStream } from "../../transport/session.js";
import { Writer } from "../../util/bytes.js";
import { join, stripPrefix, overlaps } from "../../util/path.js";
import type { Broadcast } from "../../relay/broadcast.js";
import type { Group } from "../../relay/group.js";
import type { Track } from "../../relay/track.js";
import { Code, MoqError } from "../error.js";
import { Announce, AnnounceInit, AnnounceOk, type AnnounceRequest } from "./announce.js";
import type { Fetch } from "./fetch.js";
import { encodeFrameHead, GroupHeader } from "./group.js";
import { readStream, send } from "./io.js";
import type { LiteSession } from "./session.js";
import { Uni } from "./stream.js";
import { decodeSubscribeUpdate, encodeSubscribeResponse, type Subscribe } from "./subscribe.js";
import { encodeTrackInfo, type TrackRequest } from "./track.js";
import { hasAnnounceOk, hasHopCount, hasHopIds, isLegacy, hasTrackStream } from "./version.js";

interface InFlight {
  group: Group;
  out: SendStream | undefined;
  stop(code: number): void;
  /** True while the transport is not taking this group's data. */
  stalled(): boolean;
}

export class Serve {
  private readonly cleanups = new Set<() => void>();

  constructor(private readonly s: LiteSession) {}

  close(): void {
    for (const c of [...this.cleanups]) c();
    this.cleanups.clear();
  }

  private hold(fn: () => void): () => void {
    const once = (): void => {
      if (this.cleanups.delete(once)) fn();
    };
    this.cleanups.add(once);
    return once;
  }

  /** Resolve a client-relative broadcast path the grant lets it read, or reset the stream. */
  private lookup(stream: BidiStream, relative: string): Broadcast | undefined {
    if (!canSubscribe(this.s.grant, relative)) {
      this.s.log.warn({ path: relative, reason: "not-permitted" }, "subscribe refused: the token does not allow this path");
      stream.send.reset(Code.Unauthorized);
      stream.recv.stop(Code.Unauthorized);
      return undefined;
    }
    const b = this.s.origin.get(join(this.s.grant.root, relative));
    if (b === undefined) {
      // Answer at once: the JS subscriber otherwise waits 10 s for TRACK_INFO.
      stream.send.reset(Code.NotFound);
      stream.recv.stop(Code.NotFound);
      return undefined;
    }
    return b;
  }

  announce(stream: BidiStream, req: AnnounceRequest): void {
    const v = this.s.version;
    const root = this.s.grant.root;
    const abs = join(root, req.prefix);
    const sent = new Set<string>();
    const visible = (b: Broadcast): boolean => {
      if (b.source.session === this.s.id) return false;
      if (req.excludeHop !== 0n && b.hops.includes(req.excludeHop)) return false;
      const rel = stripPrefix(b.path, root);
      return rel !== undefined && canSubscribe(this.s.grant, rel);
    };
    const hopsFor = (b: Broadcast): bigint[] => (hasAnnounceOk(v) ? b.hops : hasHopIds(v) ? [...b.hops, this.s.hop] : hasHopCount(v) ? b.hops.map(() => 0n).concat(0n) : []);
    const allowed = overlaps(req.prefix, this.s.grant.subscribe);
    const initial = allowed ? this.s.origin.list(abs).filter(visible) : [];
    const w = new Writer(256);
    if (hasAnnounceOk(v)) new AnnounceOk(this.s.hop, initial.length).encode(w);
    if (isLegacy(v)) new AnnounceInit(initial.map((b) => stripPrefix(b.path, abs) ?? "")).encode(w);
    else for (const b of initial) new Announce(true, stripPrefix(b.path, abs) ?? "", hopsFor(b)).encode(w, v);
    for (const b of initial) sent.add(b.path);
    stream.send.write(w.finish());
    if (!allowed) return; // nothing here is visible to this token; keep the stream open, quietly

    const unwatch = this.s.origin.watch(abs, (path, b) => {
      const suffix = stripPrefix(path, abs) ?? "";
      if (b !== undefined && visible(b)) {
        // A second `active` for a live path is the lite-05 restart; older versions retract first.
        if (sent.has(path) && !hasAnnounceOk(v)) send(stream.send, (x) => new Announce(false, suffix).encode(x, v));
        sent.add(path);
        send(stream.send, (x) => new Announce(true, suffix, hopsFor(b)).encode(x, v));
      } else if (sent.delete(path)) {
        send(stream.send, (x) => new Announce(false, suffix).encode(x, v));
      }
    });
    const done = this.hold(() => {
      unwatch();
      stream.send.end();
    });
    readStream(stream.recv, 1024, { data: () => undefined, end: done, reset: done }, done);
  }

  async trackInfo(stream: BidiStream, req: TrackRequest): Promise<void> {
    const b = this.lookup(stream, req.broadcast);
    if (b === undefined) return;
    try {
      const info = await b.track(req.track).trackInfo();
      const w = new Writer(16);
      encodeTrackInfo(w, info);
      stream.send.write(w.finish());
      stream.send.end();
    } catch (err) {
      stream.send.reset(err instanceof MoqError ? err.code : Code.NotFound);
    }
  }

  subscribe(stream: BidiStream, msg: Subscribe): void {
    const b = this.lookup(stream, msg.broadcast);
    if (b === undefined) return;
    const v = this.s.version;
    const track = b.track(msg.track);
    const max = this.s.limits.max_message_size;
    const queue = Math.max(1, this.s.limits.subscriber_queue_groups);
    const inflight: InFlight[] = [];
    let started = false;
    let last: number | undefined;
    let priority = msg.prefs.priority;

    if (!hasTrackStream(v)) {
      // 01-04 expect an explicit OK before anything else.
      send(stream.send, (w) => encodeSubscribeResponse(w, { kind: "ok", prefs: { ...msg.prefs, ordered: false } }, v));
    }

    const handle = track.subscribe(
      {
        group: (g) => {
          if (!started && hasTrackStream(v)) send(stream.send, (w) => encodeSubscribeResponse(w, { kind: "start", group: g.sequence }, v));
          started = true;
          last = last === undefined ? g.sequence : Math.max(last, g.sequence);
          // Bounded queue: groups the transport has not taken yet (blocked on flow control or
          // waiting for a stream slot) are the viewer's backlog; past the bound the oldest goes.
          let stalled = inflight.filter((e) => e.stalled()).length;
          for (let i = 0; i < inflight.length && stalled >= queue; ) {
            if (inflight[i].stalled()) {
              stalled--;
              inflight[i].stop(Code.Old);
            } else i++;
          }
          const entry = this.writeGroup(msg.id, g, priority, () => {
            const i = inflight.indexOf(entry);
            if (i >= 0) inflight.splice(i, 1);
          });
          inflight.push(entry);
        },
        close: (code) => {
          for (const e of inflight.splice(0)) e.stop(code ?? Code.Cancel);
          if (code === undefined) {
            send(stream.send, (w) => encodeSubscribeResponse(w, { kind: "end", group: last === undefined ? 0 : last + 1 }, v));
            stream.send.end();
          } else {
            stream.send.reset(code);
          }
          done();
        },
      },
      { start: msg.prefs.start, end: msg.prefs.end },
    );
    const done = this.hold(() => {
      handle.close();
      for (const e of inflight.splice(0)) e.stop(Code.Cancel);
      stream.send.end();
    });
    readStream(
      stream.recv,
      max * 4,
      {
        data: (buf) => {
          for (let u = buf.take((r) => decodeSubscribeUpdate(r, v, max)); u !== undefined; u = buf.take((r) => decodeSubscribeUpdate(r, v, max))) priority = u.priority;
        },
        end: done,
        reset: done,
      },
      (err) => {
        done();
        this.s.fail(err);
      },
    );
  }

  /** Stream one cached group to the viewer, following new frames until the group completes. */
  private writeGroup(subscribe: number, g: Group, priority: number, finished: () => void): InFlight {
    const v = this.s.version;
    let blocked = false;
    const opened = Date.now();
    const entry: InFlight = {
      group: g,
      out: undefined,
      stop: () => undefined,
      // Waiting long for a stream slot, or blocked by flow control: the viewer is not keeping up.
      stalled: () => blocked || (entry.out === undefined && Date.now() - opened > 100),
    };
    let stopped: number | undefined;
    let unwatch = (): void => undefined;
    entry.stop = (code) => {
      if (stopped !== undefined) return;
      stopped = code;
      unwatch();
      entry.out?.reset(code);
      finished();
    };
    this.s.transport.openUni().then(
      (out) => {
        if (stopped !== undefined) {
          out.reset(stopped);
          return;
        }
        entry.out = out;
        out.priority = 255 - priority;
        const head = new Writer(16).varint(Uni.Group);
        new GroupHeader(subscribe, g.sequence).encode(head);
        out.write(head.finish());
        let next = 0;
        let prevTs = 0;
        const pump = (): void => {
          if (stopped !== undefined || blocked) return;
          while (next < g.frames.length) {
            const f = g.frames[next++];
            const meta = new Writer(16);
            encodeFrameHead(meta, v, f.timestamp - prevTs, f.payload.byteLength);
            prevTs = f.timestamp;
            out.write(meta.finish());
            if (!out.write(f.payload)) {
              blocked = true; // the transport is full: resume on drain
              return;
            }
          }
          if (g.done) {
            stopped = g.error ?? -1;
            unwatch();
            if (g.error === undefined) out.end();
            else out.reset(g.error);
            finished();
          }
        };
        out.onDrain = () => {
          blocked = false;
          pump();
        };
        out.onStop = (code) => entry.stop(code);
        unwatch = g.watch(pump);
        pump();
      },
      () => entry.stop(Code.Closed),
    );
    return entry;
  }

  fetch(stream: BidiStream, req: Fetch): void {
    const b = this.lookup(stream, req.broadcast);
    if (b === undefined) return;
    const t: Track | undefined = b.peek(req.track);
    const g = t?.get(req.group);
    if (g === undefined) {
      stream.send.reset(Code.NotFound);
      return;
    }
    let next = 0;
    let prevTs = 0;
    const unwatch = g.watch(() => pump());
    const pump = (): void => {
      while (next < g.frames.length) {
        const f = g.frames[next++];
        const meta = new Writer(16);
        encodeFrameHead(meta, this.s.version, f.timestamp - prevTs, f.payload.byteLength);
        prevTs = f.timestamp;
        stream.send.write(meta.finish());
        stream.send.write(f.payload);
      }
      if (g.done) {
        unwatch();
        if (g.error === undefined) stream.send.end();
        else stream.send.reset(g.error);
      }
    };
    pump();
  }
}
