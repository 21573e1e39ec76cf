// Version negotiation as the session sees it: which protocol identifiers pick which version, how
// the legacy in-band SETUP is answered (checked against @moq/net's own draft-14 SETUP codec), and
// which features each version has.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Reader } from "../../src/util/bytes.js";
import { ClientSetup, LegacyParamKey, ServerSetup } from "../../src/session/lite/setup.js";
import * as v from "../../src/session/lite/version.js";
import { ClientSetup as IetfClientSetup, ServerSetup as IetfServerSetup } from "../../node_modules/@moq/net/ietf/setup.js";
import { SetupOptions } from "../../node_modules/@moq/net/ietf/parameters.js";
import { bytesOf, clientEncode, clientReader } from "./wire.js";

const { Version, NEGOTIATE } = v;
const DRAFT_14 = 0xff00000e;

test("protocol identifiers: moq-lite-05/04/03 fix the version, none or moql negotiate in-band", () => {
  assert.equal(v.versionFromAlpn("moq-lite-05"), Version.Lite05);
  assert.equal(v.versionFromAlpn("moq-lite-04"), Version.Lite04);
  assert.equal(v.versionFromAlpn("moq-lite-03"), Version.Lite03);
  assert.equal(v.versionFromAlpn("moql"), NEGOTIATE);
  assert.equal(v.versionFromAlpn(""), NEGOTIATE);
  assert.equal(v.versionFromAlpn("moqt-16"), undefined);
  assert.equal(v.versionFromAlpn("moq-lite-06-wip"), undefined);
  for (const ver of [Version.Lite05, Version.Lite04, Version.Lite03]) assert.equal(v.versionFromAlpn(v.alpnFor(ver)), ver);
  assert.equal(v.alpnFor(Version.Lite02), "moql");
  assert.deepEqual(v.ALPNS, ["moq-lite-05", "moq-lite-04", "moq-lite-03", "moql"]);
  assert.equal(v.versionName(Version.Lite05), "moq-lite-05");
  assert.equal(v.versionName(DRAFT_14), "unknown(0xff00000e)");
});

test("the legacy SETUP picks the client's first lite-02/01 entry and skips moq-transport", () => {
  assert.equal(v.selectLegacyVersion([Version.Lite02, Version.Lite01, DRAFT_14]), Version.Lite02);
  assert.equal(v.selectLegacyVersion([DRAFT_14, Version.Lite01, Version.Lite02]), Version.Lite01);
  assert.equal(v.selectLegacyVersion([Version.Lite05, DRAFT_14]), undefined, "lite-03+ are never negotiated in-band");
  assert.equal(v.selectLegacyVersion([Version.Lite02], [Version.Lite01]), undefined, "an operator may allow only some");
});

test("the relay reads @moq/net's CLIENT_SETUP and the client accepts the relay's SERVER_SETUP", async () => {
  const params = new SetupOptions();
  params.setVarint(2n, 42069n);
  params.setBytes(7n, new TextEncoder().encode("moq-lite-js"));
  const fromClient = await clientEncode((w) => new IetfClientSetup({ versions: [Version.Lite02, Version.Lite01, DRAFT_14], parameters: params }).encode(w, DRAFT_14));
  const setup = ClientSetup.decode(new Reader(fromClient));
  assert.deepEqual(setup.versions, [Version.Lite02, Version.Lite01, DRAFT_14]);
  assert.deepEqual(
    setup.params.map((p) => p.key),
    [LegacyParamKey.MaxRequestId, LegacyParamKey.Implementation],
  );

  const chosen = v.selectLegacyVersion(setup.versions);
  assert.equal(chosen, Version.Lite02);
  const reply = bytesOf((w) => new ServerSetup(chosen, [{ key: LegacyParamKey.Implementation, value: new TextEncoder().encode("moq-relay-ts") }]).encode(w));
  const seen = await IetfServerSetup.decode(clientReader(reply), DRAFT_14);
  assert.equal(seen.version, Version.Lite02);
  assert.equal(new TextDecoder().decode(seen.parameters.getBytes(7n)), "moq-relay-ts");
  const bare = await IetfServerSetup.decode(clientReader(bytesOf((w) => new ServerSetup(Version.Lite01).encode(w))), DRAFT_14);
  assert.equal(bare.version, Version.Lite01);
});

test("feature table: what each version carries on the wire", () => {
  const table: Array<[string, (x: v.Version) => boolean, v.Version[]]> = [
    ["legacy session stream", v.isLegacy, [Version.Lite01, Version.Lite02]],
    ["SETUP stream", v.hasSetupStream, [Version.Lite05]],
    ["TRACK stream", v.hasTrackStream, [Version.Lite05]],
    ["frame timestamps", v.hasFrameTimestamps, [Version.Lite05]],
    ["ANNOUNCE_OK", v.hasAnnounceOk, [Version.Lite05]],
    ["exclude hop", v.hasExcludeHop, [Version.Lite04, Version.Lite05]],
    ["hop ids", v.hasHopIds, [Version.Lite04, Version.Lite05]],
    ["hop count", v.hasHopCount, [Version.Lite03, Version.Lite04, Version.Lite05]],
    ["typed subscribe responses", v.typedSubscribeResponses, [Version.Lite03, Version.Lite04, Version.Lite05]],
    ["SUBSCRIBE_OK", v.hasSubscribeOk, [Version.Lite01, Version.Lite02, Version.Lite03, Version.Lite04]],
    ["SUBSCRIBE_START/END", v.hasSubscribeStartEnd, [Version.Lite05]],
    ["PROBE RTT", v.hasProbeRtt, [Version.Lite04, Version.Lite05]],
    ["GOAWAY", v.hasGoaway, [Version.Lite04, Version.Lite05]],
    ["datagrams", v.hasDatagrams, [Version.Lite05]],
    ["fetch served", v.hasFetch, [Version.Lite05]],
  ];
  for (const [name, has, versions] of table) {
    assert.deepEqual(
      v.VERSIONS.filter((x) => has(x)),
      [...versions].reverse(),
      name,
    );
  }
});
