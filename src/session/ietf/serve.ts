// The relay as a publisher toward an IETF client: SUBSCRIBE_NAMESPACE answered with NAMESPACE /
// NAMESPACE_DONE from the origin (filtered by the subscribe grant, never echoing the session's
// own broadcasts), and SUBSCRIBE answered with SUBSCRIBE_OK (Track Properties from the track's
// info) and subgroup streams. Unknown broadcasts and tracks get REQUEST_ERROR at once.
import type { Broadcast } from "../../relay/broadcast.js";
import type { Watch } from "../../relay/origin.js";
import type { Track } from "../../relay/track.js";
import type { ViewerPrefs } from "../../relay/types.js";
import type { BidiStream } from "../../transport/session.js";
import { clip, coveredBy, join, overlaps, stripPrefix } from "../../util/path.js";
import { Code, MoqError } from "../error.js";
import { codeOf } from "../lite/session-io.js";
import { AnnounceType, NamespaceDone, NamespaceEntry, PublishNamespace, PublishNamespaceDone, RequestIdOnly, type SubscribeNamespace } from "./announce.js";
import type { Filter } from "./filter.js";
import { type ControlFramer, control } from "./message.js";
import { RequestCode, RequestOk, RequestType } from "./request.js";
import { IetfDownstream } from "./serve-objects.js";
import { IetfFetches, type Joinable } from "./serve-fetch.js";
import type { IetfSession } from "./session.js";
import { GroupOrder, SubscribeOk, SubscribeType, type Subscribe } from "./subscribe.js";
import { type TrackStatus, TrackStatusOk } from "./track-status.js";
import { relayPriority, SubscribeUpdate, updatesOnly } from "./update.js";
import { Draft, hasFilterFields, hasNamespaceEntries } from "./version.js";

/** SUBSCRIBE_UPDATEs held while SUBSCRIBE_OK is pending (draft-19's MAX_REQUEST_UPDATES idea). */
const MAX_EARLY_UPDATES = 8;

export class IetfServe {
  private readonly watches = new Set<Watch>();
  private readonly subs = new Map<number, IetfDownstream>();
  /** Subscriptions a joining FETCH may name, by Request ID (a promise while SUBSCRIBE_OK is pending). */
  private readonly joins = new Map<number, Joinable | Promise<Joinable | undefined>>();
  readonly fetches: IetfFetches;

  constructor(private readonly s: IetfSession) {
    this.fetches = new IetfFetches(
      s,
      (stream, id, ns, name) => this.resolve(stream, id, ns, name),
      (id) => this.joins.get(id),
    );
  }

  close(): void {
    this.fetches.close();
    this.joins.clear();
    for (const w of this.watches) w.close();
    this.watches.clear();
    for (const d of this.subs.values()) d.dispose();
    this.subs.clear();
  }

  private canRead(relative: string): boolean {
    return coveredBy(relative, this.s.grant.subscribe);
  }

  // --- SUBSCRIBE_NAMESPACE -------------------------------------------------------------------

  subscribeNamespace(stream: BidiStream, req: SubscribeNamespace, framer: ControlFramer): void {
    const s = this.s;
    const v = s.draft;
    const root = s.grant.root;
    if (!overlaps(req.prefix, s.grant.subscribe) && !coveredBy(req.prefix, s.grant.subscribe)) {
      s.peerLog.write("info", { path: clip(req.prefix), reason: "not-permitted" }, "SUBSCRIBE_NAMESPACE refused");
      return s.reject(stream, req.requestId, RequestCode.Unauthorized, "not permitted");
    }
    if (this.watches.size >= s.limits.max_broadcasts_per_session) return s.reject(stream, req.requestId, RequestCode.InternalError, "too many namespace subscriptions", 1000);
    const abs = join(root, req.prefix);
    const filter = (b: Broadcast): boolean => {
      if (s.ingest.owns(b)) return false;
      const rel = stripPrefix(b.path, root);
      return rel !== undefined && this.canRead(rel);
    };
    const suffix = (b: Broadcast): string => stripPrefix(b.path, abs) ?? "";
    if (!hasNamespaceEntries(v)) return this.legacyDiscovery(stream, req, abs, filter);
    const entry = (b: Broadcast): Uint8Array => control(v, AnnounceType.Namespace, (w) => new NamespaceEntry(suffix(b)).encode(w));
    const gone = (b: Broadcast): Uint8Array => control(v, AnnounceType.NamespaceDone, (w) => new NamespaceDone(suffix(b)).encode(w));
    const initial: Broadcast[] = [];
    let live = false;
    const watch = s.origin.watch(
      abs,
      {
        active: (b) => {
          if (!live) return void initial.push(b);
          stream.send.write(entry(b));
        },
        ended: (b) => void stream.send.write(gone(b)),
      },
      { filter },
    );
    live = true;
    this.watches.add(watch);
    s.requests++;
    stream.send.write(control(v, RequestType.RequestOk, (w) => new RequestOk(req.requestId).encode(w)));
    for (const b of initial) stream.send.write(entry(b));
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      s.requests--;
      watch.close();
      this.watches.delete(watch);
    };
    // Closing the stream unsubscribes; a REQUEST_UPDATE is accepted.
    stream.recv.onData = updatesOnly(stream, framer, "SUBSCRIBE_NAMESPACE", (err) => s.fail(err));
    stream.recv.onEnd = () => {
      stop();
      stream.send.end();
    };
    stream.recv.onReset = (code) => {
      stop();
      stream.send.reset(code);
    };
    stream.send.onStop = () => stop();
  }

  /**
   * Drafts 14/15: discovery answers with our own PUBLISH_NAMESPACE requests (one per broadcast,
   * its DONE when it ends) rather than entries on the request's stream.
   */
  private legacyDiscovery(stream: BidiStream, req: SubscribeNamespace, abs: string, filter: (b: Broadcast) => boolean): void {
    const s = this.s;
    const v = s.draft;
    const root = s.grant.root;
    const open = new Map<Broadcast, BidiStream | undefined>();
    const advertise = (b: Broadcast): void => {
      const rel = stripPrefix(b.path, root) ?? b.path;
      const id = s.ingest.requestId();
      open.set(b, undefined);
      const done = control(v, AnnounceType.PublishNamespaceDone, (w) => new PublishNamespaceDone(id, rel).encode(w));
      s.openRequest(id, done).then(
        (out) => {
          if (!open.has(b)) return void out.send.end();
          open.set(b, out);
          out.recv.onData = () => undefined; // REQUEST_OK / PUBLISH_NAMESPACE_OK (or an error): nothing to do
          out.send.write(control(v, AnnounceType.PublishNamespace, (w) => new PublishNamespace(id, rel).encode(w)));
        },
        (err: unknown) => s.peerLog.write("debug", { path: b.path, err: clip(String(err)) }, "namespace not advertised"),
      );
    };
    const withdraw = (b: Broadcast): void => {
      if (!open.has(b)) return;
      const out = open.get(b);
      open.delete(b);
      out?.send.end();
    };
    const watch = s.origin.watch(abs, { active: advertise, ended: withdraw }, { filter });
    this.watches.add(watch);
    s.requests++;
    stream.send.write(
      v === Draft.D14 ? control(v, AnnounceType.SubscribeNamespaceOk, (w) => new RequestIdOnly(req.requestId).encode(w)) : control(v, RequestType.RequestOk, (w) => new RequestOk(req.requestId).encode(w)),
    );
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      s.requests--;
      watch.close();
      this.watches.delete(watch);
      for (const b of [...open.keys()]) withdraw(b);
    };
    stream.recv.onData = () => undefined;
    stream.recv.onEnd = () => {
      stop();
      stream.send.end();
    };
    stream.recv.onReset = () => stop();
  }

  // --- SUBSCRIBE -----------------------------------------------------------------------------

  subscribe(stream: BidiStream, msg: Subscribe, framer: ControlFramer): void {
    const s = this.s;
    if (this.subs.has(msg.requestId)) throw new MoqError(Code.Duplicate, `request id ${msg.requestId} reused`);
    if (this.subs.size >= s.limits.max_subscriptions_per_session) {
      s.peerLog.write("warn", { path: clip(msg.namespace), limit: s.limits.max_subscriptions_per_session }, "subscription refused: too many on this session");
      return s.reject(stream, msg.requestId, RequestCode.InternalError, "too many subscriptions", 1000);
    }
    const track = this.resolve(stream, msg.requestId, msg.namespace, msg.track);
    if (track === undefined) return;
    s.requests++;
    // A joining FETCH may name this subscription before it is answered: it waits for the answer.
    let joined: (j: Joinable | undefined) => void = () => undefined;
    this.joins.set(msg.requestId, new Promise<Joinable | undefined>((resolve) => (joined = resolve)));
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      s.requests--;
      this.joins.delete(msg.requestId);
      joined(undefined);
    };
    let down: IetfDownstream | undefined;
    let cancelled = false;
    // Updates that arrive before SUBSCRIBE_OK wait for it (their answers must follow it).
    const early: SubscribeUpdate[] = [];
    stream.recv.onData = (chunk) => {
      try {
        framer.push(chunk);
        for (let m = framer.next(); m !== undefined; m = framer.next()) {
          if (m.type !== SubscribeType.SubscribeUpdate) throw new MoqError(Code.ProtocolViolation, `unexpected message 0x${m.type.toString(16)} on a subscription`);
          const u = SubscribeUpdate.decode(m.body);
          if (down !== undefined) down.update(u);
          else if (early.push(u) > MAX_EARLY_UPDATES) throw new MoqError(Code.ProtocolViolation, "too many updates before SUBSCRIBE_OK");
        }
      } catch (err) {
        s.fail(err);
      }
    };
    // An update that came with the SUBSCRIBE's bytes is already in the framer.
    if (framer.pending > 0) stream.recv.onData(new Uint8Array(0));
    stream.recv.onEnd = () => {
      cancelled = true;
      release();
      if (down !== undefined) down.unsubscribe();
      else stream.send.end();
    };
    stream.recv.onReset = (code) => {
      cancelled = true;
      release();
      if (down !== undefined) down.unsubscribe(code);
      else stream.send.reset(code);
    };
    stream.send.onStop = (code) => {
      cancelled = true;
      release();
      down?.unsubscribe(code);
    };
    track.trackInfo().then(
      (info) => {
        if (cancelled || s.isClosed) return;
        const prefs = viewerPrefs(msg.priority, msg.groupOrder, msg.filter, track);
        if (prefs === undefined) {
          release();
          return s.reject(stream, msg.requestId, RequestCode.InvalidRange, "the range lies entirely in the past");
        }
        const latest = track.latest;
        const largest = hasFilterFields(s.draft) && latest !== undefined ? { group: latest.sequence, object: Math.max(0, latest.payloads.length - 1) } : undefined;
        stream.send.write(
          control(s.draft, SubscribeType.SubscribeOk, (w) => new SubscribeOk(msg.requestId, msg.requestId, { timescale: info.timescale, groupOrder: GroupOrder.Descending }, largest).encode(w)),
        );
        // A joining FETCH ends where this subscription starts: the latest group, or the filter's start.
        const joinable = { track, join: prefs.start ?? latest?.sequence };
        this.joins.set(msg.requestId, joinable);
        joined(joinable);
        const f = msg.filter;
        const start = f.kind === "absolute" ? { group: f.startGroup, object: f.startObject } : undefined;
        const d = new IetfDownstream(
          s,
          stream,
          msg.requestId,
          track,
          prefs,
          msg.includeProperties,
          (x) => {
            if (this.subs.get(msg.requestId) === x) this.subs.delete(msg.requestId);
            release();
          },
          start === undefined ? { forward: msg.forward } : { forward: msg.forward, start },
        );
        down = d;
        this.subs.set(msg.requestId, d);
        try {
          for (const u of early.splice(0)) d.update(u);
        } catch (err) {
          return s.fail(err);
        }
        d.start();
      },
      (err: unknown) => {
        release();
        if (cancelled || s.isClosed) return;
        s.peerLog.write("debug", { path: clip(msg.namespace), track: clip(msg.track), err: clip(String(err)) }, "subscribe refused: no track info");
        const code = codeOf(err, Code.NotFound);
        s.reject(stream, msg.requestId, code === Code.Unauthorized ? RequestCode.Unauthorized : RequestCode.DoesNotExist, "track not found");
      },
    );
  }

  // --- TRACK_STATUS --------------------------------------------------------------------------

  /** Answered from relay state: what a SUBSCRIBE_OK would say, without subscribing a viewer. */
  trackStatus(stream: BidiStream, msg: TrackStatus): void {
    const s = this.s;
    const track = this.resolve(stream, msg.requestId, msg.namespace, msg.track);
    if (track === undefined) return;
    s.requests++;
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      s.requests--;
      return !s.isClosed;
    };
    stream.recv.onData = () => undefined;
    stream.recv.onEnd = () => undefined;
    stream.recv.onReset = () => void finish();
    track.trackInfo().then(
      (info) => {
        if (!finish()) return;
        const latest = track.latest;
        const largest = latest === undefined ? undefined : { group: latest.sequence, object: Math.max(0, latest.payloads.length - 1) };
        s.peerLog.write("debug", { path: clip(msg.namespace), track: clip(msg.track), largest }, "track status");
        const v = s.draft;
        stream.send.write(control(v, TrackStatusOk.type(v), (w) => new TrackStatusOk(msg.requestId, largest, { timescale: info.timescale, groupOrder: GroupOrder.Descending }).encode(w)));
        stream.send.end();
      },
      (err: unknown) => {
        if (!finish()) return;
        const code = codeOf(err, Code.NotFound);
        s.reject(stream, msg.requestId, code === Code.Unauthorized ? RequestCode.Unauthorized : RequestCode.DoesNotExist, "track not found");
      },
    );
  }

  /** The track a request names, or undefined after answering REQUEST_ERROR. */
  private resolve(stream: BidiStream, requestId: number, namespace: string, name: string): Track | undefined {
    const s = this.s;
    if (!this.canRead(namespace)) {
      s.peerLog.write("info", { path: clip(namespace), reason: "not-permitted" }, "request refused: the grant does not cover this path");
      s.reject(stream, requestId, RequestCode.Unauthorized, "not permitted");
      return undefined;
    }
    const b = s.origin.lookup(join(s.grant.root, namespace));
    if (b === undefined) {
      s.reject(stream, requestId, RequestCode.DoesNotExist, "broadcast not found");
      return undefined;
    }
    return b.track(name);
  }
}

/** The relay's view of a SUBSCRIBE (IETF priority flipped); undefined when nothing can ever match. */
export function viewerPrefs(priority: number, groupOrder: number, f: Filter, track: Track): ViewerPrefs | undefined {
  const p: ViewerPrefs = { priority: relayPriority(priority), ordered: groupOrder === GroupOrder.Ascending, maxLatency: 0 };
  const latest = track.latest?.sequence;
  switch (f.kind) {
    case "nextObject":
      // The latest group from its first object (the relay's late-joiner rule): never mid-group.
      break;
    case "unfiltered":
      p.start = track.groups[0]?.sequence ?? 0;
      break;
    case "relative":
      if (f.groups === 0) p.start = latest === undefined ? 0 : latest + 1;
      else if (latest !== undefined) p.start = Math.max(0, latest + 1 - f.groups);
      break;
    case "absolute":
      p.start = f.startGroup;
      if (f.endGroup !== undefined) {
        if (latest !== undefined && f.endGroup < (track.groups[0]?.sequence ?? 0)) return undefined;
        p.end = f.endGroup;
      }
      break;
  }
  return p;
}
