// SUBSCRIBE_UPDATE (14–15) / REQUEST_UPDATE (16+) applied to a live subscription: subscriber
// priority, Forward State (0 pauses new objects, 1 resumes), and the range (the end group ends the
// subscription with PUBLISH_DONE SUBSCRIPTION_ENDED); what the drafts call a protocol violation
// closes that session only. @moq/net has no API to send an update, so a raw client built from our
// codecs sends them; its bytes match @moq/net's own SubscribeUpdate encoder on every draft.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { Subscription } from "../../src/relay/subscription.js";
import { AnnounceType, PublishNamespace, SubscribeNamespace } from "../../src/session/ietf/announce.js";
import { Termination } from "../../src/session/ietf/errors.js";
import { control, ControlFramer } from "../../src/session/ietf/message.js";
import { RequestOk, RequestType } from "../../src/session/ietf/request.js";
import { DoneStatus, doneStatus, PublishDone, Subscribe, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { relayPriority, SubscribeUpdate, type UpdateFields } from "../../src/session/ietf/update.js";
import { Draft, draftName, subscribeNamespaceType } from "../../src/session/ietf/version.js";
import { servingLive, startTestRelay } from "../util/relay.js";
import { connect, publish, publishBroadcast, subscribe, TrackWriter, waitAnnounced, within, type Conn, type Publisher, type Reader } from "../util/moq.js";
import { rawSession, type RawRequest } from "./raw.js";
import { Client, clientEncode, hexOf } from "./wire.js";

const relay = await startTestRelay();
after(() => relay.close());

const ALL = [Draft.D14, Draft.D15, Draft.D16, Draft.D17, Draft.D18, Draft.D19, Draft.D20] as const;

for (const v of ALL) {
  test(`${draftName(v)}: an update that changes nothing matches @moq/net's SubscribeUpdate byte for byte; ours round-trip`, async () => {
    const mine = control(v, SubscribeType.SubscribeUpdate, (w) => new SubscribeUpdate({ requestId: 6, existing: 0 }).encode(w));
    const theirs = await clientEncode(v, async (w) => {
      await w.u53(SubscribeType.SubscribeUpdate);
      await new Client.SubscribeUpdate({ requestId: 6n }).encode(w as never, v as never);
    });
    assert.equal(hexOf(mine), hexOf(theirs));
    const f: UpdateFields = { requestId: 8, existing: 2, priority: 7, forward: false, start: { group: 4, object: 1 }, endGroup: 9 };
    const frame = new ControlFramer(v, 65535);
    frame.push(control(v, SubscribeType.SubscribeUpdate, (w) => new SubscribeUpdate(f).encode(w)));
    const back = SubscribeUpdate.decode(frame.next()!.body);
    const expected: UpdateFields = { ...f };
    // 17+: the request's stream names the subscription.
    if (v >= Draft.D17) delete expected.existing;
    // Fields an update leaves unchanged are undefined.
    assert.deepEqual(Object.fromEntries(Object.entries({ ...back }).filter(([, x]) => x !== undefined)), expected);
  });
}

/** The relay's viewer subscriptions on a track (white box: the priority it sends with is not on the wire). */
function priorities(bc: string): number[] {
  const t = relay.origin.lookup(`anon/${bc}`)?.peek("video");
  if (t === undefined) return [];
  return [...(t as unknown as { viewers: Set<Subscription> }).viewers].map((s) => s.prefs.priority);
}

const frames = (g: number): string[] => [`g${g} a`, `g${g} ${"b".repeat(200 + g)}`];

/** A live broadcast with a moq-lite viewer beside the raw one (it proves each group went out). */
async function live(bc: string): Promise<{ pub: Conn; viewer: Conn; p: Publisher; r: Reader }> {
  const pub = await connect(relay.url("anon"), { protocol: "qmux-01.moqt-18" });
  const viewer = await connect(relay.url("anon"));
  const p = publish(pub, bc, "video");
  await waitAnnounced(viewer, bc);
  const r = subscribe(viewer, bc, "video");
  await servingLive(relay, `anon/${bc}`, "video", { publisher: p });
  return { pub, viewer, p, r };
}

async function expectOk(req: RawRequest, v: Draft, id: number, what: string): Promise<void> {
  const m = await req.next(what);
  assert.equal(m.type, RequestType.RequestOk, `${what}: REQUEST_OK`);
  if (v <= Draft.D16) assert.equal(RequestOk.decode(m.body).requestId, id, `${what}: answers the update's own Request ID`);
}

const updateMsg = (v: Draft, f: UpdateFields): Uint8Array => control(v, SubscribeType.SubscribeUpdate, (w) => new SubscribeUpdate(f).encode(w));

for (const v of [Draft.D16, Draft.D18]) {
  test(`${draftName(v)}: REQUEST_UPDATE changes the priority, pauses (Forward 0) and resumes the subscription, and ends it at its end group`, async () => {
    const bc = `update-${v - 0xff000000}`;
    const { pub, viewer, p, r } = await live(bc);
    const c = await rawSession(relay.url("anon"), v);
    try {
      const sub = await c.request(control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: bc, track: "video", priority: 128 }).encode(w)));
      assert.equal((await sub.next("SUBSCRIBE_OK")).type, SubscribeType.SubscribeOk);
      await servingLive(relay, `anon/${bc}`, "video", { viewers: 2 });
      p.group(frames(0));
      assert.equal((await r.nextGroup()).sequence, 0);
      assert.equal(await c.nextGroup("group 0"), 0);

      // Priority 3 (IETF: lower is more urgent) is the relay's 252 (higher first).
      assert.ok(!priorities(bc).includes(relayPriority(3)));
      await sub.send(updateMsg(v, { requestId: 2, existing: 0, priority: 3 }));
      await expectOk(sub, v, 2, "the priority update");
      assert.ok(priorities(bc).includes(relayPriority(3)), `the relay's viewers have priorities ${priorities(bc).join(", ")}`);

      // Forward 0: groups 1 and 2 reach the moq-lite viewer but not this one; Forward 1: group 3 does.
      await sub.send(updateMsg(v, { requestId: 4, existing: 0, forward: false }));
      await expectOk(sub, v, 4, "the pause");
      p.group(frames(1));
      p.group(frames(2));
      assert.deepEqual([(await r.nextGroup()).sequence, (await r.nextGroup()).sequence], [1, 2]);
      await sub.send(updateMsg(v, { requestId: 6, existing: 0, forward: true }));
      await expectOk(sub, v, 6, "the resume");
      p.group(frames(3));
      assert.equal((await r.nextGroup()).sequence, 3);
      assert.equal(await c.nextGroup("the first group after resuming"), 3, "nothing published while paused was sent");

      // End group 4: group 4 is delivered, then PUBLISH_DONE SUBSCRIPTION_ENDED.
      await sub.send(updateMsg(v, { requestId: 8, existing: 0, start: { group: 3, object: 0 }, endGroup: 4 }));
      await expectOk(sub, v, 8, "the range update");
      p.group(frames(4));
      assert.equal((await r.nextGroup()).sequence, 4);
      assert.equal(await c.nextGroup("group 4"), 4);
      const done = await sub.next("PUBLISH_DONE");
      assert.equal(done.type, SubscribeType.PublishDone);
      assert.equal(PublishDone.decode(done.body).status, DoneStatus.SubscriptionEnded, "SUBSCRIPTION_ENDED (0x3) in drafts 16 and 18");
      p.group(frames(5));
      assert.equal((await r.nextGroup()).sequence, 5, "the track goes on for other viewers");
    } finally {
      c.close();
      viewer.close();
      pub.close();
    }
  });
}

for (const v of [Draft.D16, Draft.D18]) {
  test(`${draftName(v)}: REQUEST_UPDATE of a PUBLISH_NAMESPACE (and on 18 a SUBSCRIBE_NAMESPACE) is accepted with REQUEST_OK, the session stays up`, async () => {
    const bc = `update-other-${v - 0xff000000}`;
    const c = await rawSession(relay.url("anon"), v);
    try {
      const ns = await c.request(control(v, AnnounceType.PublishNamespace, (w) => new PublishNamespace(0, bc).encode(w)));
      assert.equal((await ns.next("REQUEST_OK")).type, RequestType.RequestOk);
      await ns.send(updateMsg(v, { requestId: 2, existing: 0, priority: 1 }));
      await expectOk(ns, v, 2, "the PUBLISH_NAMESPACE update");
      if (v >= Draft.D18) {
        const sn = await c.request(control(v, subscribeNamespaceType(v), (w) => new SubscribeNamespace(4, "nothing-here").encode(w)));
        assert.equal((await sn.next("REQUEST_OK")).type, RequestType.RequestOk);
        await sn.send(updateMsg(v, { requestId: 6, priority: 1 }));
        await expectOk(sn, v, 6, "the SUBSCRIBE_NAMESPACE update");
      }
      // Still up: the namespace is announced to others.
      const viewer = await connect(relay.url("anon"));
      try {
        await waitAnnounced(viewer, bc);
      } finally {
        viewer.close();
      }
    } finally {
      c.close();
    }
  });
}

test("moq-transport-14: SUBSCRIBE_UPDATE is applied without an answer; one naming a request that never existed closes that session only with PROTOCOL_VIOLATION", async () => {
  const v = Draft.D14;
  const bc = "update-14";
  const { pub, viewer, p, r } = await live(bc);
  const c = await rawSession(relay.url("anon"), v);
  try {
    const sub = await c.request(control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: bc, track: "video" }).encode(w)));
    assert.equal((await sub.next("SUBSCRIBE_OK")).type, SubscribeType.SubscribeOk);
    // Draft-14 restates every field: start 0/0 (what the viewer was told), open end, priority 9.
    await sub.send(updateMsg(v, { requestId: 2, existing: 0, start: { group: 0, object: 0 }, endGroup: null, priority: 9, forward: true }));
    // No answer to wait for on 14: poll the relay (bounded).
    for (const deadline = Date.now() + 5000; !priorities(bc).includes(relayPriority(9)); await new Promise((res) => setTimeout(res, 5))) {
      if (Date.now() > deadline) throw new Error("the relay never applied the update");
    }
    await sub.send(updateMsg(v, { requestId: 4, existing: 40, start: { group: 0, object: 0 }, endGroup: null, priority: 9, forward: true }));
    const info = await within(c.s.closed, 5000, "the relay closing the session");
    assert.equal(info.closeCode, Termination.ProtocolViolation);
    p.group(frames(0));
    assert.equal((await r.nextGroup()).sequence, 0, "other sessions carry on");
  } finally {
    c.close();
    viewer.close();
    pub.close();
  }
});

test("moq-transport-15: SUBSCRIBE_UPDATE gets REQUEST_OK for its own Request ID; moving the start location back is a PROTOCOL_VIOLATION", async () => {
  const v = Draft.D15;
  const { pub, viewer } = await live("update-15");
  const c = await rawSession(relay.url("anon"), v);
  try {
    const filter = { kind: "absolute" as const, startGroup: 5, startObject: 0 };
    const sub = await c.request(control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: "update-15", track: "video", filter }).encode(w)));
    assert.equal((await sub.next("SUBSCRIBE_OK")).type, SubscribeType.SubscribeOk);
    await sub.send(updateMsg(v, { requestId: 2, existing: 0, start: { group: 6, object: 0 } }));
    await expectOk(sub, v, 2, "a start moved forward");
    await sub.send(updateMsg(v, { requestId: 4, existing: 0, start: { group: 5, object: 0 } }));
    const info = await within(c.s.closed, 5000, "the relay closing the session");
    assert.equal(info.closeCode, Termination.ProtocolViolation);
  } finally {
    c.close();
    viewer.close();
    pub.close();
  }
});

test("PUBLISH_DONE codes follow the draft: EXPIRED and TOO_FAR_BEHIND swap in draft-18; draft-20 has no SUBSCRIPTION_ENDED", () => {
  assert.deepEqual([doneStatus(Draft.D16).Expired, doneStatus(Draft.D16).TooFarBehind], [5, 6]);
  assert.deepEqual([doneStatus(Draft.D18).Expired, doneStatus(Draft.D18).TooFarBehind], [6, 5]);
  assert.equal(doneStatus(Draft.D19).SubscriptionEnded, 3);
  assert.equal(doneStatus(Draft.D20).SubscriptionEnded, doneStatus(Draft.D20).TrackEnded);
});

for (const v of [Draft.D16, Draft.D18]) {
  test(`${draftName(v)}: a moq-lite publisher priority (higher first) reaches IETF viewers inverted (lower first) in the subgroup header`, async () => {
    const bc = `prio-${v - 0xff000000}`;
    const pub = await connect(relay.url("anon"));
    const writer = publishBroadcast(pub, bc);
    const urgent = new TrackWriter(writer.broadcast.createTrack("video", { priority: 200 }));
    const c = await rawSession(relay.url("anon"), v);
    try {
      const viewer = await connect(relay.url("anon"));
      await waitAnnounced(viewer, bc);
      viewer.close();
      const sub = await c.request(control(v, SubscribeType.Subscribe, (w) => new Subscribe({ requestId: 0, namespace: bc, track: "video", priority: 128 }).encode(w)));
      assert.equal((await sub.next("SUBSCRIBE_OK")).type, SubscribeType.SubscribeOk);
      await servingLive(relay, `anon/${bc}`, "video", { viewers: 1 });
      urgent.group(frames(0));
      assert.equal(await c.nextGroup("group 0"), 0);
      assert.equal(c.priorities.get(0), 255 - 200, "moq-lite 200 is IETF 55");
    } finally {
      c.close();
      writer.close();
      pub.close();
    }
  });
}
