// A standalone FETCH reaching past what the relay's cache holds: the drafts want INVALID_RANGE for
// a track with no objects or a start past the Largest Object, an End Location clipped to the
// Largest Object, and objects the relay cannot vouch for reported as unknown, never as absent. The
// relay stops at the first group it does not hold and resets the fetch stream with
// UNKNOWN_OBJECT_STATUS (0x6 on 18+) instead of ending it with a FIN. Raw client (our codecs):
// @moq/net's IETF FETCH throws "not supported".
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { decodeFetchObjects, Fetch, FetchMessage, FetchOk, FetchType } from "../../src/session/ietf/fetch.js";
import { control } from "../../src/session/ietf/message.js";
import { RequestCode, RequestError, RequestType } from "../../src/session/ietf/request.js";
import { Draft } from "../../src/session/ietf/version.js";
import { IetfReader } from "../../src/session/ietf/wire.js";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced } from "../util/moq.js";
import { rawSession, type RawSession } from "./raw.js";

const relay = await startTestRelay();
after(() => relay.close());

const v = Draft.D18;
const frames = (g: number): string[] => [`f${g} a`, `f${g} b`, `f${g} c`];

async function fetch(c: RawSession, id: number, track: string, start: { group: number; object: number }, end: { group: number; object: number }): Promise<{ type: number; body: ReturnType<typeof RequestError.decode> | ReturnType<typeof FetchOk.decode> }> {
  const req = await c.request(control(v, Fetch.type, (w) => new Fetch({ requestId: id, fetchType: FetchType.Standalone, namespace: "fetch-gaps", track, start, end }).encode(w)));
  const m = await req.next(`the answer to FETCH ${id}`);
  return { type: m.type, body: m.type === RequestType.RequestError ? RequestError.decode(m.body) : FetchOk.decode(m.body) };
}

test("moq-transport-18: FETCH past the cache: INVALID_RANGE before the first or after the largest object, End Location clipped, an uncached group ends the fetch stream with UNKNOWN_OBJECT_STATUS", async () => {
  const pub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
  const viewer = await connect(relay.url("anon"));
  const c = await rawSession(relay.url("anon"), v);
  try {
    const p = publish(pub, "fetch-gaps", "video");
    await waitAnnounced(viewer, "fetch-gaps");
    const r = subscribe(viewer, "fetch-gaps", "video");
    await servingLive(relay, "anon/fetch-gaps", "video", { publisher: p });
    // Groups 0, 1, 3 and 4: the relay never holds a group 2.
    for (const g of [0, 1, 3, 4]) {
      p.group(frames(g), { sequence: g });
      assert.equal((await r.nextGroup()).sequence, g);
    }

    const none = await fetch(c, 0, "audio", { group: 0, object: 0 }, { group: 1, object: 0 });
    assert.equal(none.type, RequestType.RequestError, "a track with no objects");
    assert.equal((none.body as RequestError).code, RequestCode.InvalidRange);
    const late = await fetch(c, 2, "video", { group: 9, object: 0 }, { group: 10, object: 0 });
    assert.equal(late.type, RequestType.RequestError, "a start past the largest object");
    assert.equal((late.body as RequestError).code, RequestCode.InvalidRange);

    // Groups 3 through "100": all cached; the End Location is the Largest Object + 1.
    const whole = await fetch(c, 4, "video", { group: 3, object: 1 }, { group: 100, object: 0 });
    assert.equal(whole.type, FetchMessage.FetchOk);
    assert.deepEqual((whole.body as FetchOk).end, { group: 4, object: 3 });
    const ok = await c.nextFetch("the fetch stream of groups 3-4");
    assert.deepEqual([ok.id, ok.reset], [4, undefined], "ended with a FIN");
    assert.deepEqual(
      decodeFetchObjects(new IetfReader(ok.body, v)).map((o) => [o.group, o.object, Buffer.from(o.payload).toString()]),
      [...[1, 2].map((o) => [3, o, frames(3)[o]]), ...[0, 1, 2].map((o) => [4, o, frames(4)[o]])],
    );

    // Groups 0 through 4 cross the missing group 2: groups 0 and 1 at most, then the reset.
    const gap = await fetch(c, 6, "video", { group: 0, object: 0 }, { group: 4, object: 0 });
    assert.equal(gap.type, FetchMessage.FetchOk);
    assert.deepEqual((gap.body as FetchOk).end, { group: 4, object: 3 }, "the End Location is the request's, not the cache's");
    const cut = await c.nextFetch("the fetch stream of groups 0-4");
    assert.deepEqual([cut.id, cut.reset], [6, 0x6], "reset with UNKNOWN_OBJECT_STATUS");
    // A reset may discard bytes already sent; whatever arrived comes from groups 0 and 1 only.
    let got: Array<[number, number]> = [];
    try {
      got = decodeFetchObjects(new IetfReader(cut.body, v)).map((o) => [o.group, o.object]);
    } catch {
      // The reset cut an object short: the prefix before it is what counts.
    }
    assert.ok(got.every(([g]) => g <= 1), `objects past the gap: ${JSON.stringify(got)}`);
  } finally {
    c.close();
    viewer.close();
    pub.close();
  }
});
