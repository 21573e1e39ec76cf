import { test } from "node:test";
import assert from "node:assert/strict";
import { failsAvailable } from "../../src/transport/fails.js";
import { startTestRelay } from "../util/relay.js";

const available = await failsAvailable();

test('engine "fails-quiche" without its native transport is a clear startup error', { skip: available && "the fails-quiche transport is installed here" }, async () => {
  await assert.rejects(startTestRelay({ "server.engine": "fails-quiche" }), /webtransport-transport-http3-quiche, which is not installed/);
});

test('engine "fails-quiche" serves sessions when its transport is installed', { skip: !available && "@fails-components/webtransport-transport-http3-quiche is not installed (its install downloads from GitHub, unreachable here)" }, async () => {
  const relay = await startTestRelay({ "server.engine": "fails-quiche" });
  const res = await fetch(relay.url("certificate.sha256"));
  assert.equal(res.status, 200);
  await relay.close();
});
