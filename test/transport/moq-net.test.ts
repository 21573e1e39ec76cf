import { startFixture, until, within, type Fixture } from "./fixture.js";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as Moq from "@moq/net";

/** What this test reads of Moq.Connection.Established. */
interface Established {
  readonly version: string;
  close(): void;
}

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(() => f.close());

test("@moq/net's Connection.connect to ws://…/anon negotiates moq-lite-05 over QMux", async (t) => {
  const pending: Promise<Established> = Moq.Connection.connect(new URL(`ws://127.0.0.1:${f.port}/anon`), { websocket: { delay: 0 } });
  const conn = await within(pending, 5000, "@moq/net to connect");
  t.after(() => conn.close());
  assert.equal(conn.version, "moq-lite-05");
  const s = f.sessions.at(-1);
  assert.ok(s);
  assert.equal(s.protocol, "moq-lite-05");
  assert.equal(s.subprotocol, "qmux-02.moq-lite-05", "the Sec-WebSocket-Protocol we echoed");
  assert.equal(s.url.pathname, "/anon");
  assert.equal(f.asked.at(-1)?.protocol, "moq-lite-05");
  // The client's moq-lite-05 SETUP (uni stream type 0x1) arrives through our Session.
  await until(() => f.events.unis.some((u) => u[0] === 0x01), 5000, "the client's SETUP stream");
  conn.close();
  assert.equal((await within(s.closed, 5000, "the session to end")).remote, true);
});
