// The benchmark's frame payload: the publisher stamps each frame with its wall-clock send time so
// receivers in other processes can measure latency without any relay help.
//   0..7   send time, ms since the epoch (float64 LE, sub-ms precision)
//   8..11  group sequence (u32 LE)
//   12..15 frame index within the group (u32 LE)
export const STAMP_BYTES = 16;

/** Milliseconds since the epoch with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function stamp(buf: Uint8Array, group: number, frame: number): void {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  v.setFloat64(0, nowMs(), true);
  v.setUint32(8, group >>> 0, true);
  v.setUint32(12, frame >>> 0, true);
}

export interface Stamp {
  sent: number;
  group: number;
  frame: number;
}

/** Read a stamp, or undefined for a payload too short to carry one. */
export function readStamp(p: Uint8Array): Stamp | undefined {
  if (p.byteLength < STAMP_BYTES) return undefined;
  const v = new DataView(p.buffer, p.byteOffset, STAMP_BYTES);
  return { sent: v.getFloat64(0, true), group: v.getUint32(8, true), frame: v.getUint32(12, true) };
}
