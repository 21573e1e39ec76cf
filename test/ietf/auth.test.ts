// IETF SETUP's AUTHORIZATION_TOKEN is checked like ?jwt= (same claims, same grants) on every
// transport: a read-only session upgraded by a full token in SETUP may publish; a bad token in
// SETUP closes the session with UNAUTHORIZED.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import QmuxSession from "@moq/qmux";
import { generateKey, serializeKey } from "../../src/token/key.js";
import { signToken, type Claims } from "../../src/token/claims.js";
import { startTestRelay } from "../util/relay.js";
import { within } from "../util/moq.js";
import { AnnounceType, PublishNamespace } from "../../src/session/ietf/announce.js";
import { Termination } from "../../src/session/ietf/errors.js";
import { control, ControlFramer } from "../../src/session/ietf/message.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { RequestError, RequestType } from "../../src/session/ietf/request.js";
import { Setup, SetupType } from "../../src/session/ietf/setup.js";
import { Draft } from "../../src/session/ietf/version.js";

const dir = mkdtempSync(join(tmpdir(), "ietf-auth-"));
const key = await generateKey("HS256", "main");
writeFileSync(join(dir, "root.jwk"), serializeKey(key));
const relay = await startTestRelay({ "auth.key": join(dir, "root.jwk"), "auth.public": "anon" });
after(() => relay.close());
const now = (): number => Math.floor(Date.now() / 1000);
const token = (c: Partial<Claims>): Promise<string> => signToken(key, { root: "room", put: [], get: [], exp: now() + 60, ...c });

/** A raw moqt-18 session at `url` whose SETUP carries `setupToken`. */
async function session(url: URL, setupToken?: string): Promise<QmuxSession> {
  const s = new QmuxSession(url, { protocols: ["qmux-01.moqt-18"], versions: {}, requireProtocol: true });
  await within(s.ready, 5000, "the QMux handshake");
  const p = new Params().setBytes(SetupKey.Implementation, new TextEncoder().encode("auth-test"));
  if (setupToken !== undefined) p.setBytes(SetupKey.AuthorizationToken, new TextEncoder().encode(setupToken));
  const uni = await s.createUnidirectionalStream();
  const w = uni.getWriter();
  await w.write(control(Draft.D18, SetupType.Setup, (b) => new Setup(p).encode(b)));
  w.releaseLock();
  return s;
}

/** PUBLISH_NAMESPACE `ns`; resolves with the response type (REQUEST_OK 0x07 or REQUEST_ERROR 0x05) and the error code. */
async function publishNamespace(s: QmuxSession, ns: string): Promise<{ type: number; code?: number }> {
  const bidi = await s.createBidirectionalStream();
  const w = bidi.writable.getWriter();
  await w.write(control(Draft.D18, AnnounceType.PublishNamespace, (b) => new PublishNamespace(0, ns).encode(b)));
  w.releaseLock();
  const reader = bidi.readable.getReader();
  const framer = new ControlFramer(Draft.D18, 65535);
  const read = async (): Promise<{ type: number; code?: number }> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended without an answer");
      framer.push(value);
      const m = framer.next();
      if (m === undefined) continue;
      return m.type === RequestType.RequestError ? { type: m.type, code: RequestError.decode(m.body).code } : { type: m.type };
    }
  };
  return within(read(), 5000, "the answer to PUBLISH_NAMESPACE");
}

test("a read-only ?jwt= session is refused PUBLISH_NAMESPACE; the same session with a full token in SETUP may publish", async () => {
  const readOnly = await token({ get: [""] });
  const full = await token({ put: [""], get: [""] });
  const a = await session(relay.url("room", readOnly));
  assert.deepEqual(await publishNamespace(a, "cam"), { type: RequestType.RequestError, code: 0x1 });
  a.close();
  const b = await session(relay.url("room", readOnly), full);
  assert.deepEqual(await publishNamespace(b, "cam"), { type: RequestType.RequestOk });
  b.close();
});

test("a tampered token in SETUP closes the session with UNAUTHORIZED", async () => {
  const full = await token({ put: [""], get: [""] });
  const tampered = full.slice(0, -4) + (full.endsWith("AAAA") ? "BBBB" : "AAAA");
  const s = await session(relay.url("anon"), tampered);
  const info = await within(s.closed, 5000, "the relay closing the session");
  assert.equal(info.closeCode, Termination.Unauthorized);
});
