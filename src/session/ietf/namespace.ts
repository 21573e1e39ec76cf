// Track namespaces are tuples of byte strings; the relay's broadcast paths are "/"-joined
// segments ("a/b/c" ⇄ ["a","b","c"], moq-wire §3.6). A segment holding "/" has no path form and
// is refused rather than silently merged with its neighbour.
import { DecodeError } from "../../util/bytes.js";
import { hasRequiredRequestIdDelta } from "./version.js";
import type { IetfReader, IetfWriter } from "./wire.js";

/** The drafts allow at most 32 tuple fields. */
export const MAX_FIELDS = 32;
/** Longest field we accept (a path segment). */
const MAX_FIELD = 4096;

export function toTuple(path: string): string[] {
  return path === "" ? [] : path.split("/");
}

export function encodeNamespace(w: IetfWriter, path: string): void {
  const parts = toTuple(path);
  if (parts.length > MAX_FIELDS) throw new RangeError(`namespace of ${parts.length} fields exceeds ${MAX_FIELDS}`);
  w.varint(parts.length);
  for (const p of parts) w.string(p);
}

export function decodeNamespace(r: IetfReader): string {
  const n = r.varint();
  if (n > MAX_FIELDS) throw new DecodeError(`namespace of ${n} fields exceeds ${MAX_FIELDS}`);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = r.string(MAX_FIELD);
    if (p.includes("/")) throw new DecodeError("a namespace field contains '/'");
    parts.push(p);
  }
  return parts.join("/");
}

/** The head SUBSCRIBE, TRACK_STATUS and PUBLISH share: `Req · [Required Request ID Delta (17)] · Namespace · Name`. */
export interface TrackRequestHead {
  requestId: number;
  namespace: string;
  track: string;
}

export function readTrackRequestHead(r: IetfReader): TrackRequestHead {
  const requestId = r.varint();
  if (hasRequiredRequestIdDelta(r.draft)) r.varint();
  const namespace = decodeNamespace(r);
  return { requestId, namespace, track: r.string(4096) };
}

export function writeTrackRequestHead(w: IetfWriter, h: TrackRequestHead): void {
  w.varint(h.requestId);
  if (hasRequiredRequestIdDelta(w.draft)) w.varint(0);
  encodeNamespace(w, h.namespace);
  w.string(h.track);
}
