// Loaded into a relay process under test (node --expose-gc --import this): on SIGUSR2 it runs a
// full garbage collection and writes one JSON line to stderr with the process's memory after it.
// The relay itself is unchanged; tests read the line from the relay's log (harness.ts mem()).
// Worker processes inherit the node options, so each of them answers too (with its own pid).
// Plain JS: the relay runs from dist/ without tsx.
import process from "node:process";
import { setTimeout } from "node:timers";

process.on("SIGUSR2", () => {
  globalThis.gc?.();
  // ArrayBuffer backing stores are freed by a sweep that finishes after gc() returns: collect
  // again a moment later, so `external` and `arrayBuffers` count what is really still held.
  setTimeout(() => {
    globalThis.gc?.();
    const m = process.memoryUsage();
    process.stderr.write(`${JSON.stringify({ msg: "gc-probe", pid: process.pid, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  }, 100);
});
