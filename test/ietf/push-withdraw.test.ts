// Two OpenMOQ publishers PUBLISH the same track (the second, newer one serves the path); when the
// first one's PUBLISH ends (PUBLISH_DONE or its session closing) it withdraws only its own route:
// a moq-lite viewer keeps receiving the newer publisher's groups.
import "../util/polyfill.js";
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTestRelay } from "../util/relay.js";
import { connect, subscribe, type Reader } from "../util/moq.js";
import { ns, enc, openMoq, type OpenMoq } from "./openmoq-node.js";

const relay = await startTestRelay();
after(() => relay.close());

/** Poll the relay core's routes (bounded): route changes have no event a test can wait on. */
async function waitUntil(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Push one group on its own subgroup stream (draft-18: FIRST_OBJECT). */
async function pushGroup(om: OpenMoq, alias: bigint, group: number, payload: string): Promise<void> {
  const id = await om.conn.openSubgroup(alias, BigInt(group), 0n, { endOfGroup: true, firstObject: true });
  await om.conn.sendObject(id, 0n, enc(payload));
  await om.conn.closeSubgroup(id);
}

/** Push groups from `from` on until one reaches `r` (objects are dropped until a viewer is attached); returns the next group number. */
async function pushUntilSeen(om: OpenMoq, alias: bigint, r: Reader, from: number, tag: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (let g = from; ; g++) {
    if (Date.now() > deadline) throw new Error(`no ${tag} group reached the viewer`);
    await pushGroup(om, alias, g, `${tag} ${g}`);
    // A bounded read (not within(): a pending read would swallow a later group).
    const got = await r.nextGroup(200).then(
      (x) => Buffer.from(x.frames[0]).toString(),
      () => undefined,
    );
    if (got === `${tag} ${g}`) return g + 1;
  }
}

for (const end of ["PUBLISH_DONE", "session closed"] as const) {
  test(`a PUBLISH whose path a newer publisher serves withdraws only its own route (${end})`, async () => {
    const name = `push-withdraw-${end === "PUBLISH_DONE" ? "done" : "close"}`;
    const path = `anon/${name}`;
    const older = await openMoq(relay, "qmux-01.moqt-18");
    const newer = await openMoq(relay, "qmux-01.moqt-18");
    const viewConn = await connect(relay.url("anon"));
    try {
      const oldId = await older.conn.publish(ns(name), enc("video"), 7n);
      await older.message("REQUEST_OK", Number(oldId));
      const newId = await newer.conn.publish(ns(name), enc("video"), 8n);
      await newer.message("REQUEST_OK", Number(newId));
      await waitUntil(() => relay.origin.routes(path).length === 2, 5000, "both routes");
      const r = subscribe(viewConn, name, "video");
      let g = await pushUntilSeen(newer, 8n, r, 0, "newer");

      if (end === "PUBLISH_DONE") // Any status code ends the track; the library types it as a branded bigint.
        await older.conn.publishDone(oldId, 0n as Parameters<typeof older.conn.publishDone>[1], "done");
      else await older.close();
      await waitUntil(() => relay.origin.routes(path).length === 1, 5000, "the older PUBLISH's route to go");
      // Before: the route serving the broadcast (the newer publisher's) was withdrawn instead,
      // and the viewer was moved to the older publisher's ended route.
      assert.equal(relay.origin.routes(path)[0].serving, true);
      g = await pushUntilSeen(newer, 8n, r, g, "still newer");
      assert.ok(g > 0);
      assert.deepEqual(newer.errors, []);
    } finally {
      viewConn.close();
      await older.close();
      await newer.close();
    }
  });
}
