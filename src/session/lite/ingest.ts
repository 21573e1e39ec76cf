// The relay as a subscriber toward the client: moq-lite publishing is pull-based, so the relay asks
// every client allowed to publish what it has (ANNOUNCE_REQUEST, prefix ""), registers each
// active broadcast in the origin under the session root, and routes the group streams and
// datagrams of its upstream subscriptions into the cache.
import { isReserved } from "../../auth/grant.js";
import type { Broadcast } from "../../relay/broadcast.js";
import type { RouteHandle } from "../../relay/origin.js";
import type { Group } from "../../relay/group.js";
import { MAX_HOPS } from "../../relay/origin.js";
import type { TrackSink, UpstreamPrefs } from "../../relay/types.js";
import type { BidiStream, RecvStream } from "../../transport/session.js";
import { clip, coveredBy, isValid, join } from "../../util/path.js";
import { Code, errorCode } from "../error.js";
import { Announce, AnnounceInit, AnnounceOk, AnnounceRequest } from "./announce.js";
import { Datagram } from "./datagram.js";
import { Framer } from "./framer.js";
import { GroupParser } from "./group.js";
import { send } from "./io.js";
import { LiteSource, UpstreamSub } from "./ingest-source.js";
import { follow, guardRecv } from "./session-io.js";
import type { LiteSession } from "./session.js";
import { Bidi } from "./stream.js";
import { hasAnnounceInit, hasAnnounceOk, hasDatagrams, hasFrameTimestamps } from "./version.js";

export class Ingest {
  /** Broadcasts this session publishes, by the path it named them (relative to its root). */
  private readonly byPath = new Map<string, RouteHandle>();
  private readonly subs = new Map<number, UpstreamSub>();
  private nextId = 0;
  private stream: BidiStream | undefined;
  private started = false;
  private closed = false;

  constructor(readonly s: LiteSession) {}

  /** Did this session announce `b`? (Its own broadcasts are never echoed back to it.) */
  owns(b: Broadcast): boolean {
    // By source, not by handle: watchers hear of a broadcast before announce() returns it.
    return b.source instanceof LiteSource && b.source.ingest === this;
  }

  get broadcastCount(): number {
    return this.byPath.size;
  }

  /** Upstream subscriptions open on this session (one per track at most, whatever the viewers). */
  get subscriptionCount(): number {
    return this.subs.size;
  }

  /** Ask the client what it publishes, and follow the answer for the session's lifetime. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    const s = this.s;
    const v = s.version;
    s.transport.openBidi().then(
      (stream) => {
        if (this.closed) return void stream.send.reset(Code.Cancel);
        this.stream = stream;
        send(stream.send, (w) => {
          w.varint(Bidi.Announce);
          new AnnounceRequest("", s.hopId).encode(w, v);
        });
        let clientHop = 0n;
        let gotOk = !hasAnnounceOk(v);
        let gotInit = !hasAnnounceInit(v);
        follow(
          stream.recv,
          new Framer(s.limits.max_message_size),
          {
            data: (f) => {
              if (!gotOk) {
                const ok = f.next((r) => AnnounceOk.decode(r, v));
                if (ok === undefined) return;
                gotOk = true;
                clientHop = ok.hop;
              }
              if (!gotInit) {
                const init = f.next((r) => AnnounceInit.decode(r, v));
                if (init === undefined) return;
                gotInit = true;
                for (const suffix of init.suffixes) this.activate(suffix, [], 0n);
              }
              for (let a; (a = f.next((r) => Announce.decode(r, v))) !== undefined; ) {
                if (a.active) this.activate(a.suffix, a.hops, clientHop);
                else this.deactivate(a.suffix);
              }
            },
            // The announce stream closing takes every broadcast announced on it with it.
            end: () => {
              this.unannounceAll();
              stream.send.end();
            },
            reset: () => this.unannounceAll(),
          },
          (err) => s.fail(err),
        );
      },
      () => undefined,
    );
  }

  /** Open the one upstream subscription for a track (LiteSource.subscribe). */
  subscribe(path: string, track: string, sink: TrackSink, prefs: UpstreamPrefs): UpstreamSub {
    const id = this.nextId++;
    const sub = new UpstreamSub(this, id, path, track, sink, prefs);
    if (this.closed) sub.dispose();
    else this.subs.set(id, sub);
    return sub;
  }

  /** @internal the subscription is over: group streams naming it are refused from now on. */
  forget(id: number): void {
    this.subs.delete(id);
  }

  /** A group stream from the client; `head` is what was read past the stream type. */
  groupStream(recv: RecvStream, head: Uint8Array): void {
    const s = this.s;
    // Pre lite-05 frames carry no timestamp: stamp arrival time (ms, the default timescale).
    const stamped = hasFrameTimestamps(s.version);
    let group: Group | undefined;
    const parser = new GroupParser(s.version, s.limits.max_frame_size, {
      header: (h) => {
        group = this.subs.get(h.subscribe)?.sink.group(h.sequence);
        // Unknown or finished subscription, or a duplicate group: not wanted.
        if (group === undefined) guard.stop(Code.Cancel);
      },
      frame: (ts, payload) => group?.append(stamped ? ts : Date.now(), payload),
    });
    const guard = guardRecv(
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
        group?.abort(errorCode(err));
        s.fail(err);
      },
    );
    if (head.length > 0) guard.run(() => parser.push(head));
  }

  /** A datagram: a whole single-frame group of an upstream subscription (best effort). */
  datagram(data: Uint8Array): void {
    const v = this.s.version;
    if (!hasDatagrams(v)) return;
    let d: Datagram;
    try {
      d = Datagram.decode(data, v);
    } catch {
      return;
    }
    const g = this.subs.get(d.subscribe)?.sink.group(d.sequence);
    if (g === undefined) return; // unknown subscription, or already received on a stream
    g.append(d.timestamp, d.payload);
    g.finish();
  }

  /** The session is gone: unannounce everything it published. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unannounceAll();
    for (const sub of this.subs.values()) sub.dispose();
    this.subs.clear();
  }

  // --- announcements -------------------------------------------------------------------------

  private activate(suffix: string, hops: readonly bigint[], clientHop: bigint): void {
    const s = this.s;
    const rel = suffix;
    // lite-05 leaves the responder out of the chain; it told us its id in ANNOUNCE_OK.
    const chain = clientHop !== 0n ? [...hops, clientHop] : [...hops];
    if (chain.includes(s.hopId)) {
      s.peerLog.write("debug", { path: clip(rel) }, "announce ignored: it came through this relay (loop)");
      // The peer now reaches it through us: its earlier route is no route at all.
      if (this.byPath.has(rel)) this.deactivate(rel);
      return;
    }
    // An ordinary publisher's chain names only itself; a longer one relays other relays'
    // broadcasts, which only a cluster peer may do (its hop chains feed loop prevention).
    if (chain.length > 1 && s.grant.cluster !== true && s.link === undefined) return s.refusePeer("not-a-cluster-token", "relayed announcement (hop chain)");
    const abs = join(s.grant.root, rel);
    let refusal: string | undefined;
    if (rel === "" || !isValid(abs)) refusal = "invalid-path";
    else if (chain.length > MAX_HOPS) refusal = "too-many-hops";
    else if (!this.canPublish(rel, abs)) refusal = "not-permitted";
    else if (!this.byPath.has(rel) && this.byPath.size >= s.limits.max_broadcasts_per_session) refusal = "too-many-broadcasts";
    if (refusal !== undefined) {
      s.peerLog.write("warn", { path: clip(abs), reason: refusal }, "publish refused");
      return;
    }
    const old = this.byPath.get(rel);
    // A second active for the same path is a restart (a new publisher, or a peer's new route):
    // the new route goes in before the old one leaves, so the origin moves the broadcast's
    // upstreams over without ever withdrawing it.
    const link = s.link;
    const opts = link !== undefined ? { cost: link.cost + Math.max(0, chain.length - 1), via: clientHop } : {};
    const h = s.origin.route(abs, new LiteSource(this, rel), chain, opts);
    this.byPath.set(rel, h);
    old?.close();
    if (link === undefined) s.peerLog.write("debug", { path: clip(abs), restart: old !== undefined }, "broadcast announced");
    else s.log.debug({ path: clip(abs), restart: old !== undefined, hops: chain.length, cost: opts.cost }, "route learned");
  }

  private deactivate(suffix: string): void {
    const h = this.byPath.get(suffix);
    if (h === undefined) return; // never accepted (refused, or a loop)
    this.byPath.delete(suffix);
    h.close();
    if (this.s.link === undefined) this.s.peerLog.write("debug", { path: clip(h.path) }, "broadcast ended");
    else this.s.log.debug({ path: clip(h.path) }, "route withdrawn");
  }

  /**
   * Everything announced on this session is gone. A cluster link that died keeps its routes for
   * the linger window (a quick reconnect is seamless; a better route takes over at once anyway).
   */
  private unannounceAll(): void {
    const linger = this.closed ? (this.s.link?.linger() ?? 0) : 0;
    for (const h of this.byPath.values()) {
      if (linger > 0) h.linger(linger);
      else h.close();
    }
    this.byPath.clear();
  }

  private canPublish(rel: string, abs: string): boolean {
    const g = this.s.grant;
    return coveredBy(rel, g.publish) && (g.cluster === true || !isReserved(abs));
  }
}
