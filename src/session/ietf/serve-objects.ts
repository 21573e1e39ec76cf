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
import { Code } from "../error.js";
import { GroupPump, UniOpener } from "../pump.js";
import { groupRank } from "../lite/session-io.js";
import { ObjectDatagram } from "./datagram.js";
import { control } from "./message.js";
import { encodeObjectHead, encodeSubgroupHeader, subgroupType } from "./object.js";
import type { IetfSession } from "./session.js";
import { DoneStatus, PublishDone, SubscribeType } from "./subscribe.js";
import type { Draft } from "./version.js";
import { IetfWriter } from "./wire.js";

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
    out.write(w.finish());
    return payload.byteLength === 0 ? true : out.write(payload);
  }
}

/** One viewer's SUBSCRIBE: the relay subscription behind it and its subgroup streams. */
export class IetfDownstream implements ViewerSink {
  private sub: Subscription | undefined;
  private readonly pumps = new Set<ObjectPump>();
  private ending: number | undefined;
  private finished = false;
  private readonly opener: UniOpener;

  constructor(
    private readonly s: IetfSession,
    private readonly stream: BidiStream,
    /** The Request ID, also the Track Alias we gave the viewer. */
    readonly alias: number,
    private readonly track: Track,
    private readonly prefs: ViewerPrefs,
    private readonly stamped: boolean,
    private readonly onFinished: (d: IetfDownstream) => void,
  ) {
    this.opener = new UniOpener(() => s.transport.openUni());
  }

  start(): void {
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

  group(cursor: GroupCursor): void {
    if (this.finished) return void cursor.close();
    if (cursor.group.datagram && this.s.transport.maxDatagramSize > 0) return this.datagram(cursor);
    this.streamGroup(cursor);
  }

  /** A group that came as one datagram goes out as one when it fits, else on a stream as any group. */
  private datagram(cursor: GroupCursor): void {
    const s = this.s;
    const g = cursor.group;
    const send = (): void => {
      cursor.onChange = null;
      if (!cursor.isActive || this.finished) {
        cursor.close();
        return this.maybeFinish();
      }
      if (g.error === undefined && g.payloads.length === 1) {
        const d = new ObjectDatagram(this.alias, g.sequence, 0, this.track.info?.priority ?? 0, this.stamped ? g.timestamps[0] : undefined, g.payloads[0], true);
        const bytes = d.encode(s.draft);
        if (bytes.byteLength <= s.transport.maxDatagramSize && s.transport.sendDatagram(bytes)) {
          s.origin.stats.groupsOut++;
          s.origin.stats.framesOut++;
          s.origin.stats.bytesOut += g.payloads[0].byteLength;
          cursor.close();
          return this.maybeFinish();
        }
      }
      this.streamGroup(cursor);
    };
    // The ingest appends and finishes a datagram's group right after offering it.
    if (g.done) send();
    else cursor.onChange = () => void (g.done && send());
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
    encodeSubgroupHeader(w, subgroupType(v, this.stamped), this.alias, seq, this.track.info?.priority ?? 0);
    const header = w.finish();
    pump.rank = groupRank(this.prefs.priority, this.track.info?.priority ?? 0, seq, this.prefs.ordered);
    this.opener.add(pump, header);
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
    this.done(DoneStatus.InternalError, `upstream failed (${code})`);
  }

  /** PUBLISH_DONE once the end is known and every group has been sent or dropped. */
  private maybeFinish(): void {
    if (this.finished || this.ending === undefined || this.sub === undefined) return;
    if (this.pumps.size > 0 || this.sub.pendingCount > 0) return;
    this.done(DoneStatus.TrackEnded, "track ended");
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
