import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import { networkInterfaces } from "node:os";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";

/** Prometheus text → samples ("name{labels}" → value), plus the label names seen per metric. */
function parse(text: string): { samples: Map<string, number>; labels: Map<string, Set<string>> } {
  const samples = new Map<string, number>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ""}`, Number(m[3]));
    const names = labels.get(m[1]) ?? new Set<string>();
    for (const l of (m[2] ?? "").matchAll(/(\w+)="/g)) names.add(l[1]);
    labels.set(m[1], names);
  }
  return { samples, labels };
}

async function scrape(url: string): Promise<ReturnType<typeof parse>> {
  const res = await within(fetch(url), 5000, `GET ${url}`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

const relay = await startTestRelay();
after(() => relay.close());

test("GET /metrics on the main port counts sessions, bytes, broadcasts, tracks and refusals for a loopback client", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "m", "video");
  const sub = await connect(relay.url("anon"));
  await waitAnnounced(sub, "m");
  const r = subscribe(sub, "m", "video");
  // Live once the subscription reached the publisher (a group written before is skipped).
  await servingLive(relay, "anon/m", "video", { publisher: p, ms: 10_000 });
  p.group(["0123456789", "abcdefghij"]);
  assert.equal((await r.nextGroup()).frames.length, 2);
  // A connection without a token where nothing is public: refused with 401.
  await assert.rejects(connect(relay.url("private")));

  const { samples: s, labels } = await scrape(relay.url("metrics").href);
  assert.equal(s.get('moq_relay_sessions{transport="websocket",protocol="moq-lite-05"}'), 2);
  assert.equal(s.get('moq_relay_sessions_opened_total{transport="websocket",protocol="moq-lite-05"}'), 2);
  assert.ok((s.get('moq_relay_bytes_total{direction="in"}') ?? 0) >= 20);
  assert.ok((s.get('moq_relay_bytes_total{direction="out"}') ?? 0) >= 20);
  assert.ok((s.get('moq_relay_frames_total{direction="in"}') ?? 0) >= 2);
  assert.ok((s.get('moq_relay_groups_total{direction="out"}') ?? 0) >= 1);
  assert.equal(s.get("moq_relay_broadcasts"), 1);
  assert.equal(s.get("moq_relay_tracks"), 1);
  assert.equal(s.get("moq_relay_viewers"), 1);
  assert.equal(s.get("moq_relay_subscriptions_opened_total"), 1);
  assert.ok((s.get("moq_relay_cache_bytes") ?? 0) >= 20);
  assert.equal(s.get('moq_relay_auth_refusals_total{reason="expected-token"}'), 1);
  assert.equal(s.get('moq_relay_accept_failures_total{listener="tcp",class="unauthorized"}'), 1);
  for (const name of ["moq_relay_fetches_total", "moq_relay_cache_evictions_total", "moq_relay_groups_dropped_total", "nodejs_eventloop_lag_seconds", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) {
    assert.ok(s.has(name), `${name} is exported`);
  }
  // Bounded label sets: no metric is labelled by path, broadcast, track, remote or session.
  for (const [name, set] of labels) {
    for (const l of ["path", "broadcast", "track", "remote", "session", "root"]) assert.ok(!set.has(l), `${name} has a ${l} label`);
  }

  pub.close();
  sub.close();
  await within(
    (async () => {
      for (;;) {
        const { samples } = await scrape(relay.url("metrics").href);
        if (samples.get('moq_relay_sessions_closed_total{transport="websocket",protocol="moq-lite-05"}') === 2) return samples;
        await new Promise((res) => setTimeout(res, 50));
      }
    })(),
    5000,
    "both sessions to be counted as closed",
  );
});

test("a broken TLS handshake on the TCP port is counted as an accept failure of class tls", async () => {
  const sock = tcpConnect(relay.port, "127.0.0.1");
  sock.on("error", () => undefined);
  await within(new Promise((r) => sock.once("connect", r)), 5000, "a TCP connection to the relay");
  // A TLS record header (handshake, TLS 1.0) followed by bytes that are no ClientHello.
  sock.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  await within(
    (async () => {
      for (;;) {
        const { samples } = await scrape(relay.url("metrics").href);
        if ((samples.get('moq_relay_accept_failures_total{listener="tcp",class="tls"}') ?? 0) >= 1) return;
        await new Promise((res) => setTimeout(res, 50));
      }
    })(),
    5000,
    "the TLS failure to be counted",
  );
  sock.destroy();
});

test("/metrics on the main port refuses a client that is not on loopback", async (t) => {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;
  if (address === undefined) return t.skip("no non-loopback IPv4 address on this machine");
  const open = await startTestRelay({ "server.bind": "0.0.0.0:0" });
  try {
    const res = await within(fetch(`http://${address}:${open.port}/metrics`), 5000, "GET /metrics from a non-loopback address");
    assert.equal(res.status, 403);
    assert.match(await res.text(), /ops_bind/);
    assert.equal((await fetch(`http://127.0.0.1:${open.port}/metrics`)).status, 200);
  } finally {
    await open.close();
  }
});

test("ops_bind serves /metrics, /health, /ready and /nodes on its own port, and the main port no longer serves /metrics", async () => {
  const r = await startTestRelay({ "http.ops_bind": "127.0.0.1:0" });
  try {
    assert.ok(r.opsPort !== undefined && r.opsPort > 0 && r.opsPort !== r.port);
    const ops = `http://127.0.0.1:${r.opsPort}`;
    const { samples } = await scrape(`${ops}/metrics`);
    assert.ok(samples.has("moq_relay_broadcasts"));
    assert.equal((await fetch(`${ops}/health`)).status, 200);
    assert.equal(await (await fetch(`${ops}/ready`)).text(), "ready\n");
    assert.equal((await fetch(`${ops}/nodes`)).status, 404);
    r.context.ops.setNodes(() => ({ node: "https://a.example", peers: [] }));
    r.context.ops.setPeerStates(() => ({ connected: 2, backoff: 1 }));
    assert.deepEqual(await (await fetch(`${ops}/nodes`)).json(), { node: "https://a.example", peers: [] });
    const again = await scrape(`${ops}/metrics`);
    assert.equal(again.samples.get('moq_relay_cluster_peers{state="connected"}'), 2);
    assert.equal(again.samples.get('moq_relay_cluster_peers{state="backoff"}'), 1);
    assert.equal((await fetch(r.url("metrics"))).status, 404);
  } finally {
    await r.close();
  }
});
