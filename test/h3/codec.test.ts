import { test } from "node:test";
import assert from "node:assert/strict";
import { huffmanDecode, huffmanEncode } from "../../src/transport/h3/huffman.js";
import { decodeFieldSection, encodeFieldSection, QpackError } from "../../src/transport/h3/qpack.js";
import { decodeSettings, encodeSettings, H3ProtocolError, h3ToWt, readFrame, wtToH3 } from "../../src/transport/h3/frame.js";
import { Reader, ShortRead } from "../../src/util/bytes.js";
import { parseProtocols } from "../../src/transport/h3/connection.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

test("Huffman matches the RFC 7541 C.4 examples and round-trips every byte", () => {
  assert.equal(hex(huffmanEncode("www.example.com")), "f1e3c2e5f23a6ba0ab90f4ff");
  assert.equal(hex(huffmanEncode("no-cache")), "a8eb10649cbf");
  assert.equal(hex(huffmanEncode("custom-key")), "25a849e95ba97d7f");
  assert.equal(hex(huffmanEncode("custom-value")), "25a849e95bb8e8b4bf");
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString("latin1");
  assert.equal(huffmanDecode(huffmanEncode(all)), all);
  assert.throws(() => huffmanDecode(Uint8Array.from([0xf1, 0x00])), /padding|Huffman/);
});

test("QPACK decodes a Chromium-style extended CONNECT with static refs, literals and Huffman", () => {
  const huff = huffmanEncode("127.0.0.1:4443");
  const block = Uint8Array.from([
    0x00, 0x00, // Required Insert Count 0, Base 0
    0xc0 | 15, // :method CONNECT (static 15)
    0xc0 | 23, // :scheme https (static 23)
    0x50 | 0, 0x80 | huff.length, ...huff, // :authority (static name 0), Huffman value
    0x51, 0x0a, ...Buffer.from("/anon?jwt="), // :path (static name 1), raw value
    0x27, 0x02, ...Buffer.from(":protocol"), 0x0c, ...Buffer.from("webtransport"), // literal name (len 9 = 7 + 2), raw value
  ]);
  const fields = decodeFieldSection(block);
  assert.deepEqual(fields, [[":method", "CONNECT"], [":scheme", "https"], [":authority", "127.0.0.1:4443"], [":path", "/anon?jwt="], [":protocol", "webtransport"]]);
  const round: Array<[string, string]> = [[":status", "200"], ["wt-protocol", '"moq-lite-05"'], ["server", "moq-relay"]];
  assert.deepEqual(decodeFieldSection(encodeFieldSection(round)), round);
});

test("QPACK refuses dynamic table references", () => {
  assert.throws(() => decodeFieldSection(Uint8Array.from([0x01, 0x00, 0xd1])), QpackError);
  assert.throws(() => decodeFieldSection(Uint8Array.from([0x00, 0x00, 0x81])), QpackError);
  assert.throws(() => decodeFieldSection(Uint8Array.from([0x00, 0x00, 0x10])), QpackError);
  assert.throws(() => decodeFieldSection(Uint8Array.from([0x00, 0x00, 0xc0 | 63, 0xff, 0x7f])), QpackError);
});

test("SETTINGS round-trip, and duplicates or HTTP/2 ids are rejected", () => {
  const s = new Map([[0x1, 0], [0x8, 1], [0x33, 1], [0xc671706a, 16]]);
  const frame = readFrame(new Reader(encodeSettings(s)), 1024);
  assert.deepEqual(decodeSettings(frame.payload), s);
  assert.throws(() => decodeSettings(Uint8Array.from([0x08, 0x01, 0x08, 0x01])), H3ProtocolError);
  assert.throws(() => decodeSettings(Uint8Array.from([0x02, 0x01])), H3ProtocolError);
});

test("frames: truncated is a short read, oversized is an excessive-load error", () => {
  assert.throws(() => readFrame(new Reader(Uint8Array.from([0x01, 0x05, 0x00])), 1024), ShortRead);
  assert.throws(() => readFrame(new Reader(Uint8Array.from([0x01, 0x44, 0x00])), 16), (e: unknown) => e instanceof H3ProtocolError && e.code === 0x107);
});

test("WebTransport error codes map to HTTP/3 and back, skipping GREASE", () => {
  for (let c = 0; c < 5000; c++) assert.equal(h3ToWt(wtToH3(c)), c);
  assert.equal(h3ToWt(0x100), undefined);
  assert.equal(wtToH3(0), 0x52e4a40fa8db);
});

test("wt-available-protocols parses as a structured-field list of strings", () => {
  assert.deepEqual(parseProtocols('"moq-lite-05", "moq-lite-04","moql"'), ["moq-lite-05", "moq-lite-04", "moql"]);
  assert.deepEqual(parseProtocols(undefined), []);
  assert.deepEqual(parseProtocols("token-not-string"), []);
});
