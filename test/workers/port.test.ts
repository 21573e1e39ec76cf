// The MessagePort transport between threads: streams in both directions carry bytes in order,
// FIN / reset / STOP_SENDING reach the other side, a paused receiver stops the sender at its
// window (write() reports backpressure, onDrain fires once it reads again), and closing one side
// ends the other's streams. Real MessageChannel ports (in one thread: the wire is the same).
import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { test } from "node:test";
import { fromMessagePort, PortSession, STREAM_WINDOW } from "../../src/transport/port/session.js";
import type { RecvStream } from "../../src/transport/session.js";

function pair(maxStreams = 100): { a: PortSession; b: PortSession } {
  const ch = new MessageChannel();
  const a = new PortSession(fromMessagePort(ch.port1), { initiator: true, remote: "b", protocol: "moq-lite-05", maxStreams });
  const b = new PortSession(fromMessagePort(ch.port2), { initiator: false, remote: "a", protocol: "moq-lite-05", maxStreams });
  return { a, b };
}

function within<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, rej) => (t = setTimeout(() => rej(new Error("timed out")), ms)))]).finally(() => clearTimeout(t));
}

function readAll(r: RecvStream): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    r.onData = (c) => parts.push(c);
    r.onEnd = () => resolve(Buffer.concat(parts));
    r.onReset = (code) => reject(new Error(`reset ${code}`));
  });
}

test("uni and bidi streams carry bytes in order both ways, and FIN", async () => {
  const { a, b } = pair();
  const got = new Promise<Buffer>((resolve) => (b.onUni = (r) => resolve(readAll(r))));
  const s = await a.openUni();
  const payload = Buffer.alloc(3 * STREAM_WINDOW + 17);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
  // Written in pieces, the last ones shared views of one buffer (as a cache hands them out).
  for (let at = 0; at < payload.length; at += 100_000) s.write(payload.subarray(at, Math.min(payload.length, at + 100_000)));
  s.end();
  assert.deepEqual(await within(got), payload);

  b.onBidi = (st) => {
    readAll(st.recv).then((req) => {
      st.send.write(Buffer.concat([Buffer.from("echo:"), req]));
      st.send.end();
    }, () => undefined);
  };
  const bi = await a.openBidi();
  const reply = readAll(bi.recv);
  bi.send.write(Buffer.from("hello"));
  bi.send.end();
  assert.equal((await within(reply)).toString(), "echo:hello");
  a.close(0, "done");
  assert.equal((await within(b.closed)).remote, true);
});

test("a paused receiver holds the sender at its window; resume delivers and drains", async () => {
  const { a, b } = pair();
  let recv: RecvStream | undefined;
  let received = 0;
  const opened = new Promise<void>((resolve) => {
    b.onUni = (r) => {
      recv = r;
      r.pause();
      r.onData = (c) => (received += c.byteLength);
      resolve();
    };
  });
  const s = await a.openUni();
  const chunk = new Uint8Array(64 * 1024);
  // More than the window and the high-water mark together, so the excess stays queued here.
  let written = 0;
  let refused = 0;
  while (written < STREAM_WINDOW + 512 * 1024) {
    if (!s.write(chunk)) refused++;
    written += chunk.byteLength;
  }
  assert.ok(refused > 0, "write() reports backpressure past the high-water mark");
  await within(opened);
  // Give the port a few turns: nothing is delivered while paused, nothing beyond the window posted.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(received, 0);
  assert.equal(s.writableLength, written - STREAM_WINDOW, "exactly one window left the sender");
  const drained = new Promise<void>((resolve) => (s.onDrain = resolve));
  recv?.resume();
  await within(drained);
  s.end();
  await within(new Promise<void>((resolve) => recv && (recv.onEnd = resolve)));
  assert.equal(received, written);
  a.close(0, "done");
});

test("reset and STOP_SENDING cross; closing a side ends the other's streams", async () => {
  const { a, b } = pair();
  const resetSeen = new Promise<number>((resolve) => (b.onUni = (r) => (r.onReset = resolve)));
  const s = await a.openUni();
  s.write(new Uint8Array(10));
  s.reset(7);
  assert.equal(await within(resetSeen), 7);

  b.onUni = (r) => r.stop(9);
  const s2 = await a.openUni();
  const stopped = new Promise<number>((resolve) => (s2.onStop = resolve));
  s2.write(new Uint8Array(10));
  assert.equal(await within(stopped), 9);

  let arrived: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => (arrived = resolve));
  const pendingRead = new Promise<number>((resolve) => (b.onUni = (r) => ((r.onReset = resolve), arrived())));
  const s3 = await a.openUni();
  s3.write(new Uint8Array(10));
  const stop3 = new Promise<number>((resolve) => (s3.onStop = resolve));
  // b closes with the stream open on its side: waited for, as a 20 ms timer can fire before the
  // port's message is handled when a pause (GC, a loaded machine) delays the loop.
  await within(opened);
  b.close(5, "bye");
  assert.equal(await within(pendingRead), 5);
  assert.equal(await within(stop3), 5);
  const info = await within(a.closed);
  assert.deepEqual([info.code, info.reason, info.remote], [5, "bye", true]);
  await assert.rejects(a.openUni());
});

test("stream opens wait for a free slot at the cap", async () => {
  const { a, b } = pair(2);
  b.onUni = (r) => void readAll(r).catch(() => undefined);
  const s1 = await a.openUni();
  await a.openUni();
  let third = false;
  const p = a.openUni().then((s) => ((third = true), s));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third, false);
  s1.end();
  const s3 = await within(p);
  assert.ok(s3.id > s1.id);
  a.close(0, "done");
});
