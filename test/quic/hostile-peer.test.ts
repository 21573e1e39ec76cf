// A QUIC peer that refuses the relay every unidirectional stream (initial_max_streams_uni = 0) and
// hangs up: HTTP/3 cannot open its control and QPACK streams. Only that connection may suffer; the
// relay process keeps running and serving.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { QuicEndpoint } from "../../src/transport/quic/endpoint.js";
import { silentLogger } from "../../src/util/log.js";
import { startChildRelay } from "../util/child-relay.js";
import { within } from "../util/moq.js";

const log = silentLogger();
const quic = { idle_timeout: 5000, keep_alive: 0, stream_window: 1 << 20, connection_window: 8 << 20, socket_buffer: 1 << 20 };

const relay = await startChildRelay();
// max_streams 0: this client grants the server no streams of either kind.
const stingy = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: { ...quic, max_streams: 0 }, log });
const normal = await QuicEndpoint.bind({ host: "127.0.0.1", port: 0, quic: { ...quic, max_streams: 100 }, log });
after(async () => {
  await stingy.close();
  await normal.close();
  await relay.kill();
});

test("an HTTP/3 client that grants no uni streams and closes does not crash the relay", async () => {
  for (let round = 0; round < 5; round++) {
    const conns = await Promise.all(
      Array.from({ length: 4 }, () => within(stingy.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["h3"], insecure: true }), 5000, "the stingy handshake")),
    );
    for (const c of conns) c.close(0, "bye");
    await Promise.all(conns.map((c) => within(c.closed, 5000, "the stingy connection to close")));
  }
  // The relay's side notices the close on its next packet/timer; give it a probe to answer.
  const probe = await within(normal.connect({ host: "127.0.0.1", port: relay.port, serverName: "localhost", alpns: ["h3"], insecure: true }), 5000, "a normal handshake after the stingy ones");
  probe.close(0, "");
  const health = await within(fetch(`http://127.0.0.1:${relay.port}/health`), 5000, "/health");
  assert.equal(health.status, 200);
  assert.ok(relay.alive(), `the relay exited:\n${relay.stderr()}`);
  assert.doesNotMatch(relay.stderr(), /"level":60/, "nothing reached the last-resort handler");
});
