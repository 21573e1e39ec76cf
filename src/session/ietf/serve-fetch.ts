// FETCH answered from the relay's group cache (standalone, and joining an existing SUBSCRIBE
// relative or absolute). The range is resolved against what is cached when the request arrives
// and written in one go on a fetch stream (FETCH_HEADER, then objects), after FETCH_OK. The
// relay's subscriptions start at the latest group from its first object, so a joining fetch ends
// with the group before the one its subscription started at: the two never overlap.
//
// Limits: at most `limits.max_fetches_per_session` at once (REQUEST_ERROR past that) and each
// gets `limits.fetch_timeout` to drain before its stream is reset. A fetch that ends (timeout,
// cancel) while its fetch stream is still waiting for the viewer's stream credit lets go of its
// groups at once, and keeps counting against the limit until that wait settles: a viewer that
// withholds credit can neither pin evicted groups nor queue stream openers without bound.
import type { Group } from "../../relay/group.js";
import type { Track } from "../../relay/track.js";
import type { BidiStream, SendStream } from "../../transport/session.js";
import { Code } from "../error.js";
import { clip } from "../../util/path.js";
import { Fetch, FetchObjectWriter, FetchOk, FetchType, FetchMessage, type Location } from "./fetch.js";
import type { Filter } from "./filter.js";
import { type ControlFramer, control } from "./message.js";
import { FETCH_HEADER } from "./object.js";
import { RequestCode } from "./request.js";
import { updatesOnly } from "./update.js";
import { BatchedSend } from "../batch.js";
import type { IetfSession } from "./session.js";
import { GroupOrder } from "./subscribe.js";
import { Draft, hasFilterFields } from "./version.js";
import { IetfWriter } from "./wire.js";

/** One piece of the answer: objects [from, to) of a cached group. */
interface Span {
  group: Group;
  from: number;
  to: number;
}

/** What a subscription offers a joining fetch: its track, and the group it started at. */
export interface Joinable {
  track: Track;
  /** The first group the subscription delivers (undefined: the track had no content). */
  join: number | undefined;
}

export type Resolve = (stream: BidiStream, requestId: number, namespace: string, name: string) => Track | undefined;

export class IetfFetches {
  private readonly running = new Set<FetchPump>();
  /** Fetches that ended while their openUni() was still waiting for the viewer's credit. */
  private orphans = 0;

  constructor(
    private readonly s: IetfSession,
    private readonly resolve: Resolve,
    private readonly joinable: (requestId: number) => Joinable | Promise<Joinable | undefined> | undefined,
  ) {}

  close(): void {
    for (const p of [...this.running]) p.abort(Code.Cancel);
  }

  fetch(stream: BidiStream, req: Fetch, framer: ControlFramer): void {
    const s = this.s;
    if (this.running.size + this.orphans >= s.limits.max_fetches_per_session) {
      s.peerLog.write("warn", { limit: s.limits.max_fetches_per_session }, "fetch refused: too many on this session");
      return s.reject(stream, req.requestId, RequestCode.InternalError, "too many fetches", 1000);
    }
    if (req.joining) {
      const j = this.joinable(req.joiningRequestId ?? -1);
      if (!(j instanceof Promise)) return this.join(stream, req, framer, j);
      // The subscription is pending: answer once it is (its own deadlines bound the wait).
      let gone = false;
      stream.recv.onReset = () => void (gone = true);
      j.then(
        (joinable) => {
          if (!gone && !s.isClosed) this.join(stream, req, framer, joinable);
        },
        () => undefined,
      );
      return;
    }
    const track = this.resolve(stream, req.requestId, req.namespace ?? "", req.track ?? "");
    if (track === undefined) return;
    const plan = standalonePlan(s.draft, req, track);
    if (typeof plan === "string") return s.reject(stream, req.requestId, RequestCode.InvalidRange, plan);
    this.serve(stream, req, framer, track, plan);
  }

  private join(stream: BidiStream, req: Fetch, framer: ControlFramer, j: Joinable | undefined): void {
    const s = this.s;
    if (j === undefined) return s.reject(stream, req.requestId, RequestCode.InvalidJoiningRequest, "no such subscription");
    if (j.join === undefined) return s.reject(stream, req.requestId, RequestCode.InvalidRange, "the track has no objects yet");
    this.serve(stream, req, framer, j.track, joiningPlan(s.draft, req, j.track, j.join));
  }

  /**
   * FETCH_OK, then the spans on a fetch stream. Objects the cache does not hold have unknown
   * status (evicted, or older than the relay's upstream): delivery stops at the first such gap in
   * the requested order and the fetch stream is reset with UNKNOWN_OBJECT_STATUS, as the drafts
   * allow, rather than ending it with a FIN that would claim those objects do not exist.
   */
  private serve(stream: BidiStream, req: Fetch, framer: ControlFramer, track: Track, plan: Plan): void {
    const s = this.s;
    s.origin.stats.fetches++;
    const descending = req.groupOrder === GroupOrder.Descending;
    const items = descending ? [...plan.items].reverse() : plan.items;
    const gap = items.findIndex((x) => x === GAP);
    const spans = (gap < 0 ? items : items.slice(0, gap)) as Span[];
    const objects = spans.reduce((n, sp) => n + sp.to - sp.from, 0);
    s.peerLog.write("debug", { track: clip(track.name), groups: spans.length, objects, joining: req.joining, unknown: gap >= 0 }, "fetch");
    // Not `plan.end` inside the closure: that would keep the plan's groups alive as long as any
    // callback of this request (V8 shares one context between a function's closures).
    const end = plan.end;
    stream.send.write(
      control(s.draft, FetchMessage.FetchOk, (w) =>
        new FetchOk(req.requestId, false, end, { timescale: track.info?.timescale }, descending ? GroupOrder.Descending : GroupOrder.Ascending).encode(w),
      ),
    );
    s.requests++;
    let opening = true;
    const pump = new FetchPump(s, req.requestId, spans, gap >= 0 ? unknownStatus(s.draft) : undefined, track.info?.priority ?? 0, track.info?.timescale !== undefined, (p) => {
      clearTimeout(timer);
      this.running.delete(p);
      if (opening) this.orphans++;
      s.requests--;
      stream.send.end();
    });
    this.running.add(pump);
    const timer = setTimeout(() => {
      s.peerLog.write("info", { track: clip(track.name) }, "fetch reset: it did not drain in time");
      pump.abort(Code.Timeout);
    }, s.limits.fetch_timeout);
    timer.unref();
    // Drafts 14–16 cancel with FETCH_CANCEL (the adapter resets the virtual stream); 17+ reset it.
    // A REQUEST_UPDATE is accepted.
    stream.recv.onData = updatesOnly(stream, framer, "FETCH", (err) => s.fail(err));
    stream.recv.onEnd = () => undefined;
    stream.recv.onReset = () => pump.abort(Code.Cancel);
    stream.send.onStop = () => pump.abort(Code.Cancel);
    const opened = (): boolean => {
      opening = false;
      if (!pump.ended) return false;
      this.orphans--;
      return true;
    };
    s.transport.openUni().then(
      (out) => {
        if (opened()) out.reset(Code.Cancel);
        else pump.attach(out);
      },
      () => {
        if (!opened()) pump.abort(Code.Cancel);
      },
    );
  }
}

/** Writes the spans' objects to a fetch stream, honouring backpressure, then FINs. */
class FetchPump {
  /** The stream, its small writes (heads, small objects) gathered as the viewer pumps' are (batch.ts). */
  private out: BatchedSend | undefined;
  /** What is left to send; emptied when the pump ends, so a late openUni() holds no group. */
  private spans: Span[];
  private span = 0;
  private index = 0;
  private done = false;
  private readonly objects: FetchObjectWriter;
  private readonly w: IetfWriter;

  constructor(
    private readonly s: IetfSession,
    private readonly requestId: number,
    spans: Span[],
    /** Reset the stream with this code after the spans (objects of unknown status follow), else FIN. */
    private readonly unknown: number | undefined,
    private readonly priority: number,
    private readonly stamped: boolean,
    private readonly onDone: (p: FetchPump) => void,
  ) {
    this.spans = spans;
    this.objects = new FetchObjectWriter(s.draft);
    this.w = new IetfWriter(s.draft, 32);
  }

  get ended(): boolean {
    return this.done;
  }

  attach(stream: SendStream): void {
    const out = new BatchedSend(stream);
    this.out = out;
    out.onDrain = () => this.pump();
    out.onStop = () => this.abort(Code.Cancel);
    out.write(new IetfWriter(this.s.draft, 8).varint(FETCH_HEADER).varint(this.requestId).finish());
    this.pump();
  }

  abort(code: number): void {
    if (this.done) return;
    this.out?.reset(code);
    this.finish();
  }

  private pump(): void {
    const out = this.out;
    if (out === undefined || this.done) return;
    // Small writes are gathered (BatchedSend): each queued write costs some 300 bytes of heap
    // whatever its size, and 32 unread fetches of 16-byte objects (two writes each) held 190 MiB
    // below the streams' 256 KiB high-water marks. What a run gathered goes out at its end.
    const full = !this.objectsUntilFull(out);
    out.flush();
    if (full) return;
    if (this.unknown === undefined) out.end();
    else out.reset(this.unknown);
    this.finish();
  }

  /** Write the spans' objects from where the last run stopped; false once the stream is full. */
  private objectsUntilFull(out: BatchedSend): boolean {
    const stats = this.s.origin.stats;
    const w = this.w;
    while (this.span < this.spans.length) {
      const sp = this.spans[this.span];
      if (this.index < sp.from) this.index = sp.from;
      if (this.index >= sp.to) {
        this.span++;
        this.index = 0;
        continue;
      }
      const i = this.index++;
      const g = sp.group;
      const payload = g.payloads[i];
      w.reset();
      this.objects.head(w, { group: g.sequence, object: i, priority: this.priority, ...(this.stamped ? { timestamp: g.timestamps[i] } : {}), payload });
      stats.framesOut++;
      stats.bytesOut += payload.byteLength;
      const headOk = out.write(w.finish());
      if (!out.write(payload) || !headOk) return false;
    }
    return true;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.spans = [];
    this.out = undefined;
    this.onDone(this);
  }
}

/** A gap in the cache inside the requested range: objects of unknown status. */
const GAP = "gap" as const;

/** What a FETCH answers: cached spans and gaps in ascending order, and FETCH_OK's End Location. */
interface Plan {
  items: Array<Span | typeof GAP>;
  end: Location;
}

/** The stream reset code for "the next object's status is unknown" (14–15 have none: INTERNAL_ERROR). */
function unknownStatus(v: Draft): number {
  if (v >= Draft.D18) return 0x6;
  return v >= Draft.D16 ? 0x4 : 0x0;
}

/**
 * Objects from `start` through `last` (inclusive; `lastTo` = one past the last object of group
 * `last`, undefined = the whole group), as cached spans with a GAP wherever a group in the range
 * is not cached. The range never runs past the track's Largest Object.
 */
function planOf(track: Track, start: Location, last: number, lastTo: number | undefined): Array<Span | typeof GAP> {
  const out: Array<Span | typeof GAP> = [];
  let expect = start.group;
  for (const g of track.groups) {
    if (g.sequence < start.group || g.sequence > last) continue;
    if (g.sequence > expect) out.push(GAP);
    expect = g.sequence + 1;
    const from = g.sequence === start.group ? start.object : 0;
    const to = g.sequence === last && lastTo !== undefined ? Math.min(lastTo, g.payloads.length) : g.payloads.length;
    if (to > from) out.push({ group: g, from, to });
  }
  if (expect <= last) out.push(GAP);
  return out;
}

/** A standalone FETCH's plan, or why its range is invalid (INVALID_RANGE). */
function standalonePlan(v: Draft, req: Fetch, track: Track): Plan | string {
  const latest = track.latest;
  if (latest === undefined) return "the track has no objects yet";
  // Largest Object: the newest group's last object so far.
  const largest = { group: latest.sequence, object: Math.max(0, latest.payloads.length - 1) };
  let start: Location;
  let last: Location | undefined; // inclusive; undefined = through the Largest Object
  if (hasFilterFields(v)) {
    const f: Filter | undefined = req.filter;
    if (f === undefined || f.kind === "unfiltered") start = { group: track.groups[0]?.sequence ?? 0, object: 0 };
    else if (f.kind === "nextObject") return "the range holds no published object";
    else if (f.kind === "relative") start = { group: Math.max(0, largest.group + 1 - f.groups), object: 0 };
    else {
      start = { group: f.startGroup, object: f.startObject };
      if (f.endGroup !== undefined) {
        if (f.endGroup < f.startGroup || (f.endGroup === f.startGroup && f.endObject !== undefined && f.endObject < f.startObject)) return "the range ends before it starts";
        last = { group: f.endGroup, object: f.endObject ?? Infinity };
      }
    }
  } else {
    start = req.start ?? { group: 0, object: 0 };
    const end = req.end ?? { group: 0, object: 0 };
    if (end.group < start.group || (end.group === start.group && end.object !== 0 && end.object <= start.object)) return "the range ends before it starts";
    // End Location is "last object + 1"; object 0 asks for the whole end group.
    last = { group: end.group, object: end.object === 0 ? Infinity : end.object - 1 };
  }
  if (start.group > largest.group || (start.group === largest.group && start.object > largest.object)) return "the range starts after the largest object";
  if (last === undefined || last.group > largest.group || (last.group === largest.group && last.object >= largest.object)) last = largest;
  const items = planOf(track, start, last.group, last.object === Infinity ? undefined : last.object + 1);
  // A whole end group is named by its last object when the cache holds it (else 14–19 say "object
  // 0": the whole group). 14–19 give the end as "last object + 1"; draft-20 names the last object.
  const n = last.object === Infinity ? track.get(last.group)?.payloads.length : last.object + 1;
  const plus = hasFilterFields(v) ? 0 : 1;
  const end: Location = { group: last.group, object: n === undefined || n === 0 ? 0 : n - 1 + plus };
  return { items, end };
}

/** A joining FETCH's plan: from its start to the group before the subscription's first. */
function joiningPlan(v: Draft, req: Fetch, track: Track, join: number): Plan {
  let n = req.joiningStart ?? 0;
  if (hasFilterFields(v) && req.filter !== undefined) n = req.filter.kind === "relative" ? req.filter.groups : req.filter.kind === "absolute" ? req.filter.startGroup : 0;
  let start: number;
  if (req.fetchType === FetchType.AbsoluteJoining) start = n;
  // Relative: Largest.Group - N (draft-20: Largest.Group + 1 - N); the relay's Largest is `join`.
  else start = Math.max(0, join - n + (hasFilterFields(v) ? 1 : 0));
  const items = start < join ? planOf(track, { group: start, object: 0 }, join - 1, undefined) : [];
  // The Joining Location is the last object before the subscription's first group.
  const before = track.get(join - 1);
  const plus = hasFilterFields(v) ? 0 : 1;
  const end: Location = before !== undefined && before.payloads.length > 0 ? { group: join - 1, object: before.payloads.length - 1 + plus } : { group: Math.max(0, join - 1), object: 0 };
  return { items, end };
}
