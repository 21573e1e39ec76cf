// The data path toward an IETF viewer: one downstream subscription and its subgroup streams,
// one uni stream per group, objects written by reference from the cache (moq-lite's FramePump,
// with IETF object heads). A viewer that falls behind is skipped ahead by the relay core.
import type { GroupCursor } from "../../relay/group.js";
import type { RelayStats } from "../../relay/stats.js";
import type { Subscription } from "../../relay/subscription.js";
import type { Track } from "../../relay/track.js";
import type { ViewerPrefs, ViewerSink } from "../../relay/types.js";
import type { BidiStream, SendStream } from "../../transport/session.js";
import { Code } from "../error.js";
import { groupRank } from "../lite/session-io.js";
import { control } from "./message.js";
import { encodeObjectHead, encodeSubgroupHeader, subgroupType } from "./object.js";
import type { IetfSession } from "./session.js";
import { DoneStatus, PublishDone, SubscribeType } from "./subscribe.js";
import type { Draft } from "./version.js";
import { IetfWriter } from "./wire.js";

/** Writes one group's objects from a cursor to a subgroup stream, then FINs (or resets). */
export class ObjectPump {
  private out: SendStream | undefined;
  private blocked = false;
  private done = false;
  private abortCode: number = Code.Cancel;
  private readonly w: IetfWriter;

  constructor(
    private readonly cursor: GroupCursor,
    draft: Draft,
    private readonly stamped: boolean,
    private readonly stats: RelayStats,
    private readonly onDone: (p: ObjectPump) => void,
  ) {
    this.w = new IetfWriter(draft, 32);
    cursor.onChange = () => {
      if (this.out !== undefined && !this.blocked) this.pump();
    };
    cursor.onDrop = (code) => this.abort(code);
  }

  get sequence(): number {
    return this.cursor.sequence;
  }

  set rank(r: number) {
    if (this.out !== undefined) this.out.priority = r;
  }

  attach(out: SendStream, header: Uint8Array, rank: number): void {
    if (this.done) return void out.reset(this.abortCode);
    this.out = out;
    out.priority = rank;
    out.onDrain = () => {
      this.blocked = false;
      if (!this.done) this.pump();
    };
    out.onStop = () => this.finish();
    if (!out.write(header)) this.blocked = true;
    if (!this.blocked) this.pump();
  }

  abort(code: number): void {
    if (this.done) return;
    this.abortCode = code;
    this.out?.reset(code);
    this.finish();
  }

  private pump(): void {
    const out = this.out as SendStream;
    const c = this.cursor;
    const g = c.group;
    const w = this.w;
    while (c.index < g.payloads.length) {
      const i = c.index++;
      const payload = g.payloads[i];
      w.reset();
      // Objects are frames 0, 1, 2…: every delta is 0 (the first object id is 0).
      encodeObjectHead(w, 0, this.stamped, g.timestamps[i], payload.byteLength);
      out.write(w.finish());
      const ok = payload.byteLength === 0 ? true : out.write(payload);
      this.stats.framesOut++;
      this.stats.bytesOut += payload.byteLength;
      if (!ok) {
        this.blocked = true;
        return;
      }
    }
    if (!g.done) return;
    if (g.error !== undefined) out.reset(g.error);
    else out.end();
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.cursor.onChange = null;
    this.cursor.close();
    this.onDone(this);
  }
}

/** One viewer's SUBSCRIBE: the relay subscription behind it and its subgroup streams. */
export class IetfDownstream implements ViewerSink {
  private sub: Subscription | undefined;
  private readonly pumps = new Set<ObjectPump>();
  private ending: number | undefined;
  private finished = false;

  constructor(
    private readonly s: IetfSession,
    private readonly stream: BidiStream,
    /** The Request ID, also the Track Alias we gave the viewer. */
    readonly alias: number,
    private readonly track: Track,
    private readonly prefs: ViewerPrefs,
    private readonly stamped: boolean,
    private readonly onFinished: (d: IetfDownstream) => void,
  ) {}

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
  }

  group(cursor: GroupCursor): void {
    if (this.finished) return void cursor.close();
    const s = this.s;
    const v = s.draft;
    const seq = cursor.sequence;
    const pump = new ObjectPump(cursor, v, this.stamped, s.origin.stats, (p) => {
      this.pumps.delete(p);
      this.maybeFinish();
    });
    this.pumps.add(pump);
    s.origin.stats.groupsOut++;
    const w = new IetfWriter(v, 16);
    encodeSubgroupHeader(w, subgroupType(v, this.stamped), this.alias, seq, this.track.info?.priority ?? 0);
    const header = w.finish();
    const rank = groupRank(this.prefs.priority, this.track.info?.priority ?? 0, seq, this.prefs.ordered);
    s.transport.openUni().then(
      (out) => pump.attach(out, header, rank),
      () => pump.abort(Code.Cancel),
    );
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
    this.sub?.close();
    this.onFinished(this);
  }
}
