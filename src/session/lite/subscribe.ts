// Subscribe stream: SUBSCRIBE / SUBSCRIBE_UPDATE from the subscriber, and the publisher's responses,
// whose shape changed twice: untyped OK (01/02), typed OK/DROP (03/04), typed START/END/DROP (05).
import { DecodeError, Reader, Writer } from "../../util/bytes.js";
import { path } from "./announce.js";
import { decodeMessage, encodeMessage } from "./message.js";
import { isLegacy, hasAnnounceOk, type Version, Version as V } from "./version.js";

/** Opt+1 encoding: 0 = absent. */
const opt = (v: number | undefined): number => (v === undefined ? 0 : v + 1);
const unopt = (v: number): number | undefined => (v === 0 ? undefined : v - 1);

export interface SubscribePrefs {
  priority: number;
  ordered: boolean;
  maxLatency: number;
  start?: number;
  end?: number;
}

export class Subscribe {
  constructor(
    readonly id: number,
    readonly broadcast: string,
    readonly track: string,
    readonly prefs: SubscribePrefs,
  ) {}

  encode(w: Writer, v: Version): void {
    encodeMessage(w, (b) => {
      b.varint(this.id).string(this.broadcast).string(this.track).u8(this.prefs.priority);
      if (!isLegacy(v)) b.u8(this.prefs.ordered ? 1 : 0).varint(this.prefs.maxLatency).varint(opt(this.prefs.start)).varint(opt(this.prefs.end));
    });
  }

  static decode(r: Reader, v: Version, max: number): Subscribe {
    return decodeMessage(r, max, (b) => {
      const id = b.varint();
      const broadcast = path(b);
      const track = b.string(1024);
      const priority = b.u8();
      if (isLegacy(v)) return new Subscribe(id, broadcast, track, { priority, ordered: false, maxLatency: 0 });
      return new Subscribe(id, broadcast, track, { priority, ordered: b.u8() !== 0, maxLatency: b.varint(), start: unopt(b.varint()), end: unopt(b.varint()) });
    });
  }
}

export function encodeSubscribeUpdate(w: Writer, p: SubscribePrefs, v: Version): void {
  encodeMessage(w, (b) => {
    b.u8(p.priority);
    if (!isLegacy(v)) b.u8(p.ordered ? 1 : 0).varint(p.maxLatency).varint(opt(p.start)).varint(opt(p.end));
  });
}

export function decodeSubscribeUpdate(r: Reader, v: Version, max: number): SubscribePrefs {
  return decodeMessage(r, max, (b) => {
    const priority = b.u8();
    if (isLegacy(v)) return { priority, ordered: false, maxLatency: 0 };
    return { priority, ordered: b.u8() !== 0, maxLatency: b.varint(), start: unopt(b.varint()), end: unopt(b.varint()) };
  });
}

export type SubscribeResponse =
  | { kind: "ok"; prefs: SubscribePrefs }
  | { kind: "start"; group: number }
  | { kind: "end"; group: number }
  | { kind: "drop"; start: number; end: number; code: number };

export function encodeSubscribeResponse(w: Writer, resp: SubscribeResponse, v: Version): void {
  if (isLegacy(v)) {
    if (resp.kind !== "ok") return; // 01/02 have nothing but the OK
    encodeMessage(w, (b) => {
      if (v === V.Lite01) b.u8(resp.prefs.priority);
    });
    return;
  }
  if (!hasAnnounceOk(v)) {
    if (resp.kind === "ok") {
      w.varint(0);
      encodeMessage(w, (b) => b.u8(resp.prefs.priority).u8(resp.prefs.ordered ? 1 : 0).varint(resp.prefs.maxLatency).varint(opt(resp.prefs.start)).varint(opt(resp.prefs.end)));
    } else if (resp.kind === "drop") {
      w.varint(1);
      encodeMessage(w, (b) => b.varint(resp.start).varint(resp.end).varint(resp.code));
    }
    return;
  }
  switch (resp.kind) {
    case "start":
      w.varint(0);
      encodeMessage(w, (b) => b.varint(resp.group));
      return;
    case "end":
      w.varint(1);
      encodeMessage(w, (b) => b.varint(resp.group));
      return;
    case "drop":
      w.varint(2);
      encodeMessage(w, (b) => b.varint(resp.start).varint(resp.end).varint(resp.code));
      return;
    case "ok":
      return; // lite-05 acknowledges implicitly
  }
}

export function decodeSubscribeResponse(r: Reader, v: Version, max: number): SubscribeResponse {
  if (isLegacy(v)) {
    return decodeMessage(r, max, (b) => ({ kind: "ok", prefs: { priority: v === V.Lite01 ? b.u8() : 0, ordered: false, maxLatency: 0 } }));
  }
  const type = r.varint();
  if (!hasAnnounceOk(v)) {
    if (type === 0) {
      return decodeMessage(r, max, (b) => ({ kind: "ok", prefs: { priority: b.u8(), ordered: b.u8() !== 0, maxLatency: b.varint(), start: unopt(b.varint()), end: unopt(b.varint()) } }));
    }
    if (type === 1) return decodeMessage(r, max, (b) => ({ kind: "drop", start: b.varint(), end: b.varint(), code: b.varint() }));
    throw new DecodeError(`unknown subscribe response type ${type}`);
  }
  switch (type) {
    case 0:
      return decodeMessage(r, max, (b) => ({ kind: "start", group: b.varint() }));
    case 1:
      return decodeMessage(r, max, (b) => ({ kind: "end", group: b.varint() }));
    case 2:
      return decodeMessage(r, max, (b) => ({ kind: "drop", start: b.varint(), end: b.varint(), code: b.varint() }));
    default:
      throw new DecodeError(`unknown subscribe response type ${type}`);
  }
}
