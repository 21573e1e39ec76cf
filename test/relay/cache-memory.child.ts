// Child process for cache.test's memory checks (run with --expose-gc by runMeasured): publishes
// many 256 KiB groups through the relay core with a reading viewer and reports the memory left
// after GC. Mode "budget": 3,000 groups against a 4 MiB budget. Mode "age": 160 groups within a
// large budget and max_age = 1 s, then memory again once they expired.
import { Origin } from "../../src/relay/origin.js";
import type { GroupCursor } from "../../src/relay/group.js";
import type { BroadcastSource, TrackSink, ViewerSink } from "../../src/relay/types.js";
import { heapAfterGc, MiB } from "../util/heap.js";

const mode = process.argv[2] ?? "budget";
const GROUP = 256 * 1024;
const FRAMES = 4;

let sink: TrackSink | undefined;
const source: BroadcastSource = {
  trackInfo: () => Promise.resolve({ priority: 0, ordered: false, maxLatency: 30_000, timescale: 1000 }),
  subscribe: (_t, s) => {
    sink = s;
    return { update: () => undefined, close: () => undefined };
  },
};
/** A viewer that keeps up: reads each group to its end and lets go. */
const viewer: ViewerSink = {
  group(c: GroupCursor) {
    const read = (): void => {
      c.index = c.group.payloads.length;
      if (c.group.done) c.close();
    };
    c.onChange = read;
    read();
  },
  end: () => undefined,
  close: () => undefined,
};

const budget = mode === "budget" ? 4 * MiB : 1024 * MiB;
const origin = new Origin({ cache: { max_bytes: budget, max_age: mode === "budget" ? 30_000 : 1000, linger: 0 }, limits: { subscriber_queue_groups: 4 } }, { sweepInterval: 200 });
const before = await heapAfterGc();
const track = origin.announce("b", source).track("video");
const sub = track.subscribe(viewer);
await new Promise((r) => setImmediate(r));
const groups = mode === "budget" ? 3000 : 160;
for (let seq = 0; seq < groups; seq++) {
  const g = sink?.group(seq);
  // Fresh buffers per frame, as a transport hands them over.
  for (let f = 0; f < FRAMES; f++) g?.append(seq * FRAMES + f, new Uint8Array(GROUP / FRAMES).fill(seq & 0xff));
  g?.finish();
  if (seq % 100 === 0) await new Promise((r) => setImmediate(r));
}
const full = await heapAfterGc();
let expired = full;
if (mode === "age") {
  // The sweep runs every 200 ms; groups older than 1 s go (the newest stays).
  await new Promise((r) => setTimeout(r, 1600));
  expired = await heapAfterGc();
}
const result = { before, full, expired, cached: origin.cache.total, groups: track.groups.length };
sub.close();
origin.close();
console.log(JSON.stringify(result));
