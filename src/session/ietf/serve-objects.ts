// The data path toward an IETF viewer: one downstream subscription and its subgroup streams,
// one uni stream per group, objects written by reference from the cache (the shared GroupPump,
// with IETF object heads). A viewer that falls behind is skipped ahead by the relay core, and one
// that withholds stream credit holds no more than its queue (one openUni() in flight, UniOpener).
import type { GroupCursor } from "../../relay/group.js";
import type { RelayStats } from "../../relay/stats.js";
import type { Subscription } from "../../relay/subscription.js";
import type { Track } from "../../relay/track.js";
import type { ViewerPrefs, ViewerSink } from "../../relay/types.js";
import type { BidiStream, SendStream } from "../../transport/session.js";
import { Code, MoqError } from "../error.js";
import { GroupPump, UniOpener } from "../pump.js";
import { groupRank } from "../lite/session-io.js";
import { ObjectDatagram } from "./datagram.js";
import { control } from "./message.js";
import { encodeObjectHead, encodeSubgroupHeader, subgroupType } from "./object.js";
import type { IetfSession } from "./session.js";
import { doneStatus, PublishDone, SubscribeType } from "./subscribe.js";
import { RequestOk, RequestType } from "./request.js";
import { ietfPriority, relayPriority, type Location, type SubscribeUpdate } from "./update.js";
import { Draft } from "./version.js";
import { IetfWriter } from "./wire.js";

function before(a: Location, b: Location): boolean {
  return a.group < b.group || (a.group === b.group && a.object < b.object);
}

/** IETF objects: an object head (with the timestamp property when asked) before each payload. */
export class ObjectPump extends GroupPump {
  private readonly w: IetfWriter;

  constructor(cursor: GroupCursor, draft: Draft, private readonly stamped: boolean, stats: RelayStats, onDone: (p: ObjectPump) => void) {
    super(cursor, stats, onDone as (p: GroupPump) => void);
    this.w = new IetfWriter(draft, 32);
  }

  protected frame(out: SendStream, timestamp: number, payload: Uint8Array): boolean {
    const w = this.w;
    w.reset();
    // Objects are frames 0, 1, 2…: every delta is 0 (the first object id is 0).
    encodeObjectHead(w, 0, this.stamped, timestamp, payload.byteLength);
    // The pump's BatchedSend gathers a small object with its head into one write.
    const headOk = out.write(w.finish());
    return out.write(payload) && headOk;
  }
}

/** One viewer's SUBSCRIBE: the relay subscription behind it and its subgroup streams. */
export class IetfDownstream implements ViewerSink {
  private sub: Subscription | undefined;
  private readonly pumps = new Set<ObjectPump>();
  private ending: number | undefined;
  private finished = false;
  private readonly opener: UniOpener;
  /** Forward State 0: no objects are sent (control messages still are). */
  private paused: boolean;
  /** The start location as the viewer knows it (its filter's, else 0/0): 14–15 updates may not go below. */
  private clientStart: Location;

  constructor(
    private readonly s: IetfSession,
    private readonly stream: BidiStream,
    /** The Request ID, also the Track Alias we gave the viewer. */
    readonly alias: number,
    private readonly track: Track,
    private prefs: ViewerPrefs,
    private readonly stamped: boolean,
    private readonly onFinished: (d: IetfDownstream) => void,
    opts: { forward: boolean; start?: Location },
  ) {
    this.opener = new UniOpener(() => s.transport.openUni());
    this.paused = !opts.forward;
    this.clientStart = opts.start ?? { group: 0, object: 0 };
  }

  start(): void {
    // An update that arrived with the SUBSCRIBE may have failed it already.
    if (this.finished) return;
    this.sub = this.track.subscribe(this, this.prefs);
    this.maybeFinish();
  }

  /** The viewer closed its stream (unsubscribe) or reset it. */
  unsubscribe(code?: number): void {
    this.sub?.close();
    for (const p of [...this.pumps]) p.abort(Code.Cancel);
    if (this.finished) return;
    if (code === undefined) this.stream.send.end();
    else this.stream.send.reset(code);
    this.finish();
  }

  dispose(): void {
    this.finished = true;
    this.sub?.close();
    this.pumps.clear();
    this.opener.dispose();
  }

  /**
   * SUBSCRIBE_UPDATE / REQUEST_UPDATE: priority (groups in flight are re-ranked), Forward State
   * (0 resets the groups in flight and skips new ones, 1 resumes with the next group) and range
   * (groups in flight outside it are reset; reaching the end group ends the subscription with
   * PUBLISH_DONE SUBSCRIPTION_ENDED). Answered with REQUEST_OK (15+) before anything it causes.
   * Throws on what drafts 14–15 call a protocol violation.
   */
  update(u: SubscribeUpdate): void {
    if (this.finished) return;
    const s = this.s;
    const v = s.draft;
    const end = u.endGroup === undefined ? this.prefs.end : (u.endGroup ?? undefined);
    const start = u.start ?? this.clientStart;
    if (v <= Draft.D15 && u.start !== undefined && before(u.start, this.clientStart)) throw new MoqError(Code.ProtocolViolation, "the update moves the start location back");
    if (v === Draft.D14 && this.prefs.end !== undefined && (end === undefined || end > this.prefs.end)) throw new MoqError(Code.ProtocolViolation, "the update moves the end group out");
    // Only draft-14 can say this: from 15 the end group is a delta from the start.
    if (end !== undefined && end < start.group) throw new MoqError(Code.ProtocolViolation, `the update's end group ${end} is before its start group ${start.group}`);
    if (v !== Draft.D14) this.stream.send.write(control(v, RequestType.RequestOk, (w) => new RequestOk(u.requestId).encode(w)));
    this.clientStart = start;
    const prefs: ViewerPrefs = { ...this.prefs };
    if (u.priority !== undefined) prefs.priority = relayPriority(u.priority);
    if (u.start !== undefined) prefs.start = u.start.group;
    if (end === undefined) delete prefs.end;
    else prefs.end = end;
    this.prefs = prefs;
    if (u.forward !== undefined) this.paused = !u.forward;
    for (const p of [...this.pumps]) {
      const seq = p.sequence;
      if (this.paused || seq < (prefs.start ?? seq) || seq > (prefs.end ?? seq)) p.abort(Code.Cancel);
      else p.rank = this.rank(seq);
    }
    this.sub?.update(prefs);
    this.maybeFinish();
  }

  group(cursor: GroupCursor): void {
    if (this.finished) return void cursor.close();
    if (this.paused) {
      cursor.close();
      return this.maybeFinish();
    }
    if (cursor.group.datagram && this.s.transport.maxDatagramSize > 0) return this.datagram(cursor);
    this.streamGroup(cursor);
  }

  /**
   * A group that came as datagrams goes out as datagrams, each object as it arrives (object id =
   * its position; END_OF_GROUP on the last once the group is finished). Sends are batched to the
   * end of the current turn, so a group appended and finished at once carries END_OF_GROUP. If its
   * first object does not fit a datagram the whole group goes on a stream, as any group; a later
   * one that does not fit ends the group for this viewer there (datagrams promise no delivery).
   */
  private datagram(cursor: GroupCursor): void {
    const s = this.s;
    const g = cursor.group;
    const stats = s.origin.stats;
    const priority = ietfPriority(this.track.info?.priority ?? 0);
    let scheduled = false;
    const stop = (): void => {
      cursor.onChange = null;
      cursor.close();
      this.maybeFinish();
    };
    const flush = (): void => {
      scheduled = false;
      if (!cursor.isActive || this.finished || this.paused) return stop();
      while (cursor.index < g.payloads.length) {
        const i = cursor.index;
        const last = g.done && g.error === undefined && i === g.payloads.length - 1;
        const bytes = new ObjectDatagram(this.alias, g.sequence, i, priority, this.stamped ? g.timestamps[i] : undefined, g.payloads[i], last).encode(s.draft);
        if (bytes.byteLength > s.transport.maxDatagramSize || !s.transport.sendDatagram(bytes)) {
          if (i > 0) return stop();
          cursor.onChange = null;
          return this.streamGroup(cursor);
        }
        if (i === 0) stats.groupsOut++;
        stats.framesOut++;
        stats.bytesOut += g.payloads[i].byteLength;
        cursor.index++;
      }
      if (g.done) stop();
    };
    cursor.onChange = () => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(flush);
    };
    cursor.onChange();
  }

  private streamGroup(cursor: GroupCursor): void {
    const s = this.s;
    const v = s.draft;
    const seq = cursor.sequence;
    const pump = new ObjectPump(cursor, v, this.stamped, s.origin.stats, (p) => {
      this.pumps.delete(p);
      this.opener.remove(p);
      this.maybeFinish();
    });
    this.pumps.add(pump);
    s.origin.stats.groupsOut++;
    const w = new IetfWriter(v, 16);
    encodeSubgroupHeader(w, subgroupType(v, this.stamped), this.alias, seq, ietfPriority(this.track.info?.priority ?? 0));
    const header = w.finish();
    pump.rank = this.rank(seq);
    this.opener.add(pump, header);
  }

  private rank(sequence: number): number {
    return groupRank(this.prefs.priority, this.track.info?.priority ?? 0, sequence, this.prefs.ordered);
  }

  end(end: number): void {
    if (this.finished || this.ending !== undefined) return;
    this.ending = end;
    this.maybeFinish();
  }

  close(code: number | undefined): void {
    if (this.finished) return;
    if (code === undefined) return this.end(this.ending ?? 0);
    for (const p of [...this.pumps]) p.abort(code);
    this.done(doneStatus(this.s.draft).InternalError, `upstream failed (${code})`);
  }

  /** PUBLISH_DONE once the end is known and every group has been sent or dropped. */
  private maybeFinish(): void {
    if (this.finished || this.ending === undefined || this.sub === undefined) return;
    if (this.pumps.size > 0 || this.sub.pendingCount > 0) return;
    if (this.prefs.end !== undefined && this.ending === this.prefs.end + 1) this.done(doneStatus(this.s.draft).SubscriptionEnded, "subscription ended");
    else this.done(doneStatus(this.s.draft).TrackEnded, "track ended");
  }

  private done(status: number, reason: string): void {
    this.stream.send.write(control(this.s.draft, SubscribeType.PublishDone, (w) => new PublishDone(this.alias, status, reason).encode(w)));
    this.stream.send.end();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.opener.close();
    this.sub?.close();
    this.onFinished(this);
  }
}
