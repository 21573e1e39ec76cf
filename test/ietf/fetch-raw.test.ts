// FETCH on the drafts OpenMOQ does not speak (15, 17, 19, 20), with a lean raw client built from
// the project's own IETF codecs: the fetch stream's objects (one-byte flags on 15, absolute ids on
// 17, deltas on 19/20) decode to the cached groups, byte-identical, after FETCH_OK.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import QmuxSession from "@moq/qmux";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, subscribe, waitAnnounced, within } from "../util/moq.js";
import { decodeFetchObjects, Fetch, FetchMessage, FetchOk, FetchType } from "../../src/session/ietf/fetch.js";
import { control, type ControlMessage } from "../../src/session/ietf/message.js";
import { FETCH_HEADER } from "../../src/session/ietf/object.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { ClientSetup, Setup, SetupType } from "../../src/session/ietf/setup.js";
import { Draft, draftName, hasControlStream, hasFilterFields } from "../../src/session/ietf/version.js";
import { IetfReader } from "../../src/session/ietf/wire.js";
import { messageReader } from "./raw.js";

const relay = await startTestRelay();
after(() => relay.close());

const frames = (g: number): string[] => [`r${g} first`, `r${g} ${"q".repeat(300 + g)}`, ""];

/** The body of a fetch stream (after its type and Request ID), or undefined for another stream type. */
async function fetchBody(s: ReadableStream<Uint8Array>, v: Draft): Promise<{ id: number; body: Uint8Array } | undefined> {
  const r = s.getReader();
  const parts: Uint8Array[] = [];
  let head: { id: number; pos: number } | undefined;
  for (;;) {
    const { value, done } = await within(r.read(), 5000, "a uni stream's bytes");
    if (done) break;
    parts.push(value);
    if (head !== undefined) continue;
    const rd = new IetfReader(Buffer.concat(parts), v);
    try {
      // Our SETUP stream (17+) stays open: look at its type only.
      if (rd.varint() !== FETCH_HEADER) return void r.releaseLock();
      head = { id: rd.varint(), pos: rd.pos };
    } catch {
      // Not enough bytes yet for the header.
    }
  }
  if (head === undefined) throw new Error("a uni stream ended before its header");
  return { id: head.id, body: Buffer.concat(parts).subarray(head.pos) };
}

for (const v of [Draft.D15, Draft.D17, Draft.D19, Draft.D20]) {
  const name = draftName(v);
  test(`${name}: a raw client's standalone FETCH gets FETCH_OK and the cached objects on a fetch stream`, async () => {
    const bc = `raw-fetch-${v - 0xff000000}`;
    const pub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
    const viewer = await connect(relay.url("anon"));
    const s = new QmuxSession(relay.url("anon"), { protocols: [`qmux-01.moqt-${v - 0xff000000}`], versions: {}, requireProtocol: true });
    try {
      const p = publish(pub, bc, "video");
      await waitAnnounced(viewer, bc);
      const r = subscribe(viewer, bc, "video");
      await servingLive(relay, `anon/${bc}`, "video", { publisher: p });
      for (let g = 0; g < 3; g++) {
        p.group(frames(g));
        assert.equal((await r.nextGroup()).sequence, g);
      }
      await within(s.ready, 5000, "the raw QMux handshake");
      const req = new Fetch({
        requestId: 0,
        fetchType: FetchType.Standalone,
        namespace: bc,
        track: "video",
        // Objects 1.. of group 0 through the whole of group 2.
        start: { group: 0, object: 1 },
        end: { group: 2, object: 0 },
        ...(hasFilterFields(v) ? { filter: { kind: "absolute" as const, startGroup: 0, startObject: 1, endGroup: 2 } } : {}),
      });
      const uni = s.incomingUnidirectionalStreams.getReader();
      let answer: ControlMessage;
      if (hasControlStream(v)) {
        const ctl = await s.createBidirectionalStream();
        const w = ctl.writable.getWriter();
        const next = messageReader(ctl.readable as ReadableStream<Uint8Array>, v);
        await w.write(control(v, SetupType.Client, (x) => new ClientSetup([v], new Params().setVarint(SetupKey.MaxRequestId, 100)).encode(x)));
        assert.equal((await next("SERVER_SETUP")).type, SetupType.Server);
        await w.write(control(v, Fetch.type, (x) => req.encode(x)));
        answer = await next("FETCH_OK");
      } else {
        const setup = await s.createUnidirectionalStream();
        const sw = setup.getWriter();
        await sw.write(control(v, SetupType.Setup, (x) => new Setup(new Params()).encode(x)));
        sw.releaseLock();
        const bidi = await s.createBidirectionalStream();
        await bidi.writable.getWriter().write(control(v, Fetch.type, (x) => req.encode(x)));
        answer = await messageReader(bidi.readable as ReadableStream<Uint8Array>, v)("FETCH_OK");
      }
      assert.equal(answer.type, FetchMessage.FetchOk);
      const ok = FetchOk.decode(answer.body);
      // 15–19 give the end as "last object + 1"; draft-20 names the last object.
      assert.deepEqual(ok.end, { group: 2, object: hasFilterFields(v) ? 2 : 3 });
      // Our SETUP stream (17+) comes first; the fetch stream starts with FETCH_HEADER.
      let body: Uint8Array | undefined;
      while (body === undefined) {
        const { value, done } = await within(uni.read(), 5000, "the fetch stream");
        if (done) throw new Error("no fetch stream");
        const f = await fetchBody(value, v);
        if (f === undefined) continue;
        assert.equal(f.id, 0);
        body = f.body;
      }
      const got = decodeFetchObjects(new IetfReader(body, v));
      const want = [0, 1, 2].flatMap((g) => frames(g).map((f, i) => ({ group: g, object: i, payload: f }))).filter((o) => o.group > 0 || o.object >= 1);
      assert.deepEqual(
        got.map((o) => ({ group: o.group, object: o.object, payload: Buffer.from(o.payload).toString() })),
        want,
      );
    } finally {
      s.close();
      viewer.close();
      pub.close();
    }
  });
}
