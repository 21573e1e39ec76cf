// Object datagrams past object 0: a group published as several datagrams (objects 0, 1, 2 with
// END_OF_GROUP on the last) reaches a moq-lite viewer as one group of three frames and an IETF
// viewer (OpenMOQ) as the same three datagrams; an object past a gap in its group's object ids is
// dropped and counted (a relay group holds frames by position). The publisher is a raw client
// built from our codecs: neither @moq/net's IETF code nor OpenMOQ sends END_OF_GROUP or object
// ids past 0 in datagrams.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { ObjectDatagram } from "../../src/session/ietf/datagram.js";
import { control } from "../../src/session/ietf/message.js";
import { Publish, PublishOk, PublishType } from "../../src/session/ietf/publish.js";
import { Draft } from "../../src/session/ietf/version.js";
import { startTestRelay } from "../util/relay.js";
import { connect, subscribe, waitAnnounced, type ReceivedGroup } from "../util/moq.js";
import { enc, ns, openMoq } from "./openmoq-node.js";
import { rawSession } from "./raw.js";

const relay = await startTestRelay();
after(() => relay.close());

const text = (g: ReceivedGroup): string[] => g.frames.map((f) => Buffer.from(f).toString());

test("moq-transport-18: a datagram group of several objects reaches a moq-lite viewer as one group and an IETF viewer as datagrams; an object past a gap is dropped and counted", async () => {
  const v = Draft.D18;
  const name = "datagram-objects";
  const alias = 9;
  const pub = await rawSession(relay.url("anon"), v);
  const req = await pub.request(control(v, PublishType.Publish, (w) => new Publish({ requestId: 0, namespace: name, track: "video", alias }).encode(w)));
  assert.equal((await req.next("PUBLISH_OK")).type, PublishOk.type(v));
  const lite = await connect(relay.url("anon"));
  await waitAnnounced(lite, name);
  const r = subscribe(lite, name, "video");
  const ietf = await openMoq(relay, "qmux-01.moqt-18");
  await ietf.conn.subscribeTrack(ns(name), enc("video"), { onObject: () => undefined } as never);
  const dw = pub.s.datagrams.writable.getWriter();
  const send = (group: number, object: number, payload: string, eog = false): Promise<void> => dw.write(new ObjectDatagram(alias, group, object, 0, undefined, enc(payload), eog).encode(v));
  /** The lite viewer's next group at or after `seq` (late warm-up groups skipped). */
  const liteGroup = async (seq: number): Promise<ReceivedGroup> => {
    for (;;) {
      const g = await r.nextGroup(5000);
      if (g.sequence >= seq) return g;
    }
  };
  const sawDatagram = (group: number, object: number): Promise<void> =>
    ietf.until(`datagram ${group}/${object} at the IETF viewer (saw ${JSON.stringify(ietf.datagrams.map((d) => [d.group, d.object]))})`, () => ietf.datagrams.some((d) => d.group === group && d.object === object));
  try {
    // Warm up with single-object groups (no END_OF_GROUP, as OpenMOQ sends them): each reaches
    // the moq-lite viewer at once, finished, once both subscriptions reached the relay.
    let g = 0;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`no warm-up datagram reached both viewers (IETF saw ${ietf.datagrams.length})`);
      await send(g++, 0, "warm-up");
      const liteSaw = await r.nextGroup(200).then(
        () => true,
        () => false,
      );
      if (liteSaw && ietf.datagrams.length > 0) break;
    }
    const dropped = relay.origin.stats.datagramObjectsDropped;

    // The track's first datagram past object 0 finds its group already finished: dropped, counted.
    const first = g++;
    await send(first, 0, `g${first} o0`);
    assert.deepEqual(text(await liteGroup(first)), [`g${first} o0`]);
    await send(first, 1, `g${first} o1`);
    for (const end = Date.now() + 5000; relay.origin.stats.datagramObjectsDropped !== dropped + 1; await new Promise((res) => setTimeout(res, 5))) {
      if (Date.now() > end) throw new Error("the dropped object was never counted");
    }

    // From now on groups stay open for more objects: three datagrams make one group of three frames.
    // One at a time (each seen by the IETF viewer first): QMux may shed a burst of datagrams.
    const multi = g++;
    for (const [o, eog] of [[0, false], [1, false], [2, true]] as const) {
      await send(multi, o, `g${multi} o${o}`, eog);
      await sawDatagram(multi, o);
    }
    const got = await liteGroup(multi);
    assert.equal(got.sequence, multi);
    assert.deepEqual(text(got), [`g${multi} o0`, `g${multi} o1`, `g${multi} o2`]);
    assert.deepEqual(
      ietf.datagrams.filter((d) => d.group === multi).map((d) => [d.object, d.payload]),
      [0, 1, 2].map((o) => [o, `g${multi} o${o}`]),
    );

    // A gap (object 1 never sent): object 2 is dropped and counted; the group ends with object 0.
    const gap = g++;
    await send(gap, 0, `g${gap} o0`);
    await sawDatagram(gap, 0);
    await send(gap, 2, `g${gap} o2`, true);
    assert.deepEqual(text(await liteGroup(gap)), [`g${gap} o0`]);
    assert.equal(relay.origin.stats.datagramObjectsDropped, dropped + 2);

    // A group without END_OF_GROUP ends when a newer one starts.
    const open = g++;
    await send(open, 0, `g${open} o0`);
    await sawDatagram(open, 0);
    await send(open, 1, `g${open} o1`);
    await sawDatagram(open, 1);
    await send(g, 0, `g${g} o0`, true);
    assert.deepEqual(text(await liteGroup(open)), [`g${open} o0`, `g${open} o1`]);
    assert.deepEqual(text(await liteGroup(g)), [`g${g} o0`]);
    assert.deepEqual(ietf.errors, []);
  } finally {
    lite.close();
    await ietf.close();
    pub.close();
  }
});
