// Fuzz target: QPACK field sections (static table and literals, Huffman strings) as the relay
// decodes a request's HEADERS: decodeFieldSection with the default 16 KiB cap. Anything but a
// QpackError (or a DecodeError from Huffman) escaping is a crash.
import type { FuzzTarget } from "../target.js";
import { DecodeError } from "../../src/util/bytes.js";
import { decodeFieldSection, encodeFieldSection, QpackError } from "../../src/transport/h3/qpack.js";

const seeds = [
  encodeFieldSection([[":method", "CONNECT"], [":protocol", "webtransport"], [":scheme", "https"], [":authority", "relay.example:4443"], [":path", "/anon?jwt=abc"]]),
  encodeFieldSection([[":status", "200"], ["sec-webtransport-http3-draft", "draft02"], ["wt-protocol", '"moq-lite-05"']]),
  // Huffman-coded literal value ("www.example.com", RFC 7541 C.4.1) after a static name reference.
  Uint8Array.of(0, 0, 0x50, 0x8c, 0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff),
  // Indexed static entries only.
  Uint8Array.of(0, 0, 0xd1, 0xd7, 0xc0 | 0x17),
];

export const target: FuzzTarget = {
  name: "h3/qpack",
  seeds,
  run(input: Uint8Array): void {
    decodeFieldSection(input, 16 * 1024);
  },
  expected: (err) => err instanceof QpackError || err instanceof DecodeError,
};
