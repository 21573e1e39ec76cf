// A publisher that PUBLISHes a track nobody watches over QMux/WebSocket: the relay drops the
// track's objects until a viewer comes. More than the connection's receive window (64 MiB) of
// such objects must not stall the session: @moq/qmux returns no connection credit for bytes that
// arrive on a stream after it was stopped, so the relay reads an unwanted QMux stream to its end
// and drops it rather than stopping it. (OpenMOQ's client as the IETF publisher.)
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTestRelay } from "../util/relay.js";
import { connect, subscribe, waitAnnounced } from "../util/moq.js";
import { ns, enc, openMoq, type OpenMoq } from "./openmoq-node.js";

const relay = await startTestRelay();
after(() => relay.close());

async function pushGroup(om: OpenMoq, alias: bigint, group: number, payloads: Uint8Array[]): Promise<void> {
  const id = await om.conn.openSubgroup(alias, BigInt(group), 0n, { endOfGroup: true, firstObject: true });
  for (let i = 0; i < payloads.length; i++) await om.conn.sendObject(id, BigInt(i), payloads[i]);
  await om.conn.closeSubgroup(id);
}

test("qmux-01.moqt-18: 80 MiB pushed on a track nobody watches does not stall the publisher's session", { timeout: 120_000 }, async () => {
  const name = "push-unwatched";
  const om = await openMoq(relay, "qmux-01.moqt-18");
  const conn = await connect(relay.url("anon"));
  try {
    const id = await om.conn.publish(ns(name), enc("video"), 7n);
    await om.message("REQUEST_OK", Number(id));
    // 80 groups of 1 MiB, all dropped by the relay (no viewer yet): more than the 64 MiB window.
    const big = new Uint8Array(64 * 1024).fill(0x61);
    for (let g = 0; g < 80; g++) await pushGroup(om, 7n, g, Array.from({ length: 16 }, () => big));
    // A viewer now: the session still carries the track's groups to it.
    await waitAnnounced(conn, name);
    const r = subscribe(conn, name, "video");
    let got: number | undefined;
    const deadline = Date.now() + 20_000;
    for (let g = 80; got === undefined; g++) {
      assert.ok(Date.now() < deadline, "no group reached the viewer after the unwatched 80 MiB: the publisher's session stalled");
      await pushGroup(om, 7n, g, [enc(`after ${g}`)]);
      got = await r.nextGroup(300).then(
        (x) => x.sequence,
        () => undefined,
      );
    }
    assert.ok(got >= 80);
    assert.deepEqual(om.errors, []);
  } finally {
    conn.close();
    await om.close();
  }
});
