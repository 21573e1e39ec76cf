// Subscribe stream (bidi 0x2).
//
//   subscriber → publisher   SUBSCRIBE, then SUBSCRIBE_UPDATE… (FIN = unsubscribe)
//   publisher → subscriber   responses, whose shape changed twice:
//     lite-01/02  one untyped SUBSCRIBE_OK (02: empty body; 01: priority)
//     lite-03/04  Type (i) before each message: 0 SUBSCRIBE_OK, 1 SUBSCRIBE_DROP
//     lite-05     Type (i) before each message: 0 SUBSCRIBE_START, 1 SUBSCRIBE_END, 2 SUBSCRIBE_DROP
//                 (acceptance is implicit: there is no OK)
// Read responses with `framer.next((r) => decodeSubscribeResponse(r, v), typedSubscribeResponses(v))`.
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { readPath, writePath } from "./announce.js";
import { readMessage, requireVersion, writeMessage } from "./message.js";
import { readBool } from "./track.js";
import { hasSubscribeDrop, hasSubscribeOk, hasSubscribeRange, hasSubscribeStartEnd, Version } from "./version.js";

/** Opt+1 encoding: 0 = absent, n = value n − 1. */
const optEncode = (v: number | undefined): number => (v === undefined ? 0 : v + 1);
const optDecode = (v: number): number | undefined => (v === 0 ? undefined : v - 1);

/** Subscriber preferences, shared by SUBSCRIBE, SUBSCRIBE_UPDATE and the lite-03/04 SUBSCRIBE_OK. */
export interface SubscribePrefs {
  priority: number;
  /** Lite-03+ (absent before: false). */
  ordered: boolean;
  /** Lite-03+: subscriber max latency in ms (0 = none). */
  maxLatency: number;
  /** Lite-03+: first group wanted; undefined = the latest. */
  start?: number;
  /** Lite-03+: last group wanted (inclusive); undefined = open-ended. */
  end?: number;
}

export const DEFAULT_PREFS: SubscribePrefs = { priority: 0, ordered: false, maxLatency: 0 };

function writePrefs(w: Writer, p: SubscribePrefs, v: Version): void {
  w.u8(p.priority);
  if (!hasSubscribeRange(v)) return;
  w.u8(p.ordered ? 1 : 0)
    .varint(p.maxLatency)
    .varint(optEncode(p.start))
    .varint(optEncode(p.end));
}

function readPrefs(r: Reader, v: Version): SubscribePrefs {
  const priority = r.u8();
  if (!hasSubscribeRange(v)) return { priority, ordered: false, maxLatency: 0 };
  const ordered = readBool(r);
  const maxLatency = r.varint();
  const start = optDecode(r.varint());
  const end = optDecode(r.varint());
  const p: SubscribePrefs = { priority, ordered, maxLatency };
  if (start !== undefined) p.start = start;
  if (end !== undefined) p.end = end;
  return p;
}

/** SUBSCRIBE: `Subscribe ID (i) · Broadcast (s) · Track (s) · Priority (8)` + lite-03+ prefs. */
export class Subscribe {
  constructor(
    /** Chosen by the subscriber; unique per session, never reused. */
    readonly id: number,
    readonly broadcast: string,
    readonly track: string,
    readonly prefs: SubscribePrefs = DEFAULT_PREFS,
  ) {}

  encode(w: Writer, v: Version): void {
    writeMessage(w, (b) => {
      b.varint(this.id);
      writePath(b, this.broadcast);
      b.string(this.track);
      writePrefs(b, this.prefs, v);
    });
  }

  static decode(r: Reader, v: Version): Subscribe {
    return readMessage(r, (b) => new Subscribe(b.varint(), readPath(b), b.string(), readPrefs(b, v)));
  }
}

/** SUBSCRIBE_UPDATE: new preferences (lite-01/02: the priority alone). */
export class SubscribeUpdate {
  constructor(readonly prefs: SubscribePrefs) {}

  encode(w: Writer, v: Version): void {
    writeMessage(w, (b) => writePrefs(b, this.prefs, v));
  }

  static decode(r: Reader, v: Version): SubscribeUpdate {
    return readMessage(r, (b) => new SubscribeUpdate(readPrefs(b, v)));
  }
}

/** Lite-01..04: the publisher accepts (lite-03/04: with its resolved preferences). */
export class SubscribeOk {
  readonly kind = "ok";
  constructor(readonly prefs: SubscribePrefs = DEFAULT_PREFS) {}
}

/** Lite-05: the first group that will be delivered (earlier requested groups are dropped). */
export class SubscribeStart {
  readonly kind = "start";
  constructor(readonly group: number) {}
}

/** Lite-05: no group at or after `group` (exclusive) will be produced; 0 = none ever. */
export class SubscribeEnd {
  readonly kind = "end";
  constructor(readonly group: number) {}
}

/** Lite-03+: groups start..end (inclusive) will not be delivered, with why. */
export class SubscribeDrop {
  readonly kind = "drop";
  constructor(
    readonly start: number,
    readonly end: number,
    readonly code: number,
  ) {}
}

export type SubscribeResponse = SubscribeOk | SubscribeStart | SubscribeEnd | SubscribeDrop;

/** Write one publisher response, with its type prefix where the version has one. */
export function encodeSubscribeResponse(w: Writer, resp: SubscribeResponse, v: Version): void {
  switch (resp.kind) {
    case "ok":
      requireVersion(hasSubscribeOk(v), "SUBSCRIBE_OK", v);
      if (hasSubscribeRange(v)) w.varint(0);
      writeMessage(w, (b) => {
        if (hasSubscribeRange(v)) writePrefs(b, resp.prefs, v);
        else if (v === Version.Lite01) b.u8(resp.prefs.priority);
      });
      return;
    case "start":
      requireVersion(hasSubscribeStartEnd(v), "SUBSCRIBE_START", v);
      w.varint(0);
      writeMessage(w, (b) => b.varint(resp.group));
      return;
    case "end":
      requireVersion(hasSubscribeStartEnd(v), "SUBSCRIBE_END", v);
      w.varint(1);
      writeMessage(w, (b) => b.varint(resp.group));
      return;
    case "drop":
      requireVersion(hasSubscribeDrop(v), "SUBSCRIBE_DROP", v);
      w.varint(hasSubscribeStartEnd(v) ? 2 : 1);
      writeMessage(w, (b) => b.varint(resp.start).varint(resp.end).varint(resp.code));
      return;
  }
}

/** Read one publisher response (type prefix included on lite-03+). */
export function decodeSubscribeResponse(r: Reader, v: Version): SubscribeResponse {
  if (!hasSubscribeRange(v)) {
    return readMessage(r, (b) => new SubscribeOk({ ...DEFAULT_PREFS, priority: v === Version.Lite01 ? b.u8() : 0 }));
  }
  const type = r.varint();
  if (hasSubscribeStartEnd(v)) {
    switch (type) {
      case 0:
        return readMessage(r, (b) => new SubscribeStart(b.varint()));
      case 1:
        return readMessage(r, (b) => new SubscribeEnd(b.varint()));
      case 2:
        return readMessage(r, readDrop);
      default:
        throw new DecodeError(`unknown subscribe response type ${type}`);
    }
  }
  switch (type) {
    case 0:
      return readMessage(r, (b) => new SubscribeOk(readPrefs(b, v)));
    case 1:
      return readMessage(r, readDrop);
    default:
      throw new DecodeError(`unknown subscribe response type ${type}`);
  }
}

function readDrop(b: Reader): SubscribeDrop {
  return new SubscribeDrop(b.varint(), b.varint(), b.varint());
}
