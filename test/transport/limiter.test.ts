import { test } from "node:test";
import assert from "node:assert/strict";
import { AddressLimiter } from "../../src/transport/limiter.js";
import { addressKey, hostKey } from "../../src/util/address.js";

test("one address holds at most its share, and the last eighth is kept for addresses holding nothing", () => {
  const l = new AddressLimiter(16, 100);
  const held = [];
  for (let i = 0; i < 14; i++) {
    const r = l.take("10.0.0.1");
    if (r !== null) held.push(r);
  }
  assert.equal(held.length, 14, "up to max - max/8 for one address");
  assert.equal(l.take("10.0.0.1"), null, "the reserve is not for an address that already holds slots");
  const fresh = l.take("10.0.0.2");
  assert.ok(fresh !== null, "a new address gets a reserved slot");
  assert.ok(l.take("10.0.0.3") !== null);
  assert.equal(l.take("10.0.0.4"), null, "the total is a hard cap");
  fresh();
  fresh();
  assert.equal(l.size, 15, "a second release does nothing");
  for (const r of held) r();
  assert.equal(l.held("10.0.0.1"), 0);
  assert.equal(l.addresses, 1);
});

test("the per-address cap refuses before the total does", () => {
  const l = new AddressLimiter(0, 2);
  assert.ok(l.take("a") !== null && l.take("a") !== null);
  assert.equal(l.take("a"), null);
  assert.ok(l.take("b") !== null);
});

test("one key per address for every transport: IPv4-mapped IPv6 is IPv4, case folded", () => {
  assert.equal(hostKey("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(hostKey("2001:DB8::1"), "2001:db8::1");
  assert.equal(addressKey("[::ffff:10.1.2.3]:443"), "10.1.2.3");
  assert.equal(addressKey("::ffff:10.1.2.3:443"), "10.1.2.3");
  assert.equal(addressKey("10.1.2.3:443"), "10.1.2.3");
});
