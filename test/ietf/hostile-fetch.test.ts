// A hostile IETF viewer (draft-18, QMux over WebSocket) that FETCHes a cached track of tiny
// objects and never reads, against a relay in its own process whose memory is measured after GC:
// each fetch stream holds at most its high-water mark of bytes, which must also bound its memory
// (a queued write costs far more than a tiny object's bytes).
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import QmuxSession from "@moq/qmux";
import { Fetch, FetchType } from "../../src/session/ietf/fetch.js";
import { control } from "../../src/session/ietf/message.js";
import { encodeObjectHead, encodeSubgroupHeader, subgroupType } from "../../src/session/ietf/object.js";
import { Params } from "../../src/session/ietf/params.js";
import { Publish, PublishType } from "../../src/session/ietf/publish.js";
import { SetupType } from "../../src/session/ietf/setup.js";
import { Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { Draft } from "../../src/session/ietf/version.js";
import { IetfWriter } from "../../src/session/ietf/wire.js";
import { MiB, type Heap } from "../util/heap.js";
import { startRelayProcess } from "../util/relay-process.js";
import { within } from "../util/moq.js";
import { qmuxProtocol, rawSession } from "./raw.js";

const relay = await startRelayProcess({ "cache.max_bytes": "16MiB" });
after(() => relay.close());
const url = new URL(`http://127.0.0.1:${relay.port}/anon`);
const held = (h: Heap): number => h.heap + h.buffers;
const v = Draft.D18;

test("draft-18: 32 FETCHes of 200,000 tiny cached objects by a viewer that never reads hold bounded relay memory", async () => {
  const pub = await rawSession(url, v);
  const keeper = await rawSession(url, v);
  const s = new QmuxSession(url, { protocols: [qmuxProtocol(v)], versions: {}, requireProtocol: true });
  try {
    const p = await pub.request(control(v, PublishType.Publish, (w) => new Publish({ requestId: 0, namespace: "tiny", track: "t", alias: 5 }).encode(w)));
    await p.next("PUBLISH_OK");
    // A viewer that reads keeps the track live, so the groups are cached.
    const sub = await keeper.request(control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: "tiny", track: "t" }).encode(w)));
    assert.equal((await sub.next("SUBSCRIBE_OK")).type, SubscribeType.SubscribeOk);
    const obj = new IetfWriter(v, 32);
    encodeObjectHead(obj, 0, false, undefined, 16);
    const one = Buffer.concat([obj.finish(), new Uint8Array(16).fill(4)]);
    const body = Buffer.concat(Array.from({ length: 2000 }, () => one));
    for (let g = 0; g < 100; g++) {
      const w = (await within(pub.s.createUnidirectionalStream(), 5000, "a uni stream")).getWriter();
      const head = new IetfWriter(v, 32);
      encodeSubgroupHeader(head, subgroupType(v, false), 5, g, 128);
      await within(w.write(Buffer.concat([head.finish(), body])), 5000, `group ${g}`);
      await w.close();
    }
    for (let seen = -1; seen < 99; ) seen = await keeper.nextGroup("a group at the keeper");
    // The hostile viewer: its SETUP, then 32 FETCHes of everything; it never reads a fetch stream.
    await within(s.ready, 5000, "the raw QMux handshake");
    const setup = (await s.createUnidirectionalStream()).getWriter();
    const sb = new IetfWriter(v);
    new Params().encodeSetup(sb);
    await setup.write(new IetfWriter(v).varint(SetupType.Setup).u16(sb.pos).bytes(sb.view()).finish());
    // The keeper's burst of writes drains first: measure from a settled heap.
    let before = await relay.mem();
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      const m = await relay.mem();
      const settled = Math.abs(held(m) - held(before)) < 2 * MiB;
      before = m;
      if (settled) break;
    }
    for (let i = 0; i < 32; i++) {
      const bidi = await s.createBidirectionalStream();
      await bidi.writable.getWriter().write(control(v, Fetch.type, (w) => new Fetch({ requestId: 2 * i, fetchType: FetchType.Standalone, namespace: "tiny", track: "t", start: { group: 0, object: 0 }, end: { group: 100, object: 0 } }).encode(w)));
    }
    // The answers cannot all come: the fetch streams soon fill the viewer's connection window. Give
    // the relay a moment to serve the requests it has.
    await new Promise((r) => setTimeout(r, 1500));
    const grew = held(await relay.mem()) - held(before);
    console.log(`32 unread FETCHes of tiny objects: relay +${(grew / MiB).toFixed(1)} MiB`);
    // 32 fetch streams × the 256 KiB high-water mark = 8 MiB, plus bookkeeping.
    assert.ok(grew < 24 * MiB, `relay held ${(grew / MiB).toFixed(1)} MiB more for 32 unread fetches`);
  } finally {
    pub.close();
    keeper.close();
    s.close();
  }
});
