// `[server] workers = 2` on the real relay binary with real WebTransport clients, each on its own
// UDP socket so that SO_REUSEPORT spreads them over both workers (the relay's "session opened"
// log lines carry the serving worker). A broadcast published on one worker reaches viewers on
// both byte for byte, each worker holds one upstream subscription for the track (and the
// publisher sees exactly one), the publisher leaving ends the broadcast everywhere, and SIGTERM
// drains every worker and exits 0. On Node < 22.12 the relay runs one worker and says so once.
import "../util/polyfill.js";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { availableParallelism } from "node:os";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/util/log.js";
import { cacheShare, chooseWorkers, hasReusePort, workerConfig } from "../../src/workers/pool.js";
import { startChildRelay, type ChildRelay } from "../util/child-relay.js";
import { startTestRelay } from "../util/relay.js";
import { connect, within, type Conn } from "../util/moq.js";
import { dialWt, payloadOf, Publisher, Viewer } from "./clients.js";

const MULTI = hasReusePort();
const skipMulti = MULTI ? false : `SO_REUSEPORT on UDP needs Node >= 22.12 (this is ${process.versions.node}); CI runs this on Node 24`;

interface WorkersDoc {
  workers: Array<{ worker: number; sessions: number; broadcasts: number; upstream_subscriptions: number; tracks: Array<{ broadcast: string; track: string; viewers: number; upstreams: number }> }>;
}

async function nodes(relay: ChildRelay): Promise<WorkersDoc> {
  const r = await fetch(`http://127.0.0.1:${relay.port}/workers`);
  assert.equal(r.status, 200);
  return (await r.json()) as WorkersDoc;
}

/** The worker serving the session whose remote port is `local`, from the relay's log. */
function workerOf(relay: ChildRelay, local: number): number | undefined {
  for (const line of relay.stderr().split("\n")) {
    if (!line.includes('"session opened"') || !line.includes(`:${local}"`)) continue;
    const o = JSON.parse(line) as { worker?: number; remote?: string };
    if (o.remote?.endsWith(`:${local}`) === true) return o.worker;
  }
  return undefined;
}

async function waitFor<T>(what: string, ms: number, fn: () => T | undefined | Promise<T | undefined>): Promise<T> {
  return within(
    (async () => {
      for (;;) {
        const v = await fn();
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    ms,
    what,
  );
}

test("workers = 2: one broadcast, viewers on both workers, byte-identical frames, one upstream per worker, end and drain", { skip: skipMulti, timeout: 180_000 }, async () => {
  const relay = await startChildRelay(["--set", "server.workers=2", "--set", "http.drain_timeout=5s"]);
  const viewers: Viewer[] = [];
  let pub: Publisher | undefined;
  try {
    assert.match(relay.stderr(), /"workers":2,"port":\d+,"msg":"UDP served by worker processes/);
    assert.equal((await nodes(relay)).workers.length, 2);
    // Workers are linked like cluster peers, but without [cluster] the relay is not in a cluster.
    const cluster = await fetch(`http://127.0.0.1:${relay.port}/nodes`);
    assert.equal(cluster.status, 404);
    assert.equal(await cluster.text(), "this relay is not part of a cluster\n");

    pub = new Publisher(await dialWt(relay.port, "/anon"), "w");
    const p = pub;
    const pubWorker = await waitFor("the publisher's session to be logged", 10_000, () => workerOf(relay, p.dial.local));
    // A viewer subscribing before its worker learned of the broadcast would be told it does not
    // exist (as with a cluster peer): wait until every worker knows it.
    await waitFor("every worker to learn of the broadcast", 10_000, async () => ((await nodes(relay)).workers.every((w) => w.broadcasts > 0) ? true : undefined));
    // Viewers from fresh sockets until both workers serve at least two (bounded attempts).
    const on = new Map<number, number>();
    for (let i = 0; i < 40 && !((on.get(0) ?? 0) >= 2 && (on.get(1) ?? 0) >= 2); i++) {
      const v = new Viewer(await dialWt(relay.port, "/anon"), "w", "video");
      viewers.push(v);
      const w = await waitFor("a viewer's session to be logged", 10_000, () => workerOf(relay, v.dial.local));
      on.set(w, (on.get(w) ?? 0) + 1);
    }
    assert.ok((on.get(0) ?? 0) >= 2 && (on.get(1) ?? 0) >= 2, `viewers spread over both workers: ${JSON.stringify([...on])}`);
    const otherWorker = 1 - pubWorker;
    assert.ok((on.get(otherWorker) ?? 0) > 0, "some viewers are on the worker without the publisher");

    // Every viewer's subscription reached the publisher through its worker: wait until both
    // workers hold the track, then publish.
    await waitFor("both workers to hold the track", 20_000, async () => {
      const d = await nodes(relay);
      return d.workers.every((w) => w.tracks.some((t) => t.broadcast === "anon/w" && t.track === "video")) ? true : undefined;
    });
    const GROUPS = 12;
    const FRAMES = 5;
    for (let g = 0; g < GROUPS; g++) {
      p.group(g, FRAMES);
      await new Promise((r) => setTimeout(r, 30));
    }
    for (const v of viewers) {
      await v.until(() => v.groups.has(GROUPS - 1), 20_000, "a viewer to receive the last group").catch((err: unknown) => {
        const seen = viewers.map((x) => `worker ${workerOf(relay, x.dial.local)}: [${[...x.groups.keys()].join(",")}] ${x.ended ?? ""}`);
        throw new Error(`${String(err)}; publisher on worker ${pubWorker}; viewers: ${seen.join("; ")}`);
      });
    }
    for (const v of viewers) {
      // The newest groups reach everyone; every group received is exactly what was published.
      assert.ok(v.groups.size >= GROUPS / 2, `a viewer received ${v.groups.size} of ${GROUPS} groups`);
      for (const [g, frames] of v.groups) assert.deepEqual(frames, Array.from({ length: FRAMES }, (_, f) => payloadOf(g, f)), `group ${g} byte for byte`);
    }

    // One upstream subscription per track per worker, and the publisher saw exactly one. /workers
    // shows each worker's latest snapshot (sent every 500 ms, later on a loaded machine): wait
    // until every worker's shows all its viewers, then assert the exact counts.
    const expectedViewers = (worker: number): number => (on.get(worker) ?? 0) + (worker === pubWorker ? 1 : 0);
    const d = await waitFor("every worker's snapshot to count its viewers", 10_000, async () => {
      const doc = await nodes(relay);
      const counted = doc.workers.every((w) => w.tracks.some((t) => t.broadcast === "anon/w" && t.track === "video" && t.viewers >= expectedViewers(w.worker)));
      return counted ? doc : undefined;
    });
    for (const w of d.workers) {
      const held = w.tracks.filter((t) => t.broadcast === "anon/w" && t.track === "video");
      assert.equal(held.length, 1, `worker ${w.worker} holds the track once`);
      assert.equal(held[0].upstreams, 1);
      // The publisher's worker also serves the main thread's link (which carries the other worker's viewers).
      assert.equal(held[0].viewers, expectedViewers(w.worker), `worker ${w.worker}'s viewers on its one upstream`);
      assert.equal(w.upstream_subscriptions, 1, `worker ${w.worker} has one upstream subscription`);
    }
    assert.deepEqual(p.subscribes, ["video"], "the publisher got one subscription for all viewers");

    // The publisher leaves: the broadcast ends for viewers on both workers.
    await p.close();
    pub = undefined;
    for (const v of viewers) await v.until(() => v.ended !== undefined, 15_000, "a viewer's subscription to end");
    await waitFor("every worker to drop the broadcast", 10_000, async () => ((await nodes(relay)).workers.every((w) => w.tracks.length === 0) ? true : undefined));

    // SIGTERM with viewers still connected: every worker drains, the relay exits 0.
    const sessionsBefore = viewers.length;
    assert.ok(sessionsBefore > 0);
    relay.child.kill("SIGTERM");
    const code = await within(relay.exited, 20_000, "the relay to exit after SIGTERM");
    assert.equal(code, 0, relay.stderr().slice(-3000));
    for (const v of viewers) await within(v.dial.session.closed, 10_000, "a viewer's session to be closed by the drain");
    assert.match(relay.stderr(), /"msg":"stopped"/);
  } finally {
    await pub?.close();
    for (const v of viewers) await v.close();
    await relay.kill();
  }
});

test("workers = 2: /metrics sums the workers' sessions; SIGHUP reaches every worker", { skip: skipMulti, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "moq-workers-"));
  const file = join(dir, "relay.toml");
  const toml = (pub: string): string => `[server]\nworkers = 2\n[tls]\ngenerate = ["localhost", "127.0.0.1"]\n[auth]\npublic = "${pub}"\n`;
  writeFileSync(file, toml("anon"));
  const relay = await startChildRelay([file]);
  const viewers: Viewer[] = [];
  try {
    const on = new Set<number>();
    for (let i = 0; i < 40 && on.size < 2; i++) {
      const v = new Viewer(await dialWt(relay.port, "/anon"), "x", "video");
      viewers.push(v);
      on.add(await waitFor("a viewer's session to be logged", 10_000, () => workerOf(relay, v.dial.local)));
    }
    assert.equal(on.size, 2, "sessions on both workers");
    const live = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^moq_relay_sessions\{[^}]*transport="webtransport"[^}]*\} (\d+)$/gm)) n += Number(m[1]);
      return n;
    };
    await waitFor("/metrics to count every worker's sessions", 10_000, async () => ((await live()) === viewers.length ? true : undefined));

    // Close anonymous access under anon/ and reload: no worker admits a new anonymous session there.
    writeFileSync(file, toml("elsewhere"));
    relay.child.kill("SIGHUP");
    await waitFor("every worker to confirm the reload", 10_000, () => (relay.stderr().includes('"msg":"configuration reloaded in every UDP worker"') ? true : undefined));
    let refused = 0;
    const tries = 8;
    for (let i = 0; i < tries; i++) {
      await dialWt(relay.port, "/anon").then(
        async (d) => {
          d.session.close(0, "");
          await d.endpoint.close();
        },
        () => refused++,
      );
    }
    assert.equal(refused, tries, "every dial refused after the reload (8 fresh sockets: both workers, but with odds of 1 in 128)");
  } finally {
    for (const v of viewers) await v.close();
    await relay.kill();
  }
});

test("workers = 2: [limits] max_sessions holds for the relay as a whole, across the main process and both workers", { skip: skipMulti, timeout: 120_000 }, async () => {
  const relay = await startChildRelay(["--set", "server.workers=2", "--set", "limits.max_sessions=2"]);
  const dials: Array<Awaited<ReturnType<typeof dialWt>>> = [];
  const ws: Conn[] = [];
  /** A WebTransport dial from a fresh socket: "open", or how it was refused (at CONNECT or closed right after). */
  const attempt = async (): Promise<string> => {
    let d: Awaited<ReturnType<typeof dialWt>>;
    try {
      d = await dialWt(relay.port, "/anon");
    } catch (err) {
      return `refused: ${String(err)}`;
    }
    dials.push(d);
    // A worker's refusal comes one IPC round trip after the session opened: 3 s is room for a
    // loaded machine's, and a session still open then was admitted.
    const closed = await Promise.race([d.session.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
    return closed === undefined ? "open" : `closed ${closed.code}`;
  };
  try {
    // One session on TCP (the main process), one on UDP (a worker): the relay is full.
    ws.push(await connect(`http://127.0.0.1:${relay.port}/anon`));
    assert.equal(await attempt(), "open");
    // Eight more from fresh sockets land on both workers (all on the first one's: 1 in 256):
    // each worker alone holds fewer than two, but every one is refused, at CONNECT (429): the
    // worker asks the main process before it answers (the close one IPC round trip after the
    // session opened is only for sessions racing each other).
    for (let i = 0; i < 8; i++) assert.match(await attempt(), /^refused/, `attempt ${i}`);
    await assert.rejects(connect(`http://127.0.0.1:${relay.port}/anon`), "a WebSocket session is refused too");
    assert.equal(await Promise.race([dials[0].session.closed.then(() => "closed"), Promise.resolve("open")]), "open", "the admitted session stays");
    // A slot given back on TCP is one a worker can take.
    ws[0].close();
    await waitFor("a session from a fresh socket to be admitted again", 20_000, async () => ((await attempt()) === "open" ? true : undefined));
  } finally {
    for (const c of ws) c.close();
    for (const d of dials) {
      d.session.close(0, "");
      await d.endpoint.close();
    }
    await relay.kill();
  }
});

test("workers = 2: a worker that dies takes the relay down (exit 70) for a supervisor to restart", { skip: skipMulti, timeout: 60_000 }, async () => {
  const relay = await startChildRelay(["--set", "server.workers=2"]);
  try {
    const pid = relay.child.pid ?? 0;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ").map(Number);
    assert.equal(children.length, 2, "two worker processes");
    process.kill(children[0], "SIGKILL");
    assert.equal(await within(relay.exited, 15_000, "the relay to exit"), 70);
    assert.match(relay.stderr(), /"msg":"a UDP worker process ended: exiting"/);
    // The other worker follows its parent out (its IPC channel closed).
    await waitFor("the other worker to exit", 10_000, () => (existsSync(`/proc/${children[1]}`) ? undefined : true));
  } finally {
    await relay.kill();
  }
});

test("workers = 2 on Node < 22.12: accepted, one worker, said once", { skip: MULTI ? "this Node has SO_REUSEPORT on UDP: the multi-worker test covers it" : false, timeout: 60_000 }, async () => {
  const relay = await startChildRelay(["--set", "server.workers=2"]);
  try {
    const lines = relay.stderr().split("\n").filter((l) => l.includes("server.workers needs Node >= 22.12"));
    assert.equal(lines.length, 1, relay.stderr());
    assert.doesNotMatch(relay.stderr(), /UDP served by worker processes/);
    const v = new Viewer(await dialWt(relay.port, "/anon"), "w", "video");
    await waitFor("the session to be logged", 10_000, () => (relay.stderr().includes('"session opened"') ? true : undefined));
    await v.close();
  } finally {
    await relay.kill();
  }
});

test("workers > 1 fall back to one, with one line saying why, where they cannot run", () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) });
  const count = (set: string[]): number => {
    const { config } = loadConfig({ flags: { set: ["server.workers=2", ...set] }, env: {} });
    return chooseWorkers(config, createLogger({ ...config.log, format: "json" }, sink)).count;
  };
  assert.equal(count(["server.workers=1"]), 1);
  assert.equal(count(["server.udp=false"]), 1);
  assert.equal(lines.length, 0, "nothing to say when one worker was asked for or UDP is off");
  const cluster = ["cluster.nodes=https://127.0.0.1:1", "cluster.node=https://127.0.0.1:2"];
  assert.equal(count(cluster), 1);
  assert.equal(lines.length, 1);
  const why = MULTI ? /does not combine with \[cluster\]/ : /needs Node >= 22.12/;
  // Asked for in so many words and not to be had: a warning.
  assert.match(lines[0], why);
  assert.equal((JSON.parse(lines[0]) as { level: number }).level, 40, lines[0]);
  // The default (0, one per core) where it cannot be had is expected: one info line.
  if (availableParallelism() > 1) {
    assert.equal(count([...cluster, "server.workers=0"]), 1);
    assert.equal(lines.length, 2);
    assert.match(lines[1], why);
    assert.match(lines[1], /UDP served in the main process/);
    assert.equal((JSON.parse(lines[1]) as { level: number }).level, 30, lines[1]);
  }
  if (MULTI) {
    assert.equal(count([]), 2);
    assert.equal(count(["server.workers=0"]), availableParallelism());
  }
});

test("the cache budget is shared out between the main process and the workers; /workers says why there are none", { timeout: 60_000 }, async () => {
  const MiB = 1 << 20;
  const { config } = loadConfig({ flags: { set: ["cache.max_bytes=300MiB"] }, env: {} });
  const w = workerConfig(config, 2, "silent");
  assert.equal(w.cache.max_bytes, 100 * MiB, "one third each for two workers and the main process");
  assert.equal(w.log.level, "silent", "workers log at the main process's level");
  assert.equal(config.cache.max_bytes, 300 * MiB, "the main process's config is left as it is");
  assert.equal(cacheShare(300 * MiB, 1), 300 * MiB);

  const one = await startTestRelay({ "server.workers": 1, "cache.max_bytes": "3MiB" });
  try {
    assert.equal(one.origin.cache.budget, 3 * MiB);
    const r = await fetch(one.url("workers"));
    assert.equal(r.status, 404);
    assert.equal(await r.text(), "UDP is served in the main process: server.workers = 1\n");
  } finally {
    await one.close();
  }
  if (!MULTI) return;
  const two = await startTestRelay({ "server.workers": 2, "cache.max_bytes": "3MiB" });
  try {
    assert.equal(two.origin.cache.budget, MiB, "the main process keeps its third");
    const r = await fetch(two.url("workers"));
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as WorkersDoc).workers.length, 2);
  } finally {
    await two.close();
  }
});

test("reusePort support follows the Node version", () => {
  assert.equal(hasReusePort("20.20.2"), false);
  assert.equal(hasReusePort("22.11.0"), false);
  assert.equal(hasReusePort("22.12.0"), true);
  assert.equal(hasReusePort("23.0.0"), false);
  assert.equal(hasReusePort("23.1.0"), true);
  assert.equal(hasReusePort("24.22.3"), true);
});
