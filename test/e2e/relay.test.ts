import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTestRelay } from "../util/relay.js";
import * as Moq from "@moq/net";
import { connect, publish, subscribe, waitAnnounced, within, type Publisher } from "../util/moq.js";

const relay = await startTestRelay();
after(() => relay.close());

/**
 * Resolve once the publisher was asked for the track and the relay has `n` viewers on `path`'s
 * video track: the events a live publish must wait for (a group written earlier would be skipped
 * by a viewer that joins after it).
 */
async function viewers(p: Publisher, path: string, n = 1): Promise<void> {
  await p.waitSubscribed();
  await within(
    (async () => {
      while ((relay.origin.lookup(path)?.track("video").viewerCount ?? 0) < n) await new Promise((r) => setTimeout(r, 5));
    })(),
    5000,
    `${n} viewer(s) of ${path} at the relay`,
  );
}

function frames(group: number, n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new TextEncoder().encode(`group ${group} frame ${i} ${"x".repeat(i * 37)}`));
}

test("a publisher's frames reach two subscribers byte-identical and in order over moq-lite-05", async () => {
  const pub = await connect(relay.url("anon"));
  assert.equal(pub.version, "moq-lite-05");
  const p = publish(pub, "bbb", "video");
  const subA = await connect(relay.url("anon"));
  const subB = await connect(relay.url("anon"));
  await waitAnnounced(subA, "bbb");
  const a = subscribe(subA, "bbb", "video");
  const b = subscribe(subB, "bbb", "video");
  // Once both subscriptions reached the relay, publish 5 groups of 10 frames.
  await viewers(p, "anon/bbb", 2);
  // The first group fixes where a live viewer starts; after it, groups may arrive in any order
  // (each is its own stream, newest first), so compare the rest by sequence.
  p.group(frames(0, 10));
  for (const reader of [a, b]) {
    const first = await reader.nextGroup();
    assert.equal(first.sequence, 0);
    assert.deepEqual(first.frames.map((f) => Buffer.from(f).toString()), frames(0, 10).map((f) => Buffer.from(f).toString()));
  }
  for (let g = 1; g < 5; g++) p.group(frames(g, 10));
  for (const reader of [a, b]) {
    const groups = await reader.readGroups(4);
    assert.deepEqual(groups.map((g) => g.sequence), [1, 2, 3, 4]);
    for (const got of groups) {
      assert.deepEqual(got.frames.map((f) => Buffer.from(f).toString()), frames(got.sequence, 10).map((f) => Buffer.from(f).toString()));
    }
  }
  for (const c of [pub, subA, subB]) c.close();
});

test("a late subscriber receives the latest group from its first frame", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "late", "video");
  const early = await connect(relay.url("anon"));
  await waitAnnounced(early, "late");
  const e = subscribe(early, "late", "video");
  await viewers(p, "anon/late");
  p.group(["g0"]);
  const open = p.group(["g1 f0", "g1 f1"], true);
  assert.equal((await e.nextGroup()).sequence, 0);
  // Group 1 is still open when the late viewer arrives.
  const late = await connect(relay.url("anon"));
  const l = subscribe(late, "late", "video");
  await viewers(p, "anon/late", 2);
  open.writeString("g1 f2");
  open.close();
  p.group(["g2"]);
  const first = await l.nextGroup();
  assert.equal(first.sequence, 1);
  assert.deepEqual(first.frames.map((f) => Buffer.from(f).toString()), ["g1 f0", "g1 f1", "g1 f2"]);
  assert.equal((await l.nextGroup()).sequence, 2);
  for (const c of [pub, early, late]) c.close();
});

test("subscribing to an unknown broadcast fails promptly instead of hanging", async () => {
  const sub = await connect(relay.url("anon"));
  const r = subscribe(sub, "nobody-here", "video");
  const started = Date.now();
  await assert.rejects(r.nextGroup(8000));
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  sub.close();
});

test("a moq-lite-04 publisher is watched by a moq-lite-05 viewer", async () => {
  const pub = await connect(relay.url("anon"), { protocol: "moq-lite-04" });
  assert.equal(pub.version, "moq-lite-04");
  const p = publish(pub, "old-client", "video");
  const viewer = await connect(relay.url("anon"));
  await waitAnnounced(viewer, "old-client");
  const r = subscribe(viewer, "old-client", "video");
  await viewers(p, "anon/old-client");
  p.group(["from lite-04"]);
  const got = await r.nextGroup();
  assert.equal(Buffer.from(got.frames[0]).toString(), "from lite-04");
  pub.close();
  viewer.close();
});

test("announcements show up and go away with the publisher", async () => {
  const viewer = await connect(relay.url("anon"));
  const pub = await connect(relay.url("anon"));
  publish(pub, "comes-and-goes", "video");
  await waitAnnounced(viewer, "comes-and-goes");
  const res = await fetch(relay.url("announced/anon"));
  assert.ok(((await res.json()) as string[]).includes("comes-and-goes"));
  pub.close();
  await within(
    (async () => {
      for (;;) {
        const list = (await (await fetch(relay.url("announced/anon"))).json()) as string[];
        if (!list.includes("comes-and-goes")) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    5000,
    "unannounce",
  );
  viewer.close();
});

for (const protocol of ["moq-lite-03", "moql"]) {
  test(`a ${protocol === "moql" ? "legacy moq-lite-02 (in-band SETUP)" : protocol} publisher is watched by a moq-lite-05 viewer`, async () => {
    const pub = await connect(relay.url("anon"), { protocol });
    assert.equal(pub.version, protocol === "moql" ? "moq-lite-02" : protocol);
    const name = `via-${protocol}`;
    const p = publish(pub, name, "video");
    const viewer = await connect(relay.url("anon"));
    await waitAnnounced(viewer, name);
    const r = subscribe(viewer, name, "video");
    await viewers(p, `anon/${name}`);
    p.group([`hello over ${protocol}`]);
    assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), `hello over ${protocol}`);
    pub.close();
    viewer.close();
  });
}

test("a legacy moq-lite-02 viewer watches a moq-lite-05 publisher", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "to-legacy", "video");
  const viewer = await connect(relay.url("anon"), { protocol: "moql" });
  assert.equal(viewer.version, "moq-lite-02");
  await waitAnnounced(viewer, "to-legacy");
  const r = subscribe(viewer, "to-legacy", "video");
  await viewers(p, "anon/to-legacy");
  p.group(["new to old"]);
  assert.equal(Buffer.from((await r.nextGroup()).frames[0]).toString(), "new to old");
  pub.close();
  viewer.close();
});

test("GET /fetch returns the latest cached group's frames", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "fetchable", "video");
  const viewer = await connect(relay.url("anon"));
  await waitAnnounced(viewer, "fetchable");
  const r = subscribe(viewer, "fetchable", "video");
  await viewers(p, "anon/fetchable");
  p.group(["one", "two"]);
  await r.nextGroup();
  const res = await fetch(relay.url("fetch/anon/fetchable/video"));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("x-moq-group"), "0");
  assert.equal(await res.text(), "onetwo");
  assert.equal((await fetch(relay.url("fetch/anon/missing/video"))).status, 404);
  assert.equal((await fetch(relay.url("fetch/private/x/video"))).status, 401);
  pub.close();
  viewer.close();
});

test("a viewer fetches one cached group over the FETCH stream", async () => {
  const pub = await connect(relay.url("anon"));
  const p = publish(pub, "fetch-wire", "video");
  const viewer = await connect(relay.url("anon"));
  await waitAnnounced(viewer, "fetch-wire");
  const live = subscribe(viewer, "fetch-wire", "video");
  await viewers(p, "anon/fetch-wire");
  p.group(["cached a", "cached b"]);
  p.group(["newer"]);
  await live.nextGroup();
  const other = await connect(relay.url("anon"));
  // FETCH is reached through the client's track handle (typed here: its .d.ts do not resolve under NodeNext).
  interface FetchedGroup {
    readFrame(): Promise<{ payload: Uint8Array } | undefined>;
  }
  interface TrackHandle {
    fetchGroup(sequence: number): Promise<FetchedGroup>;
  }
  const broadcast = (other as unknown as { consume(path: unknown): { track(name: string): TrackHandle } }).consume(Moq.Path.from("fetch-wire"));
  const group = await within(broadcast.track("video").fetchGroup(0), 5000, "FETCH of group 0");
  const frames: string[] = [];
  for (let f = await group.readFrame(); f !== undefined; f = await group.readFrame()) frames.push(Buffer.from(f.payload).toString());
  assert.deepEqual(frames, ["cached a", "cached b"]);
  for (const c of [pub, viewer, other]) c.close();
});
