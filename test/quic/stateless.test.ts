import { test } from "node:test";
import assert from "node:assert/strict";
import { Budget, checkRetryToken, mintRetryToken, resetToken, statelessReset } from "../../src/transport/quic/stateless.js";

const odcid = Buffer.from("0123456789abcdef");

test("a Retry token vouches for its original id, for its address only, and only while fresh", () => {
  const now = 1_700_000_000_000;
  const token = mintRetryToken("192.0.2.1", odcid, now);
  assert.deepEqual(Buffer.from(checkRetryToken(token, "192.0.2.1", 10_000, now + 5000) ?? []), odcid);
  assert.equal(checkRetryToken(token, "192.0.2.2", 10_000, now), undefined, "another address");
  assert.equal(checkRetryToken(token, "192.0.2.1", 10_000, now + 10_001), undefined, "stale");
  for (let i = 0; i < token.length; i++) {
    const spoiled = Buffer.from(token);
    spoiled[i] ^= 0x01;
    assert.equal(checkRetryToken(spoiled, "192.0.2.1", 10_000, now), undefined, `byte ${i} flipped`);
  }
  assert.equal(checkRetryToken(token.subarray(0, token.length - 1), "192.0.2.1", 10_000, now), undefined, "truncated");
  assert.equal(checkRetryToken(new Uint8Array(0), "192.0.2.1", 10_000, now), undefined, "empty");
});

test("stateless resets are smaller than their trigger, end in the id's token, and small triggers get none", () => {
  const cid = Buffer.alloc(16, 7);
  assert.equal(statelessReset(21, cid), undefined);
  for (const n of [22, 40, 1200]) {
    const r = statelessReset(n, cid);
    assert.ok(r !== undefined && r.length < n && r.length >= 21);
    assert.deepEqual(r.subarray(r.length - 16), resetToken(cid));
    assert.equal(r[0] & 0xc0, 0x40);
  }
  assert.notDeepEqual(resetToken(cid), resetToken(Buffer.alloc(16, 8)), "one token per id");
});

test("the stateless-answer budget refuses beyond its rate", () => {
  const b = new Budget(5);
  let granted = 0;
  for (let i = 0; i < 50; i++) if (b.take()) granted++;
  assert.ok(granted >= 5 && granted <= 6, `granted ${granted}`);
});
