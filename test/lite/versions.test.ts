// Every message in every version where it exists, against the real @moq/net codec: our encoder
// writes exactly the bytes the client's encoder writes, our decoder reads them back to the same
// message, and the client's decoder accepts what we write.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Reader, Writer } from "../../src/util/bytes.js";
import { Code, MoqError } from "../../src/session/error.js";
import { Announce, AnnounceInit, AnnounceOk, AnnounceRequest, AnnounceStatus } from "../../src/session/lite/announce.js";
import { Datagram } from "../../src/session/lite/datagram.js";
import { Fetch } from "../../src/session/lite/fetch.js";
import { Goaway } from "../../src/session/lite/goaway.js";
import { GroupHeader } from "../../src/session/lite/group.js";
import { Probe } from "../../src/session/lite/probe.js";
import { ProbeLevel, Role, SessionInfo, Setup } from "../../src/session/lite/setup.js";
import {
  decodeSubscribeResponse,
  encodeSubscribeResponse,
  Subscribe,
  SubscribeDrop,
  SubscribeEnd,
  SubscribeOk,
  SubscribeStart,
  SubscribeUpdate,
  type SubscribePrefs,
} from "../../src/session/lite/subscribe.js";
import { TrackInfo, TrackRequest } from "../../src/session/lite/track.js";
import { VERSIONS, Version, versionName } from "../../src/session/lite/version.js";
import * as Path from "../../node_modules/@moq/net/path.js";
import { OriginSchema } from "../../node_modules/@moq/net/origin.js";
import type { Reader as ClientReader, Writer as ClientWriter } from "../../node_modules/@moq/net/stream.js";
import { bytesOf, Client, clientEncode, clientReader, decodeAll } from "./wire.js";

const { Lite01, Lite02, Lite03, Lite04, Lite05 } = Version;
const ALL = VERSIONS;
const FROM03 = [Lite03, Lite04, Lite05];
const FROM04 = [Lite04, Lite05];
const ONLY05 = [Lite05];
const LEGACY = [Lite01, Lite02];

// Hop ids kept under 2^53: @moq/net's SETUP encoder passes origins through Number().
const HOP_A = 0x001f_2233_4455_6677n;
const HOP_B = 0x0000_0000_0000_0042n;

interface Case {
  name: string;
  versions: readonly Version[];
  ours: (w: Writer, v: Version) => void;
  client: (w: ClientWriter, v: Version) => Promise<void>;
  decode: (r: Reader, v: Version) => unknown;
  /** What our decoder must produce (the message as this version can carry it). */
  expect: (v: Version) => unknown;
  /** The client's decoder, run on our bytes; returns fields to compare with `clientSees`. */
  clientDecode?: (r: ClientReader, v: Version) => Promise<unknown>;
  clientSees?: (v: Version) => unknown;
}

const prefs: SubscribePrefs = { priority: 7, ordered: true, maxLatency: 1500, start: 12, end: 40 };
const legacyPrefs = (v: Version): SubscribePrefs => (v <= Lite02 ? { priority: prefs.priority, ordered: false, maxLatency: 0 } : prefs);

const cases: Case[] = [
  {
    name: "ANNOUNCE_REQUEST",
    versions: ALL,
    ours: (w, v) => new AnnounceRequest("room/a", HOP_A).encode(w, v),
    client: (w, v) => new Client.AnnounceRequest(Path.from("room/a"), HOP_A).encode(w, v),
    decode: (r, v) => AnnounceRequest.decode(r, v),
    expect: (v) => new AnnounceRequest("room/a", v === Lite04 || v === Lite05 ? HOP_A : 0n),
    clientDecode: async (r, v) => {
      const m = await Client.AnnounceRequest.decode(r, v);
      return [m.prefix, m.excludeHop];
    },
    clientSees: (v) => ["room/a", v >= Lite04 ? HOP_A : 0n],
  },
  {
    name: "ANNOUNCE_OK",
    versions: ONLY05,
    ours: (w, v) => new AnnounceOk(HOP_A, 3).encode(w, v),
    client: (w, v) => new Client.AnnounceOk(OriginSchema.parse(HOP_A), 3).encode(w, v),
    decode: (r, v) => AnnounceOk.decode(r, v),
    expect: () => new AnnounceOk(HOP_A, 3),
  },
  {
    name: "ANNOUNCE active with hops",
    versions: ALL,
    ours: (w, v) => Announce.active("bob", v === Lite03 ? [0n, 0n] : [HOP_A, HOP_B]).encode(w, v),
    client: (w, v) =>
      Client.encodeAnnounceBroadcast(w, { status: "active", suffix: Path.from("bob"), hops: [HOP_A, HOP_B].map((h) => OriginSchema.parse(h)) }, v),
    decode: (r, v) => Announce.decode(r, v),
    // Lite-04/05 carry the ids, lite-03 only their number, lite-01/02 nothing.
    expect: (v) => Announce.active("bob", v >= Lite04 ? [HOP_A, HOP_B] : v === Lite03 ? [0n, 0n] : []),
    clientDecode: async (r, v) => {
      const m = await Client.decodeAnnounceBroadcast(r, v);
      return m.status === "active" ? [m.status, m.suffix, m.hops.length] : [m.status];
    },
    clientSees: (v) => ["active", "bob", v >= Lite03 ? 2 : 0],
  },
  {
    name: "ANNOUNCE ended",
    versions: ALL,
    ours: (w, v) => Announce.ended("bob").encode(w, v),
    client: (w, v) => Client.encodeAnnounceBroadcast(w, { status: "ended", suffix: Path.from("bob") }, v),
    decode: (r, v) => Announce.decode(r, v),
    expect: () => new Announce(AnnounceStatus.Ended, "bob", []),
  },
  {
    name: "ANNOUNCE_INIT",
    versions: LEGACY,
    ours: (w, v) => new AnnounceInit(["a", "b/c"]).encode(w, v),
    client: (w, v) => new Client.AnnounceInit([Path.from("a"), Path.from("b/c")]).encode(w, v),
    decode: (r, v) => AnnounceInit.decode(r, v),
    expect: () => new AnnounceInit(["a", "b/c"]),
  },
  {
    name: "SETUP",
    versions: ONLY05,
    ours: (w, v) => new Setup({ origin: HOP_A, path: "/anon?jwt=x", role: Role.Publisher, probe: ProbeLevel.Report }).encode(w, v),
    client: (w, v) => new Client.Setup({ probe: 1, path: "/anon?jwt=x", role: 1, origin: OriginSchema.parse(HOP_A) }).encode(w, v),
    decode: (r, v) => Setup.decode(r, v),
    expect: () => new Setup({ origin: HOP_A, path: "/anon?jwt=x", role: Role.Publisher, probe: ProbeLevel.Report }),
    clientDecode: async (r, v) => {
      const m = await Client.Setup.decode(r, v);
      return [m.origin, m.path, m.role, m.probe];
    },
    clientSees: () => [HOP_A, "/anon?jwt=x", 1, 1],
  },
  {
    name: "SESSION_INFO",
    versions: LEGACY,
    ours: (w, v) => new SessionInfo(2_500_000).encode(w, v),
    client: (w, v) => new Client.SessionInfo(2_500_000).encode(w, v),
    decode: (r, v) => SessionInfo.decode(r, v),
    expect: () => new SessionInfo(2_500_000),
  },
  {
    name: "TRACK",
    versions: ONLY05,
    ours: (w, v) => new TrackRequest("room/alice", "video").encode(w, v),
    client: (w, v) => new Client.Track(Path.from("room/alice"), "video").encode(w, v),
    decode: (r, v) => TrackRequest.decode(r, v),
    expect: () => new TrackRequest("room/alice", "video"),
  },
  {
    name: "TRACK_INFO",
    versions: ONLY05,
    ours: (w, v) => new TrackInfo(2, true, 2000, 90000).encode(w, v),
    client: (w, v) => new Client.TrackInfo({ priority: 2, ordered: true, latencyMax: 2000, timescale: 90000 }).encode(w, v),
    decode: (r, v) => TrackInfo.decode(r, v),
    expect: () => new TrackInfo(2, true, 2000, 90000),
  },
  {
    name: "SUBSCRIBE",
    versions: ALL,
    ours: (w, v) => new Subscribe(9, "room/alice", "video", prefs).encode(w, v),
    client: (w, v) =>
      new Client.Subscribe({ id: 9n, broadcast: Path.from("room/alice"), track: "video", priority: 7, ordered: true, maxLatency: 1500, startGroup: 12, endGroup: 40 }).encode(w, v),
    decode: (r, v) => Subscribe.decode(r, v),
    expect: (v) => new Subscribe(9, "room/alice", "video", legacyPrefs(v)),
    clientDecode: async (r, v) => {
      const m = await Client.Subscribe.decode(r, v);
      return [m.id, m.broadcast, m.priority, m.startGroup, m.endGroup];
    },
    clientSees: (v) => [9n, "room/alice", 7, v >= Lite03 ? 12 : undefined, v >= Lite03 ? 40 : undefined],
  },
  {
    name: "SUBSCRIBE latest, open-ended (Opt+1 zeros)",
    versions: FROM03,
    ours: (w, v) => new Subscribe(0, "b", "t", { priority: 0, ordered: false, maxLatency: 0 }).encode(w, v),
    client: (w, v) => new Client.Subscribe({ id: 0n, broadcast: Path.from("b"), track: "t", priority: 0 }).encode(w, v),
    decode: (r, v) => Subscribe.decode(r, v),
    expect: () => new Subscribe(0, "b", "t", { priority: 0, ordered: false, maxLatency: 0 }),
  },
  {
    name: "SUBSCRIBE_UPDATE",
    versions: ALL,
    ours: (w, v) => new SubscribeUpdate(prefs).encode(w, v),
    client: (w, v) => new Client.SubscribeUpdate({ priority: 7, ordered: true, maxLatency: 1500, startGroup: 12, endGroup: 40 }).encode(w, v),
    decode: (r, v) => SubscribeUpdate.decode(r, v),
    expect: (v) => new SubscribeUpdate(legacyPrefs(v)),
  },
  {
    name: "SUBSCRIBE_OK",
    versions: [Lite01, Lite02, Lite03, Lite04],
    ours: (w, v) => encodeSubscribeResponse(w, new SubscribeOk(prefs), v),
    client: (w, v) =>
      Client.encodeSubscribeResponse(w, { ok: new Client.SubscribeOk({ priority: 7, ordered: true, maxLatency: 1500, startGroup: 12, endGroup: 40 }) }, v),
    decode: (r, v) => decodeSubscribeResponse(r, v),
    // 02 carries nothing, 01 the priority, 03/04 everything.
    expect: (v) => new SubscribeOk(v === Lite02 ? { priority: 0, ordered: false, maxLatency: 0 } : legacyPrefs(v)),
    clientDecode: async (r, v) => Object.keys(await Client.decodeSubscribeResponse(r, v)),
    clientSees: () => ["ok"],
  },
  {
    name: "SUBSCRIBE_START",
    versions: ONLY05,
    ours: (w, v) => encodeSubscribeResponse(w, new SubscribeStart(77), v),
    client: (w, v) => Client.encodeSubscribeResponse(w, { start: new Client.SubscribeStart(77) }, v),
    decode: (r, v) => decodeSubscribeResponse(r, v),
    expect: () => new SubscribeStart(77),
  },
  {
    name: "SUBSCRIBE_END",
    versions: ONLY05,
    ours: (w, v) => encodeSubscribeResponse(w, new SubscribeEnd(80), v),
    client: (w, v) => Client.encodeSubscribeResponse(w, { end: new Client.SubscribeEnd(80) }, v),
    decode: (r, v) => decodeSubscribeResponse(r, v),
    expect: () => new SubscribeEnd(80),
  },
  {
    name: "SUBSCRIBE_DROP",
    versions: FROM03,
    ours: (w, v) => encodeSubscribeResponse(w, new SubscribeDrop(3, 5, Code.Old), v),
    client: (w, v) => Client.encodeSubscribeResponse(w, { drop: new Client.SubscribeDrop({ start: 3, end: 5, error: Code.Old }) }, v),
    decode: (r, v) => decodeSubscribeResponse(r, v),
    expect: () => new SubscribeDrop(3, 5, Code.Old),
    clientDecode: async (r, v) => Object.keys(await Client.decodeSubscribeResponse(r, v)),
    clientSees: () => ["drop"],
  },
  {
    name: "GROUP",
    versions: ALL,
    ours: (w, v) => new GroupHeader(4, 1000).encode(w, v),
    client: (w) => new Client.Group(4n, 1000).encode(w),
    decode: (r, v) => GroupHeader.decode(r, v),
    expect: () => new GroupHeader(4, 1000),
  },
  {
    name: "FETCH",
    versions: FROM03,
    ours: (w, v) => new Fetch("room/alice", "video", 5, 42).encode(w, v),
    client: (w, v) => new Client.Fetch(Path.from("room/alice"), "video", 5, 42).encode(w, v),
    decode: (r, v) => Fetch.decode(r, v),
    expect: () => new Fetch("room/alice", "video", 5, 42),
  },
  {
    name: "PROBE",
    versions: FROM03,
    ours: (w, v) => new Probe({ bitrate: 1_000_000, rtt: 35 }).encode(w, v),
    client: (w, v) => new Client.Probe({ bitrate: 1_000_000, rtt: 35 }).encode(w, v),
    decode: (r, v) => Probe.decode(r, v),
    // Lite-03 has no RTT field.
    expect: (v) => new Probe({ bitrate: 1_000_000, rtt: v >= Lite04 ? 35 : undefined }),
  },
  {
    name: "GOAWAY",
    versions: FROM04,
    ours: (w, v) => new Goaway("https://other.example/anon").encode(w, v),
    client: (w, v) => new Client.Goaway("https://other.example/anon").encode(w, v),
    decode: (r, v) => Goaway.decode(r, v),
    expect: () => new Goaway("https://other.example/anon"),
  },
];

for (const c of cases) {
  test(`${c.name}: same bytes as @moq/net in ${c.versions.map(versionName).join(", ")}`, async () => {
    for (const v of c.versions) {
      const ours = bytesOf((w) => c.ours(w, v));
      const theirs = await clientEncode((w) => c.client(w, v));
      assert.deepEqual(ours, theirs, `${c.name} bytes differ in ${versionName(v)}`);
      assert.deepEqual(decodeAll(ours, (r) => c.decode(r, v)), c.expect(v), `${c.name} decodes differently in ${versionName(v)}`);
      if (c.clientDecode !== undefined && c.clientSees !== undefined) {
        assert.deepEqual(await c.clientDecode(clientReader(ours), v), c.clientSees(v), `client reads ${c.name} differently in ${versionName(v)}`);
      }
    }
  });

  const missing = ALL.filter((v) => !c.versions.includes(v));
  // Messages whose layout is version-independent (GROUP) exist everywhere; the rest refuse.
  if (missing.length > 0 && !c.name.startsWith("SUBSCRIBE latest")) {
    test(`${c.name} does not exist in ${missing.map(versionName).join(", ")}: Unsupported`, () => {
      for (const v of missing) {
        assert.throws(
          () => bytesOf((w) => c.ours(w, v)),
          (e: unknown) => e instanceof MoqError && e.code === Code.Unsupported,
          `${c.name} encoded in ${versionName(v)}`,
        );
      }
    });
  }
}

test("datagram: subscribe, sequence, absolute timestamp, payload to the end; same bytes as @moq/net", async () => {
  const payload = new TextEncoder().encode("keyframe");
  const ours = new Datagram(3, 17, 123456, payload).toBytes(Lite05);
  assert.deepEqual(ours, new Client.Datagram(3n, 17, 123456, payload).encode());
  const back = Datagram.decode(ours, Lite05);
  assert.deepEqual([back.subscribe, back.sequence, back.timestamp, new TextDecoder().decode(back.payload)], [3, 17, 123456, "keyframe"]);
  assert.equal(back.payload.buffer, ours.buffer, "the payload is a view, not a copy");
  assert.throws(() => Datagram.decode(ours, Lite04), (e: unknown) => e instanceof MoqError && e.code === Code.Unsupported);
});

test("lite-05 ANNOUNCE status 2 (restart) decodes as active; earlier versions reject it", () => {
  const restart = bytesOf((w) => new Announce(AnnounceStatus.Restart, "bob", [HOP_A]).encode(w, Lite05));
  const a = decodeAll(restart, (r) => Announce.decode(r, Lite05));
  assert.equal(a.active, true);
  assert.deepEqual(a.hops, [HOP_A]);
  assert.throws(() => decodeAll(restart, (r) => Announce.decode(r, Lite04)), /invalid announce status 2/);
});

test("62-bit origins survive exactly (SETUP, exclude hop, ANNOUNCE_OK, hop lists); SETUP cost round-trips", () => {
  const big = (1n << 62n) - 1n;
  const setup = bytesOf((w) => new Setup({ origin: big, cost: 1234n }).encode(w, Lite05));
  assert.deepEqual(decodeAll(setup, (r) => Setup.decode(r, Lite05)), new Setup({ origin: big, cost: 1234n }));
  const req = bytesOf((w) => new AnnounceRequest("", big).encode(w, Lite04));
  assert.equal(decodeAll(req, (r) => AnnounceRequest.decode(r, Lite04)).excludeHop, big);
  const ok = bytesOf((w) => new AnnounceOk(big, 0).encode(w, Lite05));
  assert.equal(decodeAll(ok, (r) => AnnounceOk.decode(r, Lite05)).hop, big);
  const a = bytesOf((w) => Announce.active("x", [big, 1n]).encode(w, Lite05));
  assert.deepEqual(decodeAll(a, (r) => Announce.decode(r, Lite05)).hops, [big, 1n]);
});
