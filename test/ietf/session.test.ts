// An IETF session fed malformed or out-of-bounds input by a raw client closes with the draft's
// termination code, and only that session: a well-behaved one on the same relay carries on.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import QmuxSession from "@moq/qmux";
import { startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";
import { control, ControlFramer } from "../../src/session/ietf/message.js";
import { Goaway, RequestType } from "../../src/session/ietf/request.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { Setup, SetupType } from "../../src/session/ietf/setup.js";
import { Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { Termination } from "../../src/session/ietf/errors.js";
import { Draft } from "../../src/session/ietf/version.js";
import { IetfWriter } from "../../src/session/ietf/wire.js";

const relay = await startTestRelay();
after(() => relay.close());

/** A raw moqt-18 client over QMux: our own bytes, nothing from @moq/net. */
async function raw(at = relay): Promise<QmuxSession> {
  const url = at.url("anon");
  const s = new QmuxSession(url, { protocols: ["qmux-01.moqt-18"], versions: {}, requireProtocol: true });
  await within(s.ready, 5000, "the raw QMux handshake");
  const setup = control(Draft.D18, SetupType.Setup, (w) => new Setup(new Params().setBytes(SetupKey.Implementation, new TextEncoder().encode("raw-test"))).encode(w));
  const uni = await s.createUnidirectionalStream();
  const w = uni.getWriter();
  await w.write(setup);
  w.releaseLock();
  return s;
}

async function sendBidi(s: QmuxSession, bytes: Uint8Array): Promise<void> {
  const bidi = await s.createBidirectionalStream();
  const w = bidi.writable.getWriter();
  await w.write(bytes);
  w.releaseLock();
}

test("a truncated SUBSCRIBE body closes that session with PROTOCOL_VIOLATION, and no other", async () => {
  const good = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
  const pub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
  const p = publish(pub, "survivor", "video");
  await waitAnnounced(good, "survivor");
  const reader = subscribe(good, "survivor", "video");

  const bad = await raw();
  // A SUBSCRIBE whose declared length covers only half its fields.
  const w = new IetfWriter(Draft.D18);
  new Subscribe({ requestId: 0, namespace: "survivor", track: "video" }).encode(w);
  const body = w.finish().subarray(0, 4);
  const msg = new IetfWriter(Draft.D18);
  msg.varint(SubscribeType.Subscribe).u16(body.length).bytes(body);
  await sendBidi(bad, msg.finish());
  const info = await within(bad.closed, 5000, "the relay closing the malformed session");
  assert.equal(info.closeCode, Termination.ProtocolViolation);

  await new Promise((r) => setTimeout(r, 200));
  p.group(["still", "here"]);
  const g = await reader.nextGroup();
  assert.deepEqual(g.frames.map((f) => Buffer.from(f).toString()), ["still", "here"]);
  good.close();
  pub.close();
});

test("a control message over limits.max_message_size closes the session with PROTOCOL_VIOLATION as soon as its length arrives", async () => {
  const small = await startTestRelay({ "limits.max_message_size": "1KiB" });
  after(() => small.close());
  const bad = await raw(small);
  const w = new IetfWriter(Draft.D18);
  w.varint(SubscribeType.Subscribe).u16(0xffff);
  await sendBidi(bad, w.finish());
  const info = await within(bad.closed, 5000, "the relay closing the session");
  assert.equal(info.closeCode, Termination.ProtocolViolation);
});

test("a data stream before SETUP, or an unknown stream type, closes the session with PROTOCOL_VIOLATION", async () => {
  const s = new QmuxSession(relay.url("anon"), { protocols: ["qmux-01.moqt-18"], versions: {}, requireProtocol: true });
  await within(s.ready, 5000, "the raw QMux handshake");
  const uni = await s.createUnidirectionalStream();
  const wr = uni.getWriter();
  await wr.write(Uint8Array.of(0x59, 0x01, 0x00, 0x00));
  wr.releaseLock();
  const info = await within(s.closed, 5000, "the relay closing the session");
  assert.equal(info.closeCode, Termination.ProtocolViolation);
});

test("on drain the relay sends GOAWAY on its SETUP stream before closing the session", async () => {
  const draining = await startTestRelay();
  const s = await raw(draining);
  const uni = s.incomingUnidirectionalStreams.getReader();
  const first = await within(uni.read(), 5000, "the relay's SETUP stream");
  assert.ok(first.value !== undefined);
  const reader = first.value.getReader();
  const framer = new ControlFramer(Draft.D18, 65535);
  const next = async (pick: () => boolean): Promise<void> => {
    while (!pick()) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the SETUP stream ended");
      framer.push(value);
    }
  };
  let type: number | undefined;
  await within(next(() => (type ??= framer.varint()) !== undefined && framer.body() !== undefined), 5000, "the relay's SETUP");
  assert.equal(type, SetupType.Setup);
  const closing = draining.close();
  let goaway: ReturnType<ControlFramer["next"]>;
  await within(next(() => (goaway = framer.next()) !== undefined), 5000, "GOAWAY");
  assert.equal(goaway?.type, RequestType.Goaway);
  assert.equal(Goaway.decode(goaway.body).uri, "");
  await closing;
});
