// Every IETF message family, byte for byte against @moq/net@0.3.4's own encoders and decoders,
// for each draft both implement: we encode what the client encodes, decode what it writes, and
// it decodes what we write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AnnounceType, NamespaceDone, NamespaceEntry, PublishNamespace, PublishNamespaceDone, SubscribeNamespace } from "../../src/session/ietf/announce.js";
import type { Filter } from "../../src/session/ietf/filter.js";
import { control, ControlFramer } from "../../src/session/ietf/message.js";
import { encodeObjectHead, encodeSubgroupHeader, ObjectParser, subgroupType, type SubgroupHeader } from "../../src/session/ietf/object.js";
import { Params, SetupKey } from "../../src/session/ietf/params.js";
import { Goaway, RequestError, RequestIdMessage, RequestOk, RequestType } from "../../src/session/ietf/request.js";
import { ClientSetup, ServerSetup, Setup, SetupType } from "../../src/session/ietf/setup.js";
import { PublishDone, Subscribe, SubscribeOk, SubscribeType } from "../../src/session/ietf/subscribe.js";
import { Draft, draftName, hasControlStream, hasFilterFields, hasNamespaceEntries, subscribeNamespaceType } from "../../src/session/ietf/version.js";
import { IetfReader, IetfWriter } from "../../src/session/ietf/wire.js";
import { Client, clientEncode, clientReader, hexOf } from "./wire.js";

const ALL = [Draft.D14, Draft.D15, Draft.D16, Draft.D17, Draft.D18, Draft.D19, Draft.D20] as const;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Our framed message must equal the client's `type (i)` + its encode(). */
async function same(v: Draft, type: number, ours: (w: IetfWriter) => void, theirs: (w: Parameters<Parameters<typeof clientEncode>[1]>[0]) => Promise<void>): Promise<Uint8Array> {
  const mine = control(v, type, ours);
  const client = await clientEncode(v, async (w) => {
    await w.u53(type);
    await theirs(w);
  });
  assert.equal(hexOf(mine), hexOf(client), `${draftName(v)} type 0x${type.toString(16)}`);
  return mine;
}

/** Our decoder over one framed message. */
function ours<T>(v: Draft, bytes: Uint8Array, decode: (r: IetfReader) => T): T {
  const f = new ControlFramer(v, 65535);
  f.push(bytes);
  const m = f.next();
  assert.ok(m !== undefined, "a whole message");
  assert.equal(f.pending, 0);
  return decode(m.body);
}

/** The client's decoder over one framed message. */
async function theirs<T>(v: Draft, bytes: Uint8Array, decode: (r: ReturnType<typeof clientReader>) => Promise<T>): Promise<T> {
  const r = clientReader(bytes, v);
  await r.u53();
  return decode(r);
}

for (const v of ALL) {
  const name = draftName(v);

  test(`${name}: setup messages match @moq/net`, async () => {
    const opts = new Client.SetupOptions();
    opts.setVarint(Client.SetupOption.MaxRequestId, 42069n);
    opts.setBytes(Client.SetupOption.Implementation, text("moq-lite-js"));
    opts.setBytes(Client.SetupOption.Path, text("/anon?jwt=x"));
    const p = new Params().setVarint(SetupKey.MaxRequestId, 42069).setBytes(SetupKey.Implementation, text("moq-lite-js")).setBytes(SetupKey.Path, text("/anon?jwt=x"));
    if (hasControlStream(v)) {
      const c = await same(v, SetupType.Client, (w) => new ClientSetup([v], p).encode(w), (w) => new Client.ClientSetup({ versions: [v], parameters: opts }).encode(w, v));
      const back = ours(v, c, ClientSetup.decode);
      assert.deepEqual(back.versions, [v]);
      assert.equal(back.params.vars.get(SetupKey.MaxRequestId), 42069);
      assert.equal(new TextDecoder().decode(back.params.bytes.get(SetupKey.Path)), "/anon?jwt=x");
      const s = await same(v, SetupType.Server, (w) => new ServerSetup(v, p).encode(w), (w) => new Client.ServerSetup({ version: v, parameters: opts }).encode(w, v));
      const srv = await theirs(v, s, (r) => Client.ServerSetup.decode(r, v));
      assert.equal(srv.parameters.getVarint(Client.SetupOption.MaxRequestId), 42069n);
    } else {
      const s = await same(v, SetupType.Setup, (w) => new Setup(p).encode(w), (w) => new Client.Setup({ parameters: opts }).encode(w, v));
      const back = ours(v, s, Setup.decode);
      assert.equal(new TextDecoder().decode(back.params.bytes.get(SetupKey.Implementation)), "moq-lite-js");
      const cl = await theirs(v, s, (r) => Client.Setup.decode(r, v));
      assert.equal(new TextDecoder().decode(cl.parameters.getBytes(Client.SetupOption.Path)), "/anon?jwt=x");
    }
  });

  test(`${name}: SUBSCRIBE with each filter matches @moq/net`, async () => {
    type ClientFilter = ConstructorParameters<typeof Client.Subscribe>[0]["filter"];
    const filters: Array<[Filter, ClientFilter]> = hasFilterFields(v)
      ? [
          [{ kind: "nextObject" }, { kind: "nextObject" }],
          [{ kind: "unfiltered" }, { kind: "unfiltered" }],
          [{ kind: "relative", groups: 3 }, { kind: "relative", groups: 3n }],
          [{ kind: "absolute", startGroup: 5, startObject: 2 }, { kind: "absolute", startGroup: 5n, startObject: 2n }],
          [{ kind: "absolute", startGroup: 5, startObject: 0, endGroup: 9, endObject: 4 }, { kind: "absolute", startGroup: 5n, startObject: 0n, endGroup: 9n, endObject: 4n }],
        ]
      : [
          [{ kind: "nextObject" }, { kind: "nextObject" }],
          [{ kind: "relative", groups: 0 }, { kind: "relative", groups: 0n }],
          [{ kind: "absolute", startGroup: 5, startObject: 2 }, { kind: "absolute", startGroup: 5n, startObject: 2n }],
          [{ kind: "absolute", startGroup: 5, startObject: 0, endGroup: 9 }, { kind: "absolute", startGroup: 5n, startObject: 0n, endGroup: 9n }],
        ];
    for (const [f, cf] of filters) {
      const bytes = await same(
        v,
        SubscribeType.Subscribe,
        (w) => new Subscribe({ requestId: 6, namespace: "room/alice", track: "video", priority: 7, filter: f }).encode(w),
        (w) => new Client.Subscribe({ requestId: 6n, trackNamespace: "room/alice" as never, trackName: "video", subscriberPriority: 7, filter: cf }).encode(w, v),
      );
      const m = ours(v, bytes, Subscribe.decode);
      assert.deepEqual([m.requestId, m.namespace, m.track, m.priority, m.forward], [6, "room/alice", "video", 7, true]);
      assert.deepEqual(m.filter, f);
      const c = await theirs(v, bytes, (r) => Client.Subscribe.decode(r, v));
      assert.deepEqual([c.requestId, c.trackNamespace, c.trackName, c.subscriberPriority], [6n, "room/alice", "video", 7]);
      // The client's decoder spells absent range ends as undefined fields.
      assert.deepEqual(Object.fromEntries(Object.entries(c.filter).filter(([, x]) => x !== undefined)), cf);
    }
  });

  test(`${name}: SUBSCRIBE_OK, REQUEST_OK, REQUEST_ERROR, PUBLISH_DONE, GOAWAY, MAX_REQUEST_ID match @moq/net`, async () => {
    const largest = hasFilterFields(v) ? { group: 12, object: 3 } : undefined;
    const ok = await same(
      v,
      SubscribeType.SubscribeOk,
      (w) => new SubscribeOk(6, 6, { timescale: 1000, groupOrder: 2 }, largest).encode(w),
      (w) => new Client.SubscribeOk({ requestId: 6n, trackAlias: 6n, properties: { timescale: 1000 as never, groupOrder: 2 }, largest: largest && { groupId: 12n, objectId: 3n } }).encode(w, v),
    );
    const mine = ours(v, ok, SubscribeOk.decode);
    assert.equal(mine.alias, 6);
    const c = await theirs(v, ok, (r) => Client.SubscribeOk.decode(r, v));
    assert.equal(c.trackAlias, 6n);
    if (v >= Draft.D17) assert.equal(c.properties.timescale, 1000);
    if (largest !== undefined) assert.deepEqual(c.largest, { groupId: 12n, objectId: 3n });

    const rok = await same(v, RequestType.RequestOk, (w) => new RequestOk(8).encode(w), (w) => new Client.RequestOk({ requestId: 8n }).encode(w, v));
    assert.equal((await theirs(v, rok, (r) => Client.RequestOk.decode(r, v))).parameters.vars.size, 0);
    const err = await same(v, RequestType.RequestError, (w) => new RequestError(8, 4, "broadcast not found", 250).encode(w), (w) => new Client.RequestError({ requestId: 8n, errorCode: 4, reasonPhrase: "broadcast not found", retryInterval: 250n }).encode(w, v));
    const e = ours(v, err, RequestError.decode);
    assert.deepEqual([e.code, e.reason, e.retryInterval], [4, "broadcast not found", v >= Draft.D16 ? 250 : 0]);
    const done = await same(v, SubscribeType.PublishDone, (w) => new PublishDone(6, 2, "track ended").encode(w), (w) => new Client.PublishDone({ requestId: 6n, statusCode: 2, reasonPhrase: "track ended" }).encode(w, v));
    assert.equal((await theirs(v, done, (r) => Client.PublishDone.decode(r, v))).statusCode, 2);
    const ga = await same(v, RequestType.Goaway, (w) => new Goaway("https://relay-b.example/anon").encode(w), (w) => new Client.GoAway({ newSessionUri: "https://relay-b.example/anon" }).encode(w, v));
    assert.equal((await theirs(v, ga, (r) => Client.GoAway.decode(r, v))).newSessionUri, "https://relay-b.example/anon");
    const max = await same(v, RequestType.MaxRequestId, (w) => new RequestIdMessage(2048).encode(w), (w) => new Client.MaxRequestId({ requestId: 2048n }).encode(w, v));
    assert.equal(ours(v, max, RequestIdMessage.decode).requestId, 2048);
  });

  test(`${name}: namespace messages match @moq/net`, async () => {
    const pn = await same(v, AnnounceType.PublishNamespace, (w) => new PublishNamespace(4, "room/alice").encode(w), (w) => new Client.PublishNamespace({ requestId: 4n, trackNamespace: "room/alice" as never }).encode(w, v));
    assert.equal(ours(v, pn, PublishNamespace.decode).namespace, "room/alice");
    assert.equal((await theirs(v, pn, (r) => Client.PublishNamespace.decode(r, v))).trackNamespace, "room/alice");
    if (v <= Draft.D16) {
      const d = await same(v, AnnounceType.PublishNamespaceDone, (w) => new PublishNamespaceDone(4, "room/alice").encode(w), (w) => new Client.PublishNamespaceDone({ requestId: 4n, trackNamespace: "room/alice" as never }).encode(w, v));
      const back = ours(v, d, PublishNamespaceDone.decode);
      assert.deepEqual(v === Draft.D16 ? back.requestId : back.namespace, v === Draft.D16 ? 4 : "room/alice");
    }
    const type = subscribeNamespaceType(v);
    const sn = await same(v, type, (w) => new SubscribeNamespace(2, "room").encode(w), (w) =>
      type === AnnounceType.SubscribeNamespace ? new Client.SubscribeNamespace({ requestId: 2n, namespace: "room" as never }).encode(w, v) : new Client.SubscribeNamespaceLegacy({ requestId: 2n, namespace: "room" as never }).encode(w, v),
    );
    assert.equal(ours(v, sn, SubscribeNamespace.decode).prefix, "room");
    if (hasNamespaceEntries(v)) {
      const e = await same(v, AnnounceType.Namespace, (w) => new NamespaceEntry("alice").encode(w), (w) => new Client.SubscribeNamespaceEntry({ suffix: "alice" as never }).encode(w, v));
      assert.equal((await theirs(v, e, (r) => Client.SubscribeNamespaceEntry.decode(r, v))).suffix, "alice");
      const d = await same(v, AnnounceType.NamespaceDone, (w) => new NamespaceDone("alice").encode(w), (w) => new Client.SubscribeNamespaceEntryDone({ suffix: "alice" as never }).encode(w, v));
      assert.equal(ours(v, d, NamespaceDone.decode).suffix, "alice");
    }
  });

  test(`${name}: subgroup streams (header, timestamped objects) match @moq/net both ways`, async () => {
    const payloads = [text("first"), new Uint8Array(0), text("x".repeat(300))];
    const stamps = [1234, 1240, 99_999];
    const w = new IetfWriter(v);
    const type = subgroupType(v, true);
    encodeSubgroupHeader(w, type, 5, 9, 0);
    payloads.forEach((p, i) => {
      encodeObjectHead(w, 0, true, stamps[i], p.length);
      w.bytes(p);
    });
    const mine = w.finish();
    const flags = { hasExtensions: true, hasSubgroup: false, hasSubgroupObject: false, hasEnd: true, hasPriority: true, firstObject: true };
    const client = await clientEncode(v, async (cw) => {
      await new Client.Group({ trackAlias: 5n, groupId: 9, subGroupId: 0, publisherPriority: 0, flags }).encode(cw, v);
      for (let i = 0; i < payloads.length; i++) await new Client.Frame({ payload: payloads[i], timestamp: new Client.Timestamp(stamps[i], 1000 as never) }).encode(cw, flags, 1000 as never, v as never, 0);
    });
    assert.equal(hexOf(mine), hexOf(client));
    // Ours reads theirs in 7-byte pieces (every field split somewhere).
    const r = new IetfReader(client, v);
    const t = r.varint();
    let header: SubgroupHeader | undefined;
    const got: Array<[number | undefined, string]> = [];
    const parser = new ObjectParser(v, t, 1 << 20, { header: (h) => (header = h), object: (_id, ts, p) => got.push([ts, Buffer.from(p).toString()]) });
    const rest = client.subarray(r.pos);
    for (let i = 0; i < rest.length; i += 7) parser.push(rest.slice(i, i + 7));
    parser.end();
    assert.deepEqual([header?.alias, header?.group, header?.firstObject], [5, 9, true]);
    assert.deepEqual(got, payloads.map((p, i) => [stamps[i], Buffer.from(p).toString()]));
    // Theirs reads ours.
    const cr = clientReader(mine, v);
    const g = await Client.Group.decode(cr, v);
    assert.equal(g.groupId, 9);
    for (let i = 0; i < payloads.length; i++) {
      const f = await Client.Frame.decode(cr, g.flags, 1000 as never, v as never);
      assert.equal(Buffer.from(f.payload ?? new Uint8Array(0)).toString(), Buffer.from(payloads[i]).toString());
      assert.equal(f.timestamp?.value, stamps[i]);
    }
  });
}

test("ControlFramer: messages trickled a byte at a time decode whole, and views handed out stay valid as more arrives", () => {
  const v = Draft.D18;
  const msgs = [1, 2, 3].map((id) => control(v, RequestType.Goaway, (w) => new Goaway(`https://relay.example/${"x".repeat(id * 900)}`).encode(w)));
  const wire = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
  let at = 0;
  for (const m of msgs) {
    wire.set(m, at);
    at += m.length;
  }
  const f = new ControlFramer(v, 65535);
  const got: Array<{ raw: Uint8Array; copy: Uint8Array }> = [];
  for (let i = 0; i < wire.length; i++) {
    f.push(wire.subarray(i, i + 1));
    for (let m = f.next(); m !== undefined; m = f.next()) got.push({ raw: m.raw, copy: m.raw.slice() });
  }
  assert.equal(got.length, 3);
  assert.equal(f.pending, 0);
  // The framer appends in place into its own buffer: earlier views must not have been overwritten.
  got.forEach((g, i) => {
    assert.deepEqual(g.raw, msgs[i]);
    assert.deepEqual(g.copy, msgs[i]);
  });
});
