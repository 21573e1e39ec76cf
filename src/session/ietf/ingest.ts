// The relay as a subscriber toward an IETF client: PUBLISH_NAMESPACE registers a broadcast in the
// origin (under the session root, checked against the publish grant); the relay pulls each track
// with its own SUBSCRIBE when a viewer wants it, and routes the subgroup streams and object
// datagrams naming that subscription's track alias into the cache. PUBLISH pushes one track
// into the broadcast its namespace names (announced for it when the client did not).
import { isReserved } from "../../auth/grant.js";
import type { Broadcast } from "../../relay/broadcast.js";
import type { Group } from "../../relay/group.js";
import type { BidiStream, RecvStream } from "../../transport/session.js";
import { clip, coveredBy, isValid, join } from "../../util/path.js";
import { Code } from "../error.js";
import { guardRecv } from "../lite/session-io.js";
import type { PublishNamespace } from "./announce.js";
import { AnnounceType, RequestIdOnly } from "./announce.js";
import { Draft } from "./version.js";
import { type AliasTarget, IetfSource, type ParkBudget } from "./ingest-source.js";
import { IetfPushes } from "./ingest-push.js";
import { DatagramIngest } from "./ingest-datagram.js";
import { acceptOtherUpdate } from "./update.js";
import { type ControlFramer, control } from "./message.js";
import { ObjectParser } from "./object.js";
import { RequestCode, RequestOk, RequestType } from "./request.js";
import type { IetfSession } from "./session.js";

export class IetfIngest {
  private readonly byPath = new Map<string, Broadcast>();
  /**
   * The source each PUBLISH_NAMESPACE announced, by path: the broadcast may be served by another
   * route meanwhile (a newer publisher of the same path), so its own route is withdrawn by source.
   */
  private readonly sources = new Map<string, IetfSource>();
  /** Upstream subscriptions by the track alias the publisher gave them. */
  private readonly byAlias = new Map<number, AliasTarget>();
  private nextRequest = 1;
  private closed = false;
  /** PUBLISH: tracks the client pushes. */
  readonly pushes: IetfPushes;

  private readonly datagrams: DatagramIngest;
  /** What this session's parked probe subscriptions hold (ingest-source.ts). */
  readonly parkedBytes: ParkBudget = { bytes: 0 };
  /** Payload bytes of unfinished objects across this session's subgroup streams. */
  private partial = 0;

  constructor(readonly s: IetfSession) {
    this.pushes = new IetfPushes(this);
    this.datagrams = new DatagramIngest(s, (alias) => this.byAlias.get(alias));
  }

  /** The broadcast the client announced at `rel` (relative to the session root), if any. */
  /** The source this session's PUBLISH_NAMESPACE announced at `rel` (its route, served or not). */
  announcedSource(rel: string): IetfSource | undefined {
    return this.sources.get(rel);
  }

  /** Why the client may not publish at `rel`, or undefined when it may. */
  refusal(rel: string): string | undefined {
    const s = this.s;
    const abs = join(s.grant.root, rel);
    if (rel === "" || !isValid(abs)) return "invalid-path";
    if (!coveredBy(rel, s.grant.publish) || (s.grant.cluster !== true && isReserved(abs))) return "not-permitted";
    return undefined;
  }

  /** How many broadcasts this session holds open (announced and pushed). */
  get broadcastCount(): number {
    return this.byPath.size + this.pushes.implicitCount;
  }

  owns(b: Broadcast): boolean {
    return b.source instanceof IetfSource && b.source.ingest === this;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Our request ids: odd, from 1 (the client's are even). */
  requestId(): number {
    const id = this.nextRequest;
    this.nextRequest += 2;
    return id;
  }

  // --- PUBLISH_NAMESPACE ---------------------------------------------------------------------

  publishNamespace(stream: BidiStream, msg: PublishNamespace, framer: ControlFramer): void {
    const s = this.s;
    const rel = msg.namespace;
    const abs = join(s.grant.root, rel);
    let refusal = this.refusal(rel);
    if (refusal === undefined && this.byPath.has(rel)) refusal = "duplicate";
    else if (refusal === undefined && this.broadcastCount >= s.limits.max_broadcasts_per_session) refusal = "too-many-broadcasts";
    if (refusal !== undefined) {
      s.peerLog.write("warn", { path: clip(abs), reason: refusal }, "publish refused");
      const code = refusal === "not-permitted" ? RequestCode.Unauthorized : refusal === "duplicate" ? RequestCode.Duplicate : RequestCode.InternalError;
      return s.reject(stream, msg.requestId, code, refusal);
    }
    const src = new IetfSource(this, rel);
    const b = s.origin.announce(abs, src, []);
    this.byPath.set(rel, b);
    this.sources.set(rel, src);
    s.peerLog.write("info", { path: clip(abs) }, "broadcast announced");
    // Draft-14's PUBLISH_NAMESPACE_OK is the Request ID alone; 15+ answer with REQUEST_OK.
    stream.send.write(
      s.draft === Draft.D14
        ? control(s.draft, AnnounceType.PublishNamespaceOk, (w) => new RequestIdOnly(msg.requestId).encode(w))
        : control(s.draft, RequestType.RequestOk, (w) => new RequestOk(msg.requestId).encode(w)),
    );
    const end = (): void => {
      if (this.byPath.get(rel) !== b) return;
      this.byPath.delete(rel);
      this.sources.delete(rel);
      s.origin.withdraw(abs, src);
      s.peerLog.write("info", { path: clip(abs) }, "broadcast ended");
    };
    guardRecv(
      stream.recv,
      {
        data: (chunk) => {
          framer.push(chunk);
          for (let m = framer.next(); m !== undefined; m = framer.next()) {
            // Draft-17+ ends an advertisement by closing the stream; a REQUEST_UPDATE is accepted.
            if (m.type !== AnnounceType.PublishNamespace) acceptOtherUpdate(stream.send, m, "PUBLISH_NAMESPACE");
          }
        },
        end: () => {
          end();
          stream.send.end();
        },
        reset: () => end(),
      },
      (err) => {
        end();
        s.fail(err);
      },
    );
    stream.send.onStop = () => end();
  }

  // --- upstream subscriptions ----------------------------------------------------------------

  /** @internal SUBSCRIBE_OK gave the subscription its alias. */
  bindAlias(alias: number, up: AliasTarget): boolean {
    if (this.byAlias.has(alias)) return false;
    this.byAlias.set(alias, up);
    return true;
  }

  /** @internal the subscription is over: its alias routes nothing more. */
  unbindAlias(alias: number, up: AliasTarget): void {
    if (this.byAlias.get(alias) !== up) return;
    this.byAlias.delete(alias);
    this.datagrams.forget(up);
  }

  /** A subgroup stream from the publisher; `head` is what was read past the stream type. */
  subgroupStream(recv: RecvStream, type: number, head: Uint8Array): void {
    const s = this.s;
    // The group is held weakly: the cache (or a viewer reading it) keeps it alive. A publisher
    // leaving its streams open must not pin groups the cache dropped: 100 streams left open
    // after 1 MiB each held 100 MiB against a 4 MiB cache budget.
    let ref: WeakRef<Group> | undefined;
    let up: AliasTarget | undefined;
    const parser = new ObjectParser(s.draft, type, s.limits.max_frame_size, {
      header: (h) => {
        up = this.byAlias.get(h.alias);
        // Subgroups other than 0, and streams that start mid-group, have no place in a relay group.
        const g = up !== undefined && h.subgroup === 0 && h.firstObject ? up.sink.group(h.group) : undefined;
        if (g === undefined) drop();
        else ref = new WeakRef(g);
      },
      object: (_id, ts, payload) => {
        // A group that is gone, ended here (aborted: a parked probe let it go), or that the cache
        // dropped with nobody reading it, takes no more frames: stop the stream.
        const group = ref?.deref();
        if (group === undefined || group.done || (!group.cached && group.readerCount === 0)) return drop();
        group.append(ts ?? up?.clockNow() ?? Date.now(), payload);
      },
    });
    // Unfinished objects are copied out of the transport (its flow control no longer holds them
    // back), so their bytes count against a session budget of four objects of the largest size:
    // 300 streams each left 512 KiB into a 16 MiB object held 159 MiB. A stream that takes the
    // session past it is stopped and its group aborted.
    let counted = 0;
    let stopped = false;
    const release = (): void => {
      this.partial -= counted;
      counted = 0;
    };
    /** Stop reading the stream (STOP_SENDING) and let go of everything it holds. */
    function drop(): void {
      stopped = true;
      release();
      parser.discard();
      ref = undefined;
      guard.stop(RequestCode.InternalError);
    }
    const push = (chunk: Uint8Array): void => {
      parser.push(chunk);
      if (stopped) return;
      this.partial += parser.partial - counted;
      counted = parser.partial;
      if (this.partial <= 4 * s.limits.max_frame_size) return;
      ref?.deref()?.abort(Code.Cancel);
      drop();
      s.peerLog.write("warn", { limit: 4 * s.limits.max_frame_size }, "subgroup stream stopped: unfinished objects exceed the session's budget");
    };
    const guard = guardRecv(
      recv,
      {
        data: push,
        end: () => {
          release();
          parser.end();
          ref?.deref()?.finish();
        },
        reset: (code) => {
          release();
          ref?.deref()?.abort(code);
        },
      },
      (err) => {
        release();
        ref?.deref()?.abort(Code.Decode);
        s.fail(err);
      },
    );
    if (head.length > 0) guard.run(() => push(head));
  }

  /** An object datagram (ingest-datagram.ts maps it into a relay group). */
  datagram(data: Uint8Array): void {
    this.datagrams.receive(data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pushes.close();
    this.datagrams.close();
    for (const [rel, src] of this.sources) {
      src.dispose();
      this.s.origin.withdraw(join(this.s.grant.root, rel), src);
    }
    this.sources.clear();
    this.byPath.clear();
    for (const up of this.byAlias.values()) up.dispose();
    this.byAlias.clear();
  }
}
