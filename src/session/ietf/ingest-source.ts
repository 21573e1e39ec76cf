// A broadcast an IETF client published, as the relay core sees it (BroadcastSource). Track
// properties come from a SUBSCRIBE_OK: moq-transport has no TRACK_INFO, and TRACK_STATUS does not
// carry the timescale, so trackInfo() subscribes, reads the answer and unsubscribes at once.
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
import { hasFilterFields } from "./version.js";

/** How long the publisher gets to answer SUBSCRIBE: viewers give up after 10 s, so answer before. */
export const SUBSCRIBE_OK_TIMEOUT = 8000;

export class IetfSource implements BroadcastSource {
  constructor(
    readonly ingest: IetfIngest,
    /** The namespace as the client named it (relative to the session root). */
    readonly path: string,
  ) {}

  trackInfo(track: string): Promise<TrackInfo> {
    return new Promise<TrackInfo>((resolve, reject) => {
      const up = new IetfUpstream(this.ingest, this.path, track, undefined, { priority: 0, ordered: false, maxLatency: 0 }, (props, err) => {
        if (err !== undefined) reject(err);
        else resolve({ ...DEFAULT_TRACK_INFO, timescale: props?.timescale ?? DEFAULT_TRACK_INFO.timescale, ordered: props?.groupOrder === GroupOrder.Ascending });
        up.close();
      });
    });
  }

  subscribe(track: string, sink: TrackSink, prefs: UpstreamPrefs): Upstream {
    return new IetfUpstream(this.ingest, this.path, track, sink, prefs);
  }
}

const NO_SINK: TrackSink = { group: () => undefined, end: () => undefined, close: () => undefined };

/** The relay's one SUBSCRIBE to a client's track (for all its viewers), or a trackInfo probe. */
export class IetfUpstream implements Upstream {
  readonly sink: TrackSink;
  private stream: BidiStream | undefined;
  private closed = false;
  private finSent = false;
  private alias: number | undefined;
  private timescale: number | undefined;
  private readonly requestId: number;
  private timer: NodeJS.Timeout | undefined;
  private probe: ((props: TrackProperties | undefined, err?: MoqError) => void) | undefined;
  private readonly isProbe: boolean;

  constructor(
    private readonly ingest: IetfIngest,
    private readonly path: string,
    private readonly track: string,
    sink: TrackSink | undefined,
    prefs: UpstreamPrefs,
    /** A probe: told the SUBSCRIBE_OK's properties (or why it failed), routes no data. */
    onOk?: (props: TrackProperties | undefined, err?: MoqError) => void,
  ) {
    this.sink = sink ?? NO_SINK;
    this.probe = onOk;
    this.isProbe = onOk !== undefined;
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
        new Subscribe({ requestId: this.requestId, namespace: this.path, track: this.track, priority: Math.min(255, prefs.priority), groupOrder: GroupOrder.Descending, filter }).encode(w),
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
    if (this.isProbe) return this.answerProbe(m.properties);
    if (this.closed) return;
    if (!this.ingest.bindAlias(m.alias, this)) throw new MoqError(Code.Duplicate, `track alias ${m.alias} is already in use`);
    this.alias = m.alias;
  }

  private failed(err: MoqError): void {
    clearTimeout(this.timer);
    if (this.isProbe) return this.answerProbe(undefined, err);
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
