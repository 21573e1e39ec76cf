// A broadcast an IETF client published, as the relay core sees it (BroadcastSource). Track
// properties come from a SUBSCRIBE_OK: moq-transport has no TRACK_INFO, and TRACK_STATUS does not
// carry the timescale, so trackInfo() subscribes and reads the answer. That subscription is then
// kept ("parked", buffering up to PARK_GROUPS groups) for the first viewer, which adopts it: a
// group the publisher sends between the answer and the viewer's arrival is not lost. Tracks the
// client pushed with PUBLISH need neither: their properties came with PUBLISH.
import { Group, GroupCursor } from "../../relay/group.js";
import type { BroadcastSource, TrackInfo, TrackSink, Upstream, UpstreamPrefs } from "../../relay/types.js";
import { DEFAULT_TRACK_INFO } from "../../relay/types.js";
import type { BidiStream } from "../../transport/session.js";
import { Code, MoqError } from "../error.js";
import { guardRecv } from "../lite/session-io.js";
import type { Filter } from "./filter.js";
import type { IetfIngest } from "./ingest.js";
import { ControlFramer, control } from "./message.js";
import { RequestCode, RequestError, RequestType } from "./request.js";
import { GroupOrder, PublishDone, Subscribe, SubscribeOk, SubscribeType, type TrackProperties } from "./subscribe.js";
import { ietfPriority } from "./update.js";
import { hasFilterFields } from "./version.js";

/** How long the publisher gets to answer SUBSCRIBE: viewers give up after 10 s, so answer before. */
export const SUBSCRIBE_OK_TIMEOUT = 8000;
/** How long a probe subscription waits for a viewer to adopt it before it unsubscribes. */
export const PARK_MS = 2000;
/** Groups a parked subscription keeps for the viewer that adopts it. */
const PARK_GROUPS = 4;
/**
 * Bytes the parked probes of one session may hold together: parked groups live outside the cache
 * budget (one endless group streamed into a probe held all of its 96 MiB; six probes fed 6 MiB
 * each held 37 MiB). Past this, the probe receiving data drops its oldest groups.
 */
const PARK_BYTES = 8 * 1024 * 1024;

/** What one session's parked probes hold. */
export interface ParkBudget {
  bytes: number;
}

/** What the ingest routes a track alias's objects to. */
export interface AliasTarget {
  readonly sink: TrackSink;
  clockNow(): number;
  dispose(): void;
}

export function infoOf(props: TrackProperties | undefined): TrackInfo {
  return { ...DEFAULT_TRACK_INFO, timescale: props?.timescale ?? DEFAULT_TRACK_INFO.timescale, ordered: props?.groupOrder === GroupOrder.Ascending };
}

export class IetfSource implements BroadcastSource {
  private readonly parked = new Map<string, IetfUpstream>();
  /** Tracks the client pushed with PUBLISH, by name. */
  readonly pushed = new Map<string, PushedTrack>();

  constructor(
    readonly ingest: IetfIngest,
    /** The namespace as the client named it (relative to the session root). */
    readonly path: string,
  ) {}

  trackInfo(track: string): Promise<TrackInfo> {
    const pushed = this.pushed.get(track);
    if (pushed !== undefined) return Promise.resolve(pushed.info);
    return new Promise<TrackInfo>((resolve, reject) => {
      const parking = new ParkingSink(this.ingest.parkedBytes, () => {
        if (this.parked.get(track) === up) this.parked.delete(track);
      });
      const up: IetfUpstream = new IetfUpstream(this.ingest, this.path, track, parking, { priority: 0, ordered: false, maxLatency: 0 }, (props, err) => {
        if (err !== undefined) {
          up.close();
          return reject(err);
        }
        resolve(infoOf(props));
        this.parked.get(track)?.close();
        this.parked.set(track, up);
        parking.arm(PARK_MS, () => {
          if (this.parked.get(track) === up) this.parked.delete(track);
          up.close();
          parking.discard();
        });
      });
    });
  }

  subscribe(track: string, sink: TrackSink, prefs: UpstreamPrefs): Upstream {
    const pushed = this.pushed.get(track);
    if (pushed !== undefined) return pushed.attach(sink);
    const parked = this.parked.get(track);
    if (parked !== undefined) {
      this.parked.delete(track);
      parked.adopt(sink);
      return parked;
    }
    return new IetfUpstream(this.ingest, this.path, track, sink, prefs);
  }

  /** The session is gone: parked probes go with it. */
  dispose(): void {
    for (const up of this.parked.values()) up.dispose();
    this.parked.clear();
    for (const p of this.pushed.values()) p.dispose();
    this.pushed.clear();
  }
}

/** A track the client pushed with PUBLISH: its objects reach a viewer once one is attached. */
export class PushedTrack implements Upstream, AliasTarget {
  sink: TrackSink = NO_SINK;

  constructor(
    readonly alias: number,
    readonly info: TrackInfo,
  ) {}

  attach(sink: TrackSink): this {
    this.sink = sink;
    return this;
  }

  clockNow(): number {
    return Date.now();
  }

  update(): void {}

  /** No viewer wants it: later objects are dropped (the publisher keeps pushing). */
  close(): void {
    this.sink = NO_SINK;
  }

  /** The publisher ended the track (PUBLISH_DONE, or its stream closed). */
  end(code?: number): void {
    const sink = this.sink;
    this.sink = NO_SINK;
    sink.close(code);
  }

  dispose(): void {
    this.end(Code.Closed);
  }
}

/**
 * A probe subscription's sink until a viewer adopts it: the newest PARK_GROUPS groups are kept
 * (standalone, outside the cache) and replayed into the viewer's sink on adoption.
 */
class ParkingSink implements TrackSink {
  private readonly groups: Group[] = [];
  private ended: number | undefined;
  private closed: { code: number | undefined } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly budget: ParkBudget,
    private readonly onClose: () => void,
  ) {}

  arm(ms: number, expire: () => void): void {
    this.timer = setTimeout(expire, ms);
    this.timer.unref();
  }

  group(sequence: number, datagram = false): Group | undefined {
    if (this.closed !== undefined || this.groups.some((g) => g.sequence === sequence)) return undefined;
    const g = new Group(sequence, Date.now());
    g.datagram = datagram;
    g.onAppend = (n) => {
      this.budget.bytes += n;
      this.trim();
    };
    this.groups.push(g);
    if (this.groups.length > PARK_GROUPS) this.drop(this.groups.shift() as Group);
    return g;
  }

  /** The session's parked probes are over PARK_BYTES: drop this one's oldest groups. */
  private trim(): void {
    while (this.budget.bytes > PARK_BYTES && this.groups.length > 0) this.drop(this.groups.shift() as Group);
  }

  /** A group leaves the park: aborted (its stream then lets go of it) and no longer counted. */
  private drop(g: Group): void {
    this.release(g);
    g.abort(Code.Cancel);
  }

  private release(g: Group): void {
    this.budget.bytes -= g.bytes;
    g.onAppend = null;
  }

  /** Nobody adopted the probe: what it parked goes, and groups still arriving take nothing more. */
  discard(): void {
    clearTimeout(this.timer);
    for (const g of this.groups.splice(0)) this.drop(g);
  }

  end(end: number): void {
    this.ended = end;
  }

  close(code?: number): void {
    this.closed = { code };
    // No longer parked (onClose unlists it): nobody can adopt what it holds.
    this.discard();
    this.onClose();
  }

  /** Hand what arrived (and what is still arriving) to the adopting viewer's sink. */
  replay(into: TrackSink): void {
    clearTimeout(this.timer);
    for (const g of this.groups) {
      this.release(g);
      const to = into.group(g.sequence, g.datagram);
      if (to !== undefined) pipe(g, to);
    }
    this.groups.length = 0;
    if (this.ended !== undefined) into.end(this.ended);
    if (this.closed !== undefined) into.close(this.closed.code);
  }
}

/** A piped group's source, alive as long as the group it feeds (its stream holds it only weakly). */
const sources = new WeakMap<Group, Group>();

/** Copy `from`'s frames into `to` as they arrive, then finish or abort it the same way. */
function pipe(from: Group, to: Group): void {
  sources.set(to, from);
  const c = new GroupCursor(from);
  const step = (): void => {
    while (c.index < from.payloads.length) {
      const i = c.index++;
      to.append(from.timestamps[i], from.payloads[i]);
    }
    if (!from.done) return;
    c.close();
    if (from.error !== undefined) to.abort(from.error);
    else to.finish();
  };
  c.onChange = step;
  step();
}

const NO_SINK: TrackSink = { group: () => undefined, end: () => undefined, close: () => undefined };

/** The relay's one SUBSCRIBE to a client's track (for all its viewers), or a trackInfo probe. */
export class IetfUpstream implements Upstream, AliasTarget {
  sink: TrackSink;
  private stream: BidiStream | undefined;
  private closed = false;
  private finSent = false;
  private alias: number | undefined;
  private timescale: number | undefined;
  private readonly requestId: number;
  private timer: NodeJS.Timeout | undefined;
  private probe: ((props: TrackProperties | undefined, err?: MoqError) => void) | undefined;

  constructor(
    private readonly ingest: IetfIngest,
    private readonly path: string,
    private readonly track: string,
    sink: TrackSink | undefined,
    prefs: UpstreamPrefs,
    /** A probe: told the SUBSCRIBE_OK's properties (or why it failed); its data goes to `sink` (parked). */
    onOk?: (props: TrackProperties | undefined, err?: MoqError) => void,
  ) {
    this.sink = sink ?? NO_SINK;
    this.probe = onOk;
    this.requestId = ingest.requestId();
    const s = ingest.s;
    this.timer = setTimeout(() => this.failed(new MoqError(Code.Timeout, `publisher did not answer SUBSCRIBE for ${track}`)), SUBSCRIBE_OK_TIMEOUT);
    this.timer.unref();
    s.openRequest(this.requestId).then(
      (stream) => this.opened(stream, prefs),
      () => this.failed(new MoqError(Code.Closed, "session closed")),
    );
  }

  /** Frame timestamps for objects that carry none: arrival time in ms (timescale 1000). */
  clockNow(): number {
    return Date.now();
  }

  update(): void {
    // One range per upstream subscription: the relay always asks for the live edge.
  }

  /** A viewer takes over this (parked probe) subscription: what it buffered goes first. */
  adopt(sink: TrackSink): void {
    const parked = this.sink;
    this.sink = sink;
    if (parked instanceof ParkingSink) parked.replay(sink);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (this.alias !== undefined) this.ingest.unbindAlias(this.alias, this);
    // Closing our side is UNSUBSCRIBE from draft-17 on.
    this.fin();
  }

  dispose(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private opened(stream: BidiStream, prefs: UpstreamPrefs): void {
    if (this.closed) return void stream.send.reset(Code.Cancel);
    this.stream = stream;
    const s = this.ingest.s;
    const v = s.draft;
    // The live edge: the latest group from its first object (draft-20 says it as "the last group").
    const filter: Filter = hasFilterFields(v) ? { kind: "relative", groups: 1 } : { kind: "nextObject" };
    stream.send.write(
      control(v, SubscribeType.Subscribe, (w) =>
        new Subscribe({ requestId: this.requestId, namespace: this.path, track: this.track, priority: ietfPriority(prefs.priority), groupOrder: GroupOrder.Descending, filter }).encode(w),
      ),
    );
    const framer = new ControlFramer(v, s.limits.max_message_size);
    let ok = false;
    guardRecv(
      stream.recv,
      {
        data: (chunk) => {
          framer.push(chunk);
          for (let m = framer.next(); m !== undefined; m = framer.next()) {
            if (!ok && m.type === SubscribeType.SubscribeOk) {
              ok = true;
              this.accepted(SubscribeOk.decode(m.body));
            } else if (!ok && m.type === RequestType.RequestError) {
              const e = RequestError.decode(m.body);
              this.failed(new MoqError(e.code === RequestCode.Unauthorized ? Code.Unauthorized : Code.NotFound, `publisher refused ${this.track}: ${e.reason}`));
            } else if (ok && m.type === SubscribeType.PublishDone) {
              PublishDone.decode(m.body);
              // Groups may still be in flight on their streams: the FIN that follows ends it.
            } else throw new MoqError(Code.ProtocolViolation, `unexpected message 0x${m.type.toString(16)} on a SUBSCRIBE stream`);
          }
        },
        end: () => {
          framer.end();
          this.fin();
          if (!ok) return this.failed(new MoqError(Code.ProtocolViolation, "SUBSCRIBE stream ended without an answer"));
          if (!this.closed) this.sink.close(undefined);
        },
        reset: (code) => this.failed(new MoqError(code, "publisher reset the subscription")),
      },
      (err) => {
        this.failed(new MoqError(Code.ProtocolViolation, "malformed SUBSCRIBE answer"));
        s.fail(err);
      },
    );
  }

  private accepted(m: SubscribeOk): void {
    clearTimeout(this.timer);
    this.timescale = m.properties.timescale;
    if (this.closed) return;
    if (!this.ingest.bindAlias(m.alias, this)) throw new MoqError(Code.Duplicate, `track alias ${m.alias} is already in use`);
    this.alias = m.alias;
    this.answerProbe(m.properties);
  }

  private failed(err: MoqError): void {
    clearTimeout(this.timer);
    if (this.probe !== undefined) return this.answerProbe(undefined, err);
    if (this.closed) return;
    this.closed = true;
    if (this.alias !== undefined) this.ingest.unbindAlias(this.alias, this);
    this.stream?.send.reset(Code.Cancel);
    this.sink.close(err.code);
  }

  private answerProbe(props: TrackProperties | undefined, err?: MoqError): void {
    const cb = this.probe;
    this.probe = undefined;
    cb?.(props, err);
  }

  private fin(): void {
    if (this.finSent || this.stream === undefined) return;
    this.finSent = true;
    this.stream.send.end();
  }
}
