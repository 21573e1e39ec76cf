// Benchmark child process: one publisher (the real @moq/net client over QMux/WebSocket) writing
// one track at a fixed rate, every frame stamped with its send time (bench/lib/payload.ts).
// argv: port root broadcast track frameBytes fps groupMs
import "../test/util/polyfill.js";
import { connect, publish } from "../test/util/moq.js";
import type { GroupProducer } from "../test/util/page/types.js";
import { STAMP_BYTES, stamp } from "./lib/payload.js";
import * as Moq from "@moq/net";

const [port, root, broadcast, track, frameBytes, fps, groupMs] = process.argv.slice(2);
const size = Math.max(STAMP_BYTES, Number(frameBytes));
const perGroup = Math.max(1, Math.round((Number(groupMs) / 1000) * Number(fps)));
const interval = 1000 / Number(fps);

// The client reports its own connection closing (our exit) as an error; anything else still shows.
for (const k of ["log", "warn", "error"] as const) {
  const orig = console[k].bind(console);
  console[k] = (...args: unknown[]) => {
    if (/Connection closed: 0/.test(args.map(String).join(" "))) return;
    orig(...args);
  };
}

const conn = await connect(`http://127.0.0.1:${port}${root}`);
const pub = publish(conn, broadcast, track);
let group: GroupProducer | undefined;
let seq = -1;
let inGroup = 0;
let sent = 0;
let bytes = 0;
const t0 = performance.now();

function frame(): void {
  if (group === undefined || inGroup >= perGroup) {
    group?.close();
    group = pub.track.appendGroup();
    seq++;
    inGroup = 0;
  }
  // A fresh buffer per frame: the client keeps a reference until the relay has it.
  const payload = new Uint8Array(size);
  stamp(payload, seq, inGroup);
  group.writeFrame({ payload, timestamp: Moq.Time.Timestamp.now() });
  inGroup++;
  sent++;
  bytes += size;
}

// Catch up by elapsed time so timer jitter does not change the offered rate.
const timer = setInterval(() => {
  const due = Math.floor((performance.now() - t0) / interval) + 1;
  while (sent < due) frame();
}, Math.max(1, Math.min(interval, 20)));

process.send?.({ ready: true });
process.on("message", (m: { cmd: string }) => {
  if (m.cmd === "stats") process.send?.({ sent, bytes, groups: seq + 1 });
  if (m.cmd === "exit") {
    clearInterval(timer);
    conn.close();
    setTimeout(() => process.exit(0), 50);
  }
});
process.on("disconnect", () => process.exit(0));
