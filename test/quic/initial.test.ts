// The Initial check run before quiche gets a new connection: real client Initials open, anything
// altered or merely Initial-shaped does not.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { clientInitialKeys, initialOpens } from "../../src/transport/quic/initial.js";
import { clientInitials } from "./initials.js";

test("client Initial keys match RFC 9001 Appendix A.1", () => {
  const k = clientInitialKeys(Buffer.from("8394c8f03e515708", "hex"));
  assert.equal(k.key.toString("hex"), "1f369613dd76d5467730efcbe3b1a22d");
  assert.equal(k.iv.toString("hex"), "fa044b2f42a3fd3b46fb255c");
  assert.equal(k.hp.toString("hex"), "9f50449e04a0e810283a1e9933adedd2");
});

test("quiche's own client Initials open, also with bytes coalesced after them", () => {
  for (const p of clientInitials(20, "moq-lite-05")) {
    assert.ok(initialOpens(p));
    assert.ok(initialOpens(Buffer.concat([p, randomBytes(40)])));
  }
});

test("a flipped bit anywhere, a cut, another version or a random payload does not open", () => {
  const [p] = clientInitials(1, "h3");
  // quiche's first packet ends well before the datagram's 1,200 bytes; what follows is not checked.
  for (const at of [0, 6, 30, 100, 200]) {
    const bad = Buffer.from(p);
    bad[at] ^= 0x04;
    assert.equal(initialOpens(bad), false, `bit flipped at ${at}`);
  }
  assert.equal(initialOpens(p.subarray(0, 200)), false);
  assert.equal(initialOpens(p.subarray(0, 40)), false);
  assert.equal(initialOpens(Buffer.alloc(0)), false);
  const v2 = Buffer.from(p);
  v2.writeUInt32BE(0x6b3343cf, 1);
  assert.equal(initialOpens(v2), false);
  const crafted = Buffer.from(p);
  randomBytes(crafted.length - 60).copy(crafted, 60);
  assert.equal(initialOpens(crafted), false);
});
