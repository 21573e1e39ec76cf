import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptSessions, failsAvailable, type FailsSession } from "../../src/transport/fails.js";
import type { Session } from "../../src/transport/session.js";
import { silentLogger } from "../../src/util/log.js";
import { within } from "../util/moq.js";
import { startTestRelay } from "../util/relay.js";

const available = await failsAvailable();

test('engine "fails-quiche" without its native transport is a clear startup error', { skip: available && "the fails-quiche transport is installed here" }, async () => {
  await assert.rejects(startTestRelay({ "server.engine": "fails-quiche" }), /webtransport-transport-http3-quiche, which is not installed/);
});

test('engine "fails-quiche" serves sessions when its transport is installed', { skip: !available && "@fails-components/webtransport-transport-http3-quiche is not installed (its install downloads from GitHub, unreachable here)" }, async () => {
  const relay = await startTestRelay({ "server.engine": "fails-quiche" });
  const res = await fetch(relay.url("certificate.sha256"));
  assert.equal(res.status, 200);
  await relay.close();
});

/** A fails-quiche session as the library hands it over, whose handshake ends as `ready` says. */
function failsSession(ready: Promise<void>, peerAddress: string, url: string): FailsSession {
  const empty = <T>(): ReadableStream<T> => new ReadableStream<T>();
  return {
    ready,
    closed: new Promise(() => undefined),
    incomingBidirectionalStreams: empty(),
    incomingUnidirectionalStreams: empty(),
    createBidirectionalStream: () => Promise.reject(new Error("not in this test")),
    createUnidirectionalStream: () => Promise.reject(new Error("not in this test")),
    close: () => undefined,
    peerAddress,
    userData: { url },
  };
}

test("the fails-quiche accept loop survives a failed handshake, is not held up by a stalled one, and gives each session its peer's address", async () => {
  let push!: (s: FailsSession) => void;
  const sessions = new ReadableStream<FailsSession>({ start: (c) => void (push = (s) => c.enqueue(s)) });
  const got: Session[] = [];
  let arrived!: () => void;
  const two = new Promise<void>((resolve) => (arrived = resolve));
  acceptSessions(sessions, {
    log: silentLogger(),
    onSession: (s) => {
      got.push(s);
      if (got.length === 2) arrived();
    },
  });
  const failed = Promise.reject(new Error("handshake failed"));
  failed.catch(() => undefined);
  push(failsSession(failed, "198.51.100.1:1000", "https://relay/anon/a"));
  push(failsSession(new Promise(() => undefined), "198.51.100.2:2000", "https://relay/anon/b"));
  push(failsSession(Promise.resolve(), "203.0.113.7:5555", "https://relay/anon/c"));
  push(failsSession(Promise.resolve(), "[2001:db8::1]:6666", "https://relay/anon/d"));
  await within(two, 5000, "the two sessions whose handshakes completed");
  assert.deepEqual(got.map((s) => [s.remote, s.url.pathname]), [
    ["203.0.113.7:5555", "/anon/c"],
    ["[2001:db8::1]:6666", "/anon/d"],
  ]);
});
