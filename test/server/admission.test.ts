import assert from "node:assert/strict";
import { test } from "node:test";
import { Admission, addressKey } from "../../src/server/admission.js";

test("one address key for every transport's remote format", () => {
  assert.equal(addressKey("127.0.0.1:4000"), "127.0.0.1");
  assert.equal(addressKey("::ffff:127.0.0.1:4000"), "127.0.0.1");
  assert.equal(addressKey("[::ffff:127.0.0.1]:4000"), "127.0.0.1");
  assert.equal(addressKey("::1:4000"), "::1");
  assert.equal(addressKey("[2001:DB8::1]:443"), "2001:db8::1");
});

test("a slot is counted when it is checked: concurrent takes cannot overshoot the per-address limit", () => {
  const a = new Admission(() => ({ max_sessions: 100, max_sessions_per_ip: 2 }));
  const first = a.take("10.0.0.1:1");
  const second = a.take("::ffff:10.0.0.1:2");
  const third = a.take("10.0.0.1:3");
  assert.ok(!("refused" in first) && !("refused" in second));
  assert.deepEqual(third, { refused: "too many sessions from this address" });
  assert.equal(a.check("10.0.0.2:1"), undefined, "another address still gets in");
  first.release();
  first.release(); // released once only
  assert.equal(a.size, 1);
  assert.ok(!("refused" in a.take("10.0.0.1:4")));
  assert.deepEqual(a.take("10.0.0.1:5"), { refused: "too many sessions from this address" });
});

test("the total limit refuses every address once reached", () => {
  const a = new Admission(() => ({ max_sessions: 1, max_sessions_per_ip: 0 }));
  const s = a.take("10.0.0.1:1");
  assert.ok(!("refused" in s));
  assert.deepEqual(a.take("10.0.0.2:1"), { refused: "too many sessions" });
  s.release();
  assert.ok(!("refused" in a.take("10.0.0.2:1")));
});
