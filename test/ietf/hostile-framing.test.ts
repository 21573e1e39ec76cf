// Control-message framing a hostile client tries on the draft-16 control stream (QMux over
// WebSocket, in-process relay): each malformed case closes that session with the draft's code.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import QmuxSession from "@moq/qmux";
import { Termination } from "../../src/session/ietf/errors.js";
import { AnnounceType, PublishNamespace } from "../../src/session/ietf/announce.js";
import { control } from "../../src/session/ietf/message.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { ClientSetup, SetupType } from "../../src/session/ietf/setup.js";
import { Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { Draft } from "../../src/session/ietf/version.js";
import { IetfWriter } from "../../src/session/ietf/wire.js";
import { startTestRelay } from "../util/relay.js";
import { within } from "../util/moq.js";
import { qmuxProtocol } from "./raw.js";

const relay = await startTestRelay();
after(() => relay.close());
const v = Draft.D16;
const setup = control(v, SetupType.Client, (w) => new ClientSetup([v], new Params().setVarint(SetupKey.MaxRequestId, 100)).encode(w));

/** Open the control stream, write `bytes` (CLIENT_SETUP first where the case has one; FIN after when `fin`), and return the close code. */
async function closeCodeFor(bytes: Uint8Array, fin = false): Promise<number | undefined> {
  const s = new QmuxSession(relay.url("anon"), { protocols: [qmuxProtocol(v)], versions: {}, requireProtocol: true });
  try {
    await within(s.ready, 5000, "the raw QMux handshake");
    const bidi = await s.createBidirectionalStream();
    const w = bidi.writable.getWriter();
    await w.write(bytes);
    if (fin) await w.close();
    const info = await within(s.closed, 5000, "the relay closing the session");
    return info.closeCode;
  } finally {
    s.close();
  }
}

/** A raw control message: type, u16 length, body. */
function raw(type: number, body: Uint8Array): Uint8Array {
  return new IetfWriter(v).varint(type).u16(body.length).bytes(body).finish();
}

/** A PUBLISH_NAMESPACE whose parameter block is `params` (count, then key-value pairs). */
function announceWithParams(params: (w: IetfWriter) => void): Uint8Array {
  const w = new IetfWriter(v);
  new PublishNamespace(0, "a").encode(w);
  // It ends with its parameters: replace the empty block (count 0) with ours.
  const body = w.finish();
  assert.equal(body[body.length - 1], 0, "the encoder's PUBLISH_NAMESPACE ends with an empty parameter block");
  const p = new IetfWriter(v, 1024);
  p.bytes(body.subarray(0, body.length - 1));
  params(p);
  return raw(AnnounceType.PublishNamespace, p.finish());
}

test("a request before CLIENT_SETUP, a second CLIENT_SETUP and an unknown message type close the session with PROTOCOL_VIOLATION", async () => {
  assert.equal(await closeCodeFor(control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: "a", track: "b" }).encode(w))), Termination.ProtocolViolation);
  assert.equal(await closeCodeFor(Buffer.concat([setup, setup])), Termination.ProtocolViolation);
  assert.equal(await closeCodeFor(Buffer.concat([setup, raw(0x3f00, new Uint8Array(4))])), Termination.ProtocolViolation);
});

test("a message cut short by the end of the control stream closes the session with PROTOCOL_VIOLATION", async () => {
  const whole = control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: "a", track: "b" }).encode(w));
  assert.equal(await closeCodeFor(Buffer.concat([setup, whole.subarray(0, whole.length - 3)]), true), Termination.ProtocolViolation);
});

test("a parameter repeated 1000 times, or twice, closes the session (KEY_VALUE_FORMATTING_ERROR, PROTOCOL_VIOLATION)", async () => {
  const many = announceWithParams((w) => {
    w.varint(1000);
    for (let i = 0; i < 1000; i++) w.varint(i === 0 ? 0x20 : 0).varint(1);
  });
  assert.equal(await closeCodeFor(Buffer.concat([setup, many])), Termination.KeyValueFormattingError);
  const twice = announceWithParams((w) => w.varint(2).varint(0x20).varint(1).varint(0).varint(1));
  assert.equal(await closeCodeFor(Buffer.concat([setup, twice])), Termination.ProtocolViolation);
});
