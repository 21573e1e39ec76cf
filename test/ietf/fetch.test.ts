// FETCH (standalone, relative and absolute joining) and TRACK_STATUS answered from the relay's
// cache, proven with OpenMOQ's client (@moqt/webtransport in Node over QMux; @moq/net's IETF code
// implements neither) on drafts 18, 16 and 14, against a broadcast @moq/net publishes.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTestRelay } from "../util/relay.js";
import { connect, publish, type Publisher } from "../util/moq.js";
import { ns, enc, openMoq, type OpenMoq, type SeenObject } from "./openmoq-node.js";

const relay = await startTestRelay();
after(() => relay.close());

const frames = (g: number): string[] => [`a${g}`, `b${g} ${"y".repeat(g * 50)}`, `c${g}`];
const objects = (g: number, from = 0, to = 3): SeenObject[] => frames(g).slice(from, to).map((payload, i) => ({ group: g, object: from + i, payload }));

interface Live {
  om: OpenMoq;
  p: Publisher;
  /** The first of the 4 measured groups (after the warm-up ones). */
  base: number;
  close(): Promise<void>;
}

/** @moq/net publishes `name`; OpenMOQ subscribes (keeping the relay's cache warm) and sees 4 groups. */
async function live(pair: string, name: string): Promise<Live> {
  const pub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
  const p = publish(pub, name, "video");
  const om = await openMoq(relay, pair);
  const seen: SeenObject[] = [];
  await om.conn.subscribeTrack(ns(name), enc("video"), {
    onObject: (o: { kind: string; groupId: bigint; objectId: bigint; payload?: Uint8Array }) => {
      if (o.kind === "data" && o.payload !== undefined) seen.push({ group: Number(o.groupId), object: Number(o.objectId), payload: Buffer.from(o.payload).toString() });
      om.notify();
    },
  } as never);
  // Warm up until an object arrives: then every group below reaches the relay's cache.
  let base = 0;
  const deadline = Date.now() + 10_000;
  while (seen.length === 0) {
    if (Date.now() > deadline) throw new Error("no warm-up object reached OpenMOQ");
    p.group(["warm-up"]);
    base++;
    await om.until("a warm-up object", () => seen.length > 0, 150).catch(() => undefined);
  }
  for (let g = base; g < base + 4; g++) {
    p.group(frames(g));
    await om.until(`group ${g} at the subscriber`, () => seen.filter((o) => o.group === g).length === 3);
  }
  return {
    om,
    p,
    base,
    async close() {
      await om.close();
      pub.close();
    },
  };
}

const PAIRS = ["qmux-01.moqt-18", "qmux-01.moqt-16", "qmux-01.moq-00"];

for (const pair of PAIRS) {
  test(`${pair}: a standalone FETCH is answered from the cache (FETCH_OK, then the range on a fetch stream)`, async () => {
    const l = await live(pair, `fetch-s-${pair}`);
    try {
      const b = l.base;
      // From object 1 of the first group through the whole third (End Location object 0).
      const id = Number(await l.om.conn.fetch(ns(`fetch-s-${pair}`), enc("video"), { startGroup: BigInt(b), startObject: 1n, endGroup: BigInt(b + 2), endObject: 0n }));
      const ok = await l.om.message("FETCH_OK", id);
      assert.deepEqual(ok.raw.endLocation, { group: BigInt(b + 2), object: 3n });
      await l.om.until("the fetch stream's end", () => l.om.fetchDone.has(id));
      assert.deepEqual(l.om.fetched.get(id), [...objects(b, 1), ...objects(b + 1), ...objects(b + 2)]);
      assert.deepEqual(l.om.errors, []);
    } finally {
      await l.close();
    }
  });

  test(`${pair}: joining FETCHes (relative and absolute) end where their SUBSCRIBE starts`, async () => {
    const name = `fetch-j-${pair}`;
    const l = await live(pair, name);
    try {
      const b = l.base;
      // The relay starts a new subscription at the latest group (b + 3) from its first object.
      const sub = await l.om.conn.subscribe(ns(name), enc("video"), { subscriptionFilter: { type: "LargestObject" } });
      // Draft-14 joins established subscriptions only; 16+ may join one still pending (the relay
      // answers once its SUBSCRIBE_OK is out).
      if (pair.endsWith("moq-00")) await l.om.message("SUBSCRIBE_OK", Number(sub));
      const rel = Number(await l.om.conn.joiningFetch({ joiningFetchType: "relative", joiningRequestId: sub, joiningStart: 2n }));
      await l.om.message("FETCH_OK", rel);
      await l.om.until("the relative fetch's end", () => l.om.fetchDone.has(rel));
      assert.deepEqual(l.om.fetched.get(rel), [...objects(b + 1), ...objects(b + 2)]);
      const abs = Number(await l.om.conn.joiningFetch({ joiningFetchType: "absolute", joiningRequestId: sub, joiningStart: BigInt(b) }));
      await l.om.message("FETCH_OK", abs);
      await l.om.until("the absolute fetch's end", () => l.om.fetchDone.has(abs));
      assert.deepEqual(l.om.fetched.get(abs), [...objects(b), ...objects(b + 1), ...objects(b + 2)]);
      assert.deepEqual(l.om.errors, []);
    } finally {
      await l.close();
    }
  });

  // OpenMOQ reports draft-14's TRACK_STATUS_OK / TRACK_STATUS_ERROR as REQUEST_OK / REQUEST_ERROR.
  test(`${pair}: TRACK_STATUS is answered from relay state; an unknown track is refused with DOES_NOT_EXIST`, async () => {
    const name = `status-${pair}`;
    const l = await live(pair, name);
    try {
      const id = Number(await l.om.conn.trackStatus(ns(name), enc("video")));
      const ok = await l.om.message("REQUEST_OK", id);
      assert.ok(ok);
      const missing = Number(await l.om.conn.trackStatus(ns("no-such-broadcast"), enc("video")));
      const err = await l.om.message("REQUEST_ERROR", missing);
      assert.equal(err.errorCode, 0x4);
      const gone = Number(await l.om.conn.fetch(ns("no-such-broadcast"), enc("video"), { startGroup: 0n, startObject: 0n, endGroup: 1n, endObject: 0n }));
      assert.equal((await l.om.message("REQUEST_ERROR", gone)).errorCode, 0x4);
      assert.deepEqual(l.om.errors, []);
    } finally {
      await l.close();
    }
  });
}
