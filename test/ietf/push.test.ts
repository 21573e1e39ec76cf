// PUBLISH (a publisher pushes a track) and object datagrams, with OpenMOQ's client as the IETF
// publisher (@moq/net's IETF code sends neither): a moq-lite @moq/net viewer receives the pushed
// track byte-identical and in order; datagrams reach a moq-lite viewer as single-frame groups and
// an OpenMOQ viewer as datagrams again.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTestRelay } from "../util/relay.js";
import { connect, subscribe, waitAnnounced, within, type Conn, type Reader } from "../util/moq.js";
import { ns, enc, openMoq, type OpenMoq } from "./openmoq-node.js";

const relay = await startTestRelay();
after(() => relay.close());

const frames = (g: number): string[] => Array.from({ length: 10 }, (_, f) => `push g${g} f${f} ${"p".repeat(f * 37)}`);

/** Push one group on its own subgroup stream (subgroup 0, FIRST_OBJECT on 18). */
async function pushGroup(om: OpenMoq, alias: bigint, group: number, payloads: string[], d18: boolean): Promise<void> {
  const id = await om.conn.openSubgroup(alias, BigInt(group), 0n, { endOfGroup: true, ...(d18 ? { firstObject: true } : {}) });
  for (let i = 0; i < payloads.length; i++) await om.conn.sendObject(id, BigInt(i), enc(payloads[i]));
  await om.conn.closeSubgroup(id);
}

/** The next `n` whole groups at or after `base` (late warm-up groups are skipped), by sequence. */
async function readFrom(r: Reader, base: number, n: number): Promise<Array<{ sequence: number; frames: Uint8Array[] }>> {
  const deadline = Date.now() + 10_000;
  const out: Array<{ sequence: number; frames: Uint8Array[] }> = [];
  while (out.length < n) {
    const g = await r.nextGroup(Math.max(1, deadline - Date.now()));
    if (g.sequence >= base) out.push(g);
  }
  return out.sort((a, b) => a.sequence - b.sequence);
}

/** A lite viewer of `name`/video once the relay announces it. */
async function viewer(name: string): Promise<{ conn: Conn; r: Reader }> {
  const conn = await connect(relay.url("anon"));
  await waitAnnounced(conn, name);
  return { conn, r: subscribe(conn, name, "video") };
}

for (const pair of ["qmux-01.moqt-18", "qmux-01.moqt-16"]) {
  test(`${pair}: a track pushed with PUBLISH reaches a moq-lite viewer byte-identical and in order`, async () => {
    const d18 = pair.endsWith("18");
    const name = `push-${pair}`;
    const om = await openMoq(relay, pair);
    const { conn, r } = await (async () => {
      const id = await om.conn.publish(ns(name), enc("video"), 5n);
      await om.message(d18 ? "REQUEST_OK" : "PUBLISH_OK", Number(id));
      return viewer(name);
    })();
    try {
      // Objects are dropped until the viewer's subscription reaches the relay: warm up until one
      // group arrives, then push the five measured ones.
      let g = 0;
      let first: number | undefined;
      const deadline = Date.now() + 10_000;
      while (first === undefined) {
        if (Date.now() > deadline) throw new Error("no warm-up group reached the viewer");
        await pushGroup(om, 5n, g++, ["warm-up"], d18);
        // A bounded read (not within(): a pending read would swallow a later group).
        first = await r.nextGroup(200).then(
          (x) => x.sequence,
          () => undefined,
        );
      }
      const base = g;
      for (let i = 0; i < 5; i++) await pushGroup(om, 5n, base + i, frames(base + i), d18);
      const got = await readFrom(r, base, 5);
      assert.deepEqual(
        got.map((x) => x.sequence),
        [0, 1, 2, 3, 4].map((i) => base + i),
      );
      for (const x of got) assert.deepEqual(x.frames.map((f) => Buffer.from(f).toString()), frames(x.sequence));
      assert.deepEqual(om.errors, []);
    } finally {
      conn.close();
      await om.close();
    }
  });
}

test("qmux-01.moqt-18: object datagrams from a publisher reach a moq-lite viewer as groups and an IETF viewer as datagrams", async () => {
  const name = "push-datagrams";
  const pub = await openMoq(relay, "qmux-01.moqt-18");
  const id = await pub.conn.publish(ns(name), enc("video"), 9n);
  await pub.message("REQUEST_OK", Number(id));
  const lite = await viewer(name);
  const ietf = await openMoq(relay, "qmux-01.moqt-18");
  await ietf.conn.subscribeTrack(ns(name), enc("video"), { onObject: () => undefined } as never);
  try {
    // Warm up until both viewers see a datagram (their subscriptions reached the relay).
    let g = 0;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`no warm-up datagram reached both viewers (IETF saw ${ietf.datagrams.length})`);
      await pub.conn.sendDatagram(9n, BigInt(g++), 0n, enc("warm-up"));
      const liteSaw = await lite.r.nextGroup(200).then(
        () => true,
        () => false,
      );
      if (liteSaw && ietf.datagrams.length > 0) break;
    }
    // One at a time: a datagram is unreliable by design (QMux sheds them under backpressure), so
    // a burst could lose one on the way without the relay being at fault.
    const base = g;
    const lites: Array<[number, string[]]> = [];
    for (let i = 0; i < 5; i++) {
      const seq = base + i;
      await pub.conn.sendDatagram(9n, BigInt(seq), 0n, enc(`datagram ${seq}`));
      for (;;) {
        const x = await lite.r.nextGroup(5000);
        if (x.sequence < seq) continue; // a late warm-up group
        lites.push([x.sequence, x.frames.map((f) => Buffer.from(f).toString())]);
        break;
      }
      await ietf.until(`datagram ${seq} at the IETF viewer (saw ${JSON.stringify(ietf.datagrams.map((d) => d.group))})`, () => ietf.datagrams.some((d) => d.group === seq));
    }
    assert.deepEqual(
      lites,
      [0, 1, 2, 3, 4].map((i) => [base + i, [`datagram ${base + i}`]]),
    );
    assert.deepEqual(
      ietf.datagrams.filter((d) => d.group >= base).map((d) => [d.group, d.object, d.payload]),
      [0, 1, 2, 3, 4].map((i) => [base + i, 0, `datagram ${base + i}`]),
    );
    assert.deepEqual([...pub.errors, ...ietf.errors], []);
  } finally {
    lite.conn.close();
    await ietf.close();
    await pub.close();
  }
});

test("qmux-01.moqt-18: a group sent on the relay's first SUBSCRIBE (its track-properties probe) reaches the first viewer", async () => {
  const name = "probe-kept";
  const pub = await openMoq(relay, "qmux-01.moqt-18");
  const subscribes: bigint[] = [];
  // A strict publisher: each SUBSCRIBE gets one group, sent at once and never again.
  (pub.conn as unknown as { onSubscribe: (id: bigint) => void }).onSubscribe = (id) => {
    subscribes.push(id);
    const group = subscribes.length - 1;
    void (async () => {
      await pub.conn.acceptSubscribe(id, id);
      await pushGroup(pub, id, group, frames(group), true);
    })().catch((err: unknown) => pub.errors.push(String(err)));
  };
  await pub.conn.publishNamespace(ns(name));
  const { conn, r } = await viewer(name);
  try {
    const g = await r.nextGroup(10_000);
    // Group 0 went out on the probe, before any viewer's subscription existed upstream.
    assert.equal(g.sequence, 0);
    assert.deepEqual(g.frames.map((f) => Buffer.from(f).toString()), frames(0));
    assert.equal(subscribes.length, 1, "the viewer adopted the probe: one SUBSCRIBE upstream");
    assert.deepEqual(pub.errors, []);
  } finally {
    conn.close();
    await pub.close();
  }
});

test("qmux-01.moqt-18: a joining FETCH naming a SUBSCRIBE still waiting for its publisher is answered once that SUBSCRIBE is", async () => {
  const name = "join-pending";
  const pub = await openMoq(relay, "qmux-01.moqt-18");
  // Hold the answer until the viewer's joining FETCH is in.
  const upstream = new Promise<bigint>((resolve) => ((pub.conn as unknown as { onSubscribe: (id: bigint) => void }).onSubscribe = resolve));
  const announced = Number(await pub.conn.publishNamespace(ns(name)));
  await pub.message("REQUEST_OK", announced);
  const om = await openMoq(relay, "qmux-01.moqt-18");
  try {
    const sub = await om.conn.subscribe(ns(name), enc("video"));
    const fetch = Number(await om.conn.joiningFetch({ joiningFetchType: "relative", joiningRequestId: sub, joiningStart: 1n }));
    const id = await within(upstream, 8000, "the relay's SUBSCRIBE upstream");
    await pub.conn.acceptSubscribe(id, id);
    // The track has no objects yet: INVALID_RANGE, not INVALID_JOINING_REQUEST_ID.
    const err = await om.message("REQUEST_ERROR", fetch);
    assert.equal(err.errorCode, 0x5);
    await om.message("SUBSCRIBE_OK", Number(sub));
  } finally {
    await om.close();
    await pub.close();
  }
});
