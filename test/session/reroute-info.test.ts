// TRACK_INFO follows the route: when a broadcast moves to another publisher (a newer local
// publisher of the same path), a viewer asking for a track's info gets the new publisher's, with
// or without an upstream subscription open at the time of the switch.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TrackInfo } from "../../src/session/lite/track.js";
import { until } from "./client.js";
import { TestRelay } from "./harness.js";

for (const live of [true, false]) {
  test(`after a route switch TRACK_INFO is the new publisher's (${live ? "with" : "without"} a viewer subscribed)`, async (t) => {
    const relay = new TestRelay();
    t.after(() => relay.close());
    const first = await relay.connect();
    first.client.publish("b", { video: new TrackInfo(1, false, 5000, 1000) });
    await until(() => relay.origin.lookup("anon/b") !== undefined, "announce");
    const viewer = await relay.connect();
    if (live) {
      await viewer.client.subscribe("b", "video");
      await until(() => first.client.subscribeRequests.length === 1, "the upstream");
    }
    assert.deepEqual((await viewer.client.trackInfo("b", "video")).info, new TrackInfo(1, false, 5000, 1000));
    const second = await relay.connect();
    second.client.publish("b", { video: new TrackInfo(2, true, 2000, 90000) });
    await until(() => relay.origin.routes("anon/b").length === 2 && relay.origin.routes("anon/b")[0].serving, "the second route");
    if (live) await until(() => second.client.subscribeRequests.length === 1, "the upstream to move");
    // Before: the first publisher's info, cached for the track's life, whatever served it.
    assert.deepEqual((await viewer.client.trackInfo("b", "video")).info, new TrackInfo(2, true, 2000, 90000));
  });
}
