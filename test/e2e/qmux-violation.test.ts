// Malformed QMux-over-WebSocket sessions from an anonymous client: each is closed with a protocol
// violation code (the client reads it in CONNECTION_CLOSE, the relay reports ProtocolViolation),
// other sessions carry on, and a stream of them does not turn into a stream of log output.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { WebSocket } from "ws";
import { startChildRelay } from "../util/child-relay.js";
import { startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";
import { dialWebSocket } from "../../src/transport/websocket/client.js";
import { Code } from "../../src/session/error.js";

const relay = await startTestRelay();
after(() => relay.close());

/** What a raw WebSocket client saw of a QMux session it broke. */
interface Broken {
  /** The error code of the relay's CONNECTION_CLOSE (0x1c) frame, if one came. */
  connectionClose?: number;
  /** The WebSocket close code. */
  wsCode: number;
}

function varint(b: Uint8Array, at: number): number {
  const len = 1 << (b[at] >> 6);
  let v = b[at] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[at + i];
  return v;
}

/** Open a QMux session on `port` and send `bytes` as one binary message; resolve when it closes. */
function breakSession(port: number, bytes: Uint8Array, subprotocol = "qmux-01.moq-lite-05"): Promise<Broken> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/anon`, [subprotocol]);
  const seen: Broken = { wsCode: 0 };
  const done = new Promise<Broken>((resolve, reject) => {
    ws.on("open", () => ws.send(bytes));
    ws.on("message", (d: Buffer) => {
      // qmux-01/02 record: frames back to back; CONNECTION_CLOSE is the only one the relay
      // sends first in a record after the transport parameters.
      if (d[0] === 0x1c) seen.connectionClose = varint(d, 1);
    });
    ws.on("close", (code) => resolve({ ...seen, wsCode: code }));
    ws.on("error", reject);
  });
  return within(done, 10_000, "the relay to close a malformed QMux session", () => ws.terminate());
}

/** Bytes no QMux draft decodes: a frame type in an 8-byte varint that no draft defines. */
const GARBAGE = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03]);

async function counted(name: string, atLeast: number): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const n = relay.context.counters.errors.get(name) ?? 0;
    if (n >= atLeast || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A publisher and a viewer of `name` on their own sessions, live (a group has passed), while
 * `breakOne` breaks another session; then one more group must reach the same viewer.
 */
async function bystanders(name: string, breakOne: () => Promise<void>): Promise<void> {
  const pubConn = await connect(relay.url("anon"));
  const subConn = await connect(relay.url("anon"));
  try {
    const p = publish(pubConn, name, "video");
    // Subscribe once the broadcast is known, not in a race with its announcement.
    await waitAnnounced(subConn, "", name, 15_000);
    const viewer = subscribe(subConn, name, "video");
    await p.waitSubscribed(15_000);
    p.group([new Uint8Array([1])]);
    assert.equal((await viewer.nextGroup(10_000)).sequence, 0);
    await breakOne();
    // Unaffected: the same viewer gets the next group, the publisher is still connected.
    p.group([new Uint8Array([2])]);
    assert.equal((await viewer.nextGroup(10_000)).sequence, 1);
  } finally {
    pubConn.close();
    subConn.close();
  }
}

test("a malformed QMux session is closed with CONNECTION_CLOSE 1002 and counted as ProtocolViolation; a viewer on another session keeps receiving", () =>
  bystanders("qv", async () => {
    const before = relay.context.counters.errors.get("ProtocolViolation") ?? 0;
    for (const sub of ["qmux-02.moq-lite-05", "qmux-01.moq-lite-05"]) {
      const seen = await breakSession(relay.port, GARBAGE, sub);
      // qmux's code for a protocol violation in its CONNECTION_CLOSE.
      assert.equal(seen.connectionClose, 1002, `${sub}: CONNECTION_CLOSE code`);
    }
    // Reported by the relay as the protocol violation it is (it was "none", code 0, before).
    assert.equal(await counted("ProtocolViolation", before + 2), before + 2);
  }));

test("malformed moq-lite bytes on a well-formed QMux session close that session with the MoQ code the client reads; others are unaffected", () =>
  bystanders("qv2", async () => {
    const s = await dialWebSocket({
      url: new URL(`ws://127.0.0.1:${relay.port}/anon`),
      protocols: ["moq-lite-05"],
      timeoutMs: 5000,
      pingInterval: 0,
      streamWindow: 1 << 16,
      connectionWindow: 1 << 20,
      maxStreams: 16,
    });
    // A SUBSCRIBE whose 3-byte body starts an 8-byte varint: it cannot decode.
    const bidi = await s.openBidi();
    bidi.send.write(new Uint8Array([0x02, 0x03, 0xc0, 0x00, 0x00]));
    const info = await within(s.closed, 10_000, "the relay to close the session");
    assert.equal(info.remote, true, "the relay closed it");
    // APPLICATION_CLOSE with the MoQ code, as the QUIC and WebTransport paths close it.
    assert.equal(info.code, Code.Decode, `close code ${info.code} (${info.reason})`);
  }));

test("300 malformed QMux sessions against the relay process write a bounded amount of log, all of it structured", async () => {
  const child = await startChildRelay(["--set", "log.level=warn"]);
  try {
    const start = child.written();
    const startText = child.stderr().length;
    const began = Date.now();
    const N = 300;
    for (let i = 0; i < N; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => breakSession(child.port, GARBAGE)));
      for (const b of batch) assert.equal(b.connectionClose, 1002);
    }
    // The last close's log line (if any) is written before the relay answers this.
    assert.ok((await fetch(`http://127.0.0.1:${child.port}/ready`)).ok);
    const seconds = (Date.now() - began) / 1000;
    const wrote = child.written() - start;
    const lines = child.stderr().slice(startText).split("\n").filter((l) => l !== "");
    const stray = lines.filter((l) => !l.startsWith("{"));
    assert.deepEqual(stray.slice(0, 3), [], "output that is not a structured log line (qmux's console.error)");
    const reports = lines.filter((l) => (JSON.parse(l) as { msg?: string }).msg === "malformed QMux session closed");
    assert.ok(reports.length >= 1, "no structured line about the malformed sessions");
    // SharedRate: a burst of 5, then one per 5 s.
    assert.ok(reports.length <= 6 + seconds / 5, `${reports.length} lines in ${seconds.toFixed(1)} s`);
    // Before: ~1 KB of stack trace per session (300 KB here).
    assert.ok(wrote < 8 * 1024, `the relay wrote ${wrote} bytes for ${N} malformed sessions`);
    assert.ok(child.alive());
  } finally {
    await child.kill();
  }
});
