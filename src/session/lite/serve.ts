// The relay as a publisher toward the client: announcements from the origin (filtered by the
// client's subscribe grant, never echoing its own broadcasts), TRACK_INFO, subscriptions and
// fetches. Unknown broadcasts and tracks are refused at once: clients otherwise wait seconds.
import type { Broadcast } from "../../relay/broadcast.js";
import { GroupCursor } from "../../relay/group.js";
import type { Watch } from "../../relay/origin.js";
import type { Track } from "../../relay/track.js";
import type { ViewerPrefs } from "../../relay/types.js";
import type { BidiStream } from "../../transport/session.js";
import { clip, coveredBy, join, stripPrefix } from "../../util/path.js";
import { Code } from "../error.js";
import { Announce, AnnounceInit, AnnounceOk, MAX_HOPS, type AnnounceRequest } from "./announce.js";
import type { Fetch } from "./fetch.js";
import type { Framer } from "./framer.js";
import { send } from "./io.js";
import { Downstream, FramePump } from "./serve-group.js";
import { codeOf, follow, groupRank, refuse } from "./session-io.js";
import type { LiteSession } from "./session.js";
import { encodeSubscribeResponse, SubscribeOk, SubscribeUpdate, type Subscribe, type SubscribePrefs } from "./subscribe.js";
import { TrackInfo, type TrackRequest } from "./track.js";
import { hasAnnounceInit, hasAnnounceOk, hasHopCount, hasSubscribeOk } from "./version.js";

export class Serve {
  private readonly watches = new Set<Watch>();
  private readonly subs = new Map<number, Downstream>();
  private readonly fetches = new Set<FramePump>();
  private closed = false;

  constructor(private readonly s: LiteSession) {}

  get subscriptionCount(): number {
    return this.subs.size;
  }

  /** The session ended: drop every watch and subscription. */
  close(): void {
    this.closed = true;
    for (const w of this.watches) w.close();
    this.watches.clear();
    for (const d of this.subs.values()) d.dispose();
    this.subs.clear();
    for (const p of [...this.fetches]) p.abort(Code.Cancel);
  }

  /** May this client read `relative` (a path under its root)? */
  canRead(relative: string): boolean {
    return coveredBy(relative, this.s.grant.subscribe);
  }

  // --- ANNOUNCE_REQUEST ----------------------------------------------------------------------

  announce(stream: BidiStream, req: AnnounceRequest, framer: Framer): void {
    const s = this.s;
    const v = s.version;
    const root = s.grant.root;
    const abs = join(root, req.prefix);
    s.peerLog.write("debug", { path: clip(abs) }, "announces requested");
    const excluded = (b: Broadcast): boolean => (req.excludeHop !== 0n && b.hops.includes(req.excludeHop)) || (s.peerOrigin !== 0n && b.hops.includes(s.peerOrigin));
    const filter = (b: Broadcast): boolean => {
      if (s.ingest.owns(b) || excluded(b) || b.hops.length >= MAX_HOPS) return false;
      const rel = stripPrefix(b.path, root);
      return rel !== undefined && this.canRead(rel);
    };
    // lite-05 receivers append our hop themselves; 03/04 expect it as the last entry.
    const hops = (b: Broadcast): readonly bigint[] => (hasAnnounceOk(v) ? b.hops : hasHopCount(v) ? [...b.hops, s.hopId] : []);
    const suffix = (b: Broadcast): string => stripPrefix(b.path, abs) ?? "";
    const write = (msg: Announce): void => void send(stream.send, (w) => msg.encode(w, v));

    const initial: Broadcast[] = [];
    let live = false;
    const watch = s.origin.watch(
      abs,
      {
        active: (b) => {
          if (!live) return void initial.push(b);
          write(Announce.active(suffix(b), hops(b)));
        },
        ended: (b) => write(Announce.ended(suffix(b))),
        // A peer relay learns the new hop chain (its loop check needs it) and moves its upstream
        // onto the route it replaces; a viewer would read a second active as a restart, so it
        // hears nothing: its subscriptions carry on.
        rerouted: (b) => {
          if (live && s.link !== undefined && hasAnnounceOk(v)) write(Announce.active(suffix(b), hops(b)));
        },
      },
      { filter },
    );
    live = true;
    send(stream.send, (w) => {
      if (hasAnnounceOk(v)) new AnnounceOk(s.hopId, initial.length).encode(w, v);
      if (hasAnnounceInit(v)) new AnnounceInit(initial.map(suffix)).encode(w, v);
      else for (const b of initial) Announce.active(suffix(b), hops(b)).encode(w, v);
    });
    this.watches.add(watch);
    const stop = (): void => {
      watch.close();
      this.watches.delete(watch);
    };
    follow(
      stream.recv,
      framer,
      {
        // Nothing else is expected from the requester; ignore rather than fail.
        data: (f) => void f.drain(),
        end: () => {
          stop();
          stream.send.end();
        },
        reset: (code) => {
          stop();
          stream.send.reset(code);
        },
      },
      (err) => {
        stop();
        s.fail(err);
      },
    );
    stream.send.onStop = () => stop();
  }

  // --- TRACK ---------------------------------------------------------------------------------

  async track(stream: BidiStream, req: TrackRequest): Promise<void> {
    const track = this.resolve(stream, req.broadcast, req.track);
    if (track === undefined) return;
    this.s.peerLog.write("debug", { path: clip(req.broadcast), track: clip(req.track) }, "track info requested");
    try {
      const info = await track.trackInfo();
      send(stream.send, (w) => new TrackInfo(info.priority, info.ordered, info.maxLatency, info.timescale).encode(w, this.s.version));
      stream.send.end();
    } catch (err) {
      this.s.peerLog.write("debug", { path: clip(req.broadcast), track: clip(req.track), err: clip(String(err)) }, "track info refused");
      stream.send.reset(codeOf(err, Code.NotFound));
    }
  }

  // --- SUBSCRIBE -----------------------------------------------------------------------------

  subscribe(stream: BidiStream, msg: Subscribe, framer: Framer): void {
    const s = this.s;
    const v = s.version;
    if (this.subs.has(msg.id)) return refuse(stream, Code.Duplicate);
    if (this.subs.size >= s.limits.max_subscriptions_per_session) {
      s.peerLog.write("warn", { path: clip(msg.broadcast), limit: s.limits.max_subscriptions_per_session }, "subscription refused: too many on this session");
      return refuse(stream, Code.BoundsExceeded);
    }
    const track = this.resolve(stream, msg.broadcast, msg.track);
    if (track === undefined) return;
    const down = new Downstream(s, stream, msg.id, track, toViewer(msg.prefs), (d) => {
      if (this.subs.get(msg.id) === d) this.subs.delete(msg.id);
    });
    this.subs.set(msg.id, down);
    s.peerLog.write("debug", { path: clip(msg.broadcast), track: clip(msg.track), id: msg.id }, "subscribed");
    const gone = (code?: number): void => {
      if (this.subs.get(msg.id) === down) {
        this.subs.delete(msg.id);
        s.peerLog.write("debug", { path: clip(msg.broadcast), track: clip(msg.track), id: msg.id, code }, "unsubscribed");
      }
      down.unsubscribe(code);
    };
    follow(
      stream.recv,
      framer,
      {
        data: (f) => {
          for (let u; (u = f.next((r) => SubscribeUpdate.decode(r, v))) !== undefined; ) down.update(toViewer(u.prefs));
        },
        end: () => gone(),
        reset: (code) => gone(code),
      },
      (err) => {
        gone(Code.Cancel);
        s.fail(err);
      },
    );
    stream.send.onStop = (code) => gone(code);
    if (hasSubscribeOk(v)) send(stream.send, (w) => encodeSubscribeResponse(w, new SubscribeOk(msg.prefs), v));
    if (!this.closed) down.start();
  }

  // --- FETCH ---------------------------------------------------------------------------------

  /**
   * One past group on the request stream. At most `max_fetches_per_session` run at once, and each
   * gets `fetch_timeout` to complete (a group that never finishes upstream would hold the stream
   * and its frames forever); then it is reset with Timeout.
   */
  fetch(stream: BidiStream, req: Fetch): void {
    const s = this.s;
    if (this.fetches.size >= s.limits.max_fetches_per_session) {
      s.peerLog.write("warn", { path: clip(req.broadcast), limit: s.limits.max_fetches_per_session }, "fetch refused: too many on this session");
      return refuse(stream, Code.BoundsExceeded);
    }
    const track = this.resolve(stream, req.broadcast, req.track);
    if (track === undefined) return;
    this.s.origin.stats.fetches++;
    const group = track.fetch(req.group);
    this.s.peerLog.write("debug", { path: clip(req.broadcast), track: clip(req.track), group: req.group, found: group !== undefined }, "fetch");
    if (group === undefined) return refuse(stream, Code.NotFound);
    const timer = setTimeout(() => pump.abort(Code.Timeout), s.limits.fetch_timeout);
    timer.unref();
    const pump = new FramePump(new GroupCursor(group), s.version, s.origin.stats, (p) => {
      clearTimeout(timer);
      this.fetches.delete(p);
    });
    this.fetches.add(pump);
    pump.rank = groupRank(req.priority, track.info?.priority ?? 0, req.group, false);
    stream.recv.onReset = () => pump.abort(Code.Cancel);
    pump.attach(stream.send);
  }

  // --- internals -----------------------------------------------------------------------------

  /** The track a request names, or undefined after refusing the stream. */
  private resolve(stream: BidiStream, broadcast: string, name: string): Track | undefined {
    if (!this.canRead(broadcast)) {
      this.s.peerLog.write("info", { path: clip(broadcast), reason: "not-permitted" }, "request refused: the grant does not cover this path");
      refuse(stream, Code.Unauthorized);
      return undefined;
    }
    const abs = join(this.s.grant.root, broadcast);
    const b = this.s.origin.lookup(abs);
    if (b === undefined) {
      refuse(stream, Code.Unroutable);
      return undefined;
    }
    return b.track(name);
  }
}

function toViewer(p: SubscribePrefs): ViewerPrefs {
  const out: ViewerPrefs = { priority: p.priority, ordered: p.ordered, maxLatency: p.maxLatency };
  if (p.start !== undefined) out.start = p.start;
  if (p.end !== undefined) out.end = p.end;
  return out;
}
